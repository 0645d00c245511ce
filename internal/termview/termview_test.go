package termview

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"protolab/internal/api"
	"protolab/internal/event"
)

func status(doneA bool) api.Status {
	at := time.Date(2026, 11, 25, 10, 2, 3, 0, time.Local)
	st := api.Status{Lab: "dns", Title: "DNS", Lang: "en", Total: 2, MaxPoints: 3, Tasks: []api.Task{
		{ID: "resolve-a", Title: "Find the A record", Points: 1},
		{ID: "axfr", Title: "Transfer the zone", Points: 2},
	}}
	if doneA {
		st.Tasks[0].Done, st.Tasks[0].DoneAt = true, &at
		st.Done, st.Points = 1, 1
	}
	return st
}

func TestLines(t *testing.T) {
	got := strings.Join(Lines(status(true), []string{"10:02:03 dns.query qname=www.lab.test."}, 0), "\n")
	want := `DNS — 1/2 tasks · 1/3 points
 [✓] resolve-a  Find the A record  10:02:03
 [ ] axfr       Transfer the zone

Recent exchanges:
  10:02:03 dns.query qname=www.lab.test.

Need a hint? lab hint <task>   ·   Stop: Ctrl-C (progress is kept)`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	st := status(false)
	st.Lang = "fr"
	fr := strings.Join(Lines(st, nil, 0), "\n")
	for _, w := range []string{"0/2 tâches", "(aucun pour l'instant", "Un indice ? lab hint <tâche>"} {
		if !strings.Contains(fr, w) {
			t.Errorf("French view lacks %q:\n%s", w, fr)
		}
	}
	all := status(true)
	all.Tasks[1].Done, all.Done = true, 2
	if !strings.Contains(strings.Join(Lines(all, nil, 0), "\n"), "Every task is done.") {
		t.Error("no congratulation when every task is done")
	}
	for _, l := range Lines(status(true), []string{strings.Repeat("é", 200)}, 30) {
		if n := len([]rune(l)); n > 30 {
			t.Errorf("line of %d runes wider than 30: %q", n, l)
		}
	}
}

func TestEventLine(t *testing.T) {
	e := event.Event{Time: time.Date(2026, 11, 25, 10, 2, 3, 0, time.Local), Kind: "dns.query", Client: "127.0.0.1:5300",
		Attrs: map[string]string{"qname": "www.lab.test.", "qtype": "A", "edns": "true"}}
	if got, want := EventLine(e, []string{"qname", "qtype", "rcode"}), "10:02:03 dns.query qname=www.lab.test. qtype=A ← 127.0.0.1:5300"; got != want {
		t.Errorf("brief: got %q, want %q", got, want)
	}
	if got, want := EventLine(e, nil), "10:02:03 dns.query edns=true qname=www.lab.test. qtype=A ← 127.0.0.1:5300"; got != want {
		t.Errorf("all: got %q, want %q", got, want)
	}
}

func TestPainter(t *testing.T) {
	var b bytes.Buffer
	p := NewPainter(&b)
	p.Paint([]string{"a", "b", "c"})
	if got := b.String(); got != "\r\x1b[2Ka\n\r\x1b[2Kb\n\r\x1b[2Kc\n" {
		t.Fatalf("first paint: %q", got)
	}
	b.Reset()
	p.Paint([]string{"x"})
	// Up three lines, draw one, clear the two left over, and come back up.
	if got := b.String(); got != "\x1b[3A\r\x1b[2Kx\n\r\x1b[2K\n\r\x1b[2K\n\x1b[2A" {
		t.Fatalf("second paint: %q", got)
	}
}

func TestPrinter(t *testing.T) {
	var b bytes.Buffer
	p := NewPrinter(&b)
	p.Update(status(false))
	if b.Len() != 0 {
		t.Fatalf("the first update prints nothing, got %q", b.String())
	}
	p.Update(status(true))
	if got := b.String(); got != "10:02:03 done resolve-a: Find the A record (1/2)\n" {
		t.Fatalf("got %q", got)
	}
	b.Reset()
	p.Update(status(true))
	if b.Len() != 0 {
		t.Fatalf("no change, but printed %q", b.String())
	}
	p.Update(status(false))
	if !strings.Contains(b.String(), "reset resolve-a") {
		t.Fatalf("undone task: %q", b.String())
	}
}
