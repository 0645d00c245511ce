package smtp

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"protolab/internal/labtls"
	"protolab/internal/service"
	"protolab/services/mailstore"
)

// FuzzHeaders feeds headerFields arbitrary messages: it must never fail,
// and what it returns must be fit for an event. Its header reader must
// read as net/mail does.
func FuzzHeaders(f *testing.F) {
	for _, s := range []string{
		message,
		"Subject: =?utf-8?b?w6k=?=\r\nMessage-ID: <a@b>\r\n\r\n",
		"subject: a\n folded\n\tmore\n\nbody",
		"Subject: =?iso-8859-1?q?=E9?= =?x?q?y?=\r\n",
		"no colon here\r\nSubject: x\r\n\r\n",
		"\r\n\r\nSubject: body",
		"Subject: \x00\xff\xfe\r\n",
		"Message-ID: <<<>>>\r\n",
		"",
		" Subject: leading blank\r\n",
		"Subject\r\n : colon on the next line\r\n",
		"SUBJECT:\tx \r\n \r\nmessage-id:y\r\nSubject: second\r\n",
		":\r\nSubject: after an empty key\r\n",
		"Subject: a\r\r\nX: b\r\n  ",
		"Subject: no end of line",
		"Sub ject: x\r\nMessage-Id : y\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		gs, gid, gok := readFields(msg)
		ws, wid, wok := mailFields(msg)
		if gok != wok || gok && (gs != ws || gid != wid) {
			t.Fatalf("readFields(%q) = %q, %q, %v; net/mail reads %q, %q, %v", msg, gs, gid, gok, ws, wid, wok)
		}
		s, id := headerFields(msg)
		for _, v := range []string{s, id} {
			if !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxFieldRunes {
				t.Fatalf("value %q: invalid UTF-8 or too long", v)
			}
			for _, r := range v {
				if unicode.IsControl(r) {
					t.Fatalf("value %q has a control character", v)
				}
			}
		}
	})
}

// mailFields is readFields by net/mail, for comparison.
func mailFields(head []byte) (subject, messageID string, ok bool) {
	m, err := mail.ReadMessage(bytes.NewReader(append(head[:len(head):len(head)], "\r\n"...)))
	if err != nil {
		return "", "", false
	}
	return m.Header.Get("Subject"), m.Header.Get("Message-Id"), true
}

// panicLog fails a fuzz run when the server logs a panic it recovered.
type panicLog struct {
	mu     sync.Mutex
	panics []string
}

func (p *panicLog) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		p.mu.Lock()
		p.panics = append(p.panics, r.Message)
		p.mu.Unlock()
	}
	return nil
}
func (p *panicLog) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panicLog) WithGroup(string) slog.Handler      { return p }

func (p *panicLog) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.panics
	p.panics = nil
	return out
}

// fuzzTrailer ends any session: a message in progress, then QUIT (a BDAT
// chunk being skipped is longer than max_message_bytes only in bytes the
// padding covers).
var fuzzTrailer = "\r\n.\r\n" + strings.Repeat("NOOP\r\n", 200) + "\r\n.\r\nQUIT\r\n"

// FuzzSession feeds arbitrary client bytes to a session over net.Pipe, on
// the MX or the submission listener: the server must never panic, must
// answer and end the session, and must give its connection slot back.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"EHLO a\r\nMAIL FROM:<x@example.net>\r\nRCPT TO:<bob@lab.test>\r\nDATA\r\nSubject: hi\r\n\r\n..dot\r\n.\r\n",
		"HELO a\nMAIL FROM:<x@example.net>\nRCPT TO:<bob@lab.test>\nDATA\nSubject: typed\n\nhello\n.\n",
		"EHLO a\r\nAUTH PLAIN " + plain("alice", "wonderland") + "\r\nMAIL FROM:<alice@lab.test>\r\nRCPT TO:<bob@lab.test>\r\nDATA\r\nx\r\n.\r\n",
		"EHLO a\r\nAUTH LOGIN\r\n" + b64("alice") + "\r\n" + b64("wrong") + "\r\nAUTH LOGIN " + b64("bob") + "\r\n*\r\n",
		"EHLO a\r\nSTARTTLS\r\n\x16\x03\x01\x00\x05hello",
		"EHLO a\r\nBDAT 10 LAST\r\n0123456789NOOP\r\nBDAT x\r\n",
		"FOO\r\n\r\nMAIL\tFROM:<a>\r\nRCPT TO:<a@b>\r\nDATA x\r\nVRFY bob\r\nEXPN list\r\nHELP\r\n",
		"EHLO a\r\nMAIL FROM:<x@y> SIZE=99999999 BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<\"a b\"@lab.test> NOTIFY=NEVER\r\n",
		"EHLO " + strings.Repeat("a", 2100) + "\r\n",
		"EHLO a\r\nMAIL FROM:<x@y>\r\nRCPT TO:<bob@lab.test>\r\nDATA\r\n" + strings.Repeat("z", 2500) + "\r\n.\r\n",
		"EHLO a\r\nAUTH PLAIN =\r\nAUTH PLAIN\r\n=\r\nAUTH\r\nAUTH LOGIN =\r\n\r\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	st, err := mailstore.Open(f.TempDir(), mailstore.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	tlsConfig, err := labtls.Config(service.NewShared())
	if err != nil {
		f.Fatal(err)
	}
	logs := &panicLog{}
	o := defaultOptions()
	o.MaxMessageBytes = 1024
	o.ReadTimeout = time.Second
	k := defaultKnobs()
	k.sleep = func(<-chan struct{}, time.Duration) {}
	k.handshake = time.Second
	srv := newServer(o, k, st, tlsConfig, nil, slog.New(logs))
	srv.submissionPort = "2587"
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.shutdown(ctx)
	}()

	f.Fuzz(func(t *testing.T, input []byte, submission bool) {
		server, client := net.Pipe()
		_ = client.SetDeadline(time.Now().Add(20 * time.Second))
		listener := "smtp"
		if submission {
			listener = "submission"
		}
		go srv.accept(server, listener)
		go func() {
			_, _ = client.Write(input)
			_, _ = client.Write([]byte(fuzzTrailer))
		}()
		out, err := io.ReadAll(client)
		client.Close()
		if err != nil {
			t.Fatalf("the session did not end: %v (after %q)", err, tail(out))
		}
		if !bytes.HasPrefix(out, []byte("220 ")) {
			t.Fatalf("no greeting: %q", tail(out))
		}
		if p := logs.take(); len(p) > 0 {
			t.Fatalf("panic: %v", p)
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(srv.slots) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d connection slots still taken", len(srv.slots))
			}
			time.Sleep(time.Millisecond)
		}
	})
}

func tail(b []byte) string {
	if len(b) > 300 {
		b = b[len(b)-300:]
	}
	return string(b)
}
