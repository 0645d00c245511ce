package pop3

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"protolab/internal/dialogue"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The maildrop of the transcript tests: three messages for bob.
var (
	msg1 = newMail("one", "Hello Bob.\n")
	msg2 = newMail("two", "Second\nmessage\n")
	msg3 = newMail("three", "Third message, three\nbody\nlines\n")
)

func plainB64(authzid, user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(authzid + "\x00" + user + "\x00" + password))
}

// TestTranscripts plays dialogues over net.Pipe against a real mail store:
// every command, in the right and the wrong state, with good and bad
// arguments.
func TestTranscripts(t *testing.T) {
	total := len(msg1) + len(msg2) + len(msg3)
	sizes := fmt.Sprintf("1 %d|2 %d|3 %d", len(msg1), len(msg2), len(msg3))
	login := []string{"C: USER bob", "S: +OK send PASS", "C: PASS builder", fmt.Sprintf("S: +OK bob's maildrop has 3 messages (%d octets)", total)}
	tests := []struct {
		name   string
		cfg    func(*config)
		script []string
	}{
		{name: "capabilities before login", script: []string{
			"C: CAPA", "S: +OK capability list follows",
			"M: TOP|UIDL|USER|SASL PLAIN|RESP-CODES|AUTH-RESP-CODE|PIPELINING|EXPIRE NEVER|LOGIN-DELAY 0|STLS|IMPLEMENTATION Protolab",
			"C: capa", "S: +OK*", "M: TOP|UIDL|USER|SASL PLAIN|RESP-CODES|AUTH-RESP-CODE|PIPELINING|EXPIRE NEVER|LOGIN-DELAY 0|STLS|IMPLEMENTATION Protolab",
		}},
		{name: "capabilities after login: no STLS", script: append(login,
			"C: CAPA", "S: +OK*", "M: TOP|UIDL|USER|SASL PLAIN|RESP-CODES|AUTH-RESP-CODE|PIPELINING|EXPIRE NEVER|LOGIN-DELAY 0|IMPLEMENTATION Protolab",
		)},
		{name: "insecure login refused", cfg: func(c *config) { c.allowInsecure = false }, script: []string{
			"C: CAPA", "S: +OK*", "M: TOP|UIDL|RESP-CODES|AUTH-RESP-CODE|PIPELINING|EXPIRE NEVER|LOGIN-DELAY 0|STLS|IMPLEMENTATION Protolab",
			"C: USER bob", "S: -ERR [AUTH] passwords in clear text are refused here: send STLS first, or use APOP",
			"C: PASS builder", "S: -ERR send USER first, then PASS",
			"C: AUTH PLAIN " + plainB64("", "bob", "builder"), "S: -ERR [AUTH] passwords in clear text*",
			"C: AUTH", "S: +OK SASL mechanisms follow", "M: ",
		}},
		{name: "commands before login", cfg: func(c *config) { c.maxBad = 100 }, script: []string{
			"C: STAT", "S: -ERR STAT is only allowed after login: log in first (USER then PASS, or APOP)",
			"C: LIST", "S: -ERR LIST is only allowed after login*",
			"C: LIST 1", "S: -ERR LIST is only allowed after login*",
			"C: UIDL", "S: -ERR UIDL is only allowed after login*",
			"C: RETR 1", "S: -ERR RETR is only allowed after login*",
			"C: TOP 1 1", "S: -ERR TOP is only allowed after login*",
			"C: DELE 1", "S: -ERR DELE is only allowed after login*",
			"C: RSET", "S: -ERR RSET is only allowed after login*",
			"C: NOOP", "S: -ERR NOOP is only allowed after login*",
			"C: PASS builder", "S: -ERR send USER first, then PASS",
			"C: QUIT", "S: +OK bye", "EOF",
		}},
		{name: "commands after login", script: append(login,
			"C: USER bob", "S: -ERR USER is only allowed before login: you are already logged in",
			"C: PASS builder", "S: -ERR PASS is only allowed before login*",
			"C: APOP bob 0123", "S: -ERR APOP is only allowed before login*",
			"C: AUTH PLAIN", "S: -ERR AUTH is only allowed before login*",
			"C: STLS", "S: -ERR STLS is only allowed before login",
			"C: NOOP", "S: +OK",
		)},
		{name: "unknown and malformed commands", cfg: func(c *config) { c.maxBad = 100 }, script: []string{
			"C: HELO there", `S: -ERR unknown command "HELO": try CAPA for what this server supports`,
			"C: ", "S: -ERR empty command*",
			"C: USER", "S: -ERR usage: USER name",
			"C: USER a b", "S: -ERR usage: USER name",
			"C: USER " + strings.Repeat("x", 41), "S: -ERR argument too long: at most 40 octets each (RFC 2449)",
			"C: CAPA x", "S: -ERR usage: CAPA (no arguments)",
			"C: APOP bob", "S: -ERR usage: APOP name digest*",
			"C: STLS now", "S: -ERR usage: STLS (no arguments)",
			"C: AUTH PLAIN a b", "S: -ERR usage: AUTH PLAIN [initial-response]",
			"C: " + strings.Repeat("N", 300), "S: -ERR line too long: a command is at most 255 octets (RFC 2449)",
			"C: NOOP\x00\xff", `S: -ERR unknown command "NOOP\x00\xff"*`,
			"C: QUIT", "S: +OK bye", "EOF",
		}},
		{name: "STAT LIST UIDL", script: append(login,
			fmt.Sprintf("C: STAT"), fmt.Sprintf("S: +OK 3 %d", total),
			"C: LIST", fmt.Sprintf("S: +OK 3 messages (%d octets)", total), "M: "+sizes,
			"C: list 2", fmt.Sprintf("S: +OK 2 %d", len(msg2)),
			"C: LIST 4", "S: -ERR no such message: 4 (messages are numbered 1 to 3)",
			"C: LIST 0", "S: -ERR no such message: 0*",
			"C: LIST x", `S: -ERR "x" is not a message number: give a number from the list (LIST)`,
			"C: LIST -1", `S: -ERR "-1" is not a message number*`,
			"C: LIST 99999999999", `S: -ERR "99999999999" is not a message number*`,
			"C: LIST 1 2", "S: -ERR usage: LIST [msg]",
			"C: UIDL", "S: +OK*", "M: 1 V.1|2 V.2|3 V.3",
			"C: UIDL 3", "S: +OK 3 V.3",
			"C: UIDL 9", "S: -ERR no such message*",
			"C: STAT 1", "S: -ERR usage: STAT (no arguments)",
		)},
		{name: "RETR and TOP", script: append(login,
			"C: RETR 1", fmt.Sprintf("S: +OK %d octets", len(msg1)),
			"M: "+strings.Join(strings.Split(strings.TrimSuffix(strings.ReplaceAll(msg1, "\r\n", "\n"), "\n"), "\n"), "|"),
			"C: TOP 3 0", "S: +OK top of message follows",
			"M: From: alice@lab.test|To: bob@lab.test|Subject: three|Message-ID: <three@lab.test>|",
			"C: TOP 3 2", "S: +OK*",
			"M: From: alice@lab.test|To: bob@lab.test|Subject: three|Message-ID: <three@lab.test>||Third message, three|body",
			"C: TOP 3 100", "S: +OK*",
			"M: From: alice@lab.test|To: bob@lab.test|Subject: three|Message-ID: <three@lab.test>||Third message, three|body|lines",
			"C: RETR", "S: -ERR usage: RETR msg",
			"C: RETR 4", "S: -ERR no such message*",
			"C: TOP 1", "S: -ERR usage: TOP msg lines",
			"C: TOP 1 x", "S: -ERR usage: TOP msg lines (lines: how many body lines, 0 for the header only)",
			"C: TOP 1 -1", "S: -ERR usage: TOP msg lines*",
			"C: TOP 9 1", "S: -ERR no such message*",
		)},
		{name: "DELE and RSET", script: append(login,
			"C: DELE 2", "S: +OK message 2 deleted (removed at QUIT)",
			"C: DELE 2", "S: -ERR message 2 already deleted (RSET unmarks it)",
			"C: RETR 2", "S: -ERR message 2 already deleted*",
			"C: TOP 2 1", "S: -ERR message 2 already deleted*",
			"C: LIST 2", "S: -ERR message 2 already deleted*",
			"C: UIDL 2", "S: -ERR message 2 already deleted*",
			"C: STAT", fmt.Sprintf("S: +OK 2 %d", len(msg1)+len(msg3)),
			"C: LIST", "S: +OK 2 messages*", fmt.Sprintf("M: 1 %d|3 %d", len(msg1), len(msg3)),
			"C: UIDL", "S: +OK*", "M: 1 V.1|3 V.3",
			"C: DELE 3", "S: +OK*",
			"C: RSET", fmt.Sprintf("S: +OK maildrop has 3 messages (%d octets)", total),
			"C: STAT", fmt.Sprintf("S: +OK 3 %d", total),
			"C: DELE", "S: -ERR usage: DELE msg",
			"C: RSET 1", "S: -ERR usage: RSET (no arguments)",
		)},
		{name: "wrong password, then right", script: []string{
			"C: USER bob", "S: +OK send PASS",
			"C: PASS wrong", "S: -ERR [AUTH] invalid user name or password",
			"C: PASS builder", "S: -ERR send USER first, then PASS",
			"C: USER nobody", "S: +OK send PASS",
			"C: PASS builder", "S: -ERR [AUTH] invalid user name or password",
			"C: USER BOB@LAB.TEST", "S: +OK send PASS",
			"C: PASS builder", "S: +OK bob's maildrop has 3 messages*",
		}},
		{name: "user in another domain", script: []string{
			"C: USER bob@example.com", "S: +OK send PASS",
			"C: PASS builder", "S: -ERR [AUTH] invalid user name or password",
		}},
		{name: "password with spaces", script: []string{
			"C: USER bob", "S: +OK*", "C: PASS builder ", "S: -ERR [AUTH]*",
			"C: USER bob", "S: +OK*", "C: PASS", "S: -ERR usage: PASS password",
		}},
		{name: "AUTH PLAIN", script: []string{
			"C: AUTH", "S: +OK SASL mechanisms follow", "M: PLAIN",
			"C: AUTH LOGIN", `S: -ERR mechanism "LOGIN" is not supported: use AUTH PLAIN`,
			"C: AUTH PLAIN", "S: + ", "C: *", "S: -ERR authentication cancelled",
			"C: AUTH PLAIN", "S: + ", "C: %%%", "S: -ERR the response is not valid base64",
			"C: AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("bob")), "S: -ERR a PLAIN response is authzid NUL user NUL password, in base64",
			"C: AUTH PLAIN " + plainB64("alice", "bob", "builder"), "S: -ERR [AUTH] invalid user name or password",
			"C: AUTH PLAIN =", "S: -ERR a PLAIN response*",
			"C: AUTH PLAIN", "S: + ", "C: " + plainB64("bob", "bob", "builder"), "S: +OK bob's maildrop has 3 messages*",
		}},
		{name: "AUTH PLAIN initial response", script: []string{
			"C: auth plain " + plainB64("", "bob", "builder"), "S: +OK bob's maildrop*",
		}},
		{name: "QUIT without changes", script: append(login,
			"C: QUIT x", "S: -ERR usage: QUIT (no arguments)",
			"C: QUIT", "S: +OK bye (0 messages deleted, 3 left)", "EOF",
		)},
		{name: "pipelining", script: []string{
			"C: USER bob\r\nPASS builder\r\nSTAT\r\nLIST 1\r\nNOOP",
			"S: +OK send PASS", "S: +OK bob's maildrop*", fmt.Sprintf("S: +OK 3 %d", total), fmt.Sprintf("S: +OK 1 %d", len(msg1)), "S: +OK",
		}},
		{name: "bare LF line ends", script: []string{
			"C: USER bob\nPASS builder\nSTAT", "S: +OK*", "S: +OK*", "S: +OK 3*",
		}},
		{name: "bad command flood", cfg: func(c *config) { c.maxBad = 3 }, script: []string{
			"C: XYZZY", "S: -ERR unknown command*",
			"C: STAT", "S: -ERR STAT is only allowed after login*",
			"C: PLUGH", "S: -ERR unknown command*",
			"S: -ERR too many bad commands (3); closing the connection, nothing was deleted", "EOF",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			f := newFixture(t, cfg)
			for _, m := range []string{msg1, msg2, msg3} {
				deliver(t, f.st, "bob", m)
			}
			info, err := f.st.Mailbox("bob", "INBOX")
			if err != nil {
				t.Fatal(err)
			}
			v := strconv.FormatUint(uint64(info.UIDValidity), 10)
			script := make([]string, len(tt.script))
			for i, l := range tt.script {
				script[i] = strings.ReplaceAll(l, "V.", v+".")
			}
			w := f.pipe(t)
			if !regexp.MustCompile(`^\+OK Protolab POP3 server ready <\d+\.\d+@mail\.lab\.test>$`).MatchString(w.greeting) {
				t.Errorf("greeting %q", w.greeting)
			}
			w.script(script...)
		})
	}
}

