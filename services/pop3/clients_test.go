package pop3

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strconv"
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

// runClient runs a client with a time limit and returns its standard
// output.
func runClient(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

// The messages the real clients read: one with lines starting with a dot
// and a long line, to check dot-stuffing end to end.
var (
	clientMsg1 = newMail("first", ".hidden dot line\n..two dots\n"+strings.Repeat("long ", 400)+"\nend\n")
	clientMsg2 = newMail("second", "Line 1\nLine 2\nLine 3\n")
)

// poplibScript drives Python's poplib through what a learner does in the
// lab, printing what it saw as JSON.
const poplibScript = `
import hashlib, json, poplib, ssl, sys
host, port = sys.argv[1], int(sys.argv[2])
out = {}
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

p = poplib.POP3(host, port, timeout=10)
out["welcome"] = p.getwelcome().decode()
out["capa"] = sorted(p.capa().keys())
p.stls(context=ctx)
out["capa_tls"] = sorted(p.capa().keys())
p.user("bob")
p.pass_("builder")
out["stat"] = list(p.stat())
out["list"] = [l.decode() for l in p.list()[1]]
out["uidl"] = [l.decode() for l in p.uidl()[1]]
out["uidl1"] = p.uidl(1).decode()
resp, lines, octets = p.retr(1)
out["retr"] = (b"\r\n".join(lines) + b"\r\n").decode()
out["retr_octets"] = octets
out["top"] = [l.decode() for l in p.top(2, 1)[1]]

# a second session for bob is refused while this one holds the maildrop
q = poplib.POP3(host, port, timeout=10)
q.user("bob")
try:
    q.pass_("builder")
    out["second"] = "accepted"
except poplib.error_proto as e:
    out["second"] = e.args[0].decode()
q.quit()

out["dele"] = p.dele(2).decode()
p.rset()
out["dele_again"] = p.dele(2).decode()
out["quit"] = p.quit().decode()

# APOP, and a wrong password
p = poplib.POP3(host, port, timeout=10)
p.apop("bob", "builder")
out["apop_stat"] = list(p.stat())
p.quit()
p = poplib.POP3(host, port, timeout=10)
p.user("bob")
try:
    p.pass_("wrong")
    out["wrong"] = "accepted"
except poplib.error_proto as e:
    out["wrong"] = e.args[0].decode()
p.quit()
print(json.dumps(out))
`

// TestPoplib runs Python's poplib against the server: capabilities, STLS,
// USER/PASS, STAT, LIST, UIDL, RETR, TOP, the lock, DELE, RSET, QUIT, APOP.
func TestPoplib(t *testing.T) {
	python := needClient(t, "python3", "python3")
	f := newFixture(t, testConfig())
	deliver(t, f.st, "bob", clientMsg1)
	deliver(t, f.st, "bob", clientMsg2)
	_, addr := f.listen(t)
	host, port, _ := net.SplitHostPort(addr)
	var out struct {
		Welcome    string   `json:"welcome"`
		Capa       []string `json:"capa"`
		CapaTLS    []string `json:"capa_tls"`
		Stat       []int    `json:"stat"`
		List       []string `json:"list"`
		UIDL       []string `json:"uidl"`
		UIDL1      string   `json:"uidl1"`
		Retr       string   `json:"retr"`
		RetrOctets int      `json:"retr_octets"`
		Top        []string `json:"top"`
		Second     string   `json:"second"`
		Dele       string   `json:"dele"`
		DeleAgain  string   `json:"dele_again"`
		Quit       string   `json:"quit"`
		APOPStat   []int    `json:"apop_stat"`
		Wrong      string   `json:"wrong"`
	}
	raw := runClient(t, python, "-c", poplibScript, host, port)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	check := func(what string, got, want any) {
		t.Helper()
		if g, w := jsonString(got), jsonString(want); g != w {
			t.Errorf("%s: %s, want %s", what, g, w)
		}
	}
	total := len(clientMsg1) + len(clientMsg2)
	check("capa", out.Capa, []string{"AUTH-RESP-CODE", "EXPIRE", "IMPLEMENTATION", "LOGIN-DELAY", "PIPELINING", "RESP-CODES", "SASL", "STLS", "TOP", "UIDL", "USER"})
	check("capa after STLS", out.CapaTLS, []string{"AUTH-RESP-CODE", "EXPIRE", "IMPLEMENTATION", "LOGIN-DELAY", "PIPELINING", "RESP-CODES", "SASL", "TOP", "UIDL", "USER"})
	check("stat", out.Stat, []int{2, total})
	check("list", out.List, []string{"1 " + itoa(len(clientMsg1)), "2 " + itoa(len(clientMsg2))})
	if len(out.UIDL) != 2 || !strings.HasPrefix(out.UIDL1, "+OK 1 ") || !strings.HasSuffix(out.UIDL[0], strings.TrimPrefix(out.UIDL1, "+OK 1 ")) {
		t.Errorf("uidl %q, uidl 1 %q", out.UIDL, out.UIDL1)
	}
	check("retr", out.Retr, clientMsg1)
	check("top", out.Top, []string{"From: alice@lab.test", "To: bob@lab.test", "Subject: second", "Message-ID: <second@lab.test>", "", "Line 1"})
	check("second session", out.Second, "-ERR [IN-USE] maildrop already locked: another POP3 session of bob is open; end it with QUIT first")
	check("dele", out.Dele, "+OK message 2 deleted (removed at QUIT)")
	check("quit", out.Quit, "+OK bye (1 message deleted, 1 left)")
	check("apop", out.APOPStat, []int{1, len(clientMsg1)})
	check("wrong password", out.Wrong, "-ERR [AUTH] invalid user name or password")
	if got := inboxUIDs(t, f.st, "bob"); len(got) != 1 {
		t.Errorf("INBOX after poplib: %v", got)
	}
	wantAttrs(t, f.events.Next(t, KindSTLS), map[string]string{"result": "ok"})
	wantAttrs(t, f.events.Next(t, KindLogin), map[string]string{"user": "bob", "mechanism": "USER", "tls": "true", "result": "ok"})
	wantAttrs(t, f.events.Next(t, KindRetr), map[string]string{"msg": "1", "subject": "first", "message_id": "first@lab.test"})
	wantAttrs(t, f.events.Next(t, KindLogin), map[string]string{"result": "in-use"})
	wantAttrs(t, f.events.Next(t, KindQuit), map[string]string{"state": "authorization"})
	wantAttrs(t, f.events.Next(t, KindQuit), map[string]string{"state": "update", "deleted": "1"})
	wantAttrs(t, f.events.Next(t, KindLogin), map[string]string{"mechanism": "APOP", "result": "ok"})
	wantAttrs(t, f.events.Next(t, KindLogin), map[string]string{"mechanism": "USER", "result": "failed"})
}

// TestCurl runs curl as the lab's lessons show it: list, retrieve, delete,
// over STLS, with its choice of login and with APOP forced.
func TestCurl(t *testing.T) {
	curl := needClient(t, "curl", "curl")
	f := newFixture(t, testConfig())
	deliver(t, f.st, "bob", clientMsg1)
	deliver(t, f.st, "bob", clientMsg2)
	_, addr := f.listen(t)
	url := "pop3://" + addr + "/"
	base := []string{"-sS", "--max-time", "20", "--user", "bob:builder"}

	out := runClient(t, curl, append(base, url)...)
	if want := "1 " + itoa(len(clientMsg1)) + "\r\n2 " + itoa(len(clientMsg2)) + "\r\n"; string(out) != want {
		t.Errorf("curl list: %q, want %q", out, want)
	}
	login := f.events.Next(t, KindLogin)
	wantAttrs(t, login, map[string]string{"user": "bob", "result": "ok", "tls": "false"})
	// curl prefers SASL when CAPA offers it.
	wantAttrs(t, login, map[string]string{"mechanism": "PLAIN"})
	wantAttrs(t, f.events.Next(t, KindList), map[string]string{"msg": "", "count": "2"})

	out = runClient(t, curl, append(base, url+"1")...)
	if string(out) != clientMsg1 {
		t.Errorf("curl retr differs from the delivered message:\n got %q\nwant %q", out, clientMsg1)
	}
	wantAttrs(t, f.events.Next(t, KindRetr), map[string]string{"msg": "1", "subject": "first"})

	// STLS, required; the lab's certificate is self-signed (-k).
	out = runClient(t, curl, append(base, "--ssl-reqd", "-k", url+"2")...)
	if string(out) != clientMsg2 {
		t.Errorf("curl over STLS: %q", out)
	}
	wantAttrs(t, f.events.Next(t, KindSTLS), map[string]string{"result": "ok"})
	wantAttrs(t, f.events.Next(t, KindLogin), map[string]string{"tls": "true", "result": "ok"})

	// APOP, then DELE (curl ends with QUIT: the message is removed).
	runClient(t, curl, append(base, "--login-options", "AUTH=+APOP", "-X", "DELE", "-I", url+"1")...)
	wantAttrs(t, f.events.Next(t, KindLogin), map[string]string{"mechanism": "APOP", "result": "ok"})
	wantAttrs(t, f.events.Next(t, KindDele), map[string]string{"msg": "1"})
	wantAttrs(t, f.events.Next(t, KindQuit), map[string]string{"deleted": "1", "state": "update"})
	if got := inboxUIDs(t, f.st, "bob"); len(got) != 1 {
		t.Errorf("INBOX after curl -X DELE: %v", got)
	}

	// UIDL as a custom request.
	out = runClient(t, curl, append(base, "-X", "UIDL", url)...)
	if lines := strings.Split(strings.TrimSpace(string(out)), "\r\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "1 ") {
		t.Errorf("curl -X UIDL: %q", out)
	}

	// Passwords in clear refused: curl falls back to APOP by itself.
	cfg := testConfig()
	cfg.allowInsecure = false
	f2 := newFixture(t, cfg)
	deliver(t, f2.st, "alice", clientMsg2)
	_, addr2 := f2.listen(t)
	out = runClient(t, curl, "-sS", "--max-time", "20", "--user", "alice:wonderland", "pop3://"+addr2+"/")
	if want := "1 " + itoa(len(clientMsg2)) + "\r\n"; string(out) != want {
		t.Errorf("curl list without clear-text login: %q", out)
	}
	wantAttrs(t, f2.events.Next(t, KindLogin), map[string]string{"mechanism": "APOP", "result": "ok"})
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func itoa(n int) string { return strconv.Itoa(n) }
