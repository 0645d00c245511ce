package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"protolab/internal/api"
	"protolab/internal/console"
	"protolab/internal/event"
	"protolab/internal/service"
)

// source is the runner's side of the console, kept in memory.
type source struct {
	mu     sync.Mutex
	tasks  []api.Task
	hints  map[string][]string
	calls  int // Hint and Reset calls
	resets int
}

func newSource() *source {
	done := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return &source{
		tasks: []api.Task{
			{ID: "query-a", Title: "Ask for the A record of www.lab.test", Done: true, DoneAt: &done, Points: 1, Hints: 2},
			{ID: "query-mx", Title: "Find the mail server of lab.test", Points: 2, Hints: 1},
		},
		hints: map[string][]string{
			"query-a":  {"Use dig.", "dig @127.0.0.1 -p 1053 www.lab.test A"},
			"query-mx": {"dig @127.0.0.1 -p 1053 lab.test MX"},
		},
	}
}

func (s *source) Status() api.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := api.Status{
		Lab: "dns", Title: "DNS", Lang: "en", Running: true,
		Endpoints: []service.Endpoint{{Service: "dns", Listener: "dns", Network: "udp", Addr: "127.0.0.1:1053"}},
		Tasks:     append([]api.Task(nil), s.tasks...),
		Total:     len(s.tasks),
	}
	for _, t := range s.tasks {
		st.MaxPoints += t.Points
		if t.Done {
			st.Done++
			st.Points += t.Points
		}
	}
	return st
}

func (s *source) Hint(task string) (api.Hint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	for i, t := range s.tasks {
		if t.ID != task {
			continue
		}
		hs := s.hints[task]
		if t.HintsShown < len(hs) {
			s.tasks[i].HintsShown++
		}
		n := s.tasks[i].HintsShown
		return api.Hint{Task: task, Level: n, Of: len(hs), Text: hs[n-1]}, nil
	}
	return api.Hint{}, fmt.Errorf("%w %q: lab status lists the task ids", console.ErrUnknownTask, task)
}

func (s *source) Reset() (api.Status, error) {
	s.mu.Lock()
	s.calls++
	s.resets++
	for i := range s.tasks {
		s.tasks[i].Done, s.tasks[i].DoneAt, s.tasks[i].HintsShown = false, nil, 0
	}
	s.mu.Unlock()
	return s.Status(), nil
}

