package dialogue

import (
	"strconv"
	"strings"
	"testing"
)

func TestLogKeepsHeadAndBounds(t *testing.T) {
	var l Log
	l.Server("+OK ready")
	l.Client("USER bob")
	l.Note("credentials in clear")
	first := l.Snapshot()
	for i := 0; i < 1000; i++ {
		l.Client("NOOP " + strconv.Itoa(i))
	}
	if got := first.String(); got != "S: +OK ready\nC: USER bob\n!! credentials in clear\n" {
		t.Fatalf("a snapshot changed or renders wrong: %q", got)
	}
	f := l.Snapshot()
	if len(f.Lines()) != MaxLines || f.Dropped() != 1003-MaxLines {
		t.Fatalf("kept %d lines, dropped %d", len(f.Lines()), f.Dropped())
	}
	s := f.String()
	if !strings.HasPrefix(s, "S: +OK ready\nC: USER bob\n") || !strings.Contains(s, "   … 803 lines not shown\n") || !strings.HasSuffix(s, "C: NOOP 999\n") {
		t.Fatalf("rendering: head or tail lost:\n%s", s)
	}
	var big Log
	for i := 0; i < 100; i++ {
		big.Add(strings.Repeat("x", 1000))
	}
	if n := len(big.Snapshot().String()); n > MaxBytes+2000 {
		t.Fatalf("%d bytes kept, bound %d", n, MaxBytes)
	}
}