// TestUpdate checks RFC 1939's UPDATE state: messages marked with DELE are
// removed only when the session ends with QUIT.
func TestUpdate(t *testing.T) {
	f := newFixture(t, testConfig())
	uids := []uint32{deliver(t, f.st, "bob", msg1), deliver(t, f.st, "bob", msg2), deliver(t, f.st, "bob", msg3)}
	_, addr := f.listen(t)

	// DELE then the connection drops: nothing is removed.
	w := dial(t, addr)
	w.login("bob", "builder")
	w.script("C: DELE 1", "S: +OK*", "C: DELE 3", "S: +OK*")
	w.c.Close()
	e := f.events.Next(t, KindDisconnect)
	wantAttrs(t, e, map[string]string{"user": "bob", "reason": "closed", "kept": "2"})
	if !strings.Contains(e.Transcript, "!! the session ended without QUIT: 2 messages marked deleted kept") {
		t.Errorf("transcript:\n%s", e.Transcript)
	}
	if got := inboxUIDs(t, f.st, "bob"); len(got) != 3 {
		t.Fatalf("after a dropped connection the INBOX holds %v, want all 3", got)
	}

	// DELE, RSET, DELE again, QUIT: only the last DELE counts.
	w = dial(t, addr)
	w.login("bob", "builder")
	w.script("C: DELE 1", "S: +OK*", "C: DELE 2", "S: +OK*", "C: RSET", "S: +OK maildrop has 3 messages*",
		"C: DELE 2", "S: +OK*", "C: QUIT", "S: +OK bye (1 message deleted, 2 left)", "EOF")
	wantAttrs(t, f.events.Next(t, KindQuit), map[string]string{"user": "bob", "deleted": "1", "state": "update", "result": "ok"})
	if got := inboxUIDs(t, f.st, "bob"); fmt.Sprint(got) != fmt.Sprint([]uint32{uids[0], uids[2]}) {
		t.Fatalf("after QUIT the INBOX holds %v, want %v", got, []uint32{uids[0], uids[2]})
	}

	// Numbers are those of the new session's snapshot.
	w = dial(t, addr)
	w.login("bob", "builder")
	info, err := f.st.Mailbox("bob", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	w.script("C: UIDL 2", fmt.Sprintf("S: +OK 2 %d.%d", info.UIDValidity, uids[2]))
	// A message removed by another client meanwhile: RETR says so, QUIT
	// counts only what it removed.
	if err := f.st.Remove("bob", "INBOX", []uint32{uids[0]}); err != nil {
		t.Fatal(err)
	}
	w.script("C: RETR 1", "S: -ERR message 1 is gone: another client removed it",
		"C: DELE 1", "S: +OK*", "C: DELE 2", "S: +OK*", "C: QUIT", "S: +OK bye (1 message deleted, 0 left)", "EOF")
	e = f.events.Next(t, KindQuit)
	wantAttrs(t, e, map[string]string{"deleted": "1"})
	if !strings.Contains(e.Transcript, "!! 1 message marked deleted had already been removed by another client") {
		t.Errorf("transcript:\n%s", e.Transcript)
	}
	if got := inboxUIDs(t, f.st, "bob"); len(got) != 0 {
		t.Fatalf("INBOX holds %v, want nothing", got)
	}
}

// TestSnapshot checks message numbers stay fixed for a session whatever
// arrives meanwhile.
func TestSnapshot(t *testing.T) {
	f := newFixture(t, testConfig())
	deliver(t, f.st, "bob", msg1)
	w := f.pipe(t)
	w.login("bob", "builder")
	deliver(t, f.st, "bob", msg2)
	w.script("C: STAT", fmt.Sprintf("S: +OK 1 %d", len(msg1)), "C: RETR 2", "S: -ERR no such message: 2 (messages are numbered 1 to 1)", "C: QUIT", "S: +OK*")
	w = f.pipe(t)
	w.login("bob", "builder")
	w.script("C: STAT", fmt.Sprintf("S: +OK 2 %d", len(msg1)+len(msg2)))
}

// TestEmptyMaildrop checks the answers on an empty INBOX.
func TestEmptyMaildrop(t *testing.T) {
	f := newFixture(t, testConfig())
	w := f.pipe(t)
	w.script("C: USER alice", "S: +OK*", "C: PASS wonderland", "S: +OK alice's maildrop has 0 messages (0 octets)",
		"C: STAT", "S: +OK 0 0", "C: LIST", "S: +OK 0 messages (0 octets)", "M: ",
		"C: RETR 1", "S: -ERR no such message: 1 (the maildrop is empty)")
}

// TestLock checks the maildrop lock: a second session of the same user is
// refused until the first ends, by QUIT or by dropping the connection.
func TestLock(t *testing.T) {
	f := newFixture(t, testConfig())
	deliver(t, f.st, "bob", msg1)
	_, addr := f.listen(t)

	first := dial(t, addr)
	first.login("bob", "builder")
	f.events.Next(t, KindLogin)
	second := dial(t, addr)
	second.script("C: USER bob", "S: +OK*", "C: PASS builder", "S: -ERR [IN-USE] maildrop already locked*")
	wantAttrs(t, f.events.Next(t, KindLogin), map[string]string{"user": "bob", "result": "in-use", "mechanism": "USER"})
	// Another user is not affected, and the refused session may try again.
	other := dial(t, addr)
	other.login("alice", "wonderland")

	first.script("C: QUIT", "S: +OK*", "EOF")
	f.events.Next(t, KindQuit)
	second.login("bob", "builder")

	// Released when the connection drops.
	second.c.Close()
	f.events.Next(t, KindDisconnect)
	third := dial(t, addr)
	third.login("bob", "builder")

	// APOP and AUTH PLAIN take the same lock.
	fourth := dial(t, addr)
	sum := md5.Sum([]byte(fourth.greeting[strings.IndexByte(fourth.greeting, '<'):] + "builder"))
	fourth.script("C: APOP bob "+hex.EncodeToString(sum[:]), "S: -ERR [IN-USE]*",
		"C: AUTH PLAIN "+plainB64("", "bob", "builder"), "S: -ERR [IN-USE]*")
}

// TestAPOP checks the MD5 digest login (RFC 1939 §7).
func TestAPOP(t *testing.T) {
	f := newFixture(t, testConfig())
	deliver(t, f.st, "alice", msg1)
	w := f.pipe(t)
	stamp := w.greeting[strings.IndexByte(w.greeting, '<'):]
	digest := func(password string) string {
		sum := md5.Sum([]byte(stamp + password))
		return hex.EncodeToString(sum[:])
	}
	w.script("C: APOP alice "+digest("wrong"), "S: -ERR [AUTH] invalid user name or password",
		"C: APOP nobody "+digest("wonderland"), "S: -ERR [AUTH] invalid user name or password",
		"C: APOP alice "+strings.ToUpper(digest("wonderland")), "S: +OK alice's maildrop has 1 message*")
	e := f.events.Next(t, KindLogin)
	wantAttrs(t, e, map[string]string{"user": "alice", "mechanism": "APOP", "result": "failed"})
	e = f.events.Next(t, KindLogin)
	wantAttrs(t, e, map[string]string{"user": "nobody", "result": "failed"})
	e = f.events.Next(t, KindLogin)
	wantAttrs(t, e, map[string]string{"user": "alice", "mechanism": "APOP", "result": "ok", "tls": "false", "messages": "1"})
	// APOP never sends the password: no warning.
	if strings.Contains(e.Transcript, "clear text") {
		t.Errorf("APOP transcript warns about clear text:\n%s", e.Transcript)
	}
	// Another session gets another timestamp.
	if w2 := f.pipe(t); w2.greeting == w.greeting {
		t.Errorf("two sessions got the same greeting %q", w.greeting)
	}
}

// TestSTLS checks the switch to TLS: the capabilities change, the login is
// then protected, and STLS cannot be used twice or after login.
func TestSTLS(t *testing.T) {
	f := newFixture(t, testConfig())
	deliver(t, f.st, "bob", msg1)
	_, addr := f.listen(t)

	w := dial(t, addr)
	w.starttls()
	wantAttrs(t, f.events.Next(t, KindSTLS), map[string]string{"result": "ok"})
	w.script("C: CAPA", "S: +OK*", "M: TOP|UIDL|USER|SASL PLAIN|RESP-CODES|AUTH-RESP-CODE|PIPELINING|EXPIRE NEVER|LOGIN-DELAY 0|IMPLEMENTATION Protolab",
		"C: STLS", "S: -ERR TLS is already on")
	wantAttrs(t, f.events.Next(t, KindCapa), map[string]string{"tls": "true", "stls": "false"})
	wantAttrs(t, f.events.Next(t, KindSTLS), map[string]string{"result": "refused"})
	w.login("bob", "builder")
	e := f.events.Next(t, KindLogin)
	wantAttrs(t, e, map[string]string{"user": "bob", "result": "ok", "tls": "true"})
	if strings.Contains(e.Transcript, "clear text") || !strings.Contains(e.Transcript, "!! TLS is on: TLS 1.3") {
		t.Errorf("transcript:\n%s", e.Transcript)
	}
	w.script("C: RETR 1", "S: +OK*")
	w.dotLines()
	w.script("C: QUIT", "S: +OK*")

	// Without TLS allowed for passwords, STLS opens the way.
	cfg := testConfig()
	cfg.allowInsecure = false
	f2 := newFixture(t, cfg)
	_, addr2 := f2.listen(t)
	w = dial(t, addr2)
	w.script("C: USER bob", "S: -ERR [AUTH]*")
	w.starttls()
	w.login("bob", "builder")

	// Plain text pipelined after STLS is dropped, not taken as sent over TLS.
	w = dial(t, addr)
	w.send("STLS\r\nUSER bob\r\nPASS builder")
	w.expect("+OK begin TLS negotiation")
	tc := tlsClient(w.c)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	w.c, w.r = tc, newReader(tc)
	w.script("C: STAT", "S: -ERR STAT is only allowed after login*", "C: PASS builder", "S: -ERR send USER first, then PASS")
	e = f.events.Next(t, KindSTLS)
	for e.Attrs["result"] != "ok" {
		e = f.events.Next(t, KindSTLS)
	}
	if !strings.Contains(e.Transcript, "!! 24 octets sent after STLS and before the handshake were discarded") {
		t.Errorf("transcript:\n%s", e.Transcript)
	}

	// A failed handshake closes the connection.
	w = dial(t, addr)
	w.script("C: STLS", "S: +OK*", "C: this is not a TLS client hello")
	w.closed()
	wantAttrs(t, f.events.Next(t, KindDisconnect), map[string]string{"reason": "tls"})

	// No certificate: no STLS.
	f3 := newFixture(t, testConfig())
	f3.srv.tls = nil
	w = f3.pipe(t)
	w.script("C: CAPA", "S: +OK*", "M: TOP|UIDL|USER|SASL PLAIN|RESP-CODES|AUTH-RESP-CODE|PIPELINING|EXPIRE NEVER|LOGIN-DELAY 0|IMPLEMENTATION Protolab",
		"C: STLS", "S: -ERR TLS is not available on this server")
}

// TestRetrExact checks RETR sends a message byte for byte, lines starting
// with a dot stuffed on the wire, and TOP cuts it exactly.
func TestRetrExact(t *testing.T) {
	long := strings.Repeat("0123456789", 300) // 3000 octets: longer than any buffer line
	body := ".dot at the start\r\n..two dots\r\n.\r\n \r\n" + long + "\r\nlast line\r\n"
	msg := "Subject: =?utf-8?q?caf=C3=A9_and_dots?=\r\nMessage-ID: <dots@lab.test>\r\nFrom: alice@lab.test\r\n\r\n" + body
	noEnd := "Subject: no final line end\r\n\r\nbody without CRLF"
	oddEnds := "Subject: odd line ends\r\n\r\na CR inside\r\r\nbare LF\n.bare LF dot\n\r\n"
	f := newFixture(t, testConfig())
	uid := deliver(t, f.st, "bob", msg)
	deliver(t, f.st, "bob", noEnd)
	deliver(t, f.st, "bob", oddEnds)
	w := f.pipe(t)
	w.login("bob", "builder")

	w.send("RETR 1")
	w.expect(fmt.Sprintf("+OK %d octets", len(msg)))
	raw := readRawDot(t, w)
	if !bytes.Contains(raw, []byte("\r\n..dot at the start\r\n...two dots\r\n..\r\n \r\n")) {
		t.Errorf("dot-stuffing missing on the wire: %q", raw[:min(len(raw), 200)])
	}
	if got := unstuff(raw); got != msg {
		t.Errorf("RETR differs from the delivered message:\n got %q\nwant %q", got, msg)
	}
	e := f.events.Next(t, KindRetr)
	wantAttrs(t, e, map[string]string{"user": "bob", "msg": "1", "uid": strconv.FormatUint(uint64(uid), 10),
		"size": strconv.Itoa(len(msg)), "subject": "café and dots", "message_id": "dots@lab.test"})
	if !strings.Contains(e.Transcript, fmt.Sprintf("C: RETR 1\nS: +OK %d octets\nS: <message of %d octets>\nS: .\n", len(msg), len(msg))) ||
		strings.Contains(e.Transcript, "dot at the start") {
		t.Errorf("transcript:\n%s", e.Transcript)
	}

	for _, tc := range []struct {
		lines int
		want  string
	}{
		{0, msg[:strings.Index(msg, "\r\n\r\n")+4]},
		{1, msg[:strings.Index(msg, "..two")]},
		{4, msg[:strings.Index(msg, long)]},
		{5, msg[:strings.Index(msg, "last line")]},
		{6, msg},
		{1000, msg},
	} {
		w.send(fmt.Sprintf("TOP 1 %d", tc.lines))
		w.expect("+OK top of message follows")
		if got := unstuff(readRawDot(t, w)); got != tc.want {
			t.Errorf("TOP 1 %d:\n got %q\nwant %q", tc.lines, got, tc.want)
		}
		wantAttrs(t, f.events.Next(t, KindTop), map[string]string{"msg": "1", "lines": strconv.Itoa(tc.lines), "subject": "café and dots"})
	}

	// A message without a final CRLF gets one before the dot.
	w.send("RETR 2")
	w.expect(fmt.Sprintf("+OK %d octets", len(noEnd)))
	if got := unstuff(readRawDot(t, w)); got != noEnd+"\r\n" {
		t.Errorf("RETR 2: %q", got)
	}
	w.send("TOP 2 0")
	w.expect("+OK*")
	if got := unstuff(readRawDot(t, w)); got != "Subject: no final line end\r\n\r\n" {
		t.Errorf("TOP 2 0: %q", got)
	}

	// A CR inside a line goes out as it is; a bare LF becomes CRLF.
	w.send("RETR 3")
	w.expect("+OK*")
	want := "Subject: odd line ends\r\n\r\na CR inside\r\r\nbare LF\r\n..bare LF dot\r\n\r\n"
	if got := string(readRawDot(t, w)); got != want {
		t.Errorf("RETR 3 on the wire: %q, want %q", got, want)
	}
}

// TestWriteDotted checks the byte-stuffing of message bodies.
func TestWriteDotted(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ".\r\n"},
		{"a", "a\r\n.\r\n"},
		{".", "..\r\n.\r\n"},
		{"a\r\n", "a\r\n.\r\n"},
		{"a\n", "a\r\n.\r\n"},
		{"\n", "\r\n.\r\n"},
		{"\r\n.\r\n", "\r\n..\r\n.\r\n"},
		{"x\r\r\n", "x\r\r\n.\r\n"},
		{"x\r", "x\r\r\n.\r\n"},
		{"..\n.x\r\n", "...\r\n..x\r\n.\r\n"},
	} {
		var b bytes.Buffer
		bw := bufio.NewWriter(&b)
		writeDotted(bw, []byte(tc.in))
		bw.Flush()
		if b.String() != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, b.String(), tc.want)
		}
	}
}

