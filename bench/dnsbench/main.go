// Command dnsbench measures the lab's DNS server against two baselines on
// the same machine and in the same run: a bare miekg/dns responder that
// publishes no events, and dnsmasq. All three serve the same lab.test
// address records on 127.0.0.1 and get the same dnsperf load; the report
// gives each one's queries per second and the ratios, then the lab's
// start-up time (exec to first answer), peak memory, and the events it
// published and dropped under load.
//
// It is a report, not a test: it exits 0 whatever the figures, 1 when the
// benchmark itself could not run (a missing tool, a baseline that would not
// start), 2 on a usage error. Run it from the module's root:
//
//	go run ./bench/dnsbench
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"protolab/bench/dnsbench/benchzone"
	"protolab/bench/internal/benchkit"
)

// options are the command-line settings.
type options struct {
	perf       perfSettings
	rounds     int
	startups   int
	zone       string
	keep       bool
	requireLab bool
	pin        bool
	lab        string // a lab binary to use instead of building ./cmd/lab
}

func main() {
	var o options
	fs := flag.NewFlagSet("dnsbench", flag.ContinueOnError)
	fs.DurationVar(&o.perf.Duration, "duration", 8*time.Second, "length of one dnsperf run (whole seconds)")
	fs.IntVar(&o.rounds, "rounds", 3, "dnsperf runs per server, interleaved; the best is kept")
	fs.IntVar(&o.perf.Clients, "clients", 4, "dnsperf -c: simulated clients (source sockets)")
	fs.IntVar(&o.perf.Threads, "threads", 1, "dnsperf -T: threads")
	fs.IntVar(&o.perf.Outstanding, "outstanding", 100, "dnsperf -q: queries in flight")
	fs.IntVar(&o.perf.MaxQPS, "max-qps", 1000000, "dnsperf -Q: rate cap, high enough not to bind")
	fs.DurationVar(&o.perf.Timeout, "query-timeout", 2*time.Second, "dnsperf -t: when a query counts as lost")
	fs.IntVar(&o.startups, "startups", 5, "start-up measurements per server")
	fs.StringVar(&o.zone, "zone", filepath.Join("labs", "dns", "zones", "lab.test.zone"),
		"zone file whose A and AAAA records are served (relative to the module root)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (logs, generated files)")
	fs.BoolVar(&o.pin, "pin", true, "under load, pin each server to one CPU and dnsperf to another (taskset)")
	fs.StringVar(&o.lab, "lab", "", "lab binary to measure (default: build ./cmd/lab)")
	fs.BoolVar(&o.requireLab, "require-lab", false, "exit 1 when the lab cannot be measured")
	benchkit.ParseArgs(fs, os.Args[1:], func() error { return o.validate() }) // not o.validate: that would copy o before parsing
	benchkit.Main(func(ctx context.Context) int { return run(ctx, o, os.Stdout, os.Stderr) })
}

func (o options) validate() error {
	p := o.perf
	switch {
	case p.Duration < time.Second || p.Duration > 60*time.Second || p.Duration%time.Second != 0:
		return errors.New("-duration must be whole seconds between 1s and 60s")
	case o.rounds < 1 || o.rounds > 5:
		return errors.New("-rounds must be between 1 and 5")
	case p.Threads < 1 || p.Clients < p.Threads || p.Clients > 64:
		return errors.New("-threads must be at least 1 and -clients between -threads and 64")
	case p.Outstanding < 1 || p.Outstanding > 10000 || p.MaxQPS < 1:
		return errors.New("-outstanding must be between 1 and 10000, -max-qps at least 1")
	case p.Timeout < time.Second || p.Timeout%time.Second != 0 || p.Timeout > 10*time.Second:
		return errors.New("-query-timeout must be whole seconds between 1s and 10s")
	case o.startups < 1 || o.startups > 20:
		return errors.New("-startups must be between 1 and 20")
	}
	return nil
}

// server is one DNS server under test and what was measured of it.
type server struct {
	launcher
	prefix   []string // before its command line under load: taskset, or nothing
	note     string   // why it is not measured, "" when it is
	proc     *proc
	addr     string
	diffs    []string // answers that differ from the zone
	warnings []string // remarks that do not spoil the figures
	runs     []perfResult
	rss      int64 // peak RSS in bytes after the load, 0 if unknown
	startups []time.Duration
	startErr string
}

