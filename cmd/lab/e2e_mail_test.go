package main

// The mail labs solved end to end by real tools only: swaks, curl, nc and
// Python's smtplib, poplib and imaplib.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tool runs a command with stdin and returns its combined output and exit
// code; the command must finish within 30 s.
func tool(t *testing.T, stdin string, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: timed out\n%s", name, strings.Join(args, " "), out)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return string(out), code
}

// mustTool is tool for a command that must succeed and print want.
func mustTool(t *testing.T, want, stdin, name string, args ...string) string {
	t.Helper()
	out, code := tool(t, stdin, name, args...)
	if code != 0 || !strings.Contains(out, want) {
		t.Fatalf("%s %s: exit %d, want output containing %q:\n%s", name, strings.Join(args, " "), code, want, out)
	}
	return out
}

func python(t *testing.T, want, script string, args ...string) string {
	t.Helper()
	return mustTool(t, want, script, needTool(t, "python3"), append([]string{"-"}, args...)...)
}

func allDone(t *testing.T, p *labProc) {
	t.Helper()
	st := p.status()
	for _, tk := range st.Tasks {
		if !tk.Done || tk.DoneAt == nil {
			t.Errorf("task %s not done", tk.ID)
		}
	}
	if st.Done != st.Total || st.Total == 0 {
		t.Errorf("%d/%d tasks done", st.Done, st.Total)
	}
}

func TestSMTPLabWithRealClients(t *testing.T) {
	swaks, nc, curl := needTool(t, "swaks"), needTool(t, "nc"), needTool(t, "curl")
	p := startLabID(t, "smtp", t.TempDir())
	h, port := p.addr("smtp")
	sh, sport := p.addr("submission")
	mx, sub := h+":"+port, sh+":"+sport

	mustTool(t, "250", "", swaks, "--server", mx, "--from", "alice@lab.test", "--to", "bob@lab.test")
	p.waitDone("smtp-send")

	// Typed by hand through nc: bare LF line ends, as a person's nc sends them.
	session := "EHLO learner.lab.test\nMAIL FROM:<alice@lab.test>\nRCPT TO:<bob@lab.test>\nDATA\nSubject: typed by hand\n\nHello Bob!\n.\nQUIT\n"
	mustTool(t, "221", session, nc, "-N", h, port)
	p.waitDone("ehlo")

	mustTool(t, "250", "", swaks, "--server", mx, "--to", "bob@lab.test", "--header", "Subject: un pigeon voyageur")
	p.waitDone("subject")

	mustTool(t, "235", "", swaks, "--server", sub, "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wonderland",
		"--from", "alice@lab.test", "--to", "bob@lab.test")
	p.waitDone("auth-submit")
	// AUTH LOGIN with swaks and with curl, STARTTLS with curl, smtplib: all must be accepted.
	mustTool(t, "235", "", swaks, "--server", sub, "--auth", "LOGIN", "--auth-user", "bob", "--auth-password", "builder",
		"--from", "bob@lab.test", "--to", "alice@lab.test")
	msg := filepath.Join(t.TempDir(), "msg.txt")
	os.WriteFile(msg, []byte("From: alice@lab.test\r\nTo: bob@lab.test\r\nSubject: by curl\r\n\r\nHi.\r\n"), 0o600)
	mustTool(t, "", "", curl, "-sS", "smtp://"+sub+"/learner.lab.test", "--user", "alice:wonderland", "--login-options", "AUTH=LOGIN",
		"--mail-from", "alice@lab.test", "--mail-rcpt", "bob@lab.test", "--upload-file", msg)
	mustTool(t, "", "", curl, "-sS", "smtp://"+mx+"/learner.lab.test", "--ssl-reqd", "-k",
		"--mail-from", "alice@lab.test", "--mail-rcpt", "bob@lab.test", "--upload-file", msg)
	python(t, "sent", `
import smtplib, ssl, sys
from email.message import EmailMessage
host, port = sys.argv[1], int(sys.argv[2])
m = EmailMessage(); m["From"] = "alice@lab.test"; m["To"] = "bob@lab.test"; m["Subject"] = "smtplib"; m.set_content("Hello")
with smtplib.SMTP(host, port) as s:
    s.starttls(context=ssl._create_unverified_context())
    s.login("alice", "wonderland")
    s.send_message(m)
print("sent")
`, sh, sport)

	mustTool(t, "250", "", swaks, "--server", mx, "--to", "bob@lab.test", "--tls")
	p.waitDone("starttls")

	out, _ := tool(t, "", swaks, "--server", mx, "--to", "someone@example.org", "--quit-after", "RCPT")
	if !strings.Contains(out, "5.7.1") {
		t.Fatalf("relay to example.org not refused with 5.7.1:\n%s", out)
	}
	p.waitDone("relay-denied")

	out, _ = tool(t, "", swaks, "--server", mx, "--to", "nobody@lab.test", "--quit-after", "RCPT")
	if !strings.Contains(out, "550 5.1.1") {
		t.Fatalf("unknown user not refused with 550 5.1.1:\n%s", out)
	}
	p.waitDone("user-enum")
	allDone(t, p)
}