// readRawDot reads a multi-line answer's bytes up to and without the final
// ".\r\n", dot-stuffing kept.
func readRawDot(t *testing.T, w *wire) []byte {
	t.Helper()
	var out []byte
	for {
		l, err := w.r.ReadBytes('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if string(l) == ".\r\n" {
			return out
		}
		out = append(out, l...)
	}
}

// unstuff undoes dot-stuffing.
func unstuff(b []byte) string {
	lines := strings.SplitAfter(string(b), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, ".")
	}
	return strings.Join(lines, "")
}

// TestAuthDelay checks the growing, capped delay after failed logins and
// the disconnection after too many.
func TestAuthDelay(t *testing.T) {
	cfg := config{delayBase: time.Second, delayMax: 8 * time.Second}
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{{1, 0}, {2, time.Second}, {3, 2 * time.Second}, {4, 4 * time.Second}, {5, 8 * time.Second}, {6, 8 * time.Second}, {100, 8 * time.Second}} {
		if got := cfg.authDelay(tc.failures); got != tc.want {
			t.Errorf("delay after %d failures: %s, want %s", tc.failures, got, tc.want)
		}
	}
	if d := newConfig(options{}).authDelay(2); d != authDelayBase {
		t.Errorf("default delay after two failures: %s", d)
	}

	cfg = testConfig()
	cfg.maxAuthFailures = 3
	cfg.delayBase, cfg.delayMax = 20*time.Millisecond, 30*time.Millisecond
	f := newFixture(t, cfg)
	w := f.pipe(t)
	start := time.Now()
	w.script("C: USER bob", "S: +OK*", "C: PASS a", "S: -ERR [AUTH] invalid user name or password",
		"C: USER bob", "S: +OK*", "C: PASS b", "S: -ERR [AUTH] invalid user name or password",
		"C: APOP bob 00", "S: -ERR [AUTH] invalid user name or password; too many failures, closing the connection", "EOF")
	// The server waited 20 ms then 30 ms before answering: a lower bound
	// only, which holds however slow the machine.
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Errorf("three failed logins answered in %s, expected at least 50ms of delays", el)
	}
	for i := 0; i < 3; i++ {
		wantAttrs(t, f.events.Next(t, KindLogin), map[string]string{"user": "bob", "result": "failed"})
	}
	wantAttrs(t, f.events.Next(t, KindDisconnect), map[string]string{"reason": "auth-failures", "user": ""})
}

