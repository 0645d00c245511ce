package smtp

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"protolab/services/mailstore"
)

// message is a message with a line that must be dot-stuffed on the wire,
// an RFC 2047 subject and a Message-ID.
const message = "From: <x@example.net>\r\n" +
	"To: <bob@lab.test>\r\n" +
	"Subject: =?utf-8?q?Caf=C3=A9_au_lait?=\r\n" +
	"Message-ID: <m1.2026@example.net>\r\n" +
	"\r\n" +
	"Hello Bob,\r\n" +
	".dot at the start of a line\r\n" +
	"..two dots\r\n" +
	"\r\n" +
	"bye\r\n"

// stuffed is message as it goes on the wire after DATA.
func stuffed(msg string) string {
	lines := strings.SplitAfter(msg, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") {
			lines[i] = "." + l
		}
	}
	return strings.Join(lines, "") + ".\r\n"
}

func TestMXAcceptsMailForTheDomainWithoutLogin(t *testing.T) {
	lb := startLab(t, setup{})
	w := lb.dial(t, lb.mx)
	w.do("EHLO learner.lab.test", 250)
	w.do("MAIL FROM:<x@example.net>", 250)
	w.do("RCPT TO:<bob@lab.test>", 250)
	w.do("DATA", 354)
	w.raw(stuffed(message))
	last := w.expect(250)
	if !regexp.MustCompile(`^250 2\.0\.0 Ok: queued as [0-9A-F]{12}$`).MatchString(last) {
		t.Errorf("reply to the message: %q", last)
	}
	w.do("QUIT", 221)
	w.closed()

	msgs := lb.inbox(t, "bob")
	if len(msgs) != 1 {
		t.Fatalf("bob has %d messages, want 1", len(msgs))
	}
	if got := afterReceived(t, msgs[0]); got != message {
		t.Errorf("stored message differs:\n got %q\nwant %q", got, message)
	}
	id := strings.TrimPrefix(last, "250 2.0.0 Ok: queued as ")
	wantReceived := "Received: from learner.lab.test ([127.0.0.1])\r\n\tby mail.lab.test (Protolab) with ESMTP id " + id +
		"\r\n\tfor <bob@lab.test>; Sat, 14 Mar 2026 15:09:26 +0000\r\n"
	if !strings.HasPrefix(string(msgs[0]), wantReceived) {
		t.Errorf("Received header:\n got %q\nwant %q", first(string(msgs[0]), len(wantReceived)), wantReceived)
	}
	if n := len(lb.inbox(t, "alice")); n != 0 {
		t.Errorf("alice has %d messages, want 0", n)
	}

	e := lb.events.Next(t, KindConnect)
	wantAttrs(t, e, map[string]string{"listener": "smtp"})
	if !strings.Contains(e.Transcript, "S: 220 mail.lab.test ESMTP") {
		t.Errorf("connect transcript: %q", e.Transcript)
	}
	wantAttrs(t, lb.events.Next(t, KindEHLO), map[string]string{"listener": "smtp", "verb": "EHLO", "hostname": "learner.lab.test", "tls": "false"})
	wantAttrs(t, lb.events.Next(t, KindMail), map[string]string{"from": "x@example.net", "auth_user": "", "result": "accepted", "code": "250"})
	wantAttrs(t, lb.events.Next(t, KindRcpt), map[string]string{"to": "bob@lab.test", "domain": "lab.test", "local": "bob", "result": "accepted", "code": "250", "reason": ""})
	d := lb.events.Next(t, KindDelivered)
	wantAttrs(t, d, map[string]string{
		"listener": "smtp", "from": "x@example.net", "to": "bob@lab.test", "rcpt_count": "1",
		"subject": "Café au lait", "message_id": "m1.2026@example.net", "size": fmt.Sprint(len(message)),
		"auth_user": "", "tls": "false", "ehlo": "EHLO", "typed": "false", "bare_lf": "false",
	})
	for _, want := range []string{"C: EHLO learner.lab.test", "C: RCPT TO:<bob@lab.test>", "S: 354 ", fmt.Sprintf("C: <message, %d bytes>", len(stuffed(message))-3), "C: .", "S: 250 2.0.0 Ok: queued as " + id} {
		if !strings.Contains(d.Transcript, want) {
			t.Errorf("delivered transcript lacks %q:\n%s", want, d.Transcript)
		}
	}
	if strings.Contains(d.Transcript, "Hello Bob") {
		t.Errorf("the transcript shows the message body:\n%s", d.Transcript)
	}
}

