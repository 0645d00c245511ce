package api

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type sseMsg struct{ kind, data string }

// readAll parses a whole stream.
func readAll(r io.Reader, max int) ([]sseMsg, error) {
	sr := NewSSEReader(r, max)
	var out []sseMsg
	for {
		kind, data, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, sseMsg{kind, string(data)})
	}
}

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []sseMsg
	}{
		{"one", "event: status\ndata: {}\n\n", []sseMsg{{"status", "{}"}}},
		{"default type", "data: x\n\n", []sseMsg{{"message", "x"}}},
		{"multi-line data", "data: a\ndata:b\ndata:  c\n\n", []sseMsg{{"message", "a\nb\n c"}}},
		{"CRLF", "event: e\r\ndata: 1\r\n\r\n", []sseMsg{{"e", "1"}}},
		{"CR", "event: e\rdata: 1\r\rdata: 2\r\r", []sseMsg{{"e", "1"}, {"message", "2"}}},
		{"comments and pings", ": ping\n\n: hi\nevent: e\n: mid\ndata: 1\n\n", []sseMsg{{"e", "1"}}},
		{"no data: not dispatched, type reset", "event: lost\n\ndata: x\n\n", []sseMsg{{"message", "x"}}},
		{"empty data dispatched", "event: e\ndata\n\n", []sseMsg{{"e", ""}}},
		{"ignored fields", "id: 7\nretry: 100\nfoo: bar\ndata: x\n\n", []sseMsg{{"message", "x"}}},
		{"field without space", "event:e\ndata:x:y\n\n", []sseMsg{{"e", "x:y"}}},
		{"BOM", "\uFEFFevent: e\ndata: x\n\n", []sseMsg{{"e", "x"}}},
		{"unfinished message discarded", "data: 1\n\ndata: 2\n", []sseMsg{{"message", "1"}}},
		{"unterminated line discarded", "data: 1\n\ndata: 2", []sseMsg{{"message", "1"}}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Byte by byte too: CR at the end of a read must wait for LF.
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				got, err := readAll(r, 1<<10)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("message %d = %q, want %q", i, got[i], tt.want[i])
					}
				}
			}
		})
	}
}

func TestSSEReaderTooLong(t *testing.T) {
	for _, in := range []string{
		"data: " + strings.Repeat("x", 100) + "\n\n",             // one long line
		strings.Repeat("data: "+strings.Repeat("x", 20)+"\n", 5), // many lines
	} {
		_, err := readAll(strings.NewReader(in), 64)
		if !errors.Is(err, ErrSSETooLong) {
			t.Errorf("error = %v, want ErrSSETooLong", err)
		}
	}
}

// encodeSSE writes messages in the canonical form the reader accepts.
func encodeSSE(msgs []sseMsg) []byte {
	var b bytes.Buffer
	for _, m := range msgs {
		b.WriteString("event: " + m.kind + "\n")
		for _, line := range strings.Split(m.data, "\n") {
			b.WriteString("data: " + line + "\n")
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

func FuzzSSE(f *testing.F) {
	for _, s := range []string{
		"event: status\ndata: {\"lab\":\"dns\"}\n\n",
		"event: e\r\ndata: 1\r\n\r\n: ping\r\n\r\n",
		"data: a\rdata:b\r\r",
		"\uFEFFdata\n\nevent:\ndata:  x\n\n",
		"id: 1\nretry: x\n:\n\ndata: \n\n",
		"data: 1\n\ndata: 2",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 1 << 12
		got, err := readAll(bytes.NewReader(in), max)
		if err != nil && !errors.Is(err, ErrSSETooLong) {
			t.Fatalf("unexpected error %v", err)
		}
		if err != nil {
			return
		}
		for _, m := range got {
			if m.kind == "" || strings.ContainsAny(m.kind, "\r\n") || strings.Contains(m.data, "\r") {
				t.Fatalf("bad message %q", m)
			}
		}
		// What was read, written again canonically, reads the same.
		again, err := readAll(bytes.NewReader(encodeSSE(got)), 1<<20)
		if err != nil {
			t.Fatalf("re-reading: %v", err)
		}
		if len(again) != len(got) {
			t.Fatalf("re-read %q, want %q", again, got)
		}
		for i := range got {
			if again[i] != got[i] {
				t.Fatalf("message %d re-read as %q, want %q", i, again[i], got[i])
			}
		}
	})
}
