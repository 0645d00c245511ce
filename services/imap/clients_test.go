package imap

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// needClient returns the path of a real client, skipping the test when it
// is not installed (unless LAB_REQUIRE_CLIENTS=1: then it is a failure).
func needClient(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("LAB_REQUIRE_CLIENTS") == "1" {
			t.Fatalf("%s is required (LAB_REQUIRE_CLIENTS=1): install %s", name, pkg)
		}
		t.Skipf("%s not installed (%s)", name, pkg)
	}
	return p
}

// imaplibScript drives Python's imaplib as a learner's script would. It
// prints what it got as JSON; binary data in base64.
const imaplibScript = `
import base64, imaplib, json, socket, ssl, sys

host, port = "127.0.0.1", int(sys.argv[1])
out = {}
def s(data):
    return [d.decode() if isinstance(d, bytes) else repr(d) for d in data]

M = imaplib.IMAP4(host, port)
out["caps"] = list(M.capabilities)
typ, data = M.login("bob", "builder")
out["login"] = typ
typ, data = M.list()
out["list"] = s(data)
typ, data = M.select("INBOX")
out["select"] = s(data)
typ, data = M.fetch("1", "(RFC822)")
out["rfc822"] = base64.b64encode(data[0][1]).decode()
typ, data = M.store("1", "+FLAGS", "(\\Flagged)")
out["store"] = s(data)
typ, data = M.search(None, "SUBJECT", "pigeon")
out["search"] = s(data)
typ, data = M.search(None, "UNSEEN")
out["unseen"] = s(data)
out["create"] = M.create("Archives")[0]
typ, data = M.copy("1", "Archives")
out["copy"] = typ
typ, data = M.uid("MOVE", "2", "Archives")
out["move"] = typ
out["move_untagged"] = [repr(x) for x in M.untagged_responses.get("OK", [])]
typ, data = M.store("1", "+FLAGS", "(\\Deleted)")
typ, data = M.expunge()
out["expunge"] = s(data)
msg = b"From: py@lab.test\r\nSubject: from imaplib\r\n\r\nappended\r\n"
typ, data = M.append("INBOX", "(\\Seen)", None, msg)
out["append"] = s(data)
typ, data = M.status("Archives", "(MESSAGES UIDNEXT)")
out["status"] = s(data)
M.logout()

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
T = imaplib.IMAP4(host, port)
T.starttls(ssl_context=ctx)
out["tls_login"] = T.login("alice", "wonderland")[0]
T.logout()

# IDLE by hand (imaplib has none before Python 3.14).
sock = socket.create_connection((host, port), timeout=10)
f = sock.makefile("rb")
def cmd(line):
    tag = line.split(" ")[0]
    sock.sendall(line.encode() + b"\r\n")
    lines = []
    while True:
        l = f.readline()
        if not l:
            raise SystemExit("connection closed")
        lines.append(l.decode().rstrip())
        if l.startswith(tag.encode() + b" "):
            return lines
f.readline()
cmd("i1 LOGIN bob builder")
cmd("i2 SELECT INBOX")
sock.sendall(b"i3 IDLE\r\n")
out["idle_cont"] = f.readline().decode().rstrip()
A = imaplib.IMAP4(host, port)
A.login("bob", "builder")
A.append("INBOX", None, None, b"Subject: wake up\r\n\r\nhello\r\n")
A.logout()
while True:
    l = f.readline().decode().rstrip()
    if l.endswith("EXISTS"):
        out["idle_exists"] = l
        break
sock.sendall(b"DONE\r\n")
out["idle_done"] = f.readline().decode().rstrip()
cmd("i4 LOGOUT")
print(json.dumps(out))
`

