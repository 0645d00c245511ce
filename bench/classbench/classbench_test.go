package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"protolab/internal/api"
)

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(float64(i + 1))
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", []time.Duration{ms(7)}, 99, ms(7)},
		{"median of two is the lower", []time.Duration{ms(1), ms(9)}, 50, ms(1)},
		{"p99 of two is the higher", []time.Duration{ms(1), ms(9)}, 99, ms(9)},
		{"p50 of 100", hundred, 50, ms(50)},
		{"p99 of 100", hundred, 99, ms(99)},
		{"p100 of 100", hundred, 100, ms(100)},
		{"tiny p is the least", hundred, 0.001, ms(1)},
		{"p99 of 400 leaves 4 above", seq(400), 99, ms(396)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Fatalf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

// seq is 1 ms, 2 ms... n ms.
func seq(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = ms(float64(i + 1))
	}
	return out
}

func TestMakeLearners(t *testing.T) {
	tests := []struct {
		n         int
		wantErr   bool
		last      string
		lastAddr  string
		firstAddr string
	}{
		{n: 0, wantErr: true},
		{n: -1, wantErr: true},
		{n: maxLearners + 1, wantErr: true},
		{n: 1, last: "learner-001", lastAddr: "127.0.10.1", firstAddr: "127.0.10.1"},
		{n: 100, last: "learner-100", lastAddr: "127.0.10.100", firstAddr: "127.0.10.1"},
		{n: maxLearners, last: "learner-250", lastAddr: "127.0.10.250", firstAddr: "127.0.10.1"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			ls, err := makeLearners(tt.n)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("makeLearners(%d): no error", tt.n)
				}
				return
			}
			if err != nil || len(ls) != tt.n {
				t.Fatalf("makeLearners(%d) = %d learners, %v", tt.n, len(ls), err)
			}
			if ls[0].Addr.String() != tt.firstAddr || ls[tt.n-1].ID != tt.last || ls[tt.n-1].Addr.String() != tt.lastAddr {
				t.Fatalf("first %+v, last %+v", ls[0], ls[tt.n-1])
			}
			ids, addrs := map[string]bool{}, map[netip.Addr]bool{}
			for _, l := range ls {
				if ids[l.ID] || addrs[l.Addr] || !l.Addr.IsLoopback() {
					t.Fatalf("learner %+v: repeated or not on loopback", l)
				}
				ids[l.ID], addrs[l.Addr] = true, true
			}
		})
	}
}

func TestRosterYAML(t *testing.T) {
	for _, n := range []int{1, 3, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ls, err := makeLearners(n)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Class    string `yaml:"class"`
				Learners []struct {
					ID      string `yaml:"id"`
					Name    string `yaml:"name"`
					Address string `yaml:"address"`
				} `yaml:"learners"`
			}
			dec := yaml.NewDecoder(strings.NewReader(string(rosterYAML(ls))))
			dec.KnownFields(true)
			if err := dec.Decode(&doc); err != nil {
				t.Fatalf("roster is not the expected YAML: %v\n%s", err, rosterYAML(ls))
			}
			if doc.Class != className || len(doc.Learners) != n {
				t.Fatalf("class %q with %d learners, want %q with %d", doc.Class, len(doc.Learners), className, n)
			}
			for i, l := range doc.Learners {
				if l.ID != ls[i].ID || l.Address != ls[i].Addr.String() || l.Name == "" {
					t.Fatalf("learner %d = %+v, want id %s at %s", i, l, ls[i].ID, ls[i].Addr)
				}
			}
		})
	}
}

// FuzzWatcher: the watcher takes whatever the dashboard's stream gives,
// as the project's event-stream reader reads it, without panicking.
func FuzzWatcher(f *testing.F) {
	f.Add([]byte("event: class\ndata: {}\n\n"))
	f.Add([]byte(": ping\r\n\r\nevent: learner\r\ndata: {\"id\":\"a\"}\r\n\r\n"))
	f.Add([]byte("data: a\ndata: b\n\nevent:\ndata\n\n\r\r"))
	f.Fuzz(func(t *testing.T, in []byte) {
		w := newWatcher()
		r := api.NewSSEReader(bytes.NewReader(in), maxFrame)
		for {
			kind, data, err := r.Next()
			if err != nil {
				break
			}
			w.handle(kind, data, time.Now())
		}
	})
}

func mustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// frameOf is one SSE message of kind with v as JSON.
func frameOf(t testing.TB, kind string, v any) string {
	return "event: " + kind + "\ndata: " + string(mustJSON(t, v)) + "\n\n"
}

func classOf(tasks []string, rows ...api.ClassLearner) api.Class {
	c := api.Class{Lab: labID}
	for _, id := range tasks {
		c.Tasks = append(c.Tasks, api.ClassTask{ID: id})
	}
	c.Learners = rows
	return c
}

func rowOf(id string, done map[string]time.Time) api.ClassLearner {
	r := api.ClassLearner{ID: id}
	for _, task := range labTasks {
		c := api.ClassCell{Task: task}
		if at, ok := done[task]; ok {
			c.Done, c.DoneAt = true, &at
		}
		r.Cells = append(r.Cells, c)
	}
	return r
}

func TestWatcherHandle(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	w := newWatcher()
	// The first class: one tick already done, not timed.
	w.handle("class", mustJSON(t, classOf(labTasks, rowOf("a", map[string]time.Time{"smtp-send": t0}))), t0)
	select {
	case <-w.ready:
	default:
		t.Fatal("ready is not closed after the first class")
	}
	steps := []struct {
		kind    string
		v       any
		arrival time.Time
	}{
		// b ticks smtp-send at t0+1ms, seen 4 ms later.
		{"learner", rowOf("b", map[string]time.Time{"smtp-send": t0.Add(ms(1))}), t0.Add(ms(5))},
		// b's row again, one more tick: only the new one is timed.
		{"learner", rowOf("b", map[string]time.Time{"smtp-send": t0.Add(ms(1)), "pop3-retr": t0.Add(ms(10))}), t0.Add(ms(30))},
		// A tick stamped after its arrival counts as 0.
		{"learner", rowOf("c", map[string]time.Time{"compare": t0.Add(ms(50))}), t0.Add(ms(40))},
		{"event", map[string]string{"kind": "smtp.connect"}, t0},
		{"event", map[string]string{"kind": "smtp.ehlo"}, t0},
		// After a reconnection, a class with a tick the stream missed.
		{"class", classOf(labTasks, rowOf("c", map[string]time.Time{"compare": t0.Add(ms(50)), "imap-fetch": t0.Add(ms(60))})), t0.Add(ms(90))},
	}
	for _, s := range steps {
		w.handle(s.kind, mustJSON(t, s.v), s.arrival)
	}
	w.handle("learner", []byte("{not json"), t0)
	f := w.figures()
	if fmt.Sprint(f.lat) != fmt.Sprint([]time.Duration{ms(4), ms(20), 0}) {
		t.Errorf("latencies %v, want [4ms 20ms 0s]", f.lat)
	}
	if fmt.Sprint(f.byTask) != fmt.Sprint(map[string][]time.Duration{"smtp-send": {ms(4)}, "pop3-retr": {ms(20)}, "compare": {0}}) {
		t.Errorf("latencies by task %v", f.byTask)
	}
	if f.before != 1 || f.resync != 1 || f.early != 1 || f.events != 2 || f.rows != 3 || f.badData != 1 {
		t.Errorf("figures %+v", f)
	}
	if len(f.seen) != 5 || !f.seen[tickKey{"c", "imap-fetch"}] || f.seen[tickKey{"b", "compare"}] {
		t.Errorf("seen %v", f.seen)
	}
	if fmt.Sprint(f.tasks) != fmt.Sprint(labTasks) || f.lab != labID {
		t.Errorf("lab %q tasks %v", f.lab, f.tasks)
	}
	if !f.last.Equal(t0.Add(ms(90))) {
		t.Errorf("last tick at %v", f.last)
	}
}