func (s *server) ok() bool { return s.note == "" }

// best is the run with the highest rate.
func (s *server) best() (perfResult, bool) {
	if len(s.runs) == 0 {
		return perfResult{}, false
	}
	return slices.MaxFunc(s.runs, func(a, b perfResult) int {
		switch {
		case a.QPS < b.QPS:
			return -1
		case a.QPS > b.QPS:
			return 1
		}
		return 0
	}), true
}

// result is everything the report prints.
type result struct {
	opts       options
	cpus       int
	loadavg    string  // at start
	otherCPU   float64 // share of the machine's CPU used by other work during the load; -1 unknown
	pinning    string  // how processes were placed on CPUs under load
	dnsperfVer string
	zoneSource string
	questions  []benchzone.Question
	servers    []*server // lab, bare, dnsmasq
	events     *labEvents
	eventsNote string
	labQueries int64 // queries the lab completed under load
	elapsed    time.Duration
}

type labEvents struct{ published, dropped uint64 }

func run(ctx context.Context, o options, stdout, stderr io.Writer) int {
	began := time.Now()
	t, err := findTools()
	if err != nil {
		fmt.Fprintln(stderr, "dnsbench:", err)
		return 1
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(stderr, "dnsbench:", err)
		return 1
	}
	work, removeWork, err := benchkit.WorkDir("dnsbench", "dnsbench-", o.keep, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "dnsbench:", err)
		return 1
	}
	defer removeWork()
	res := &result{opts: o, cpus: runtime.NumCPU(), loadavg: benchkit.Loadavg(), otherCPU: -1,
		dnsperfVer: dnsperfVersion(ctx, t.dnsperf)}
	var running []*server
	defer func() { // whatever happened, no server outlives the benchmark
		for _, s := range running {
			if s.proc != nil {
				_ = s.proc.stop(5 * time.Second)
			}
		}
	}()
	err = bench(ctx, o, t, root, work, res, &running, stderr)
	res.elapsed = time.Since(began)
	if err != nil {
		fmt.Fprintln(stderr, "dnsbench:", err)
		return 1
	}
	printReport(stdout, res)
	if o.requireLab && !res.servers[0].ok() {
		return 1
	}
	return 0
}