func TestRecipients(t *testing.T) {
	lb := startLab(t, setup{})
	tests := []struct {
		rcpt   string
		reply  string
		reason string
	}{
		{"bob@lab.test", "250 2.0.0 ", ""},
		{"Alice@LAB.TEST", "250 2.0.0 ", ""},
		{"someone@example.com", "554 5.7.1 <someone@example.com>: Relay access denied", "relay-denied"},
		{"bob@lab.test.example.com", "554 5.7.1 <bob@lab.test.example.com>: Relay access denied", "relay-denied"},
		{"carol@lab.test", "550 5.1.1 <carol@lab.test>: Recipient address rejected: User unknown", "unknown-user"},
		{"bob", "501 5.5.2 ", "syntax"},
	}
	w := lb.dial(t, lb.mx)
	w.do("EHLO learner.lab.test", 250)
	w.do("MAIL FROM:<>", 250)
	for _, tt := range tests {
		t.Run(tt.rcpt, func(t *testing.T) {
			w.send("RCPT TO:<" + tt.rcpt + ">")
			_, lines := w.reply()
			if !strings.HasPrefix(lines[0], tt.reply) {
				t.Errorf("RCPT TO:<%s> answered %q, want %q", tt.rcpt, lines[0], tt.reply)
			}
			e := lb.events.Next(t, KindRcpt)
			result := "rejected"
			if tt.reason == "" {
				result = "accepted"
			}
			wantAttrs(t, e, map[string]string{"to": tt.rcpt, "result": result, "code": tt.reply[:3], "reason": tt.reason})
		})
	}
	w.do("RSET", 250)
	w.do("QUIT", 221)
}