// TestWatcherFollow serves the stream over a real socket: a class, a tick,
// then the server ends the stream; the watcher connects again and the
// second class shows one more tick.
func TestWatcherFollow(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	t0 := time.Now()
	var mu sync.Mutex
	conns := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/class/events" || r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		conns++
		n := conns
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		if n == 1 {
			io.WriteString(w, frameOf(t, "class", classOf(labTasks, rowOf("a", nil))))
			io.WriteString(w, ": ping\n\n")
			io.WriteString(w, frameOf(t, "learner", rowOf("a", map[string]time.Time{"smtp-send": t0})))
			return // the server ends the stream
		}
		io.WriteString(w, frameOf(t, "class", classOf(labTasks, rowOf("a", map[string]time.Time{"smtp-send": t0, "pop3-retr": t0}))))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()

	w := newWatcher()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.follow(ctx, srv.URL, token) }()
	waitTicks(ctx, w, 2, 10*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("follow: %v", err)
	}
	f := w.figures()
	if len(f.seen) != 2 || len(f.lat) != 1 || f.resync != 1 || f.conns != 2 || f.cuts != 1 {
		t.Fatalf("figures %+v", f)
	}

	// A wrong token is an error, not a reconnection loop.
	w = newWatcher()
	err := w.follow(context.Background(), srv.URL, strings.Repeat("f", 32))
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestPOP3Reply(t *testing.T) {
	tests := []struct {
		line, want string
		wantErr    string
	}{
		{"+OK", "", ""},
		{"+OK 2 340", "2 340", ""},
		{"+OK maildrop locked and ready ", "maildrop locked and ready", ""},
		{"+OKAY", "", "not a POP3 reply"},
		{"-ERR [AUTH] wrong password", "", "server said"},
		{"* OK imap", "", "not a POP3 reply"},
		{"", "", "not a POP3 reply"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := pop3Reply(tt.line)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("pop3Reply(%q) = %q, %v; want %q", tt.line, got, err, tt.want)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		rest    string
		want    int
		wantErr bool
	}{
		{"2 340", 2, false},
		{"0 0", 0, false},
		{"3 100 extra", 3, false},
		{"2", 0, true},
		{"", 0, true},
		{"-1 0", 0, true},
		{"x 0", 0, true},
		{"2 -5", 0, true},
		{"99999999999 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.rest, func(t *testing.T) {
			got, err := parseStat(tt.rest)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parseStat(%q) = %d, %v; want %d, error %v", tt.rest, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzPOP3Reply(f *testing.F) {
	for _, s := range []string{"+OK 2 340", "-ERR no", "+OK", "+OK  7   9 ", "+OK -1 2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		rest, err := pop3Reply(line)
		if err != nil {
			return
		}
		if !strings.HasPrefix(line, "+OK") {
			t.Fatalf("accepted %q", line)
		}
		if n, err := parseStat(rest); err == nil && n < 0 {
			t.Fatalf("negative count %d from %q", n, line)
		}
	})
}

func TestParseDashboard(t *testing.T) {
	tests := []struct {
		line     string
		web, tok string
	}{
		{"Instructor dashboard: http://127.0.0.1:40123/instructor?token=abc", "http://127.0.0.1:40123", "abc"},
		{"Instructor dashboard: http://[::1]:8080/instructor?token=0f\n", "http://[::1]:8080", "0f"},
		{"Instructor dashboard: http://127.0.0.1:1/instructor", "", ""},
		{"Instructor dashboard: https://127.0.0.1:1/instructor?token=a", "", ""},
		{"Instructor dashboard: http://127.0.0.1:1/other?token=a", "", ""},
		{"Class x: 3 learners", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			d, err := parseDashboard(tt.line)
			if tt.web == "" {
				if err == nil {
					t.Fatalf("parsed %+v", d)
				}
				return
			}
			if err != nil || d.web != tt.web || d.token != tt.tok {
				t.Fatalf("parseDashboard = %+v, %v; want %s %s", d, err, tt.web, tt.tok)
			}
		})
	}
}

func FuzzParseDashboard(f *testing.F) {
	f.Add("Instructor dashboard: http://127.0.0.1:40123/instructor?token=abc")
	f.Add("Instructor dashboard: http://h/instructor?token=%zz")
	f.Fuzz(func(t *testing.T, line string) {
		d, err := parseDashboard(line)
		if err == nil && (d.token == "" || !strings.HasPrefix(d.web, "http://")) {
			t.Fatalf("accepted %q as %+v", line, d)
		}
	})
}

func TestLineFinder(t *testing.T) {
	var log strings.Builder
	lf := &lineFinder{log: &log, found: make(chan string, 1)}
	out := "Lab mail started\nClass classbench: 2 learners\nInstruc" + "tor dashboard: http://127.0.0.1:9/instructor?token=t\n\nlater line\n"
	for _, chunk := range []string{out[:20], out[20:45], out[45:]} { // the line arrives in pieces
		if _, err := lf.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case line := <-lf.found:
		if line != "Instructor dashboard: http://127.0.0.1:9/instructor?token=t" {
			t.Fatalf("found %q", line)
		}
	default:
		t.Fatal("no dashboard line found")
	}
	if log.String() != out {
		t.Fatalf("log %q, want everything written", log.String())
	}
}

// TestPOP3FromLearnerAddress runs the POP3 step against a scripted server
// on a real socket: the connection comes from the learner's own address
// (the classroom server attributes by it), logs in with the learner's
// account and reads the newest message.
func TestPOP3FromLearnerAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const msgID = "m1@lab.test"
	type seen struct {
		from string
		cmds []string
	}
	got := make(chan seen, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- seen{}
			return
		}
		defer conn.Close()
		s := seen{from: conn.RemoteAddr().(*net.TCPAddr).IP.String()}
		r := bufio.NewReader(conn)
		io.WriteString(conn, "+OK ready\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				break
			}
			cmd := strings.TrimRight(line, "\r\n")
			s.cmds = append(s.cmds, cmd)
			switch {
			case cmd == "STAT":
				io.WriteString(conn, "+OK 2 300\r\n")
			case cmd == "RETR 2":
				io.WriteString(conn, "+OK 150 octets\r\nMessage-ID: <"+msgID+">\r\n\r\n..dot line\r\n.\r\n")
			default:
				io.WriteString(conn, "+OK\r\n")
			}
			if cmd == "QUIT" {
				break
			}
		}
		got <- s
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := &mailClient{ctx: ctx, from: "127.0.10.7", acct: account{user: "learner-007", pass: "tamodirevu42"}}
	if err := c.pop3(ln.Addr().String(), msgID, false); err != nil {
		t.Fatalf("pop3: %v", err)
	}
	s := <-got
	want := []string{"USER learner-007", "PASS tamodirevu42", "STAT", "RETR 2", "QUIT"}
	if s.from != "127.0.10.7" || fmt.Sprint(s.cmds) != fmt.Sprint(want) {
		t.Fatalf("server saw %+v, want from 127.0.10.7 %q", s, want)
	}
	// Another message than the one sent is an error.
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		io.WriteString(conn, "+OK ready\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch strings.TrimRight(line, "\r\n") {
			case "STAT":
				io.WriteString(conn, "+OK 1 10\r\n")
			case "RETR 1":
				io.WriteString(conn, "+OK\r\nMessage-ID: <other@lab.test>\r\n.\r\n")
			default:
				io.WriteString(conn, "+OK\r\n")
			}
		}
	}()
	if err := c.pop3(ln.Addr().String(), msgID, false); err == nil || !strings.Contains(err.Error(), "not the message just sent") {
		t.Fatalf("pop3 with another message: %v", err)
	}
}

// TestRunBench runs the whole benchmark on a class of three learners
// against the real lab (built here), and checks the report.
func TestRunBench(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the lab")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the lab")
	}
	o := options{learners: 3, timeout: time.Minute, load: 30 * time.Second, settle: 10 * time.Second}
	var stdout, stderr strings.Builder
	if code := runBench(context.Background(), o, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s\nstdout:\n%s", code, stderr.String(), stdout.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"3 learners ran every step",
		"expected 12 (3 learners x 4 tasks), seen on the stream 12, done in /api/class 12   target all   PASS",
		"BENCH class.ticks_seen=12",
		"BENCH class.target.ticks=PASS",
		"BENCH class.learners_failed=0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "BENCH class.target.journal=PASS") {
		t.Errorf("three learners lost events in the journal:\n%s", out)
	}
}
