package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"protolab/bench/dnsbench/benchzone"
)

const dnsperfOutput = `DNS Performance Testing Tool
Version 2.10.0

[Status] Command line: dnsperf -s 127.0.0.1 -p 15353 -d q.txt -l 4
[Status] Sending queries (to 127.0.0.1:15353)
[Status] Started at: Wed Nov 25 21:12:00 2026
[Status] Stopping after 4.000000 seconds
[Status] Testing complete (time limit)

Statistics:

  Queries sent:         213977
  Queries completed:    213965 (99.99%)
  Queries lost:         12 (0.01%)

  Response codes:       NOERROR 213960 (100.00%), SERVFAIL 5 (0.00%)
  Average packet size:  request 31, response 47
  Run time (s):         4.000061
  Queries per second:   53492.832440

  Average Latency (s):  0.001841 (min 0.000031, max 0.013421)
  Latency StdDev (s):   0.000612
`

func TestParseDnsperf(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    perfResult
		wantErr string
	}{
		{name: "full output", out: dnsperfOutput, want: perfResult{Sent: 213977, Completed: 213965, Lost: 12,
			QPS: 53492.832440, Rcodes: map[string]int64{"NOERROR": 213960, "SERVFAIL": 5}}},
		{name: "no statistics", out: "[Status] Command line: dnsperf\nError: could not open queries.txt\n",
			wantErr: "no statistics"},
		{name: "bad count", out: "Queries sent: many\nQueries per second: 1\n", wantErr: "Queries sent"},
		{name: "negative lost", out: "Queries sent: 1\nQueries lost: -1 (0%)\nQueries per second: 1\n",
			wantErr: "negative"},
		{name: "bad rate", out: "Queries sent: 1\nQueries per second: NaN\n", wantErr: "Queries per second"},
		{name: "bad rcode count", out: "Queries sent: 1\nResponse codes: NOERROR x (1%)\nQueries per second: 1\n",
			wantErr: "Response codes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDnsperf(strings.NewReader(tt.out))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Sent != tt.want.Sent || got.Completed != tt.want.Completed || got.Lost != tt.want.Lost ||
				got.QPS != tt.want.QPS || len(got.Rcodes) != len(tt.want.Rcodes) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for k, v := range tt.want.Rcodes {
				if got.Rcodes[k] != v {
					t.Errorf("rcode %s = %d, want %d", k, got.Rcodes[k], v)
				}
			}
		})
	}
}

func FuzzParseDnsperf(f *testing.F) {
	f.Add(dnsperfOutput)
	f.Add("Queries sent: 1\nQueries per second: 1e3\nResponse codes: A 1, B 2 (x), ,\n")
	f.Add("Queries lost:\nQueries per second: -0\n")
	f.Fuzz(func(t *testing.T, out string) {
		r, err := parseDnsperf(strings.NewReader(out))
		if err != nil {
			return
		}
		if r.Sent < 0 || r.Lost < 0 || r.Completed < 0 || r.QPS < 0 || r.QPS != r.QPS {
			t.Fatalf("out of range result %+v", r)
		}
		for k, v := range r.Rcodes {
			if v < 0 {
				t.Fatalf("negative count for %s", k)
			}
		}
	})
}

func TestFreePort(t *testing.T) {
	taken := map[int]bool{}
	a, err := freePort(context.Background(), taken)
	if err != nil {
		t.Fatal(err)
	}
	b, err := freePort(context.Background(), taken)
	if err != nil {
		t.Fatal(err)
	}
	if a == b || !taken[a] || !taken[b] {
		t.Fatalf("ports %d and %d, taken %v", a, b, taken)
	}
	pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(a)))
	if err != nil {
		t.Fatalf("port %d not free for udp: %v", a, err)
	}
	pc.Close()
}

func builtinZone(t *testing.T) *benchzone.Zone {
	t.Helper()
	z, err := benchzone.Parse(strings.NewReader(benchzone.Builtin), benchzone.Origin, "builtin")
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// startBare serves z on pc (and TCP on the same port) in this process.
func startBare(t *testing.T, pc net.PacketConn, z *benchzone.Zone) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Add(1)
	srv := &dns.Server{PacketConn: pc, Handler: benchzone.NewHandler(z), NotifyStartedFunc: wg.Done}
	go func() { _ = srv.ActivateAndServe() }()
	wg.Wait()
	t.Cleanup(func() { _ = srv.Shutdown() })
}

// TestFirstAnswer starts the hammering before the server exists, then
// starts the server: the first answer must be seen, after the start mark.
func TestFirstAnswer(t *testing.T) {
	z := builtinZone(t)
	port, err := freePort(context.Background(), map[int]bool{})
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	type answer struct {
		d   time.Duration
		err error
	}
	got := make(chan answer, 1)
	go func() {
		d, err := firstAnswer(ctx, addr, z.Questions()[0], start, time.Millisecond, nil)
		got <- answer{d, err}
	}()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	startBare(t, pc, z)
	a := <-got
	if a.err != nil {
		t.Fatal(a.err)
	}
	if a.d <= 0 || a.d > time.Since(start) {
		t.Errorf("first answer after %v, outside (0, %v]", a.d, time.Since(start))
	}
}

