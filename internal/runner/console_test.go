package runner

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"testing/fstest"

	"protolab/internal/console"
	"protolab/internal/explain"
	"protolab/internal/lesson"
	"protolab/labs"
)

const labFR = `
id: pinglab
title: {fr: Ping en français, en: Ping}
services:
  ping:
tasks:
  - id: hello
    title: {en: Say hello, fr: Dire bonjour}
    hints:
      - {en: "Send a datagram.", fr: "Envoyez un datagramme."}
      - {en: "echo hello | nc -u {ping.host} {ping.port}", fr: "echo hello | nc -u {ping.host} {ping.port} (en français)"}
    check: {event: ping.hello, where: {text: hello}}
  - id: twice
    title: {en: Say bye twice}
    check: {event: ping.hello, where: {text: bye}, count: 2}
`

// What the web console asks of a running lab beyond console.Source: the
// texts in either language, the lesson, the journal, what ticked each
// task, and the layer view, all from a lab really running.
func TestConsoleLab(t *testing.T) {
	lab, err := labs.Parse([]byte(labFR), fstest.MapFS{}, "lab.yaml", registry{})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := lesson.Parse([]byte("# Ping\n\n?[What says hello?]\n-[x] a datagram\n-[ ] a letter\n=> hello\n"))
	if err != nil {
		t.Fatal(err)
	}
	lab.Lessons = map[string]*lesson.Doc{"en": doc}
	l := start(t, lab, t.TempDir())
	defer l.Close(context.Background())

	// Nothing yet to explain or to say.
	if _, err := l.Explain("", "en"); !errors.Is(err, explain.ErrNothing) {
		t.Errorf("Explain before any exchange: %v", err)
	}
	if did := l.Did("en"); len(did) != 0 {
		t.Errorf("Did before any tick: %v", did)
	}

	send(t, l, "hi")
	send(t, l, "hello")
	waitStatus(t, l, func(d map[string]bool) bool { return d["hello"] })

	st := l.StatusIn("fr")
	if st.Lang != "fr" || st.Title != "Ping en français" || st.Tasks[0].Title != "Dire bonjour" || st.Tasks[1].Title != "Say bye twice" || !st.Tasks[0].Done {
		t.Errorf("StatusIn(fr) = %+v", st)
	}
	if st := l.StatusIn("en"); st.Lang != "en" || st.Tasks[0].Title != "Say hello" {
		t.Errorf("StatusIn(en) = %+v", st)
	}

	if h, err := l.HintIn("hello", "fr"); err != nil || h.Level != 1 || h.Lang != "fr" || h.Text != "Envoyez un datagramme." {
		t.Errorf("HintIn(fr) = %+v, %v", h, err)
	}
	if h, err := l.HintIn("hello", "en"); err != nil || h.Level != 2 || h.Lang != "en" || h.Text == "" || h.Text[:19] != "echo hello | nc -u " {
		t.Errorf("HintIn(en) = %+v, %v", h, err)
	}
	if _, err := l.HintIn("nope", "fr"); !errors.Is(err, console.ErrUnknownTask) {
		t.Errorf("HintIn(nope): %v", err)
	}

	evs, err := l.Journal(10)
	if err != nil || len(evs) != 2 || evs[0].Attrs["text"] != "hi" || evs[1].Attrs["text"] != "hello" {
		t.Fatalf("Journal = %+v, %v", evs, err)
	}
	if evs, _ := l.Journal(1); len(evs) != 1 || evs[0].Attrs["text"] != "hello" {
		t.Errorf("Journal(1) = %+v", evs)
	}

	if did := l.Did("fr"); len(did) != 1 || did["hello"] != "événement ping.hello" {
		t.Errorf("Did(fr) = %v", did)
	}

	ex, err := l.Explain("", "fr")
	if err != nil || ex.Service != "ping" || ex.Transport != "udp" || ex.Lang != "fr" || len(ex.Layers) != 4 || ex.Layers[1].Name != "UDP" {
		t.Fatalf("Explain = %+v, %v", ex, err)
	}
	if _, err := l.Explain("dns", "en"); !errors.Is(err, explain.ErrNothing) {
		t.Errorf("Explain(dns): %v", err)
	}

	if d, got := l.Lesson("fr"); d != doc || got != "en" {
		t.Errorf("Lesson(fr) = %p %q, want the English lesson", d, got)
	}

	// The console serves them: the runner is a console.Lab.
	resp, err := http.Get(l.WebURL() + "/api/lesson?lang=fr")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var les console.Lesson
	if err := json.NewDecoder(resp.Body).Decode(&les); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /api/lesson: %d %v", resp.StatusCode, err)
	}
	if hello := les.Tasks["hello"]; les.Lang != "en" || !hello.Done || hello.Title != "Dire bonjour" || hello.Did != "événement ping.hello" {
		t.Errorf("lesson = %+v", les)
	}
}