func TestSubmissionRequiresAuth(t *testing.T) {
	lb := startLab(t, setup{})
	w := lb.dial(t, lb.sub)
	w.send("EHLO learner.lab.test")
	_, ehlo := w.reply()
	if !slices.Contains(ehlo, "250-AUTH PLAIN LOGIN") || !slices.Contains(ehlo, "250-STARTTLS") {
		t.Errorf("EHLO on submission: %q", ehlo)
	}
	if got := w.do("MAIL FROM:<alice@lab.test>", 530); !strings.HasPrefix(got, "530 5.7.0 Authentication required") {
		t.Errorf("MAIL before AUTH: %q", got)
	}
	wantAttrs(t, lb.events.Next(t, KindMail), map[string]string{"listener": "submission", "from": "alice@lab.test", "result": "rejected", "code": "530", "auth_user": ""})
	w.do("RCPT TO:<bob@lab.test>", 502)
	wantAttrs(t, lb.events.Next(t, KindRcpt), map[string]string{"listener": "submission", "result": "rejected", "code": "502", "reason": "auth-required"})
	w.do("DATA", 502)
	wantAttrs(t, lb.events.Next(t, KindRejected), map[string]string{"code": "502", "reason": "no-recipients"})
	w.do("QUIT", 221)
	if n := len(lb.inbox(t, "bob")); n != 0 {
		t.Errorf("bob has %d messages", n)
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name      string
		dialogue  [][2]string // line sent, reply expected (prefix)
		user      string
		result    string
		mechanism string
		shown     []string // in the transcript
		hidden    []string // never in the transcript
	}{
		{
			name:     "plain ok",
			dialogue: [][2]string{{"AUTH PLAIN " + plain("alice", "wonderland"), "235 2.0.0 "}},
			user:     "alice", result: "ok", mechanism: "PLAIN",
			shown:  []string{"C: AUTH PLAIN ********", "!! " + clearTextWarning},
			hidden: []string{plain("alice", "wonderland"), "wonderland"},
		},
		{
			name:     "plain with the full address",
			dialogue: [][2]string{{"AUTH PLAIN " + plain("alice@lab.test", "wonderland"), "235 "}},
			user:     "alice", result: "ok", mechanism: "PLAIN",
		},
		{
			name:     "plain without initial response",
			dialogue: [][2]string{{"AUTH PLAIN", "334 "}, {plain("bob", "builder"), "235 "}},
			user:     "bob", result: "ok", mechanism: "PLAIN",
			shown:  []string{"C: AUTH PLAIN", "C: ********"},
			hidden: []string{plain("bob", "builder")},
		},
		{
			name:     "plain wrong password",
			dialogue: [][2]string{{"AUTH PLAIN " + plain("alice", "guess"), "535 5.7.8 Authentication failed"}},
			user:     "alice", result: "failed", mechanism: "PLAIN",
			hidden: []string{plain("alice", "guess")},
		},
		{
			name:     "plain malformed",
			dialogue: [][2]string{{"AUTH PLAIN " + b64("alice"), "501 5.5.2 Malformed AUTH PLAIN"}},
			user:     "", result: "failed", mechanism: "PLAIN",
		},
		{
			name:     "plain not base64",
			dialogue: [][2]string{{"AUTH PLAIN !!!", "454 4.7.0 Invalid base64"}},
			user:     "", result: "failed", mechanism: "PLAIN",
		},
		{
			name:     "login ok",
			dialogue: [][2]string{{"AUTH LOGIN", "334 VXNlcm5hbWU6"}, {b64("alice"), "334 UGFzc3dvcmQ6"}, {b64("wonderland"), "235 2.0.0 "}},
			user:     "alice", result: "ok", mechanism: "LOGIN",
			shown:  []string{`S: 334 VXNlcm5hbWU6 (base64 of "Username:")`, `C: YWxpY2U= (base64 of "alice")`, `S: 334 UGFzc3dvcmQ6 (base64 of "Password:")`, "C: ********", "!! " + clearTextWarning},
			hidden: []string{b64("wonderland"), "wonderland"},
		},
		{
			name:     "login with initial response",
			dialogue: [][2]string{{"AUTH LOGIN " + b64("bob"), "334 UGFzc3dvcmQ6"}, {b64("builder"), "235 "}},
			user:     "bob", result: "ok", mechanism: "LOGIN",
			shown:  []string{`C: AUTH LOGIN Ym9i (base64 of "bob")`},
			hidden: []string{b64("builder")},
		},
		{
			name:     "login wrong password",
			dialogue: [][2]string{{"AUTH LOGIN", "334 "}, {b64("bob"), "334 "}, {b64("wonderland"), "535 5.7.8 "}},
			user:     "bob", result: "failed", mechanism: "LOGIN",
			hidden: []string{b64("wonderland")},
		},
		{
			name:     "login unknown user",
			dialogue: [][2]string{{"AUTH LOGIN", "334 "}, {b64("mallory"), "334 "}, {b64("x"), "535 5.7.8 "}},
			user:     "mallory", result: "failed", mechanism: "LOGIN",
		},
		{
			name:     "login cancelled",
			dialogue: [][2]string{{"AUTH LOGIN", "334 "}, {"*", "501 5.0.0 Negotiation cancelled"}},
			user:     "", result: "failed", mechanism: "LOGIN",
		},
		{
			name:     "garbled, secret still masked",
			dialogue: [][2]string{{"AUTH\tPLAIN " + plain("alice", "wonderland"), "501 5.5.2 "}},
			user:     "", result: "failed", mechanism: "PLAIN",
			shown:  []string{"C: AUTH PLAIN ********"},
			hidden: []string{plain("alice", "wonderland")},
		},
		{
			name:     "unknown mechanism",
			dialogue: [][2]string{{"AUTH CRAM-MD5", "504 5.5.4 "}},
			user:     "", result: "failed", mechanism: "CRAM-MD5",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lb := startLab(t, setup{})
			w := lb.dial(t, lb.sub)
			w.do("EHLO learner.lab.test", 250)
			for _, d := range tt.dialogue {
				w.send(d[0])
				_, lines := w.reply()
				if !strings.HasPrefix(lines[0], d[1]) {
					t.Fatalf("%q answered %q, want %q", d[0], lines[0], d[1])
				}
			}
			e := lb.events.Next(t, KindAuth)
			wantAttrs(t, e, map[string]string{"listener": "submission", "mechanism": tt.mechanism, "user": tt.user, "result": tt.result, "tls": "false"})
			if tt.result == "ok" || strings.HasPrefix(tt.name, "login wrong") {
				if e.Attrs["warning"] != clearTextWarning {
					t.Errorf("warning = %q", e.Attrs["warning"])
				}
			}
			for _, s := range tt.shown {
				if !strings.Contains(e.Transcript, s) {
					t.Errorf("transcript lacks %q:\n%s", s, e.Transcript)
				}
			}
			for _, s := range tt.hidden {
				if strings.Contains(e.Transcript, s) {
					t.Errorf("transcript shows the secret %q:\n%s", s, e.Transcript)
				}
			}
			if tt.result == "ok" {
				w.do("MAIL FROM:<"+tt.user+"@lab.test>", 250)
				w.do("AUTH PLAIN "+plain("alice", "wonderland"), 503)
			} else {
				w.do("MAIL FROM:<alice@lab.test>", 530)
			}
			w.do("QUIT", 221)
		})
	}
}