func TestFirstAnswerGivesUp(t *testing.T) {
	q := builtinZone(t).Questions()[0]
	port, err := freePort(context.Background(), map[int]bool{})
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	exited := make(chan struct{})
	close(exited)
	tests := []struct {
		name    string
		timeout time.Duration
		exited  <-chan struct{}
		wantErr string
	}{
		{"server exited", 10 * time.Second, exited, "exited"},
		{"deadline", 20 * time.Millisecond, nil, "deadline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			_, err := firstAnswer(ctx, addr, q, time.Now(), time.Millisecond, tt.exited)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckAnswers(t *testing.T) {
	z := builtinZone(t)
	other, err := benchzone.Parse(strings.NewReader(strings.Replace(benchzone.Builtin, "192.0.2.80", "192.0.2.88", 1)),
		benchzone.Origin, "other")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		serve  *benchzone.Zone
		diffs  int
		inDiff string
	}{
		{"same zone", z, 0, ""},
		{"one address differs", other, 1, "www.lab.test A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			startBare(t, pc, tt.serve)
			diffs, err := checkAnswers(context.Background(), pc.LocalAddr().String(), z)
			if len(diffs) != tt.diffs || (tt.diffs == 0) != (err == nil) {
				t.Fatalf("diffs %q, err %v; want %d diffs", diffs, err, tt.diffs)
			}
			if tt.diffs > 0 && !strings.Contains(diffs[0], tt.inDiff) {
				t.Errorf("diff %q does not name %q", diffs[0], tt.inDiff)
			}
		})
	}
}

// TestDnsmasqServesTheZone runs the real dnsmasq with the generated
// configuration and checks it answers exactly the zone's records, then that
// the start-up measurement works against it.
func TestDnsmasqServesTheZone(t *testing.T) {
	tl, err := findTools()
	if tl.dnsmasq == "" {
		t.Skipf("dnsmasq not installed: %v", err)
	}
	z := builtinZone(t)
	work := t.TempDir()
	conf := filepath.Join(work, "dnsmasq.conf")
	if err := writeFiles(z, filepath.Join(work, "z"), conf, filepath.Join(work, "q")); err != nil {
		t.Fatal(err)
	}
	taken := map[int]bool{}
	s := &server{launcher: dnsmasqLauncher(tl, conf)}
	if err := startServer(context.Background(), s, work, taken, z); err != nil {
		t.Fatal(err)
	}
	defer s.proc.stop(5 * time.Second)
	diffs, err := checkAnswers(context.Background(), s.addr, z)
	if err != nil {
		t.Fatalf("%v: %q", err, diffs)
	}
	if err := s.proc.stop(5 * time.Second); err != nil {
		t.Errorf("stop: %v", err)
	}
	ds, err := measureStartups(context.Background(), s, work, taken, z.Questions()[0], 2)
	if err != nil || len(ds) != 2 {
		t.Fatalf("startups %v, %v", ds, err)
	}
}

func TestProcStop(t *testing.T) {
	tests := []struct {
		name    string
		argv    []string
		wantErr string
	}{
		{"ends on SIGTERM", []string{"sleep", "30"}, ""},
		{"ignores SIGTERM", []string{"sh", "-c", `trap "" TERM; echo ready; while :; do :; done`}, "killed"},
		{"fails by itself", []string{"sh", "-c", "exit 3"}, "exit status 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin, err := exec.LookPath(tt.argv[0])
			if err != nil {
				t.Skip(err)
			}
			log := filepath.Join(t.TempDir(), "log")
			p, err := startProc(tt.name, log, append([]string{bin}, tt.argv[1:]...)...)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(tt.argv[len(tt.argv)-1], "ready") {
				waitForFile(t, log, "ready") // the trap must be set before the signal
			}
			if strings.Contains(tt.argv[len(tt.argv)-1], "exit") {
				<-p.done
			}
			err = p.stop(300 * time.Millisecond)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("stop = %v, want %q", err, tt.wantErr)
			}
			if !p.exited() {
				t.Error("process still running after stop")
			}
		})
	}
}

// waitForFile polls until the file contains s, for up to 10 s.
func waitForFile(t *testing.T, path, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(path); strings.Contains(string(b), s) {
			return
		}
		runtime.Gosched()
	}
	t.Fatalf("%s never contained %q", path, s)
}

