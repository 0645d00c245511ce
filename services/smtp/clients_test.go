package smtp

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The lab's real clients: swaks, curl, python3's smtplib and nc. A test is
// skipped when its client is missing, unless LAB_REQUIRE_CLIENTS=1.

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("LAB_REQUIRE_CLIENTS") == "1" {
			t.Fatalf("%s is not installed (LAB_REQUIRE_CLIENTS=1)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// run runs a client with its input and returns what it printed.
func run(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, needTool(t, name), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func hostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	h, p := splitHostPort(t, addr)
	return h, strconv.Itoa(p)
}

func TestSwaks(t *testing.T) {
	needTool(t, "swaks")
	lb := startLab(t, setup{})
	mxHost, mxPort := hostPort(t, lb.mx)
	subHost, subPort := hostPort(t, lb.sub)
	sub := func(mech, user, password string, more ...string) []string {
		return append([]string{"--server", subHost, "--port", subPort, "--from", user + "@lab.test", "--to", "bob@lab.test",
			"--auth", mech, "--auth-user", user, "--auth-password", password}, more...)
	}
	tests := []struct {
		name string
		args []string
		mech string // AUTH expected, if any
		want map[string]string
	}{
		{"MX", []string{"--server", mxHost, "--port", mxPort, "--from", "x@example.net", "--to", "bob@lab.test", "--helo", "learner.lab.test", "--header", "Subject: from swaks"},
			"", map[string]string{"listener": "smtp", "subject": "from swaks", "auth_user": "", "tls": "false", "typed": "false"}},
		{"MX with STARTTLS", []string{"--server", mxHost, "--port", mxPort, "--from", "x@example.net", "--to", "alice@lab.test", "--tls"},
			"", map[string]string{"listener": "smtp", "to": "alice@lab.test", "tls": "true"}},
		{"submission PLAIN", sub("PLAIN", "alice", "wonderland"), "PLAIN", map[string]string{"listener": "submission", "auth_user": "alice", "tls": "false"}},
		{"submission LOGIN", sub("LOGIN", "bob", "builder"), "LOGIN", map[string]string{"auth_user": "bob", "tls": "false"}},
		{"submission PLAIN with STARTTLS", sub("PLAIN", "alice", "wonderland", "--tls"), "PLAIN", map[string]string{"auth_user": "alice", "tls": "true"}},
		{"submission LOGIN with STARTTLS", sub("LOGIN", "bob", "builder", "--tls"), "LOGIN", map[string]string{"auth_user": "bob", "tls": "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := run(t, "", "swaks", tt.args...)
			if !strings.Contains(out, "<~  250 2.0.0 Ok: queued as ") && !strings.Contains(out, "<-  250 2.0.0 Ok: queued as ") {
				t.Errorf("swaks:\n%s", out)
			}
			if tt.mech != "" {
				wantAttrs(t, lb.events.Next(t, KindAuth), map[string]string{"mechanism": tt.mech, "result": "ok"})
			}
			wantAttrs(t, lb.events.Next(t, KindDelivered), tt.want)
		})
	}
	t.Run("relay denied", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "swaks", "--server", mxHost, "--port", mxPort, "--from", "x@example.net", "--to", "someone@example.com").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "554 5.7.1 <someone@example.com>: Relay access denied") {
			t.Errorf("swaks: %v\n%s", err, out)
		}
		wantAttrs(t, lb.events.Next(t, KindRcpt), map[string]string{"reason": "relay-denied"})
	})
	if n := len(lb.inbox(t, "bob")); n != 5 {
		t.Errorf("bob has %d messages, want 5", n)
	}
}