func TestPythonImaplib(t *testing.T) {
	python := needClient(t, "python3", "python3")
	s := startServer(t, "", nil)
	first := message("Carrier pigeon", "A .dot line\r\n.\r\nand Unicode: café")
	s.deliver(t, "bob", "INBOX", first, message("Second pigeon", "x"), message("Lunch", "y"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, port, _ := net.SplitHostPort(s.addr)
	cmd := exec.CommandContext(ctx, python, "-c", imaplibScript, port)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("imaplib: %v\n%s", err, stderr.String())
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("output %q: %v", b, err)
	}
	str := func(k string) string {
		switch v := out[k].(type) {
		case string:
			return v
		case []any:
			var parts []string
			for _, x := range v {
				parts = append(parts, x.(string))
			}
			return strings.Join(parts, "\n")
		}
		return ""
	}
	if raw, _ := base64.StdEncoding.DecodeString(str("rfc822")); !bytes.Equal(raw, first) {
		t.Errorf("RFC822 not byte-exact:\n%q\n%q", raw, first)
	}
	checks := []struct{ key, want string }{
		{"caps", "IMAP4REV1"},
		{"caps", "STARTTLS"},
		{"login", "OK"},
		{"list", `(\HasNoChildren \Subscribed) "/" INBOX`},
		{"select", "3"},
		{"store", `1 (UID 1 FLAGS (\Flagged \Seen))`},
		{"search", "1 2"},
		{"unseen", "2 3"},
		{"create", "OK"},
		{"copy", "OK"},
		{"move", "OK"},
		{"move_untagged", "COPYUID"},
		{"expunge", "1"},
		{"append", "APPENDUID"},
		{"status", "MESSAGES 2"},
		{"tls_login", "OK"},
		{"idle_cont", "+ idling"},
		{"idle_exists", "* 3 EXISTS"},
		{"idle_done", "i3 OK"},
	}
	for _, c := range checks {
		if got := str(c.key); !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q in it", c.key, got, c.want)
		}
	}
	s.events.next(t, KindFetch, map[string]string{"user": "bob", "uid": "1", "section": "BODY[]", "body": "true", "subject": "Carrier pigeon"})
	s.events.next(t, KindStore, map[string]string{"uids": "1", "op": "add", "flags": `\Flagged`})
	s.events.next(t, KindSearch, map[string]string{"criteria": `SUBJECT "pigeon"`, "results": "2"})
	s.events.next(t, KindCopy, map[string]string{"to": "Archives", "count": "1"})
	s.events.next(t, KindMove, map[string]string{"to": "Archives", "count": "1"})
	s.events.next(t, KindExpunge, map[string]string{"count": "1"})
	s.events.next(t, KindAppend, map[string]string{"mailbox": "INBOX", "uid": "4"})
	s.events.next(t, KindLogin, map[string]string{"user": "alice", "tls": "true", "result": "ok"})
	s.events.next(t, KindIdle, map[string]string{"phase": "update", "updates": "1"})
	s.events.next(t, KindIdle, map[string]string{"phase": "done"})
}

func TestCurl(t *testing.T) {
	curl := needClient(t, "curl", "curl")
	s := startServer(t, "", nil)
	first := message("Carrier pigeon", "coo\r\n.\r\nend")
	s.deliver(t, "bob", "INBOX", first, message("Second", "x"))
	_, port, _ := net.SplitHostPort(s.addr)
	base := "imap://127.0.0.1:" + port
	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, curl, append([]string{"-sS", "--max-time", "20"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return out
	}
	if got := run(base+"/INBOX;UID=1", "--user", "bob:builder"); !bytes.Equal(got, first) {
		t.Errorf("curl UID=1:\n%q\nwant\n%q", got, first)
	}
	s.events.next(t, KindFetch, map[string]string{"uid": "1", "body": "true"})
	if got := string(run(base+"/", "--user", "bob:builder")); !strings.Contains(got, `* LIST (\HasNoChildren \Subscribed) "/" INBOX`) {
		t.Errorf("curl LIST:\n%s", got)
	}
	if got := string(run(base+"/INBOX", "--user", "bob:builder", "-X", "EXAMINE INBOX")); !strings.Contains(got, "* 2 EXISTS") {
		t.Errorf("curl EXAMINE:\n%s", got)
	}
	s.events.next(t, KindSelect, map[string]string{"readonly": "true", "messages": "2"})
	if got := run(base+"/INBOX;UID=2", "--user", "bob:builder", "--ssl-reqd", "-k"); !bytes.Contains(got, []byte("Subject: Second")) {
		t.Errorf("curl over STARTTLS:\n%s", got)
	}
	s.events.next(t, KindStartTLS, map[string]string{"result": "ok"})
	s.events.next(t, KindLogin, map[string]string{"user": "bob", "tls": "true", "result": "ok"})
	// A wrong password is an error for curl.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, curl, "-sS", base+"/INBOX;UID=1", "--user", "bob:wrong").Run(); err == nil {
		t.Error("curl with a wrong password succeeded")
	}
}