func TestLabStartArgs(t *testing.T) {
	tests := []struct {
		name      string
		dns, web  int
		wantTrail []string
	}{
		{"auto", 0, 0, []string{"--web", "127.0.0.1:0"}},
		{"fixed", 5300, 8090, []string{"--port", "dns=5300", "--web", "127.0.0.1:8090"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := labStartArgs("/s", tt.dns, tt.web)
			want := append([]string{"start", "dns", "--ports", "auto", "--state", "/s"}, tt.wantTrail...)
			if !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestIsProtolabMod(t *testing.T) {
	tests := []struct {
		gomod string
		want  bool
	}{
		{"module protolab\n\ngo 1.26.0\n", true},
		{"// comment\nmodule \"protolab\"\n", true},
		{"module protolab/other\n", false},
		{"require protolab v1\n", false},
	}
	for _, tt := range tests {
		if got := isProtolabMod([]byte(tt.gomod)); got != tt.want {
			t.Errorf("isProtolabMod(%q) = %v, want %v", tt.gomod, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	good := options{perf: perfSettings{Duration: 6 * time.Second, Clients: 1, Threads: 1, Outstanding: 100,
		MaxQPS: 1e6, Timeout: 2 * time.Second}, rounds: 3, startups: 5}
	tests := []struct {
		name   string
		change func(*options)
		ok     bool
	}{
		{"defaults", func(*options) {}, true},
		{"fractional duration", func(o *options) { o.perf.Duration = 1500 * time.Millisecond }, false},
		{"too long", func(o *options) { o.perf.Duration = 2 * time.Minute }, false},
		{"no rounds", func(o *options) { o.rounds = 0 }, false},
		{"fewer clients than threads", func(o *options) { o.perf.Threads = 2 }, false},
		{"no startups", func(o *options) { o.startups = 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.change(&o)
			if err := o.validate(); (err == nil) != tt.ok {
				t.Errorf("validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestBenchLines(t *testing.T) {
	ms := time.Millisecond
	res := &result{
		servers: []*server{
			{launcher: launcher{name: "lab"}, runs: []perfResult{{QPS: 80000, Lost: 2},
				{QPS: 90000, Lost: 1, Completed: 1000, ServerCPU: 12 * time.Millisecond}},
				startups: []time.Duration{50 * ms, 70 * ms, 60 * ms}, rss: 30 << 20},
			{launcher: launcher{name: "bare"}, runs: []perfResult{{QPS: 100000, Completed: 1000, ServerCPU: 9 * time.Millisecond}},
				startups: []time.Duration{4 * ms}, rss: 10 << 20},
			{launcher: launcher{name: "dnsmasq"}, runs: []perfResult{{QPS: 120000}}, startups: []time.Duration{3 * ms}, rss: 5 << 20},
		},
		events: &labEvents{published: 170000, dropped: 3},
	}
	unavailable := &result{otherCPU: -1, servers: []*server{
		{launcher: launcher{name: "lab"}, note: "not available: no binary"},
		{launcher: launcher{name: "bare"}, runs: []perfResult{{QPS: 100000}}},
		{launcher: launcher{name: "dnsmasq"}, runs: []perfResult{{QPS: 50000}}},
	}}
	tests := []struct {
		name string
		res  *result
		want []string // lines that must be present
	}{
		{"lab measured", res, []string{
			"BENCH dns.qps.lab=90000", "BENCH dns.lost.lab=3", "BENCH dns.ratio.lab_bare=0.90",
			"BENCH dns.ratio.lab_dnsmasq=0.75", "BENCH dns.target.lab_bare=PASS", "BENCH dns.target.lab_dnsmasq=MISS",
			"BENCH dns.startup_median_ms.lab=60.0", "BENCH dns.startup_max_ms.lab=70.0", "BENCH dns.target.startup_lab=PASS",
			"BENCH dns.peak_rss_mib.lab=30.0", "BENCH dns.target.peak_rss_lab=PASS",
			"BENCH dns.events.lab=170000", "BENCH dns.events_dropped.lab=3",
			"BENCH dns.cpu_us_per_query.lab=12.00", "BENCH dns.cpu_ratio.lab_bare=0.75", "BENCH dns.cpu_us_per_query.dnsmasq=NA",
		}},
		{"lab not available", unavailable, []string{
			"BENCH dns.qps.lab=NA", "BENCH dns.ratio.lab_bare=NA", "BENCH dns.ratio.bare_dnsmasq=2.00",
			"BENCH dns.target.lab_bare=NA", "BENCH dns.events.lab=NA", "BENCH dns.target.peak_rss_lab=NA",
			"BENCH dns.cpu_ratio.lab_bare=NA", "BENCH dns.other_cpu_pct=NA",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := benchLines(tt.res, computeFigures(tt.res))
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, strings.Join(got, "\n"))
				}
			}
			var report strings.Builder
			printReport(&report, tt.res)
			if !strings.Contains(report.String(), got[0]) {
				t.Errorf("report does not end with the BENCH lines:\n%s", report.String())
			}
		})
	}
}
