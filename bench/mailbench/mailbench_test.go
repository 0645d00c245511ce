package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"protolab/bench/internal/fakelab"
	"protolab/internal/api"
	"protolab/internal/labtls"
	"protolab/internal/service"
)

func TestParseSourceCount(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    int64
		wantErr string
	}{
		{"complete run", "1\r2\r3\r\n", 3, ""},
		{"cut short", "1\r2\r3\r4\r", 4, ""},
		{"nothing sent", "", 0, ""},
		{"counts with gaps", "1\r5\r9\r", 9, ""},
		{"not a number", "1\r2\rfatal: x\r", 2, "unexpected"},
		{"going back", "1\r2\r1\r", 2, "unexpected"},
		{"zero", "0\r", 0, "unexpected"},
		{"negative", "-3\r", 0, "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSourceCount([]byte(tt.out))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("count = %d, want %d", got, tt.want)
			}
		})
	}
}

func FuzzParseSourceCount(f *testing.F) {
	f.Add([]byte("1\r2\r3\r\n"))
	f.Add([]byte("1\r\r\n 2 \r99999999999999999999\r"))
	f.Add([]byte("3\r2\r"))
	f.Fuzz(func(t *testing.T, out []byte) {
		n, err := parseSourceCount(out)
		if n < 0 {
			t.Fatalf("negative count %d (err %v)", n, err)
		}
		if err == nil && len(bytes.TrimSpace(out)) > 0 && n == 0 {
			t.Fatalf("output %q read as no message", out)
		}
	})
}

func TestParseSinkCounters(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    sinkCounters
		wantErr string
	}{
		{"running counters", "sess=0 quit=0 mesg=1\rsess=1 quit=1 mesg=1\rsess=2 quit=2 mesg=2\r", sinkCounters{2, 2, 2}, ""},
		{"warning among them", "sess=0 quit=0 mesg=1\rsmtp-sink: warning: x\nsess=1 quit=0 mesg=3\r", sinkCounters{1, 0, 3}, ""},
		{"no counters", "smtp-sink: fatal: bind: Address already in use\n", sinkCounters{}, "no counters"},
		{"field missing", "sess=1 quit=1\r", sinkCounters{}, "odd counters"},
		{"fields out of order", "sess=1 mesg=1 quit=1\r", sinkCounters{}, "odd counters"},
		{"negative", "sess=1 quit=1 mesg=-1\r", sinkCounters{}, "odd counters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSinkCounters([]byte(tt.out))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func FuzzParseSinkCounters(f *testing.F) {
	f.Add([]byte("sess=0 quit=0 mesg=1\rsess=1 quit=1 mesg=1\r"))
	f.Add([]byte("sess=\rsess=1 quit=2 mesg=3 4\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		c, err := parseSinkCounters(out)
		if err == nil && (c.Sessions < 0 || c.Quits < 0 || c.Messages < 0) {
			t.Fatalf("negative counters %+v", c)
		}
	})
}

func TestFreePorts(t *testing.T) {
	ports, err := freePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v: want three distinct ports", ports)
		}
		seen[p] = true
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d not free: %v", p, err)
		}
		ln.Close()
	}
}