func TestSubmissionSendsAsTheUserOnly(t *testing.T) {
	lb := startLab(t, setup{})
	w := lb.dial(t, lb.sub)
	w.do("EHLO learner.lab.test", 250)
	w.do("AUTH PLAIN "+plain("alice", "wonderland"), 235)
	got := w.do("MAIL FROM:<bob@lab.test>", 553)
	for _, want := range []string{"553 5.7.1 <bob@lab.test>: Sender address rejected", "logged in as alice", "MAIL FROM:<alice@lab.test>"} {
		if !strings.Contains(got, want) {
			t.Errorf("reply %q lacks %q", got, want)
		}
	}
	wantAttrs(t, lb.events.Next(t, KindMail), map[string]string{"from": "bob@lab.test", "auth_user": "alice", "result": "rejected", "code": "553"})
	w.do("MAIL FROM:<ALICE@lab.test>", 250)
	w.do("RCPT TO:<friend@example.org>", 554)
	wantAttrs(t, lb.events.Next(t, KindRcpt), map[string]string{"reason": "relay-denied", "code": "554"})
	w.do("RCPT TO:<bob@lab.test>", 250)
	w.do("DATA", 354)
	w.raw(stuffed("Subject: hi\r\n\r\nhello\r\n"))
	w.expect(250)
	d := lb.events.Next(t, KindDelivered)
	wantAttrs(t, d, map[string]string{"listener": "submission", "auth_user": "alice", "from": "ALICE@lab.test", "subject": "hi", "message_id": "", "tls": "false"})
	msgs := lb.inbox(t, "bob")
	if len(msgs) != 1 || !strings.Contains(string(msgs[0]), "(Authenticated sender: alice)\r\n\tby mail.lab.test (Protolab) with ESMTPA id ") {
		t.Errorf("bob's INBOX: %q", msgs)
	}
}

func TestSTARTTLSThenAuth(t *testing.T) {
	lb := startLab(t, setup{options: "allow_insecure_auth: false"})
	w := lb.dial(t, lb.sub)
	w.send("EHLO learner.lab.test")
	_, ehlo := w.reply()
	if slices.ContainsFunc(ehlo, func(s string) bool { return strings.Contains(s, "AUTH") }) || !slices.Contains(ehlo, "250-STARTTLS") {
		t.Errorf("EHLO in clear text: %q", ehlo)
	}
	w.do("AUTH PLAIN "+plain("alice", "wonderland"), 538)
	w.startTLS()
	st := lb.events.Next(t, KindSTARTTLS)
	wantAttrs(t, st, map[string]string{"listener": "submission", "result": "ok", "version": "TLS1.3"})
	// The session starts afresh: EHLO first.
	w.do("MAIL FROM:<alice@lab.test>", 502)
	w.send("EHLO learner.lab.test")
	_, ehlo = w.reply()
	if !slices.Contains(ehlo, "250-AUTH PLAIN LOGIN") || slices.Contains(ehlo, "250-STARTTLS") || slices.Contains(ehlo, "250-CHUNKING") {
		t.Errorf("EHLO over TLS: %q", ehlo)
	}
	w.do("STARTTLS", 502)
	w.do("AUTH PLAIN "+plain("alice", "wonderland"), 235)
	a := lb.events.Next(t, KindAuth)
	wantAttrs(t, a, map[string]string{"result": "ok", "tls": "true", "user": "alice"})
	if _, ok := a.Attrs["warning"]; ok {
		t.Errorf("a login over TLS carries a warning: %v", a.Attrs)
	}
	// The warning is there once: for the AUTH refused before STARTTLS.
	if strings.Count(a.Transcript, clearTextWarning) != 1 || !strings.Contains(a.Transcript, "!! TLS started (TLS 1.3") {
		t.Errorf("transcript:\n%s", a.Transcript)
	}
	w.do("MAIL FROM:<alice@lab.test>", 250)
	w.do("RCPT TO:<bob@lab.test>", 250)
	w.do("DATA", 354)
	w.raw(stuffed(message))
	w.expect(250)
	d := lb.events.Next(t, KindDelivered)
	wantAttrs(t, d, map[string]string{"tls": "true", "auth_user": "alice", "ehlo": "EHLO"})
	w.do("QUIT", 221)
	msgs := lb.inbox(t, "bob")
	if len(msgs) != 1 || !strings.Contains(string(msgs[0]), " with ESMTPSA id ") || afterReceived(t, msgs[0]) != message {
		t.Errorf("bob's INBOX: %q", msgs)
	}
}

func TestSTARTTLSDiscardsWhatCameWithIt(t *testing.T) {
	lb := startLab(t, setup{})
	w := lb.dial(t, lb.mx)
	w.do("EHLO learner.lab.test", 250)
	w.raw("STARTTLS\r\nMAIL FROM:<injected@example.net>\r\n")
	w.expect(220)
	w.startTLSHandshake()
	w.send("EHLO again.lab.test")
	_, lines := w.reply()
	if !strings.HasPrefix(lines[0], "250-Hello again.lab.test") {
		t.Fatalf("first reply over TLS: %q (the injected command was answered?)", lines)
	}
	w.do("QUIT", 221)
	e := lb.events.Next(t, KindSTARTTLS)
	if !strings.Contains(e.Transcript, "bytes sent after STARTTLS, before the TLS handshake, were discarded") {
		t.Errorf("transcript:\n%s", e.Transcript)
	}
	lb.events.None(t, KindMail)
}