func TestCurl(t *testing.T) {
	needTool(t, "curl")
	lb := startLab(t, setup{})
	file := filepath.Join(t.TempDir(), "message.txt")
	msg := "From: <alice@lab.test>\r\nTo: <bob@lab.test>\r\nSubject: from curl\r\n\r\nHello\r\n.a dot line\r\n"
	if err := os.WriteFile(file, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"-sS", "--mail-rcpt", "bob@lab.test", "--upload-file", file}
	tests := []struct {
		name string
		args []string
		want map[string]string
	}{
		{"MX", append([]string{"smtp://" + lb.mx + "/learner.lab.test", "--mail-from", "x@example.net"}, common...),
			map[string]string{"listener": "smtp", "tls": "false", "auth_user": ""}},
		{"MX with STARTTLS", append([]string{"smtp://" + lb.mx + "/learner.lab.test", "--mail-from", "x@example.net", "--ssl-reqd", "-k"}, common...),
			map[string]string{"listener": "smtp", "tls": "true"}},
		{"submission", append([]string{"smtp://" + lb.sub + "/learner.lab.test", "--mail-from", "alice@lab.test", "--user", "alice:wonderland"}, common...),
			map[string]string{"listener": "submission", "tls": "false", "auth_user": "alice"}},
		{"submission with STARTTLS", append([]string{"smtp://" + lb.sub + "/learner.lab.test", "--mail-from", "alice@lab.test", "--user", "alice:wonderland", "--ssl-reqd", "-k"}, common...),
			map[string]string{"listener": "submission", "tls": "true", "auth_user": "alice"}},
		{"submission with AUTH LOGIN", append([]string{"smtp://" + lb.sub + "/learner.lab.test", "--mail-from", "alice@lab.test", "--user", "alice:wonderland", "--login-options", "AUTH=LOGIN"}, common...),
			map[string]string{"listener": "submission", "auth_user": "alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, "", "curl", tt.args...)
			d := lb.events.Next(t, KindDelivered)
			wantAttrs(t, d, tt.want)
			wantAttrs(t, d, map[string]string{"subject": "from curl", "ehlo": "EHLO"})
		})
	}
	msgs := lb.inbox(t, "bob")
	if len(msgs) != len(tests) {
		t.Fatalf("bob has %d messages, want %d", len(msgs), len(tests))
	}
	for _, m := range msgs {
		if got := afterReceived(t, m); got != msg {
			t.Errorf("stored %q, want %q", got, msg)
		}
		if !strings.HasPrefix(string(m), "Received: from learner.lab.test ([127.0.0.1])") {
			t.Errorf("Received: %q", first(string(m), 80))
		}
	}
}

func TestPythonSmtplib(t *testing.T) {
	needTool(t, "python3")
	lb := startLab(t, setup{})
	mxHost, mxPort := hostPort(t, lb.mx)
	subHost, subPort := hostPort(t, lb.sub)
	script := `
import smtplib, ssl, sys
from email.message import EmailMessage
host, port, sub_host, sub_port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])

m = EmailMessage()
m["From"], m["To"], m["Subject"] = "x@example.net", "bob@lab.test", "from python"
m.set_content("Hello Bob\n.dot line\n")
with smtplib.SMTP(host, port, local_hostname="learner.lab.test") as s:
    s.send_message(m)

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
m.replace_header("From", "alice@lab.test")
m.replace_header("Subject", "from python over TLS")
with smtplib.SMTP(sub_host, sub_port, local_hostname="learner.lab.test") as s:
    s.starttls(context=ctx)
    s.login("alice", "wonderland")
    s.send_message(m)

with smtplib.SMTP(sub_host, sub_port) as s:
    try:
        s.login("alice", "not-the-password")
    except smtplib.SMTPAuthenticationError as e:
        print("refused", e.smtp_code)
    try:
        s.sendmail("alice@lab.test", ["bob@lab.test"], "Subject: x\r\n\r\nx\r\n")
    except smtplib.SMTPSenderRefused as e:
        print("sender refused", e.smtp_code)
print("done")
`
	out := run(t, "", "python3", "-c", script, mxHost, mxPort, subHost, subPort)
	if !strings.Contains(out, "refused 535") || !strings.Contains(out, "sender refused 530") || !strings.Contains(out, "done") {
		t.Errorf("python:\n%s", out)
	}
	wantAttrs(t, lb.events.Next(t, KindDelivered), map[string]string{"listener": "smtp", "subject": "from python", "tls": "false"})
	wantAttrs(t, lb.events.Next(t, KindAuth), map[string]string{"result": "ok", "user": "alice", "tls": "true"})
	wantAttrs(t, lb.events.Next(t, KindDelivered), map[string]string{"listener": "submission", "subject": "from python over TLS", "tls": "true", "auth_user": "alice"})
	wantAttrs(t, lb.events.Next(t, KindAuth), map[string]string{"result": "failed", "user": "alice", "tls": "false"})
	msgs := lb.inbox(t, "bob")
	if len(msgs) != 2 || !strings.Contains(string(msgs[0]), "\r\n.dot line\r\n") {
		t.Errorf("bob's INBOX: %q", msgs)
	}
}

