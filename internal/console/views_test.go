package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"protolab/internal/api"
	"protolab/internal/console"
	"protolab/internal/event"
	"protolab/internal/explain"
	"protolab/internal/lesson"
)

// labSource is a source that is also a console.Lab: a lesson in two
// languages, a journal, and titles in French.
type labSource struct {
	*source
	docs    map[string]*lesson.Doc
	journal []event.Event
	limits  []int // limits asked of Journal
}

var frTitles = map[string]string{"query-a": "Demander l'enregistrement A de www.lab.test", "query-mx": "Trouver le serveur de courrier de lab.test"}

func newLabSource(t *testing.T) *labSource {
	t.Helper()
	docs := map[string]*lesson.Doc{}
	for lang, src := range map[string]string{
		"en": "# DNS\n\nAsk with `dig`.\n\n?[Which record maps a name to an IPv4 address?]\n-[x] A\n-[ ] MX\n=> query-a\n=> query-mx\n\n::: In short\n- A: an address\n:::\n\n?[Which port?]\n-[ ] 25\n-[x] 53\n\n| Type | Use |\n|---|---|\n| A | address |\n\n```\ndig A\n```\n\n---\n1. one\n2. two\n",
		"fr": "# DNS\n\nDemandez avec `dig`.\n\n?[Quel enregistrement ?]\n-[x] A\n-[ ] MX\n=> query-a\n=> nope\n",
	} {
		d, err := lesson.Parse([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		docs[lang] = d
	}
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	journal := []event.Event{
		{Seq: 1, Time: t0, Service: "dns", Kind: "dns.query", Client: "127.0.0.1:40000",
			Attrs:          map[string]string{"qname": "www.lab.test.", "qtype": "A", "rcode": "NOERROR", "transport": "udp"},
			TranscriptFrom: stringer(";; ANSWER SECTION:\nwww.lab.test.\t3600\tIN\tA\t192.0.2.80\n")},
		{Seq: 2, Time: t0.Add(time.Second), Service: "dns", Kind: "dns.query", Client: "127.0.0.1:40001",
			Attrs: map[string]string{"qname": "lab.test.", "qtype": "MX", "rcode": "NOERROR", "transport": "udp"}},
	}
	return &labSource{source: newSource(), docs: docs, journal: journal}
}

type stringer string

func (s stringer) String() string { return string(s) }

func (s *labSource) StatusIn(lang string) api.Status {
	st := s.Status()
	if lang == "fr" {
		st.Lang, st.Title = "fr", "DNS (fr)"
		for i := range st.Tasks {
			st.Tasks[i].Title = frTitles[st.Tasks[i].ID]
		}
	}
	return st
}

func (s *labSource) HintIn(task, lang string) (api.Hint, error) {
	h, err := s.Hint(task)
	if err == nil && lang == "fr" {
		h.Text, h.Lang = "(fr) "+h.Text, "fr"
	}
	return h, err
}

func (s *labSource) Lesson(lang string) (*lesson.Doc, string) {
	if d, ok := s.docs[lang]; ok {
		return d, lang
	}
	return s.docs["en"], "en"
}

func (s *labSource) Did(lang string) map[string]string {
	if lang == "fr" {
		return map[string]string{"query-a": "vous avez demandé www.lab.test (A)"}
	}
	return map[string]string{"query-a": "you asked for www.lab.test (A)"}
}

func (s *labSource) Journal(limit int) ([]event.Event, error) {
	s.mu.Lock()
	s.limits = append(s.limits, limit)
	evs := append([]event.Event(nil), s.journal...)
	s.mu.Unlock()
	if len(evs) > limit {
		evs = evs[len(evs)-limit:]
	}
	return evs, nil
}

func (s *labSource) Explain(svc, lang string) (*explain.Explanation, error) {
	x := explain.Context{Lab: "dns", Lang: lang, Running: true}
	ex, ok := explain.Latest(s.journal, x, svc)
	if !ok {
		return nil, explain.Nothing(x, svc)
	}
	return ex, nil
}

// getJSON fetches path and decodes its body into v, returning the status.
func getJSON(t *testing.T, c *api.Client, method, path string, v any) int {
	t.Helper()
	resp, body := raw(t, c, method, path, nil, "")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s %s: %v\n%s", method, path, err, body)
	}
	return resp.StatusCode
}

func TestLesson(t *testing.T) {
	_, c := start(t, newLabSource(t), console.Options{})
	var l console.Lesson
	if code := getJSON(t, c, "GET", "/api/lesson", &l); code != 200 {
		t.Fatalf("GET /api/lesson: %d", code)
	}
	if l.Lang != "en" || l.Title != "DNS" {
		t.Errorf("lang %q title %q", l.Lang, l.Title)
	}
	var types []string
	for _, b := range l.Blocks {
		types = append(types, b.Type)
	}
	if got, want := strings.Join(types, " "), "heading paragraph question box question table code rule list"; got != want {
		t.Errorf("blocks %q, want %q", got, want)
	}
	q := l.Blocks[2]
	if q.N != 1 || q.Text != "Which record maps a name to an IPv4 address?" || len(q.Options) != 2 || !q.Options[0].Correct || q.Options[1].Correct ||
		strings.Join(q.Links, ",") != "query-a,query-mx" {
		t.Errorf("question 1: %+v", q)
	}
	if box := l.Blocks[3]; box.Title != "In short" || len(box.Body) != 1 || box.Body[0].Type != "list" || box.Body[0].Items[0] != "A: an address" {
		t.Errorf("box: %+v", box)
	}
	if q2 := l.Blocks[4]; q2.N != 2 || len(q2.Links) != 0 || !q2.Options[1].Correct {
		t.Errorf("question 2: %+v", q2)
	}
	if tb := l.Blocks[5]; strings.Join(tb.Header, "|") != "Type|Use" || len(tb.Rows) != 1 || tb.Rows[0][1] != "address" {
		t.Errorf("table: %+v", tb)
	}
	if list := l.Blocks[8]; !list.Ordered || list.Start != 1 || len(list.Items) != 2 {
		t.Errorf("list: %+v", list)
	}
	a, mx := l.Tasks["query-a"], l.Tasks["query-mx"]
	if !a.Known || !a.Done || a.DoneAt == nil || a.Did != "you asked for www.lab.test (A)" || a.Title != "Ask for the A record of www.lab.test" {
		t.Errorf("query-a: %+v", a)
	}
	if !mx.Known || mx.Done || mx.DoneAt != nil || mx.Did != "" {
		t.Errorf("query-mx: %+v", mx)
	}

	// In French: the French lesson, titles and phrases; a link to a task
	// the lab does not have is reported unknown.
	if code := getJSON(t, c, "GET", "/api/lesson?lang=fr", &l); code != 200 {
		t.Fatalf("GET /api/lesson?lang=fr: %d", code)
	}
	if l.Lang != "fr" || l.Blocks[1].Text != "Demandez avec `dig`." || l.Tasks["query-a"].Title != frTitles["query-a"] ||
		l.Tasks["query-a"].Did != "vous avez demandé www.lab.test (A)" || l.Tasks["nope"].Known || l.Tasks["nope"].Title != "nope" {
		t.Errorf("French lesson: %+v", l)
	}
}

func TestJournal(t *testing.T) {
	src := newLabSource(t)
	_, c := start(t, src, console.Options{})
	var j console.Journal
	if code := getJSON(t, c, "GET", "/api/journal", &j); code != 200 {
		t.Fatalf("GET /api/journal: %d", code)
	}
	if len(j.Events) != 2 || j.Events[0].Attrs["qname"] != "www.lab.test." || j.Events[1].Seq != 2 {
		t.Fatalf("journal: %+v", j.Events)
	}
	if !strings.Contains(j.Events[0].Transcript, "192.0.2.80") {
		t.Errorf("transcript not rendered: %q", j.Events[0].Transcript)
	}
	if code := getJSON(t, c, "GET", "/api/journal?limit=1", &j); code != 200 || len(j.Events) != 1 || j.Events[0].Seq != 2 {
		t.Errorf("limit=1: %d %+v", code, j.Events)
	}
	src.mu.Lock()
	limits := fmt.Sprint(src.limits)
	src.mu.Unlock()
	if limits != "[200 1]" {
		t.Errorf("limits asked: %s, want [200 1]", limits)
	}
	for _, bad := range []string{"0", "-1", "1001", "x", "1e3"} {
		var e api.Error
		if code := getJSON(t, c, "GET", "/api/journal?limit="+bad, &e); code != 400 || !strings.Contains(e.Error, "from 1 to 1000") {
			t.Errorf("limit=%s: %d %q", bad, code, e.Error)
		}
	}
	src.mu.Lock()
	src.journal = nil
	src.mu.Unlock()
	if _, body := raw(t, c, "GET", "/api/journal", nil, ""); string(body) != "{\"events\":[]}\n" {
		t.Errorf("empty journal: %s", body)
	}
}

func TestExplain(t *testing.T) {
	src := newLabSource(t)
	_, c := start(t, src, console.Options{})
	var ex explain.Explanation
	if code := getJSON(t, c, "GET", "/api/explain", &ex); code != 200 {
		t.Fatalf("GET /api/explain: %d", code)
	}
	if ex.Service != "dns" || ex.Client != "127.0.0.1:40001" || ex.Lang != "en" || len(ex.Layers) != 4 || ex.Layers[1].Name != "UDP" {
		t.Errorf("explanation: %+v", ex)
	}
	if code := getJSON(t, c, "GET", "/api/explain?lang=fr", &ex); code != 200 || ex.Lang != "fr" || ex.Layers[3].Name != "boucle locale (lo)" {
		t.Errorf("in French: %d %+v", code, ex.Layers)
	}
	var e api.Error
	if code := getJSON(t, c, "GET", "/api/explain?service=echo", &e); code != 404 || !strings.Contains(e.Error, "no exchange with the echo service") {
		t.Errorf("nothing to explain: %d %q", code, e.Error)
	}
}

// ?lang= gives titles and hints in that language; anything but fr and en
// is refused.
func TestLang(t *testing.T) {
	_, c := start(t, newLabSource(t), console.Options{})
	var st api.Status
	if code := getJSON(t, c, "GET", "/api/status?lang=fr", &st); code != 200 || st.Lang != "fr" || st.Tasks[0].Title != frTitles["query-a"] {
		t.Errorf("status in French: %d %+v", code, st)
	}
	if code := getJSON(t, c, "GET", "/api/status", &st); code != 200 || st.Lang != "en" || st.Tasks[0].Title != "Ask for the A record of www.lab.test" {
		t.Errorf("status: %d %+v", code, st)
	}
	var h api.Hint
	if code := getJSON(t, c, "POST", "/api/hint?task=query-a&lang=fr", &h); code != 200 || h.Text != "(fr) Use dig." || h.Lang != "fr" {
		t.Errorf("hint in French: %d %+v", code, h)
	}
	for _, path := range []string{"/api/status?lang=de", "/api/lesson?lang=FR", "/api/explain?lang=x", "/api/hint?task=query-a&lang=es"} {
		method := http.MethodGet
		if strings.HasPrefix(path, "/api/hint") {
			method = http.MethodPost
		}
		var e api.Error
		if code := getJSON(t, c, method, path, &e); code != 400 || !strings.Contains(e.Error, "use lang=fr or lang=en") {
			t.Errorf("%s: %d %q", path, code, e.Error)
		}
	}
}

// A source that is not a console.Lab still serves the basic API; the new
// endpoints say what is missing.
func TestWithoutLab(t *testing.T) {
	_, c := start(t, newSource(), console.Options{})
	for _, path := range []string{"/api/lesson", "/api/journal", "/api/explain"} {
		var e api.Error
		if code := getJSON(t, c, "GET", path, &e); code != 404 || !strings.Contains(e.Error, "use /api/status and /api/events") {
			t.Errorf("%s: %d %q", path, code, e.Error)
		}
	}
	var st api.Status
	if code := getJSON(t, c, "GET", "/api/status?lang=fr", &st); code != 200 || st.Lang != "en" {
		t.Errorf("status?lang=fr without a Lab: %d %+v", code, st)
	}
	for _, path := range []string{"/api/lesson", "/api/journal", "/api/explain"} {
		if resp, _ := raw(t, c, "POST", path, nil, ""); resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s: %d Allow %q", path, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}