func TestChildStop(t *testing.T) {
	tests := []struct {
		name    string
		argv    []string
		wantErr string
	}{
		{"ends on SIGTERM", []string{"sleep", "30"}, ""},
		{"ignores SIGTERM", []string{"sh", "-c", `trap "" TERM; echo ready; exec sleep 30`}, "was killed"},
		{"already failed", []string{"sh", "-c", "echo oops; exit 3"}, "exit status 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := spawn("x", filepath.Join(t.TempDir(), "log"), tt.argv)
			if err != nil {
				t.Skip(err)
			}
			if tt.name == "ignores SIGTERM" { // once the trap is set
				deadline := time.Now().Add(10 * time.Second)
				for c.tail(1) != ": ready" && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
			}
			if tt.name == "already failed" {
				<-c.done
				if tail := c.tail(2); tail != ": oops" {
					t.Errorf("tail = %q, want %q", tail, ": oops")
				}
			}
			err = c.stop(200 * time.Millisecond)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("stop: %v, want %q", err, tt.wantErr)
			}
			if c.alive() {
				t.Fatal("still alive after stop")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	good := options{load: loadSettings{Messages: 10000, Sessions: 20, Limit: 45 * time.Second}, fetch: 1000}
	if err := good.validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		name   string
		change func(*options)
		want   string
	}{
		{"no messages", func(o *options) { o.load.Messages = 0 }, "-messages"},
		{"too many sessions", func(o *options) { o.load.Sessions = 1000 }, "-sessions"},
		{"too short", func(o *options) { o.load.Limit = time.Millisecond }, "-duration"},
		{"no fetch", func(o *options) { o.fetch = 0 }, "-fetch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.change(&o)
			if err := o.validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestLabStartArgs(t *testing.T) {
	got := strings.Join(labStartArgs("/s", 2525, 8080), " ")
	want := "start mail --ports auto --port smtp=2525 --web 127.0.0.1:8080 --state /s"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := strings.Join(loadSettings{Messages: 10, Sessions: 2}.args("127.0.0.1:25"), " "); got !=
		"-c -s 2 -m 10 -l 100 -M client.lab.test -f alice@lab.test -t bob@lab.test 127.0.0.1:25" {
		t.Fatalf("smtp-source args %q", got)
	}
}

func TestFindEndpoint(t *testing.T) {
	st := &api.Status{Endpoints: []service.Endpoint{
		{Service: "imap", Listener: "imaps", Network: "tcp", Addr: "127.0.0.1:1993"},
		{Service: "imap", Listener: "imap", Network: "tcp", Addr: "127.0.0.1:1143"},
		{Service: "pop3", Listener: "pop3", Network: "tcp", Addr: "127.0.0.1:1110"},
	}}
	if got := findEndpoint(st, "imap"); got != "127.0.0.1:1143" {
		t.Errorf("imap: %q, want the listener named imap", got)
	}
	if got := findEndpoint(st, "pop3"); got != "127.0.0.1:1110" {
		t.Errorf("pop3: %q", got)
	}
	st.Endpoints = st.Endpoints[:1]
	if got := findEndpoint(st, "imap"); got != "127.0.0.1:1993" {
		t.Errorf("imap without a listener named imap: %q, want the first tcp one", got)
	}
	if got := findEndpoint(st, "smtp"); got != "" {
		t.Errorf("smtp: %q, want none", got)
	}
}

// TestFigures checks the delivery verdict: exact counts pass; a run cut
// short may leave up to one stored message per session uncounted.
func TestFigures(t *testing.T) {
	tests := []struct {
		name          string
		sent, after   int64
		cut           bool
		lost, extra   int64
		pass          bool
		ratio         float64
		sinkSent      int64
		labNote       string
		wantRatioZero bool
	}{
		{name: "exact", sent: 100, after: 101, lost: 0, extra: 0, pass: true, sinkSent: 200, ratio: 0.5},
		{name: "lost", sent: 100, after: 99, lost: 2, extra: 0, pass: false, sinkSent: 100, ratio: 1},
		{name: "duplicates", sent: 100, after: 103, lost: 0, extra: 2, pass: false, sinkSent: 100, ratio: 1},
		{name: "in flight when cut", sent: 100, after: 103, cut: true, lost: 0, extra: 2, pass: true, sinkSent: 100, ratio: 1},
		{name: "failed run", sent: 100, after: 101, lost: 0, pass: true, sinkSent: 100, labNote: "failed: x", wantRatioZero: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := &result{opts: options{load: loadSettings{Sessions: 4}}, otherCPU: -1,
				sink: server{name: "sink", load: &load{Sent: tt.sinkSent, Wall: time.Second}},
				lab:  server{name: "lab", note: tt.labNote, load: &load{Sent: tt.sent, Wall: time.Second, Cut: tt.cut}},
				mail: labFigures{before: 1, after: tt.after}}
			f := computeFigures(res)
			if !f.checked || f.lost != tt.lost || f.extra != tt.extra || f.lostPass != tt.pass {
				t.Fatalf("lost %d extra %d pass %v (checked %v), want %d %d %v", f.lost, f.extra, f.lostPass,
					f.checked, tt.lost, tt.extra, tt.pass)
			}
			if tt.wantRatioZero && f.ratio != 0 || !tt.wantRatioZero && f.ratio != tt.ratio {
				t.Fatalf("ratio %v, want %v", f.ratio, tt.ratio)
			}
		})
	}
}

func TestBenchLinesNotMeasured(t *testing.T) {
	res := &result{otherCPU: -1, sink: server{name: "sink", load: &load{Sent: 10, Wall: time.Second}},
		lab: server{name: "lab", note: "not available: x"}, mail: labFigures{before: -1, after: -1}}
	lines := benchLines(res, computeFigures(res))
	want := map[string]string{"msgs_per_s.sink": "10", "msgs_per_s.lab": "NA", "lost.lab": "NA",
		"target.lab_sink": "NA", "target.lost_lab": "NA", "other_cpu_pct": "NA", "fetch_ms.lab": "NA"}
	for _, l := range lines {
		if !strings.HasPrefix(l, "BENCH mail.") || strings.Count(l, "=") != 1 {
			t.Errorf("malformed line %q", l)
		}
		k, v, _ := strings.Cut(strings.TrimPrefix(l, "BENCH mail."), "=")
		if w, ok := want[k]; ok && v != w {
			t.Errorf("%s = %s, want %s", k, v, w)
		}
		delete(want, k)
	}
	if len(want) > 0 {
		t.Errorf("lines missing: %v", want)
	}
}

// TestIMAP counts, tops up and fetches from an in-process IMAP server.
func TestIMAP(t *testing.T) {
	store, _, err := newStore(3)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := serveIMAP(ln, store, nil)
	defer srv.Close()
	addr := ln.Addr().String()

	if n, err := countInbox(addr); err != nil || n != 3 {
		t.Fatalf("count %d, %v; want 3", n, err)
	}
	// Nothing arrives: the count settles on what is there, after the limit.
	if n, err := settledCount(addr, 5, 100*time.Millisecond); err != nil || n != 3 {
		t.Fatalf("settled count %d, %v; want 3", n, err)
	}
	f, err := timeFetch(addr, 10, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if f.Messages != 10 || f.Appended != 7 || f.Bytes < 7*bodySize || f.Elapsed <= 0 {
		t.Fatalf("fetch %+v: want 10 messages, 7 of them appended", f)
	}
	if n, err := countInbox(addr); err != nil || n != 10 {
		t.Fatalf("count after fetch %d, %v; want 10", n, err)
	}
	// Fewer than the mailbox holds: the newest ones, none appended.
	if f, err := timeFetch(addr, 4, 10*time.Second); err != nil || f.Messages != 4 || f.Appended != 0 {
		t.Fatalf("fetch 4: %+v, %v", f, err)
	}
	if _, err := countInbox("127.0.0.1:1"); err == nil {
		t.Error("count on a closed port: no error")
	}
}

// TestIMAPLoginRefused: a store without bob's account refuses the login,
// and the error says as whom.
func TestIMAPLoginRefused(t *testing.T) {
	store := imapmemserver.New()
	store.AddUser(imapmemserver.NewUser("carol", "secret"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := serveIMAP(ln, store, nil)
	defer srv.Close()
	if _, err := countInbox(ln.Addr().String()); err == nil || !strings.Contains(err.Error(), "login as bob") {
		t.Fatalf("error = %v, want a refused login as bob", err)
	}
}

// TestIMAPStartTLS: a server that refuses LOGIN in clear text is asked for
// STARTTLS first, with a self-signed certificate like the lab's.
func TestIMAPStartTLS(t *testing.T) {
	conf, err := labtls.New([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	store, _, err := newStore(2)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := serveIMAP(ln, store, conf)
	defer srv.Close()
	if n, err := countInbox(ln.Addr().String()); err != nil || n != 2 {
		t.Fatalf("count %d, %v; want 2", n, err)
	}
}

// postfix returns Postfix's tools, or skips the test when they are missing.
func postfix(t *testing.T) tools {
	t.Helper()
	tl, err := findTools()
	if err != nil {
		t.Skip(err)
	}
	return tl
}

// startSink runs smtp-sink on a free port with extra options.
func startSink(t *testing.T, tl tools, extra ...string) (*child, string) {
	t.Helper()
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	argv := append([]string{tl.sink, "-c"}, extra...)
	if os.Geteuid() == 0 {
		argv = append(argv, "-u", "nobody")
	}
	c, err := spawn("smtp-sink", filepath.Join(t.TempDir(), "sink.log"), append(argv, addr, "64"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.stop(time.Second) })
	if err := waitSMTP(context.Background(), addr, c.done, 10*time.Second); err != nil {
		t.Fatalf("smtp-sink: %v%s", err, c.tail(3))
	}
	return c, addr
}

// TestSourceAgainstSink sends a handful of messages with the real
// smtp-source to the real smtp-sink: both counts must agree.
func TestSourceAgainstSink(t *testing.T) {
	tl := postfix(t)
	sink, addr := startSink(t, tl)
	l, err := sendLoad(context.Background(), nil, tl.source,
		loadSettings{Messages: 25, Sessions: 5, Limit: 30 * time.Second}, addr, sink.pid())
	if err != nil {
		t.Fatal(err)
	}
	if l.Sent != 25 || l.Cut || l.Wall <= 0 || l.rate() <= 0 {
		t.Fatalf("load %+v: want 25 messages sent, not cut", l)
	}
	if err := sink.stop(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(sink.log)
	c, err := parseSinkCounters(b)
	if err != nil || c.Messages != 25 {
		t.Fatalf("sink counted %+v, %v; want 25 messages", c, err)
	}
}

// TestSourceRejected: a server that refuses DATA makes the run fail, with
// smtp-source's reason.
func TestSourceRejected(t *testing.T) {
	tl := postfix(t)
	sink, addr := startSink(t, tl, "-f", "DATA")
	l, err := sendLoad(context.Background(), nil, tl.source,
		loadSettings{Messages: 5, Sessions: 1, Limit: 30 * time.Second}, addr, sink.pid())
	if err == nil || !strings.Contains(err.Error(), "rejected") || l.Sent != 0 {
		t.Fatalf("load %+v, error %v: want a failure quoting the rejection", l, err)
	}
}

// TestSourceCut: a server that waits before answering DATA makes the run
// hit its time limit; it is stopped and counts as cut.
func TestSourceCut(t *testing.T) {
	tl := postfix(t)
	sink, addr := startSink(t, tl, "-w", "30")
	start := time.Now()
	l, err := sendLoad(context.Background(), nil, tl.source,
		loadSettings{Messages: 5, Sessions: 1, Limit: 300 * time.Millisecond}, addr, sink.pid())
	if err != nil || !l.Cut || l.Sent != 0 {
		t.Fatalf("load %+v, %v: want a cut run with nothing sent", l, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v to stop", d)
	}
}

// benchLine returns the value of one BENCH line of a report.
func benchLine(t *testing.T, report, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^BENCH mail\.` + regexp.QuoteMeta(key) + `=(\S+)$`).FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("no BENCH line for %s in:\n%s", key, report)
	}
	return m[1]
}

func smallRun(lab string) options {
	return options{load: loadSettings{Messages: 60, Sessions: 4, Limit: 30 * time.Second}, fetch: 20, lab: lab,
		settle: 300 * time.Millisecond}
}

// TestRunWithFakeLab runs the whole benchmark, the fake lab standing in
// for the lab: every figure is measured and the delivery check passes.
func TestRunWithFakeLab(t *testing.T) {
	postfix(t)
	self := fakelab.Env(t, fakeEnv)
	var stdout, stderr bytes.Buffer
	if code := runBench(context.Background(), smallRun(self), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for key, want := range map[string]string{"sent.lab": "60", "sent.sink": "60", "lost.lab": "0",
		"extra.lab": "0", "target.lost_lab": "PASS", "events.lab": "42", "events_dropped.lab": "7"} {
		if got := benchLine(t, out, key); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	for _, key := range []string{"msgs_per_s.lab", "msgs_per_s.sink", "ratio.lab_sink", "fetch_ms.lab", "peak_rss_mib.lab"} {
		if got := benchLine(t, out, key); got == "NA" {
			t.Errorf("%s not measured:\n%s", key, out)
		}
	}
	if v := benchLine(t, out, "target.lab_sink"); v != "PASS" && v != "MISS" {
		t.Errorf("target.lab_sink = %s", v)
	}
	if !strings.Contains(out, "before 1 + accepted 60 = 61 expected; found 61: lost 0") {
		t.Errorf("delivery line missing:\n%s", out)
	}
}

// TestRunLabLoses: a lab that accepts mail and does not store some of it is
// caught.
func TestRunLabLoses(t *testing.T) {
	postfix(t)
	self := fakelab.Env(t, fakeEnv)
	t.Setenv("MAILBENCH_FAKE_DROP", "10")
	var stdout, stderr bytes.Buffer
	if code := runBench(context.Background(), smallRun(self), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if got := benchLine(t, out, "lost.lab"); got != "6" {
		t.Errorf("lost.lab = %s, want 6", got)
	}
	if got := benchLine(t, out, "target.lost_lab"); got != "MISS" {
		t.Errorf("target.lost_lab = %s, want MISS", got)
	}
}

// TestRunLabNotAvailable: a lab that does not start is reported, the sink
// is measured all the same, and the run succeeds.
func TestRunLabNotAvailable(t *testing.T) {
	postfix(t)
	tests := []struct{ name, lab, want string }{
		{"exits at once", "/bin/false", "lab: not available: lab start mail exited (exit status 1)"},
		{"no such file", filepath.Join(t.TempDir(), "lab"), "lab: not available:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := smallRun(tt.lab)
			o.load.Messages = 10
			var stdout, stderr bytes.Buffer
			if code := runBench(context.Background(), o, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			out := stdout.String()
			if !strings.Contains(out, tt.want) {
				t.Errorf("report lacks %q:\n%s", tt.want, out)
			}
			if got := benchLine(t, out, "sent.sink"); got != "10" {
				t.Errorf("sent.sink = %s, want 10", got)
			}
			if got := benchLine(t, out, "msgs_per_s.lab"); got != "NA" {
				t.Errorf("msgs_per_s.lab = %s, want NA", got)
			}
		})
	}
}

// TestMissingTools: without Postfix's tools the benchmark says how to
// install them and exits 1.
func TestMissingTools(t *testing.T) {
	old := sbin
	sbin = t.TempDir()
	defer func() { sbin = old }()
	t.Setenv("PATH", t.TempDir())
	var stdout, stderr bytes.Buffer
	if code := runBench(context.Background(), smallRun(""), &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "apt-get install -y postfix") || stdout.Len() != 0 {
		t.Fatalf("stderr %q, stdout %q", stderr.String(), stdout.String())
	}
}