func TestSTARTTLSFailedHandshake(t *testing.T) {
	lb := startLab(t, setup{})
	w := lb.dial(t, lb.mx)
	w.do("EHLO learner.lab.test", 250)
	w.do("STARTTLS", 220)
	w.raw("EHLO not-tls.lab.test\r\n")
	e := lb.events.Next(t, KindSTARTTLS)
	wantAttrs(t, e, map[string]string{"result": "failed"})
	w.closed()
}

func TestMXOffersNoAuth(t *testing.T) {
	lb := startLab(t, setup{})
	w := lb.dial(t, lb.mx)
	w.send("EHLO learner.lab.test")
	_, ehlo := w.reply()
	want := []string{"250-Hello learner.lab.test", "250-PIPELINING", "250-8BITMIME", "250-ENHANCEDSTATUSCODES", "250-STARTTLS", "250-SIZE 1048576", "250 LIMITS RCPTMAX=20"}
	if !slices.Equal(ehlo, want) {
		t.Errorf("EHLO on the MX:\n got %q\nwant %q", ehlo, want)
	}
	got := w.do("AUTH PLAIN "+plain("alice", "wonderland"), 502)
	if _, port := splitHostPort(t, lb.sub); !strings.Contains(got, fmt.Sprintf("submission port (%d)", port)) {
		t.Errorf("AUTH on the MX: %q", got)
	}
	e := lb.events.Next(t, KindAuth)
	wantAttrs(t, e, map[string]string{"listener": "smtp", "result": "failed", "code": "502", "warning": clearTextWarning})
	w.do("VRFY bob", 252)
	w.raw("BDAT 5 LAST\r\nhello")
	w.expect(502)
	w.do("NOOP", 250)
	w.do("HELO old.lab.test", 250)
	wantAttrs(t, lb.events.Next(t, KindEHLO), map[string]string{"verb": "HELO", "hostname": "old.lab.test"})
	w.do("QUIT", 221)
}

func TestSizeLimit(t *testing.T) {
	lb := startLab(t, setup{options: "max_message_bytes: 1024"})
	w := lb.dial(t, lb.mx)
	w.do("EHLO learner.lab.test", 250)
	w.do("MAIL FROM:<x@example.net> SIZE=5000", 552)
	w.do("MAIL FROM:<x@example.net>", 250)
	w.do("RCPT TO:<bob@lab.test>", 250)
	w.do("DATA", 354)
	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz\r\n", 60)
	w.raw(stuffed(big))
	got := w.expect(552)
	if !strings.HasPrefix(got, "552 5.3.4 Message too big: the limit is 1024 bytes") {
		t.Errorf("reply: %q", got)
	}
	wantAttrs(t, lb.events.Next(t, KindRejected), map[string]string{"code": "552", "reason": "too-big"})
	// The session goes on, and a message within the limit passes.
	w.do("MAIL FROM:<x@example.net>", 250)
	w.do("RCPT TO:<bob@lab.test>", 250)
	w.do("DATA", 354)
	w.raw(stuffed("Subject: small\r\n\r\nok\r\n"))
	w.expect(250)
	w.do("QUIT", 221)
	msgs := lb.inbox(t, "bob")
	if len(msgs) != 1 || !strings.Contains(string(msgs[0]), "Subject: small") {
		t.Errorf("bob's INBOX: %q", msgs)
	}
}

func TestDisconnectInsideDataStoresNothing(t *testing.T) {
	lb := startLab(t, setup{})
	w := lb.dial(t, lb.mx)
	w.do("EHLO learner.lab.test", 250)
	w.do("MAIL FROM:<x@example.net>", 250)
	w.do("RCPT TO:<bob@lab.test>", 250)
	w.do("DATA", 354)
	w.raw("Subject: cut\r\n\r\nhalf a message\r\n")
	w.conn.Close()
	e := lb.events.Next(t, KindRejected)
	wantAttrs(t, e, map[string]string{"reason": "disconnected", "code": ""})
	if !strings.Contains(e.Transcript, "the client went away inside DATA") {
		t.Errorf("transcript:\n%s", e.Transcript)
	}
	if n := len(lb.inbox(t, "bob")); n != 0 {
		t.Errorf("bob has %d messages, want 0", n)
	}
}