// TestIdle checks the autologout.
func TestIdle(t *testing.T) {
	cfg := testConfig()
	cfg.idleTimeout = 50 * time.Millisecond
	f := newFixture(t, cfg)
	deliver(t, f.st, "bob", msg1)
	w := f.pipe(t)
	w.login("bob", "builder")
	w.script("C: DELE 1", "S: +OK*", "S: -ERR autologout: no command for 50ms; nothing was deleted", "EOF")
	wantAttrs(t, f.events.Next(t, KindDisconnect), map[string]string{"user": "bob", "reason": "idle", "kept": "1"})
	if got := inboxUIDs(t, f.st, "bob"); len(got) != 1 {
		t.Errorf("INBOX after autologout: %v", got)
	}
}

// TestLongLines checks overlong lines are refused without losing the next
// command, and a flood closes the connection.
func TestLongLines(t *testing.T) {
	f := newFixture(t, testConfig())
	w := f.pipe(t)
	go func() { // net.Pipe writes block until read
		io.WriteString(w.c, strings.Repeat("A", 5000)+"\r\nCAPA\r\n")
	}()
	w.script("S: -ERR line too long*", "S: +OK capability list follows")
	w.dotLines()
	go func() {
		io.WriteString(w.c, strings.Repeat("B", maxDiscardBytes+5000))
	}()
	w.script("S: -ERR line far too long; closing the connection", "EOF")
	wantAttrs(t, f.events.Next(t, KindDisconnect), map[string]string{"reason": "bad-commands"})
}