func TestPOPLabWithRealClients(t *testing.T) {
	nc, curl := needTool(t, "nc"), needTool(t, "curl")
	p := startLabID(t, "pop", t.TempDir())
	h, port := p.addr("pop3")
	url := "pop3://" + h + ":" + port + "/"

	mustTool(t, "+OK", "USER bob\r\nPASS builder\r\nQUIT\r\n", nc, "-N", h, port)
	p.waitDone("pop3-login")
	out := mustTool(t, "1 ", "", curl, "-sS", url, "--user", "bob:builder")
	if len(strings.Fields(out)) < 4 {
		t.Fatalf("LIST through curl: want two welcome messages, got %q", out)
	}
	p.waitDone("pop3-list")
	mustTool(t, "1 ", "", curl, "-sS", url, "--user", "bob:builder", "-X", "UIDL")
	p.waitDone("pop3-uidl")
	mustTool(t, "Subject:", "", curl, "-sS", url+"1", "--user", "bob:builder")
	p.waitDone("pop3-retr")
	mustTool(t, "Subject:", "", curl, "-sS", url, "--user", "bob:builder", "-X", "TOP 1 0")
	p.waitDone("pop3-top")
	// STLS through curl.
	mustTool(t, "Subject:", "", curl, "-sS", "--ssl-reqd", "-k", url+"1", "--user", "bob:builder")
	python(t, "deleted 1", `
import poplib, sys
p = poplib.POP3(sys.argv[1], int(sys.argv[2]))
p.user("bob"); p.pass_("builder")
before = p.stat()[0]
p.dele(1); p.quit()
p = poplib.POP3(sys.argv[1], int(sys.argv[2]))
p.user("bob"); p.pass_("builder")
print("deleted", before - p.stat()[0]); p.quit()
`, h, port)
	p.waitDone("pop3-dele")
	allDone(t, p)

	// lab reset brings the mailbox back to its two welcome messages.
	mustTool(t, "cleared", "", labBin, "reset", "--state", p.state)
	python(t, "messages 2", `
import poplib, sys
p = poplib.POP3(sys.argv[1], int(sys.argv[2]))
p.user("bob"); p.pass_("builder")
print("messages", p.stat()[0]); p.quit()
`, h, port)
}

func TestIMAPLabWithRealClients(t *testing.T) {
	curl, swaks := needTool(t, "curl"), needTool(t, "swaks")
	p := startLabID(t, "imap", t.TempDir())
	h, port := p.addr("imap")
	sh, sport := p.addr("smtp")

	mustTool(t, "Subject:", "", curl, "-sS", "imap://"+h+":"+port+"/INBOX;UID=1", "--user", "bob:builder")
	p.waitDone("imap-login")
	p.waitDone("imap-select")
	p.waitDone("imap-fetch")
	mustTool(t, "EXISTS", "", curl, "-sS", "--ssl-reqd", "-k", "imap://"+h+":"+port+"/", "--user", "bob:builder", "-X", "EXAMINE INBOX")

	python(t, "ok", `
import imaplib, sys
m = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]))
m.login("bob", "builder")
m.select("INBOX")
typ, _ = m.store("1", "+FLAGS", "(\\Flagged)"); assert typ == "OK"
typ, data = m.fetch("1", "(FLAGS)"); assert b"\\Flagged" in data[0], data
typ, data = m.search(None, "FLAGGED"); assert data[0].split() == [b"1"], data
typ, _ = m.create("Archives"); assert typ == "OK"
typ, data = m.uid("SEARCH", None, "ALL"); uid = data[0].split()[0]
typ, _ = m.uid("MOVE", uid, "Archives"); assert typ == "OK", typ
typ, data = m.status("Archives", "(MESSAGES)"); assert b"MESSAGES 1" in data[0], data
m.logout()
print("ok")
`, h, port)
	p.waitDone("imap-flag")
	p.waitDone("imap-folder")
	p.waitDone("imap-search")

	// IDLE over a raw socket (imaplib has no IDLE before Python 3.14), and a
	// message sent with swaks while idling.
	python(t, "EXISTS", `
import socket, subprocess, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
f = s.makefile("rb")
def until(prefix):
    while True:
        line = f.readline()
        if not line: raise SystemExit("connection closed")
        if line.startswith(prefix): return line
until(b"* OK")
s.sendall(b"a1 LOGIN bob builder\r\n"); until(b"a1 OK")
s.sendall(b"a2 SELECT INBOX\r\n"); until(b"a2 OK")
s.sendall(b"a3 IDLE\r\n"); until(b"+")
subprocess.run([sys.argv[3], "--server", sys.argv[4], "--to", "bob@lab.test", "--header", "Subject: while idling"], check=True, capture_output=True)
line = until(b"* ")
while b"EXISTS" not in line: line = until(b"* ")
s.sendall(b"DONE\r\n"); until(b"a3 OK")
s.sendall(b"a4 LOGOUT\r\n")
print(line.decode().strip())
`, h, port, swaks, sh+":"+sport)
	p.waitDone("imap-idle")
	allDone(t, p)
}