func (s *source) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// start serves a console on 127.0.0.1:0 and stops it when the test ends.
func start(t *testing.T, src console.Source, opts console.Options) (*console.Server, *api.Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := console.New(src, opts)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, &api.Client{Base: "http://" + ln.Addr().String()}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStatus(t *testing.T) {
	src := newSource()
	_, c := start(t, src, console.Options{})
	st, err := c.Status(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Lab != "dns" || len(st.Tasks) != 2 || st.Done != 1 || st.MaxPoints != 3 {
		t.Fatalf("status = %+v", st)
	}
	if !st.Tasks[0].Done || st.Tasks[0].DoneAt == nil || !st.Tasks[0].DoneAt.Equal(*src.tasks[0].DoneAt) {
		t.Errorf("task 0 = %+v, want done at %v", st.Tasks[0], src.tasks[0].DoneAt)
	}
	if st.Tasks[1].DoneAt != nil {
		t.Errorf("task 1 done_at = %v, want null", st.Tasks[1].DoneAt)
	}
	if len(st.Endpoints) != 1 || st.Endpoints[0].Addr != "127.0.0.1:1053" {
		t.Errorf("endpoints = %+v", st.Endpoints)
	}
}

func TestHint(t *testing.T) {
	_, c := start(t, newSource(), console.Options{})
	tests := []struct {
		task     string
		want     api.Hint
		wantCode int
		wantErr  string
	}{
		{task: "query-a", want: api.Hint{Task: "query-a", Level: 1, Of: 2, Text: "Use dig."}},
		{task: "query-a", want: api.Hint{Task: "query-a", Level: 2, Of: 2, Text: "dig @127.0.0.1 -p 1053 www.lab.test A"}},
		{task: "query-a", want: api.Hint{Task: "query-a", Level: 2, Of: 2, Text: "dig @127.0.0.1 -p 1053 www.lab.test A"}},
		{task: "query-mx", want: api.Hint{Task: "query-mx", Level: 1, Of: 1, Text: "dig @127.0.0.1 -p 1053 lab.test MX"}},
		{task: "nope&x=1", wantCode: 404, wantErr: `unknown task "nope&x=1": lab status lists the task ids`},
		{task: "", wantCode: 400, wantErr: "missing task: use /api/hint?task=ID (lab status lists the ids)"},
	}
	for i, tt := range tests {
		h, err := c.Hint(ctxT(t), tt.task)
		if tt.wantErr != "" {
			var re *api.ResponseError
			if !errors.As(err, &re) || re.StatusCode != tt.wantCode || err.Error() != tt.wantErr {
				t.Errorf("%d: Hint(%q) error = %v (%#v), want %d %q", i, tt.task, err, re, tt.wantCode, tt.wantErr)
			}
			continue
		}
		if err != nil || h != tt.want {
			t.Errorf("%d: Hint(%q) = %+v, %v; want %+v", i, tt.task, h, err, tt.want)
		}
	}
}

func TestReset(t *testing.T) {
	src := newSource()
	_, c := start(t, src, console.Options{})
	st, err := c.Reset(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Done != 0 || st.Tasks[0].Done || src.resets != 1 {
		t.Errorf("after reset: %+v (resets %d)", st, src.resets)
	}
}

// raw sends one request and returns the response with its body read.
func raw(t *testing.T, c *api.Client, method, path string, header map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, c.Base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestRoutes(t *testing.T) {
	_, c := start(t, newSource(), console.Options{})
	tests := []struct {
		method, path string
		code         int
		allow        string
		errPart      string
	}{
		{"GET", "/api/status", 200, "", ""},
		{"HEAD", "/api/status", 200, "", ""},
		{"POST", "/api/status", 405, "GET, HEAD", "method POST is not allowed on /api/status"},
		{"GET", "/api/hint?task=query-a", 405, "POST", "use POST"},
		{"PUT", "/api/reset", 405, "POST", "method PUT"},
		{"DELETE", "/", 405, "GET, HEAD", "method DELETE"},
		{"POST", "/api/events", 405, "GET", "method POST"},
		{"GET", "/nope", 404, "", `no such page "/nope"`},
		{"GET", "/api/status/", 404, "", "no such page"},
		{"GET", "/favicon.ico", 404, "", "no such page"},
	}
	for _, tt := range tests {
		resp, body := raw(t, c, tt.method, tt.path, nil, "")
		if resp.StatusCode != tt.code {
			t.Errorf("%s %s: %d, want %d (%s)", tt.method, tt.path, resp.StatusCode, tt.code, body)
			continue
		}
		if got := resp.Header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
		if tt.method == "HEAD" {
			if len(body) != 0 {
				t.Errorf("HEAD %s: body %q", tt.path, body)
			}
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", tt.method, tt.path, ct)
		}
		if tt.errPart == "" {
			continue
		}
		var e api.Error
		if err := json.Unmarshal(body, &e); err != nil || !strings.Contains(e.Error, tt.errPart) {
			t.Errorf("%s %s: body %s (%v), want error containing %q", tt.method, tt.path, body, err, tt.errPart)
		}
	}
}

func TestCrossSite(t *testing.T) {
	src := newSource()
	_, c := start(t, src, console.Options{})
	host := strings.TrimPrefix(c.Base, "http://")
	tests := []struct {
		name   string
		header map[string]string
		body   string
		code   int
	}{
		{"no browser headers (curl)", nil, "", 200},
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": c.Base}, "", 200},
		{"typed in the address bar", map[string]string{"Sec-Fetch-Site": "none"}, "", 200},
		{"cross site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}, "", 403},
		{"same site other origin", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:9"}, "", 403},
		{"old browser, other origin", map[string]string{"Origin": "http://evil.example"}, "", 403},
		{"old browser, same origin", map[string]string{"Origin": "http://" + host}, "", 200},
		{"form post", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "a=b", 415},
		{"text post", map[string]string{"Content-Type": "text/plain"}, "x", 415},
		{"multipart post", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, "", 415},
		{"json", map[string]string{"Content-Type": "application/json; charset=utf-8"}, "{}", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := src.callCount()
			resp, body := raw(t, c, "POST", "/api/hint?task=query-mx", tt.header, tt.body)
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.code, body)
			}
			calls := src.callCount() - before
			if tt.code == 200 && calls != 1 || tt.code != 200 && calls != 0 {
				t.Errorf("source called %d times", calls)
			}
			if tt.code != 200 {
				var e api.Error
				if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
					t.Errorf("body %s is not an api.Error", body)
				}
			}
		})
	}
	// Reset is protected the same way.
	resp, _ := raw(t, c, "POST", "/api/reset", map[string]string{"Sec-Fetch-Site": "cross-site"}, "")
	if resp.StatusCode != 403 || src.resets != 0 {
		t.Errorf("cross-site reset: %d, resets %d", resp.StatusCode, src.resets)
	}
}

type message struct {
	kind string
	data json.RawMessage
}

// subscribe runs Client.Events until the test ends; messages arrive on the
// first channel, Events' result on the second.
func subscribe(t *testing.T, ctx context.Context, c *api.Client) (<-chan message, <-chan error) {
	msgs := make(chan message, 100)
	done := make(chan error, 1)
	go func() {
		done <- c.Events(ctx, func(kind string, data json.RawMessage) error {
			msgs <- message{kind, data}
			return nil
		})
	}()
	return msgs, done
}

func receive(t *testing.T, msgs <-chan message, kind string, v any) {
	t.Helper()
	select {
	case m := <-msgs:
		if m.kind != kind {
			t.Fatalf("got %s %s, want a %s", m.kind, m.data, kind)
		}
		if err := json.Unmarshal(m.data, v); err != nil {
			t.Fatalf("%s: %v in %s", kind, err, m.data)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s message", kind)
	}
}

type transcript string

func (s transcript) String() string { return string(s) }

func TestEventStream(t *testing.T) {
	src := newSource()
	s, c := start(t, src, console.Options{})
	msgs, done := subscribe(t, ctxT(t), c)

	var st api.Status
	receive(t, msgs, "status", &st)
	if st.Lab != "dns" || len(st.Tasks) != 2 {
		t.Fatalf("first status = %+v", st)
	}
	if s.Clients() != 1 {
		t.Errorf("Clients = %d", s.Clients())
	}

	when := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	for i := range 3 {
		s.PublishEvent(event.Event{
			Seq: uint64(i + 1), Time: when, Service: "dns", Kind: "dns.query", Client: "127.0.0.1:5353",
			Attrs:          map[string]string{"qname": fmt.Sprintf("q%d.lab.test.", i), "qtype": "A"},
			TranscriptFrom: transcript(fmt.Sprintf(";; ANSWER %d\nline two", i)),
		})
	}
	s.PublishChange(api.Change{Task: api.Task{ID: "query-mx", Done: true, DoneAt: &when}})

	for i := range 3 {
		var e event.Event
		receive(t, msgs, "event", &e)
		want := fmt.Sprintf(";; ANSWER %d\nline two", i)
		if e.Seq != uint64(i+1) || e.Attrs["qname"] != fmt.Sprintf("q%d.lab.test.", i) || e.Transcript != want || !e.Time.Equal(when) {
			t.Errorf("event %d = %+v, want transcript %q", i, e, want)
		}
	}
	var ch api.Change
	receive(t, msgs, "task", &ch)
	if ch.Task.ID != "query-mx" || !ch.Task.Done || ch.Task.DoneAt == nil {
		t.Errorf("change = %+v", ch)
	}

	// A reset is shown to every open stream.
	if _, err := c.Reset(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	receive(t, msgs, "status", &st)
	if st.Done != 0 || st.Tasks[0].Done {
		t.Errorf("status after reset = %+v", st)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, api.ErrStreamEnded) {
			t.Errorf("Events after Shutdown = %v, want ErrStreamEnded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not end the stream")
	}
	if s.Dropped() != 0 {
		t.Errorf("Dropped = %d for a client that kept up", s.Dropped())
	}
}

func TestEventsCancel(t *testing.T) {
	s, c := start(t, newSource(), console.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	msgs, done := subscribe(t, ctx, c)
	var st api.Status
	receive(t, msgs, "status", &st)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Events = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Events did not return after cancel")
	}
	// The server notices the client is gone.
	waitFor(t, "stream removed", func() bool { return s.Clients() == 0 })
}

func TestEventsFnError(t *testing.T) {
	_, c := start(t, newSource(), console.Options{})
	stop := errors.New("enough")
	var kinds []string
	err := c.Events(ctxT(t), func(kind string, _ json.RawMessage) error {
		kinds = append(kinds, kind)
		return stop
	})
	if !errors.Is(err, stop) || len(kinds) != 1 || kinds[0] != "status" {
		t.Errorf("Events = %v after %v", err, kinds)
	}
}

// waitFor polls cond until it holds or ten seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// openStream starts GET /api/events on a raw connection and reads up to
// the end of the first (status) message.
func openStream(t *testing.T, c *api.Client) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.Base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /api/events HTTP/1.1\r\nHost: %s\r\n\r\n", conn.RemoteAddr())
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	sawStatus := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if strings.HasPrefix(line, "event: status") {
			sawStatus = true
		}
		if sawStatus && strings.HasPrefix(line, "data: ") {
			return conn, br
		}
	}
}

func TestSlowClientDropped(t *testing.T) {
	s, c := start(t, newSource(), console.Options{ClientBuffer: 4})
	conn, br := openStream(t, c)

	big := strings.Repeat("x", 32<<10)
	published := 0
	for s.Dropped() == 0 {
		if published == 20000 {
			t.Fatalf("no client dropped after %d events", published)
		}
		// Each call returns although the slow client reads nothing.
		s.PublishEvent(event.Event{Kind: "dns.query", Transcript: big})
		published++
	}
	t.Logf("dropped after %d events", published)
	if s.Dropped() != 1 || s.Clients() != 0 {
		t.Errorf("after %d events: Dropped = %d, Clients = %d; want 1, 0", published, s.Dropped(), s.Clients())
	}

	// The slow client's stream is closed: reading it now reaches the end.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, br)
	if err != nil {
		t.Errorf("slow stream after %d bytes: %v, want it closed", n, err)
	}
}

func TestPing(t *testing.T) {
	_, c := start(t, newSource(), console.Options{Ping: time.Millisecond})
	_, br := openStream(t, c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("no ping: %v", err)
		}
		if line == ": ping\n" {
			return
		}
	}
}

func TestPublishWithoutClients(t *testing.T) {
	s := console.New(newSource(), console.Options{})
	calls := 0
	s.PublishEvent(event.Event{Kind: "dns.query", TranscriptFrom: countingStringer{&calls}})
	s.PublishChange(api.Change{})
	if calls != 0 || s.Dropped() != 0 {
		t.Errorf("rendered %d transcripts, dropped %d with no client", calls, s.Dropped())
	}
	if err := s.Shutdown(ctxT(t)); err != nil {
		t.Errorf("Shutdown of a server never served: %v", err)
	}
}

type countingStringer struct{ n *int }

func (c countingStringer) String() string { *c.n++; return "" }

// The page is three embedded files, served with a policy that allows
// only them and the console's own API.
func TestPage(t *testing.T) {
	_, c := start(t, newSource(), console.Options{})
	files := map[string]string{}
	for _, f := range []struct{ path, ctype string }{
		{"/", "text/html; charset=utf-8"},
		{"/console.css", "text/css; charset=utf-8"},
		{"/console.js", "text/javascript; charset=utf-8"},
	} {
		resp, body := raw(t, c, "GET", f.path, nil, "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != f.ctype {
			t.Fatalf("GET %s: %d %q", f.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, part := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, part) {
				t.Errorf("GET %s: CSP %q lacks %q", f.path, csp, part)
			}
		}
		files[f.path] = string(body)
	}
	page, script := files["/"], files["/console.js"]
	for _, id := range []string{"title", "summary", "conn", "langs", "task-list", "announce", "tabs", "lesson", "exchanges", "layers", "no-events", "endpoint-list"} {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("page has no element with id %q", id)
		}
	}
	for _, s := range []string{`name="viewport"`, `src="console.js"`, `href="console.css"`, `role="tablist"`, `aria-live="polite"`, `lang="en"`} {
		if !strings.Contains(page, s) {
			t.Errorf("page does not mention %q", s)
		}
	}
	for _, s := range []string{"api/events", "api/hint?task=", "api/lesson", "api/journal", "api/explain", "EventSource", "textContent"} {
		if !strings.Contains(script, s) {
			t.Errorf("script does not mention %q", s)
		}
	}
	for name, body := range files {
		for _, s := range []string{"http://", "https://", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "<style", "style=\""} {
			if strings.Contains(body, s) {
				t.Errorf("%s contains %q: the page loads nothing from elsewhere, has no inline style and never parses data as HTML", name, s)
			}
		}
	}
	if strings.Contains(page, "<script>") {
		t.Error("inline script in the page: the policy would block it")
	}

	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: script syntax not checked (the browser tests run it)")
	}
	file := filepath.Join(t.TempDir(), "console.js")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(node, "--check", file).CombinedOutput(); err != nil {
		t.Errorf("node --check: %v\n%s", err, out)
	}
}