// TestEvents checks the events of a whole session, in order, with their
// transcripts: passwords masked, message contents left out.
func TestEvents(t *testing.T) {
	f := newFixture(t, testConfig())
	uid1 := deliver(t, f.st, "bob", msg1)
	deliver(t, f.st, "bob", msg2)
	w := f.pipe(t)
	w.script("C: CAPA", "S: +OK*")
	w.dotLines()
	w.script("C: USER bob", "S: +OK*", "C: PASS builder", "S: +OK*",
		"C: STAT", "S: +OK*", "C: LIST", "S: +OK*", "M: *", "C: LIST 2", "S: +OK*", "C: UIDL", "S: +OK*")
	w.dotLines()
	w.script("C: UIDL 1", "S: +OK*", "C: RETR 1", "S: +OK*")
	w.dotLines()
	w.script("C: TOP 2 1", "S: +OK*")
	w.dotLines()
	w.script("C: DELE 1", "S: +OK*", "C: RSET", "S: +OK*", "C: DELE 1", "S: +OK*", "C: NOOP", "S: +OK", "C: QUIT", "S: +OK*", "EOF")
	u1 := strconv.FormatUint(uint64(uid1), 10)
	want := []struct {
		kind  string
		attrs map[string]string
	}{
		{KindConnect, map[string]string{"tls": "false"}},
		{KindCapa, map[string]string{"user": "", "tls": "false", "stls": "true"}},
		{KindLogin, map[string]string{"user": "bob", "mechanism": "USER", "result": "ok", "tls": "false", "messages": "2", "size": strconv.Itoa(len(msg1) + len(msg2))}},
		{KindStat, map[string]string{"user": "bob", "messages": "2", "size": strconv.Itoa(len(msg1) + len(msg2))}},
		{KindList, map[string]string{"user": "bob", "msg": "", "count": "2"}},
		{KindList, map[string]string{"user": "bob", "msg": "2", "count": "1"}},
		{KindUIDL, map[string]string{"user": "bob", "msg": "", "count": "2"}},
		{KindUIDL, map[string]string{"user": "bob", "msg": "1", "count": "1"}},
		{KindRetr, map[string]string{"user": "bob", "msg": "1", "uid": u1, "size": strconv.Itoa(len(msg1)), "subject": "one", "message_id": "one@lab.test"}},
		{KindTop, map[string]string{"user": "bob", "msg": "2", "lines": "1", "subject": "two"}},
		{KindDele, map[string]string{"user": "bob", "msg": "1", "uid": u1}},
		{KindRset, map[string]string{"user": "bob", "undeleted": "1"}},
		{KindDele, map[string]string{"user": "bob", "msg": "1"}},
		{KindQuit, map[string]string{"user": "bob", "deleted": "1", "state": "update"}},
	}
	var got []string
	var events = map[string]string{}
	for range want {
		e := <-f.events.C()
		e.Render()
		checkDeclared(t, e)
		got = append(got, e.Kind)
		events[e.Kind] = e.Transcript
		if e.Service != "pop3" || e.Client != "pipe" {
			t.Errorf("%s: service %q client %q", e.Kind, e.Service, e.Client)
		}
	}
	var kinds []string
	for _, w := range want {
		kinds = append(kinds, w.kind)
	}
	if fmt.Sprint(got) != fmt.Sprint(kinds) {
		t.Fatalf("events %v\nwant %v", got, kinds)
	}
	tr := events[KindQuit]
	for _, s := range []string{
		"S: +OK Protolab POP3 server ready <",
		"C: USER bob\nS: +OK send PASS\nC: PASS ********\n!! the password crossed the network in clear text",
		fmt.Sprintf("C: RETR 1\nS: +OK %d octets\nS: <message of %d octets>\nS: .\n", len(msg1), len(msg1)),
		"C: TOP 2 1\nS: +OK top of message follows\nS: <header and 1 body lines: ",
		"C: QUIT\nS: +OK bye (1 message deleted, 1 left)\n",
	} {
		if !strings.Contains(tr, s) {
			t.Errorf("transcript lacks %q:\n%s", s, tr)
		}
	}
	if strings.Contains(tr, "builder") || strings.Contains(tr, "Hello Bob") {
		t.Errorf("transcript shows a password or a message:\n%s", tr)
	}
}

