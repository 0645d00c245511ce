package pop3

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	"USER bob\r\nPASS builder\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 1\r\nDELE 1\r\nRSET\r\nQUIT\r\n",
	"CAPA\r\nAUTH PLAIN AGJvYgBidWlsZGVy\r\nLIST 2\r\nUIDL 1\r\nNOOP\r\nquit\r\n",
	"AUTH PLAIN\r\nAGJvYgBidWlsZGVy\r\nRETR 3\r\nDELE 3\r\nDELE 3\r\nQUIT\r\n",
	"APOP bob 0123456789abcdef0123456789abcdef\r\nUSER\r\nPASS\r\n\r\n \r\nTOP 1 -1\r\nRETR 99999999999\r\n",
	"USER bob\nPASS builder\nLIST 0\nTOP 1 999999999\nSTLS\n",
	"AUTH\r\nAUTH PLAIN =\r\nAUTH PLAIN\r\n*\r\nAUTH X\r\n",
	strings.Repeat("A", 300) + "\r\nCAPA\r\n",
	"USER bob\r\nPASS builder\r\nRETR\x00 1\r\nLIST \xff\r\n",
}

// FuzzCommand feeds random bytes to the command reader and parser, as a
// client's lines: nothing may panic, lines are bounded and single.
func FuzzCommand(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 16)
		for i := 0; i < 1000; i++ {
			line, err := readLine(br, maxCommandLine)
			if err == errLineTooLong {
				continue
			}
			if err != nil {
				return
			}
			if len(line) > maxCommandLine || strings.ContainsAny(line, "\n") {
				t.Fatalf("line %q", line)
			}
			c := parseCommand(line)
			c.argsTooLong()
			if c.verb != upperASCII(c.verb) || len(c.verb) > len(line) {
				t.Fatalf("verb %q of %q", c.verb, line)
			}
			for _, a := range c.args {
				if n, ok := parseNumber(a); ok && n < 0 {
					t.Fatalf("number %q parsed as %d", a, n)
				}
				if p := printable(a, maxArgLength); strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r != '…') }) {
					t.Fatalf("printable %q", p)
				}
				plainResponse(a)
			}
			var d maildrop
			d.message(c.rest)
		}
	})
}

// FuzzMessage feeds random messages to what RETR and TOP do with them: the
// byte-stuffing must undo to the message (bare LF as CRLF, a final line end
// added), TOP must be a prefix, and the header scan must not fail.
func FuzzMessage(f *testing.F) {
	f.Add([]byte(newMail("a subject", ".dot\n..two\nbody\n")), 2)
	f.Add([]byte("Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\nx\r\r\n.\r\n"), 0)
	f.Add([]byte("no header\nat all"), 1)
	f.Add([]byte("\r\n\r\n"), 5)
	f.Fuzz(func(t *testing.T, msg []byte, lines int) {
		var b bytes.Buffer
		bw := bufio.NewWriter(&b)
		writeDotted(bw, msg)
		bw.Flush()
		out := b.String()
		if !strings.HasSuffix(out, "\r\n.\r\n") && out != ".\r\n" {
			t.Fatalf("no final dot: %q", out)
		}
		body := strings.TrimSuffix(out, ".\r\n")
		for _, l := range strings.SplitAfter(body, "\r\n") {
			if l == ".\r\n" {
				t.Fatalf("a lone dot inside the body: %q", out)
			}
		}
		// Undo the stuffing and compare with the message, line ends
		// normalised the way the writer does.
		var want strings.Builder
		for _, l := range strings.SplitAfter(string(msg), "\n") {
			if l == "" {
				continue
			}
			switch {
			case !strings.HasSuffix(l, "\n"):
				l += "\r\n"
			case !strings.HasSuffix(l, "\r\n"):
				l = l[:len(l)-1] + "\r\n"
			}
			want.WriteString(l)
		}
		if got := unstuff([]byte(body)); got != want.String() {
			t.Fatalf("unstuffed %q, want %q", got, want.String())
		}
		if lines >= 0 {
			if p := top(msg, lines); !bytes.HasPrefix(msg, p) {
				t.Fatalf("TOP %d is not a prefix", lines)
			}
		}
		headerInfo(msg)
	})
}

// FuzzSession plays random input as a whole session over net.Pipe against
// a real mail store: the server must answer or close, never panic or hang.
func FuzzSession(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	cfg := testConfig()
	cfg.idleTimeout = 50 * time.Millisecond
	cfg.maxBad = 50
	fx := newFixture(f, cfg)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(inboxUIDs(t, fx.st, "bob")) < 3 {
			for _, m := range []string{msg1, msg2, msg3} {
				deliver(t, fx.st, "bob", m)
			}
		}
		cc, sc := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			fx.srv.serve(sc)
		}()
		go io.Copy(io.Discard, cc)
		_ = cc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		cc.Write(append(data, "\r\n*\r\nQUIT\r\nQUIT\r\n"...))
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the session did not end")
		}
		cc.Close()
		for _, e := range fx.events.All() {
			if e.Kind == KindDisconnect && e.Attrs["reason"] == "error" {
				t.Fatalf("the session panicked on %q", data)
			}
		}
	})
}
