package imap

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzResponses feeds the solve client's response reader: it must never
// panic, and must keep within its bounds.
func FuzzResponses(f *testing.F) {
	for _, s := range []string{
		"* OK [CAPABILITY IMAP4rev1] ready\r\n",
		"* 1 FETCH (BODY[] {5}\r\nhello FLAGS (\\Seen))\r\na1 OK done\r\n",
		"* 2 FETCH (BINARY[1] ~{3}\r\nabc)\r\n",
		"* 3 FETCH (BODY[] {10}\r\nshort",
		"* 4 FETCH (BODY[] {99999999999}\r\n",
		"+ idling\r\n* 2 EXISTS\r\n",
		"no newline at all",
		"{0}\r\n{1}\r\n\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(data), 16)
		c := &client{}
		for range 1000 {
			l, err := readResponse(r)
			if err != nil {
				return
			}
			if len(l.text) > maxResponseLine {
				t.Fatalf("line of %d bytes", len(l.text))
			}
			for _, lit := range l.literals {
				if len(lit) > maxLiteral {
					t.Fatalf("literal of %d bytes", len(lit))
				}
			}
			c.track(l.text)
		}
	})
}

// FuzzTranscript feeds the transcript with what a client and a server
// could send, cut anywhere: it must never panic, and stays bounded.
func FuzzTranscript(f *testing.F) {
	for _, s := range []struct{ cli, srv string }{
		{"a1 LOGIN bob builder\r\n", "* OK ready\r\na1 OK done\r\n"},
		{"a1 LOGIN {3}\r\nbob {7+}\r\nbuilder\r\n", "+ go\r\na1 OK\r\n"},
		{"a2 APPEND INBOX {999}\r\n", "a2 NO [TOOBIG] too big\r\n"},
		{"a3 AUTHENTICATE PLAIN\r\nAGJvYgBidWlsZGVy\r\n", "+ \r\na3 OK\r\n"},
		{"a4 STARTTLS\r\n\x16\x03\x01\x00", "a4 OK Begin TLS negotiation now\r\n\x16\x03\x03"},
		{"a5 FETCH 1 BODY[]\r\n", "* 1 FETCH (BODY[] ~{5}\r\nhello)\r\na5 OK\r\n"},
		{"\xff\xfe\x00 {18446744073709551615}\r\n", "* BYE {-1}\r\n"},
	} {
		f.Add([]byte(s.cli), []byte(s.srv), uint8(3))
	}
	f.Fuzz(func(t *testing.T, cli, srv []byte, cut uint8) {
		tr := newTranscript()
		step := int(cut)%7 + 1
		for i, j := 0, 0; i < len(cli) || j < len(srv); i, j = i+step, j+step {
			if i < len(cli) {
				tr.fromClient(cli[i:min(i+step, len(cli))])
			}
			if j < len(srv) {
				tr.fromServer(srv[j:min(j+step, len(srv))])
			}
		}
		if len(tr.lines) > 2*transcriptLines {
			t.Fatalf("%d lines kept", len(tr.lines))
		}
		for _, l := range strings.Split(tr.view().String(), "\n") {
			if utf8.RuneCountInString(l) > maxShownLine+3 && l != tlsNote && l != clearNote {
				t.Fatalf("line of %d characters: %q", utf8.RuneCountInString(l), l)
			}
		}
		if len(tr.cli.buf) > maxLineBuffer+64 || len(tr.srv.buf) > maxLineBuffer+64 || len(tr.cli.parts) > maxParts {
			t.Fatalf("buffers grew: %d %d %d", len(tr.cli.buf), len(tr.srv.buf), len(tr.cli.parts))
		}

		// A LOGIN on a fresh transcript never shows the password.
		user := strings.Map(func(r rune) rune {
			if r <= ' ' || r > '~' || strings.ContainsRune(`(){%*"\]`, r) {
				return -1
			}
			return r
		}, string(cli))
		if user == "" || len(user) > 50 {
			user = "bob"
		}
		fresh := newTranscript()
		fresh.fromClient([]byte("a1 LOGIN " + user + " s3cretXYZ\r\n"))
		if strings.Contains(fresh.view().String(), "s3cretXYZ") {
			t.Fatalf("password shown: %s", fresh.view())
		}
	})
}

// FuzzSplitCommands feeds the parser of the solve action's commands (from
// a lab file).
func FuzzSplitCommands(f *testing.F) {
	for _, s := range []string{
		`SELECT INBOX; FETCH last (BODY[]); STORE 1 +FLAGS (\Flagged); LOGOUT`,
		`SEARCH SUBJECT "a;b\"c"; ;`,
		`SEARCH SUBJECT "open`,
		"a\nb",
		`FETCH 1:last,last (FLAGS)`,
	} {
		f.Add(s, uint32(3))
	}
	f.Fuzz(func(t *testing.T, s string, exists uint32) {
		cmds, err := splitCommands(s)
		if err != nil {
			return
		}
		c := &client{exists: exists}
		for _, cmd := range cmds {
			if cmd == "" || strings.ContainsAny(cmd, "\r\n") {
				t.Fatalf("command %q", cmd)
			}
			got, err := c.substituteLast(cmd)
			if err == nil && strings.ContainsAny(got, "\r\n") {
				t.Fatalf("substituted %q", got)
			}
		}
	})
}