// TestTranscriptBound checks a long session's transcript stays bounded,
// its beginning kept.
func TestTranscriptBound(t *testing.T) {
	var tr transcript
	for i := 0; i < 10000; i++ {
		tr.client(fmt.Sprintf("NOOP %d", i))
	}
	s := tr.snapshot().String()
	if n := strings.Count(s, "\n"); n > dialogue.MaxLines+1 {
		t.Errorf("%d lines kept", n)
	}
	if !strings.HasPrefix(s, "C: NOOP 0\n") || !strings.HasSuffix(s, "C: NOOP 9999\n") || !strings.Contains(s, "lines not shown") {
		t.Errorf("transcript:\n%s", s)
	}
	tr = transcript{}
	for i := 0; i < 100; i++ {
		tr.server(strings.Repeat("x", 1000))
	}
	if s := tr.snapshot().String(); len(s) > dialogue.MaxBytes+200 {
		t.Errorf("transcript of %d bytes", len(s))
	}
}

// TestPanic checks a panic ends only its session.
func TestPanic(t *testing.T) {
	f := newFixture(t, testConfig())
	deliver(t, f.st, "bob", msg1)
	f.srv.store = panicky{f.srv.store}
	_, addr := f.listen(t)
	w := dial(t, addr)
	w.login("bob", "builder")
	w.send("RETR 1")
	w.closed()
	wantAttrs(t, f.events.Next(t, KindDisconnect), map[string]string{"reason": "error", "user": "bob"})
	// The lock was released and the server still serves.
	w = dial(t, addr)
	w.login("bob", "builder")
	w.script("C: QUIT", "S: +OK*")
}

// panicky is a backend whose Read panics.
type panicky struct{ backend }

func (panicky) Read(string, uint32) ([]byte, error) { panic("read failed") }