// stripReceived removes the Received: header the lab's MX prepends (with its
// continuation lines).
func stripReceived(t *testing.T, b string) string {
	t.Helper()
	if !strings.HasPrefix(b, "Received:") {
		t.Fatalf("message does not start with the MX's Received: header:\n%q", b)
	}
	i := strings.Index(b, "\r\n")
	for i >= 0 && i+2 < len(b) && (b[i+2] == ' ' || b[i+2] == '\t') {
		j := strings.Index(b[i+2:], "\r\n")
		if j < 0 {
			break
		}
		i += 2 + j
	}
	return b[i+2:]
}

func TestMailLabByteExact(t *testing.T) {
	swaks := needTool(t, "swaks")
	p := startLabID(t, "mail", t.TempDir())
	sh, sport := p.addr("smtp")
	ph, pport := p.addr("pop3")
	ih, iport := p.addr("imap")

	// The message as swaks will send it: it turns LF into CRLF and ends the
	// data with CRLF "." CRLF, so the file has no final line end. A line
	// that starts with a dot tests the dot-stuffing both ways.
	body := "From: Alice <alice@lab.test>\nTo: Bob <bob@lab.test>\nSubject: the whole chain\nMessage-ID: <chain-1@lab.test>\nDate: Wed, 25 Nov 2026 10:00:00 +0000\n\nFirst line.\n.a line that starts with a dot\n\nLast line."
	file := filepath.Join(t.TempDir(), "chain.eml")
	os.WriteFile(file, []byte(body), 0o600)
	mustTool(t, "250", "", swaks, "--server", sh+":"+sport, "--from", "alice@lab.test", "--to", "bob@lab.test", "--data", file)
	p.waitDone("smtp-send")
	want := strings.ReplaceAll(body, "\n", "\r\n") + "\r\n"

	got := python(t, "", `
import poplib, sys
p = poplib.POP3(sys.argv[1], int(sys.argv[2]))
p.user("bob"); p.pass_("builder")
n = p.stat()[0]
resp, lines, octets = p.retr(n)
sys.stdout.buffer.write(b"\r\n".join(lines) + b"\r\n")
p.quit()
`, ph, pport)
	if g := stripReceived(t, got); g != want {
		t.Fatalf("POP3 RETR is not byte-exact:\n got %q\nwant %q", g, want)
	}
	p.waitDone("pop3-retr")

	got = python(t, "", `
import imaplib, sys
m = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]))
m.login("bob", "builder")
typ, data = m.select("INBOX")
typ, data = m.fetch(data[0].decode(), "(RFC822)")
sys.stdout.buffer.write(data[0][1])
m.logout()
`, ih, iport)
	if g := stripReceived(t, got); g != want {
		t.Fatalf("IMAP FETCH is not byte-exact:\n got %q\nwant %q", g, want)
	}
	p.waitDone("imap-fetch")

	python(t, "gone", `
import imaplib, poplib, sys
p = poplib.POP3(sys.argv[1], int(sys.argv[2]))
p.user("bob"); p.pass_("builder")
before = p.stat()[0]
p.dele(1); p.quit()
m = imaplib.IMAP4(sys.argv[3], int(sys.argv[4]))
m.login("bob", "builder")
typ, data = m.select("INBOX")
assert int(data[0]) == before - 1, (data, before)
typ, _ = m.create("Kept-on-server"); assert typ == "OK"
m.logout()
print("gone")
`, ph, pport, ih, iport)
	p.waitDone("compare")
	allDone(t, p)
}