func TestTooManyRecipients(t *testing.T) {
	lb := startLab(t, setup{options: "max_recipients: 2"})
	w := lb.dial(t, lb.mx)
	w.do("EHLO learner.lab.test", 250)
	w.do("MAIL FROM:<x@example.net>", 250)
	w.do("RCPT TO:<bob@lab.test>", 250)
	w.do("RCPT TO:<alice@lab.test>", 250)
	w.do("RCPT TO:<bob@lab.test>", 452)
	lb.events.Next(t, KindRcpt)
	lb.events.Next(t, KindRcpt)
	wantAttrs(t, lb.events.Next(t, KindRcpt), map[string]string{"to": "bob@lab.test", "result": "rejected", "code": "452", "reason": "too-many-recipients"})
	w.do("DATA", 354)
	w.raw(stuffed("Subject: two\r\n\r\nto both\r\n"))
	w.expect(250)
	d := lb.events.Next(t, KindDelivered)
	wantAttrs(t, d, map[string]string{"to": "bob@lab.test,alice@lab.test", "rcpt_count": "2"})
	for _, u := range []string{"alice", "bob"} {
		msgs := lb.inbox(t, u)
		if len(msgs) != 1 || strings.Contains(string(msgs[0]), "\tfor <") {
			t.Errorf("%s's INBOX: %q", u, msgs)
		}
	}
}

func TestBadCommands(t *testing.T) {
	t.Run("flood", func(t *testing.T) {
		lb := startLab(t, setup{options: "max_bad_commands: 3"})
		w := lb.dial(t, lb.mx)
		w.do("FOO", 500)
		w.do("RCPT TO:<bob@lab.test>", 502) // before MAIL: go-smtp's own answer counts too
		w.send("MAIL\tFROM:<x@example.net>")
		_, lines := w.reply()
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "501 5.5.2 Syntax error") {
			t.Fatalf("third bad command: %q", lines)
		}
		if got := w.expect(421); !strings.HasPrefix(got, "421 4.7.0 mail.lab.test Error: too many errors") {
			t.Errorf("goodbye: %q", got)
		}
		w.closed()
		wantAttrs(t, lb.events.Next(t, KindRejected), map[string]string{"code": "421", "reason": "too-many-errors"})
	})
	t.Run("more than go-smtp tolerates", func(t *testing.T) {
		lb := startLab(t, setup{})
		w := lb.dial(t, lb.mx)
		for i := 0; i < 9; i++ {
			w.do("XYZZY", 500)
		}
		w.send("")
		if got := w.expect(500); !strings.Contains(got, "Empty line") {
			t.Errorf("blank line: %q", got)
		}
		w.do("NOOP", 250)
		w.do("HELP", 502)
		w.expect(421)
		w.closed()
	})
	t.Run("line too long", func(t *testing.T) {
		lb := startLab(t, setup{})
		w := lb.dial(t, lb.mx)
		w.send("NOOP " + strings.Repeat("x", 3000))
		w.expect(500)
		w.closed()
	})
}

func TestAuthFailuresAreSlowedDown(t *testing.T) {
	lb := startLab(t, setup{})
	w := lb.dial(t, lb.sub)
	w.do("EHLO learner.lab.test", 250)
	for i := 0; i < 4; i++ {
		w.do("AUTH PLAIN "+plain("alice", fmt.Sprint("guess", i)), 535)
	}
	got := w.do("AUTH PLAIN "+plain("alice", "guess4"), 421)
	if !strings.Contains(got, "Too many failed logins (5)") {
		t.Errorf("fifth failure: %q", got)
	}
	w.closed()
	want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	if got := lb.sleeps.all(); !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	for i, d := range want {
		e := lb.events.Next(t, KindAuth)
		wantAttrs(t, e, map[string]string{"result": "failed", "delay": d.String()})
		if i == 4 {
			wantAttrs(t, e, map[string]string{"code": "421"})
		}
	}
	wantAttrs(t, lb.events.Next(t, KindRejected), map[string]string{"code": "421", "reason": "too-many-auth-failures"})

	// The address is remembered: a new session's first failure waits too,
	// and a success forgets it.
	w = lb.dial(t, lb.sub)
	w.do("EHLO learner.lab.test", 250)
	w.do("AUTH PLAIN "+plain("alice", "again"), 535)
	w.do("AUTH PLAIN "+plain("alice", "wonderland"), 235)
	w = lb.dial(t, lb.sub)
	w.do("EHLO learner.lab.test", 250)
	w.do("AUTH PLAIN "+plain("bob", "nope"), 535)
	want = append(want, 8*time.Second, 0)
	if got := lb.sleeps.all(); !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
}

