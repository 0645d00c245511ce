package main

// The mail labs solved end to end by real tools only: swaks, curl, nc and
// Python's smtplib, poplib and imaplib.

import (
	"context"
	"os/exec"
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
}