// bench does the measuring and fills res; an error is a failure of the
// benchmark itself (the lab's failures are notes in res).
func bench(ctx context.Context, o options, t tools, root, work string, res *result,
	running *[]*server, log io.Writer) error {
	progress := func(format string, a ...any) { fmt.Fprintf(log, "dnsbench: "+format+"\n", a...) }

	// The records, in each server's format.
	z, src, err := loadZone(root, o.zone)
	if err != nil {
		return err
	}
	res.zoneSource, res.questions = src, z.Questions()
	zoneFile, confFile, queryFile := filepath.Join(work, "lab.test.zone"),
		filepath.Join(work, "dnsmasq.conf"), filepath.Join(work, "queries.txt")
	if err := writeFiles(z, zoneFile, confFile, queryFile); err != nil {
		return err
	}

	// Builds, side by side: the baseline must build, the lab may not yet.
	progress("building the lab and the bare responder")
	t.bare, t.lab = filepath.Join(work, "bare"), filepath.Join(work, "lab")
	var bareErr, labErr error
	var wg sync.WaitGroup
	wg.Go(func() { bareErr = goBuild(ctx, root, "./bench/dnsbench/bare", t.bare) })
	if o.lab != "" {
		t.lab, labErr = filepath.Abs(o.lab)
	} else {
		wg.Go(func() { labErr = goBuild(ctx, root, "./cmd/lab", t.lab) })
	}
	wg.Wait()
	if bareErr != nil {
		return bareErr
	}
	var clientPrefix, serverPrefix []string
	clientPrefix, serverPrefix, res.pinning = pinning(o.pin)
	taken := make(map[int]bool)
	lab := &server{launcher: labLauncher(t, taken)}
	if labErr != nil {
		lab.note = "not available: " + labErr.Error()
		t.lab = ""
	}
	res.servers = []*server{lab,
		{launcher: bareLauncher(t, zoneFile)},
		{launcher: dnsmasqLauncher(t, confFile)}}
	for _, s := range res.servers {
		s.prefix = serverPrefix
	}

	// Start the three servers and check they answer what the zone holds.
	for _, s := range res.servers {
		if !s.ok() {
			continue
		}
		progress("starting %s", s.name)
		if err := startServer(ctx, s, work, taken, z); err != nil {
			if s.name != "lab" {
				return err
			}
			s.note = "not available: " + err.Error()
			continue
		}
		*running = append(*running, s)
		diffs, err := checkAnswers(ctx, s.addr, z)
		s.diffs = diffs
		if err != nil && s.name != "lab" {
			return fmt.Errorf("%s: %w: %s", s.name, err, strings.Join(diffs, "; "))
		}
	}

	// The load: rounds interleaved, each server in turn, the order turning.
	active := slices.DeleteFunc(slices.Clone(res.servers), func(s *server) bool { return !s.ok() })
	var noise benchkit.Noise // CPU used by other work, CPU available, during the runs
	for r := range o.rounds {
		for i := range active {
			s := active[(i+r)%len(active)]
			if !s.ok() {
				continue
			}
			if s.proc.exited() {
				err := fmt.Errorf("%s exited during the load (%v)%s", s.name, s.proc.cmd.ProcessState, s.proc.tail(8))
				if s.name != "lab" {
					return err
				}
				s.note = "failed: " + err.Error()
				continue
			}
			progress("round %d/%d: dnsperf against %s (%v)", r+1, o.rounds, s.name, o.perf.Duration)
			host, port, _ := net.SplitHostPort(s.addr)
			cpu0, cpuErr := benchkit.ProcCPU(s.proc.pid())
			busy0, total0, machErr := machineCPU()
			pr, err := runDnsperf(ctx, clientPrefix, t.dnsperf, o.perf, host, port, queryFile)
			busy1, total1, machErr1 := machineCPU()
			if cpu1, cerr := benchkit.ProcCPU(s.proc.pid()); cerr == nil && cpuErr == nil {
				pr.ServerCPU = cpu1 - cpu0
			}
			if err == nil && machErr == nil && machErr1 == nil && pr.ServerCPU > 0 {
				noise.Add(busy1-busy0, total1-total0, pr.ServerCPU+pr.ClientCPU)
			} else {
				noise.Unknown()
			}
			if err != nil {
				if s.name != "lab" || ctx.Err() != nil {
					return fmt.Errorf("%s: %w", s.name, err)
				}
				s.note = "failed: " + err.Error()
				continue
			}
			s.runs = append(s.runs, pr)
		}
	}

	res.otherCPU = noise.Share()

	// After the load: peak memory, the lab's event counters, a clean stop.
	for _, s := range active {
		if s.proc.exited() {
			continue
		}
		if rss, err := benchkit.PeakRSS(s.proc.pid()); err == nil {
			s.rss = rss
		}
	}
	if lab.ok() && lab.proc != nil {
		for _, pr := range lab.runs {
			res.labQueries += pr.Completed
		}
		st, err := labStatus(ctx, t.lab, filepath.Join(work, "lab-state-0"))
		if err != nil {
			res.eventsNote = err.Error()
		} else {
			res.events = &labEvents{published: st.Events, dropped: st.Dropped}
		}
	}
	for _, s := range active {
		err := s.proc.stop(5 * time.Second)
		s.proc = nil
		if err != nil {
			s.warnings = append(s.warnings, "did not stop cleanly: "+err.Error())
		}
	}
	*running = nil

	// Start-up: exec to first answer, each server on ports picked beforehand.
	for _, s := range res.servers {
		if s.name == "lab" && t.lab == "" {
			continue
		}
		progress("start-up of %s, %d times", s.name, o.startups)
		s.startups, err = measureStartups(ctx, s, work, taken, z.Questions()[0], o.startups)
		if err != nil {
			if s.name != "lab" || ctx.Err() != nil {
				return fmt.Errorf("start-up of %s: %w", s.name, err)
			}
			s.startErr = err.Error()
		}
	}
	return ctx.Err()
}