func TestTypedSessions(t *testing.T) {
	body := "Subject: typed\n\nHello Bob,\n.dot line\nbye\n"
	tests := []struct {
		name    string
		eol     string
		pauses  int
		typed   string
		bareLF  string
		stored  string
		session func(w *wire, lb *lab)
	}{
		{name: "bare LF, as nc without -C", eol: "\n", typed: "true", bareLF: "true",
			stored: "Subject: typed\r\n\r\nHello Bob,\r\n.dot line\r\nbye\r\n"},
		{name: "CRLF, as a program", eol: "\r\n", typed: "false", bareLF: "false",
			stored: "Subject: typed\r\n\r\nHello Bob,\r\n.dot line\r\nbye\r\n"},
		{name: "CRLF with human pauses, as telnet", eol: "\r\n", pauses: 2, typed: "true", bareLF: "false",
			stored: "Subject: typed\r\n\r\nHello Bob,\r\n.dot line\r\nbye\r\n"},
		{name: "CRLF with one pause", eol: "\r\n", pauses: 1, typed: "false", bareLF: "false",
			stored: "Subject: typed\r\n\r\nHello Bob,\r\n.dot line\r\nbye\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lb := startLab(t, setup{})
			w := lb.dial(t, lb.mx)
			w.eol = tt.eol
			steps := [][2]any{{"HELO learner.lab.test", 250}, {"MAIL FROM:<x@example.net>", 250}, {"RCPT TO:<bob@lab.test>", 250}, {"DATA", 354}}
			for i, s := range steps {
				if i < tt.pauses {
					lb.clock.advance(1500 * time.Millisecond)
				}
				w.do(s[0].(string), s[1].(int))
			}
			lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
			for _, l := range lines {
				if strings.HasPrefix(l, ".") {
					l = "." + l
				}
				w.send(l)
			}
			w.send(".")
			w.expect(250)
			w.do("QUIT", 221)
			d := lb.events.Next(t, KindDelivered)
			wantAttrs(t, d, map[string]string{"typed": tt.typed, "bare_lf": tt.bareLF, "ehlo": "HELO"})
			if tt.bareLF == "true" && !strings.Contains(d.Transcript, "bare LF line ends (nc without -C) were read as CRLF") {
				t.Errorf("transcript:\n%s", d.Transcript)
			}
			msgs := lb.inbox(t, "bob")
			if len(msgs) != 1 {
				t.Fatalf("bob has %d messages", len(msgs))
			}
			if got := afterReceived(t, msgs[0]); got != tt.stored {
				t.Errorf("stored %q, want %q", got, tt.stored)
			}
			if !strings.Contains(string(msgs[0]), " with SMTP id ") {
				t.Errorf("Received after HELO: %q", first(string(msgs[0]), 200))
			}
		})
	}
}

func TestBareLFInAProgramsMessageIsKept(t *testing.T) {
	// A client speaking CRLF gets its message byte for byte, bare LF
	// included: "\n.\n" does not end it (no smuggling).
	lb := startLab(t, setup{})
	w := lb.dial(t, lb.mx)
	w.do("EHLO learner.lab.test", 250)
	w.do("MAIL FROM:<x@example.net>", 250)
	w.do("RCPT TO:<bob@lab.test>", 250)
	w.do("DATA", 354)
	msg := "Subject: lf\r\n\r\nline one\nstill one\n.\nnot the end\r\n"
	w.raw(msg + ".\r\n")
	w.expect(250)
	w.do("QUIT", 221)
	msgs := lb.inbox(t, "bob")
	if len(msgs) != 1 || afterReceived(t, msgs[0]) != msg {
		t.Errorf("bob's INBOX: %q", msgs)
	}
	wantAttrs(t, lb.events.Next(t, KindDelivered), map[string]string{"typed": "false", "bare_lf": "false"})
}

func TestPipelining(t *testing.T) {
	lb := startLab(t, setup{})
	w := lb.dial(t, lb.mx)
	w.raw("EHLO learner.lab.test\r\nMAIL FROM:<x@example.net>\r\nRCPT TO:<nobody@lab.test>\r\nRCPT TO:<bob@lab.test>\r\nDATA\r\n")
	for _, code := range []int{250, 250, 550, 250, 354} {
		w.expect(code)
	}
	w.raw(stuffed("Subject: piped\r\n\r\nx\r\n") + "QUIT\r\n")
	w.expect(250)
	w.expect(221)
	wantAttrs(t, lb.events.Next(t, KindRcpt), map[string]string{"to": "nobody@lab.test", "reason": "unknown-user"})
	wantAttrs(t, lb.events.Next(t, KindRcpt), map[string]string{"to": "bob@lab.test", "result": "accepted"})
	wantAttrs(t, lb.events.Next(t, KindDelivered), map[string]string{"to": "bob@lab.test", "subject": "piped"})
}

