package smtp

import (
	"context"
	"strings"
	"testing"
	"time"

	"protolab/internal/service"
)

func solveStep(t *testing.T, lb *lab, action string, args map[string]string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return Spec.Solve(ctx, lb.inst.Endpoints(), service.Step{Action: action, Args: args})
}

func TestSolveSend(t *testing.T) {
	tests := []struct {
		name string
		args map[string]string
		want map[string]string // attributes of smtp.delivered
	}{
		{"MX", map[string]string{"from": "x@example.net", "to": "bob@lab.test", "subject": "Café", "body": ".hidden dot\nline 2"},
			map[string]string{"listener": "smtp", "to": "bob@lab.test", "subject": "Café", "auth_user": "", "tls": "false", "typed": "false"}},
		{"MX typed", map[string]string{"from": "x@example.net", "to": "bob@lab.test", "typed": "true"},
			map[string]string{"typed": "true", "bare_lf": "true", "subject": "Protolab test"}},
		{"submission PLAIN", map[string]string{"listener": "submission", "from": "alice@lab.test", "to": "bob@lab.test,alice@lab.test", "user": "alice", "password": "wonderland"},
			map[string]string{"listener": "submission", "auth_user": "alice", "rcpt_count": "2", "tls": "false"}},
		{"submission LOGIN over TLS", map[string]string{"listener": "submission", "from": "bob@lab.test", "to": "alice@lab.test", "user": "bob", "password": "builder", "auth": "login", "starttls": "true"},
			map[string]string{"auth_user": "bob", "tls": "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lb := startLab(t, setup{})
			if err := solveStep(t, lb, "smtp.send", tt.args); err != nil {
				t.Fatalf("send: %v", err)
			}
			d := lb.events.Next(t, KindDelivered)
			wantAttrs(t, d, tt.want)
			if tt.name == "MX" {
				msgs := lb.inbox(t, "bob")
				if len(msgs) != 1 || !strings.Contains(string(msgs[0]), "\r\n\r\n.hidden dot\r\nline 2\r\n") {
					t.Errorf("bob's INBOX: %q", msgs)
				}
			}
		})
	}
}

func TestSolveSendFails(t *testing.T) {
	lb := startLab(t, setup{})
	tests := []struct {
		name   string
		action string
		args   map[string]string
		want   []string
		hidden string
	}{
		{"relay", "smtp.send", map[string]string{"from": "x@example.net", "to": "y@example.com"}, []string{"RCPT TO:<y@example.com>", "554 5.7.1"}, ""},
		{"wrong password", "smtp.send", map[string]string{"listener": "submission", "from": "alice@lab.test", "to": "bob@lab.test", "user": "alice", "password": "guess"}, []string{"AUTH PLAIN ********", "535"}, plain("alice", "guess")},
		{"no login on submission", "smtp.send", map[string]string{"listener": "submission", "from": "alice@lab.test", "to": "bob@lab.test"}, []string{"MAIL FROM:<alice@lab.test>", "530"}, ""},
		{"missing argument", "smtp.send", map[string]string{"to": "bob@lab.test"}, []string{`argument "from" is required`}, ""},
		{"unknown argument", "smtp.send", map[string]string{"from": "a@b", "to": "bob@lab.test", "cc": "x"}, []string{`unknown argument "cc"`}, ""},
		{"bad listener", "smtp.probe", map[string]string{"to": "bob@lab.test", "listener": "pop3"}, []string{`listener "pop3"`}, ""},
		{"bad auth", "smtp.send", map[string]string{"from": "a@b", "to": "bob@lab.test", "auth": "CRAM-MD5"}, []string{"PLAIN or LOGIN"}, ""},
		{"bad bool", "smtp.send", map[string]string{"from": "a@b", "to": "bob@lab.test", "typed": "yes"}, []string{"true or false"}, ""},
		{"unknown action", "smtp.vrfy", map[string]string{}, []string{`unknown action "smtp.vrfy"`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := solveStep(t, lb, tt.action, tt.args)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tt.hidden != "" && strings.Contains(err.Error(), tt.hidden) {
				t.Errorf("error %q shows a secret", err)
			}
		})
	}
	if n := len(lb.inbox(t, "bob")); n != 0 {
		t.Errorf("bob has %d messages", n)
	}
}

func TestSolveProbe(t *testing.T) {
	lb := startLab(t, setup{})
	if err := solveStep(t, lb, "smtp.probe", map[string]string{"to": "bob@lab.test, carol@lab.test,x@example.com"}); err != nil {
		t.Fatalf("probe: %v", err)
	}
	wantAttrs(t, lb.events.Next(t, KindMail), map[string]string{"from": "probe@example.net", "result": "accepted"})
	for _, w := range []map[string]string{
		{"to": "bob@lab.test", "result": "accepted"},
		{"to": "carol@lab.test", "reason": "unknown-user", "code": "550"},
		{"to": "x@example.com", "reason": "relay-denied", "code": "554"},
	} {
		wantAttrs(t, lb.events.Next(t, KindRcpt), w)
	}
	if err := solveStep(t, lb, "smtp.probe", map[string]string{"to": "bob@lab.test", "listener": "submission", "from": "alice@lab.test"}); err != nil {
		t.Fatalf("probe on submission: %v", err)
	}
	wantAttrs(t, lb.events.Next(t, KindRcpt), map[string]string{"listener": "submission", "reason": "auth-required"})
	lb.events.None(t, KindDelivered)
}