// pinning returns the command prefixes that put dnsperf on the first CPU
// this process may use and each server on the second, and says so. With one
// core each, the server, not the client, is what runs out, runs repeat
// closely, and no server gains from the CPU dnsperf leaves idle. Without
// taskset or a second CPU, nothing is pinned.
func pinning(want bool) (client, server []string, how string) {
	if !want {
		return nil, nil, "off (-pin=false): the servers and dnsperf share all CPUs"
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return nil, nil, "off: taskset not found (Debian package util-linux)"
	}
	cpus, _ := benchkit.AllowedCPUs() // none on an error: pinning is off
	p, err := benchkit.PinTwo(taskset, cpus)
	if err != nil {
		return nil, nil, "off: " + err.Error()
	}
	return p.Client, p.Server, fmt.Sprintf("under load each server runs on CPU %d and dnsperf on CPU %d (taskset); start-ups unpinned",
		p.ServerCPU, p.ClientCPU)
}

// startServer starts s (the lab on ports it picks, the others on a free
// port) and waits for its first answer.
func startServer(ctx context.Context, s *server, work string, taken map[int]bool, z *benchzone.Zone) error {
	port := 0
	if s.name != "lab" {
		var err error
		if port, err = freePort(ctx, taken); err != nil {
			return err
		}
	}
	p, addr, err := s.start(ctx, work, 0, port, s.prefix)
	if err != nil {
		return err
	}
	s.proc, s.addr = p, addr
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := firstAnswer(wctx, addr, z.Questions()[0], p.started, 5*time.Millisecond, p.done); err != nil {
		_ = p.stop(5 * time.Second)
		s.proc = nil
		return fmt.Errorf("%s: %w%s", s.name, err, p.tail(8))
	}
	return nil
}

// measureStartups starts s n times on ports picked beforehand and times each
// start from exec to the first answer, querying every millisecond.
func measureStartups(ctx context.Context, s *server, work string, taken map[int]bool,
	q benchzone.Question, n int) ([]time.Duration, error) {
	var ds []time.Duration
	for i := 1; i <= n; i++ {
		port, err := freePort(ctx, taken)
		if err != nil {
			return ds, err
		}
		p, addr, err := s.start(ctx, work, i, port, nil)
		if err != nil {
			return ds, err
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		d, err := firstAnswer(wctx, addr, q, p.started, time.Millisecond, p.done)
		cancel()
		stopErr := p.stop(5 * time.Second)
		if err != nil {
			return ds, fmt.Errorf("%w%s", err, p.tail(8))
		}
		if stopErr != nil {
			return ds, stopErr
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// loadZone reads the lab's zone file, or falls back to the built-in copy
// when there is none yet; it says which in src.
func loadZone(root, file string) (z *benchzone.Zone, src string, err error) {
	path := file
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, file)
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		z, err = benchzone.Parse(strings.NewReader(benchzone.Builtin), benchzone.Origin, "built-in zone")
		return z, "built-in copy (" + file + " not found)", err
	case err != nil:
		return nil, "", fmt.Errorf("zone: %w", err)
	}
	z, err = benchzone.Parse(bytes.NewReader(b), benchzone.Origin, file)
	return z, file, err
}

// writeFiles writes the zone for the bare responder, dnsmasq's
// configuration and dnsperf's query file.
func writeFiles(z *benchzone.Zone, zoneFile, confFile, queryFile string) error {
	var zb, cb, qb bytes.Buffer
	if err := z.WriteZone(&zb); err != nil {
		return err
	}
	cb.WriteString(dnsmasqConf)
	if err := z.WriteDnsmasq(&cb); err != nil {
		return err
	}
	if err := z.WriteQueries(&qb); err != nil {
		return err
	}
	for path, b := range map[string][]byte{zoneFile: zb.Bytes(), confFile: cb.Bytes(), queryFile: qb.Bytes()} {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Base(path), err)
		}
	}
	return nil
}

// dnsmasqConf makes dnsmasq a local authority for lab.test and nothing
// else: no upstream servers, no /etc/hosts, no DHCP, loopback only. The
// port, pid file and user are given on its command line.
const dnsmasqConf = `# DNS benchmark: serve the lab.test records below, forward nothing.
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
no-poll
local=/lab.test/
cache-size=1000
`

// moduleRoot finds the directory of go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && isProtolabMod(b) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run it from inside the protolab module (no go.mod above the working directory)")
		}
		dir = parent
	}
}

// isProtolabMod reports whether a go.mod declares the protolab module.
func isProtolabMod(gomod []byte) bool {
	for line := range strings.Lines(string(gomod)) {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == "protolab" {
			return true
		}
	}
	return false
}