// writeCounter counts the writes to a connection.
type writeCounter struct {
	net.Conn
	n atomic.Int32
}

func (c *writeCounter) Write(b []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(b)
}

// TestMultiLineReplyInOneWrite: the lines of the EHLO reply reach the
// client in one write (go-smtp writes them one at a time), as do the
// greeting and the other replies.
func TestMultiLineReplyInOneWrite(t *testing.T) {
	lb := startLab(t, setup{})
	server, client := net.Pipe()
	counted := &writeCounter{Conn: server}
	go lb.srv.accept(counted, "smtp")
	_ = client.SetDeadline(time.Now().Add(10 * time.Second))
	w := &wire{t: t, conn: client, r: bufio.NewReader(client), eol: "\r\n"}
	w.expect(220)
	w.send("EHLO learner.lab.test")
	if code, lines := w.reply(); code != 250 || len(lines) < 5 {
		t.Fatalf("EHLO: %d %q", code, lines)
	}
	w.do("QUIT", 221)
	w.closed()
	if n := counted.n.Load(); n != 3 {
		t.Errorf("%d writes for the greeting, EHLO and QUIT, want 3", n)
	}
	wantAttrs(t, lb.events.Next(t, KindEHLO), map[string]string{"verb": "EHLO", "hostname": "learner.lab.test"})
}

func TestMailboxFullDeliversToNoOne(t *testing.T) {
	lb := startLab(t, setup{store: mailstore.Options{MaxMailboxBytes: 2000}})
	if _, err := lb.store.Deliver(context.Background(), "bob", "INBOX", []byte("Subject: filler\r\n\r\n"+strings.Repeat("x", 1500)+"\r\n"), nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	w := lb.dial(t, lb.mx)
	w.do("EHLO learner.lab.test", 250)
	w.do("MAIL FROM:<x@example.net>", 250)
	w.do("RCPT TO:<alice@lab.test>", 250)
	w.do("RCPT TO:<bob@lab.test>", 250)
	w.do("DATA", 354)
	w.raw(stuffed("Subject: both\r\n\r\n" + strings.Repeat("y", 600) + "\r\n"))
	if got := w.expect(552); !strings.HasPrefix(got, "552 5.2.2 <bob@lab.test>: Mailbox full") {
		t.Errorf("reply: %q", got)
	}
	wantAttrs(t, lb.events.Next(t, KindRejected), map[string]string{"code": "552", "reason": "mailbox-full"})
	if n := len(lb.inbox(t, "alice")); n != 0 {
		t.Errorf("alice has %d messages: the delivery was not undone", n)
	}
	if n := len(lb.inbox(t, "bob")); n != 1 {
		t.Errorf("bob has %d messages, want the filler only", n)
	}
}

func TestShutdownSaysGoodbye(t *testing.T) {
	lb := startLab(t, setup{})
	w := lb.dial(t, lb.mx)
	w.do("EHLO learner.lab.test", 250)
	busy := lb.dial(t, lb.mx)
	busy.do("EHLO busy.lab.test", 250)
	busy.do("MAIL FROM:<x@example.net>", 250)
	busy.do("RCPT TO:<bob@lab.test>", 250)
	busy.do("DATA", 354)
	busy.raw("Subject: in flight\r\n\r\n")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- lb.inst.Shutdown(ctx)
	}()
	if got := w.expect(421); !strings.HasPrefix(got, "421 4.3.2 mail.lab.test Service shutting down") {
		t.Errorf("idle session: %q", got)
	}
	w.closed()
	// The message being sent is finished, then the session ends.
	busy.raw("last line\r\n.\r\n")
	busy.expect(250)
	busy.expect(421)
	busy.closed()
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if n := len(lb.inbox(t, "bob")); n != 1 {
		t.Errorf("bob has %d messages, want 1", n)
	}
	if _, err := net.Dial("tcp", lb.mx); err == nil {
		t.Error("still listening after shutdown")
	}
}

func TestConnectionLimit(t *testing.T) {
	lb := startLab(t, setup{knobs: func(k *knobs) { k.maxConns = 2 }})
	a := lb.dial(t, lb.mx)
	b := lb.dial(t, lb.sub)
	c, err := net.Dial("tcp", lb.mx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	over := &wire{t: t, conn: c, r: bufio.NewReader(c), eol: "\r\n"}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if got := over.expect(421); !strings.Contains(got, "Too many connections") {
		t.Errorf("third connection: %q", got)
	}
	over.closed()
	a.do("QUIT", 221)
	a.closed()
	// A slot is free again (it is given back before the socket closes).
	lb.dial(t, lb.mx).do("QUIT", 221)
	b.do("NOOP", 250)
}