func TestNetcat(t *testing.T) {
	needTool(t, "nc")
	lb := startLab(t, setup{})
	host, port := hostPort(t, lb.mx)
	session := "EHLO learner.lab.test\nMAIL FROM:<x@example.net>\nRCPT TO:<bob@lab.test>\nDATA\n" +
		"Subject: typed by hand\n\nHello Bob,\n..a dot line\n.\nQUIT\n"
	stored := "Subject: typed by hand\r\n\r\nHello Bob,\r\n.a dot line\r\n"
	tests := []struct {
		name   string
		args   []string
		bareLF string
	}{
		{"nc -C", []string{"-C", host, port}, "false"},
		{"nc without -C (bare LF)", []string{host, port}, "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := run(t, session, "nc", tt.args...)
			if !strings.Contains(out, "250 2.0.0 Ok: queued as") || !strings.Contains(out, "221 2.0.0 Bye") {
				t.Errorf("nc:\n%s", out)
			}
			d := lb.events.Next(t, KindDelivered)
			wantAttrs(t, d, map[string]string{"subject": "typed by hand", "bare_lf": tt.bareLF, "typed": tt.bareLF})
		})
	}
	for _, m := range lb.inbox(t, "bob") {
		if got := afterReceived(t, m); got != stored {
			t.Errorf("stored %q, want %q", got, stored)
		}
	}
}

func TestTelnet(t *testing.T) {
	path := needTool(t, "telnet")
	lb := startLab(t, setup{})
	host, port := hostPort(t, lb.mx)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, host, port)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	defer stdin.Close()
	out := bufio.NewReader(stdout)
	// expect reads telnet's output up to a reply line with the code, as a
	// learner waits for the server before typing on.
	expect := func(code string) {
		t.Helper()
		for {
			line, err := out.ReadString('\n')
			if err != nil {
				t.Fatalf("telnet: waiting for %s: %v", code, err)
			}
			if strings.HasPrefix(line, code+" ") {
				return
			}
		}
	}
	expect("220")
	for _, s := range []struct{ line, code string }{
		{"HELO learner.lab.test", "250"}, {"MAIL FROM:<x@example.net>", "250"}, {"RCPT TO:<bob@lab.test>", "250"}, {"DATA", "354"},
		{"Subject: by telnet\n\nHello Bob\n.", "250"}, {"QUIT", "221"},
	} {
		if _, err := io.WriteString(stdin, s.line+"\n"); err != nil {
			t.Fatal(err)
		}
		expect(s.code)
	}
	wantAttrs(t, lb.events.Next(t, KindDelivered), map[string]string{"subject": "by telnet", "bare_lf": "false", "ehlo": "HELO"})
	msgs := lb.inbox(t, "bob")
	if len(msgs) != 1 || afterReceived(t, msgs[0]) != "Subject: by telnet\r\n\r\nHello Bob\r\n" {
		t.Errorf("bob's INBOX: %q", msgs)
	}
}
