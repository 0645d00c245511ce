// Command mailbench measures the lab's mail servers on the same machine
// and in the same run as Postfix's smtp-sink, which accepts mail and
// stores nothing: the ceiling. Postfix's smtp-source sends the same load
// to both (10,000 small messages from alice@lab.test to bob@lab.test over
// 20 parallel sessions); the report gives each one's messages per second
// and the ratio, checks that bob's INBOX in the lab holds every message
// accepted (IMAP STATUS before and after), times one IMAP FETCH of 1,000
// message bodies, and gives the lab's peak memory.
//
// It is a report, not a test: it exits 0 whatever the figures, 1 when the
// benchmark itself could not run (Postfix's tools missing, smtp-sink would
// not start), 2 on a usage error. Run it from the module's root:
//
//	go run ./bench/mailbench
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"protolab/bench/internal/benchkit"
	"protolab/internal/api"
)

// labID is the lab measured: it runs SMTP, POP3 and IMAP over one store.
const labID = "mail"

// options are the command-line settings.
type options struct {
	load  loadSettings
	fetch int    // messages in the timed FETCH
	keep  bool   // keep the work directory
	lab   string // a lab binary to use instead of building ./cmd/lab
	// settle is how long bob's INBOX may take to show every accepted
	// message (a store that commits after replying 250); not a flag.
	settle time.Duration
}

func main() {
	o := options{settle: 5 * time.Second}
	fs := flag.NewFlagSet("mailbench", flag.ContinueOnError)
	fs.IntVar(&o.load.Messages, "messages", 10000, "messages smtp-source sends to each server (-m)")
	fs.IntVar(&o.load.Sessions, "sessions", 20, "parallel SMTP sessions (smtp-source -s)")
	fs.DurationVar(&o.load.Limit, "duration", 40*time.Second,
		"time limit of one smtp-source run; a run cut short is measured on what it sent")
	fs.IntVar(&o.fetch, "fetch", 1000, "messages fetched (BODY[]) by the timed IMAP FETCH")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (logs, the lab's state)")
	fs.StringVar(&o.lab, "lab", "", "lab binary to measure (default: build ./cmd/lab)")
	benchkit.ParseArgs(fs, os.Args[1:], func() error { return o.validate() }) // not o.validate: that would copy o before parsing
	benchkit.Main(func(ctx context.Context) int { return runBench(ctx, o, os.Stdout, os.Stderr) })
}

func (o options) validate() error {
	l := o.load
	switch {
	case l.Messages < 1 || l.Messages > 100000:
		return errors.New("-messages must be between 1 and 100000")
	case l.Sessions < 1 || l.Sessions > 200:
		return errors.New("-sessions must be between 1 and 200")
	case l.Limit < time.Second || l.Limit > 5*time.Minute:
		return errors.New("-duration must be between 1s and 5m")
	case o.fetch < 1 || o.fetch > 10000:
		return errors.New("-fetch must be between 1 and 10000")
	}
	return nil
}

// tools are the programs the benchmark runs.
type tools struct {
	source, sink string // Postfix's smtp-source and smtp-sink
	version      string // Postfix's, "" if unknown
}

// sbin is where Debian puts Postfix's tools; it is not on every PATH.
var sbin = "/usr/sbin"

// findTools looks for Postfix's tools on the PATH, then in sbin.
func findTools() (tools, error) {
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		if p := filepath.Join(sbin, name); benchkit.IsExec(p) {
			return p
		}
		return ""
	}
	t := tools{source: find("smtp-source"), sink: find("smtp-sink")}
	if t.source == "" || t.sink == "" {
		return t, errors.New("Postfix's smtp-source and smtp-sink not found: install them with " +
			"`DEBIAN_FRONTEND=noninteractive apt-get install -y postfix` (as root, or with sudo); " +
			"the benchmark never uses the postfix daemon nor port 25")
	}
	if pc := find("postconf"); pc != "" {
		if out, err := exec.Command(pc, "-dh", "mail_version").Output(); err == nil {
			t.version = strings.TrimSpace(string(out))
		}
	}
	return t, nil
}

// server is one mail server under load and what was measured of it.
type server struct {
	name     string
	note     string // why its figures are missing: "not available: ..." or "failed: ..."
	load     *load  // nil when no load ran
	rss      int64  // peak RSS in bytes after the load, 0 if unknown
	warnings []string
}

// labFigures are what only the lab has: a store and an IMAP server.
type labFigures struct {
	before, after int64 // messages in bob's INBOX; -1 unknown
	countErr      string
	fetch         *fetchResult
	fetchErr      string
	events        *[2]uint64 // published, dropped
	eventsErr     string
}

// result is everything the report prints.
type result struct {
	opts     options
	version  string
	cpus     int
	loadavg  string
	pinning  string
	otherCPU float64 // share of the machine's CPU used by other work during the loads; -1 unknown
	sink     server
	lab      server
	mail     labFigures
	elapsed  time.Duration
}

func runBench(ctx context.Context, o options, stdout, stderr io.Writer) int {
	began := time.Now()
	fail := func(err error) int {
		fmt.Fprintln(stderr, "mailbench:", err)
		return 1
	}
	t, err := findTools()
	if err != nil {
		return fail(err)
	}
	work, removeWork, err := benchkit.WorkDir("mailbench", "mailbench-", o.keep, stderr)
	if err != nil {
		return fail(err)
	}
	defer removeWork()
	res := &result{opts: o, version: t.version, cpus: runtime.NumCPU(), loadavg: benchkit.Loadavg(), otherCPU: -1,
		sink: server{name: "sink"}, lab: server{name: "lab"}, mail: labFigures{before: -1, after: -1}}
	if err := bench(ctx, o, t, work, res, stderr); err != nil {
		return fail(err)
	}
	res.elapsed = time.Since(began)
	printReport(stdout, res)
	return 0
}

// bench measures and fills res. An error is a failure of the benchmark
// itself; the lab's failures are notes in res.
func bench(ctx context.Context, o options, t tools, work string, res *result, log io.Writer) error {
	progress := func(format string, a ...any) { fmt.Fprintf(log, "mailbench: "+format+"\n", a...) }

	var labBin string
	var labErr error
	if o.lab == "" {
		progress("building the lab")
		labBin = filepath.Join(work, "lab")
		labErr = buildLab(ctx, labBin)
	} else if labBin, labErr = filepath.Abs(o.lab); labErr == nil && !benchkit.IsExec(labBin) {
		labErr = fmt.Errorf("-lab %s: not an executable file", o.lab)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	clientPrefix, serverPrefix, how := pinning()
	res.pinning = how

	// Other processes' share of the machine's CPU, over both loads.
	var noise benchkit.Noise
	measure := func(addr string, pid int) (load, error) {
		busy0, all0, err0 := machineCPU()
		l, err := sendLoad(ctx, clientPrefix, t.source, o.load, addr, pid)
		busy1, all1, err1 := machineCPU()
		if err0 == nil && err1 == nil && l.ServerCPU > 0 {
			noise.Add(busy1-busy0, all1-all0, l.ServerCPU+l.ClientCPU)
		} else {
			noise.Unknown()
		}
		return l, err
	}

	progress("smtp-sink: %d messages over %d sessions", o.load.Messages, o.load.Sessions)
	if err := benchSink(ctx, t, work, serverPrefix, measure, res); err != nil {
		return err
	}
	if labErr != nil {
		res.lab.note = "not available: " + labErr.Error()
	} else {
		progress("lab %s: %d messages over %d sessions, then IMAP", labID, o.load.Messages, o.load.Sessions)
		benchLab(ctx, o, labBin, work, serverPrefix, measure, res, progress)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	res.otherCPU = noise.Share()
	return nil
}

// benchSink runs smtp-sink in the foreground on a free port, accepting
// everything, and sends it the load.
func benchSink(ctx context.Context, t tools, work string, prefix []string,
	measure func(string, int) (load, error), res *result) error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	argv := slices.Concat(prefix, []string{t.sink, "-c"})
	if os.Geteuid() == 0 { // smtp-sink refuses to run as root without a user to switch to
		if _, err := user.Lookup("nobody"); err != nil {
			return fmt.Errorf("smtp-sink needs an unprivileged user to run as when started as root: %w", err)
		}
		argv = append(argv, "-u", "nobody")
	}
	argv = append(argv, addr, "256") // listen backlog
	sink, err := spawn("smtp-sink", filepath.Join(work, "smtp-sink.log"), argv)
	if err != nil {
		return err
	}
	defer sink.stop(3 * time.Second)
	if err := waitSMTP(ctx, addr, sink.done, 10*time.Second); err != nil {
		return fmt.Errorf("smtp-sink: %w%s", err, sink.tail(3))
	}
	l, err := measure(addr, sink.pid())
	if err != nil {
		return fmt.Errorf("smtp-sink: %w", err)
	}
	res.sink.load = &l
	if rss, err := benchkit.PeakRSS(sink.pid()); err == nil {
		res.sink.rss = rss
	}
	if err := sink.stop(3 * time.Second); err != nil {
		res.sink.warnings = append(res.sink.warnings, "did not stop cleanly: "+err.Error())
	}
	b, _ := os.ReadFile(sink.log)
	switch c, err := parseSinkCounters(b); {
	case err != nil:
		res.sink.warnings = append(res.sink.warnings, err.Error())
	case c.Messages != l.Sent:
		res.sink.warnings = append(res.sink.warnings,
			fmt.Sprintf("smtp-sink counted %d messages, smtp-source %d", c.Messages, l.Sent))
	}
	return nil
}

// benchLab starts `lab start mail` on free ports, counts bob's INBOX, sends
// the load to its SMTP port, counts again, times a FETCH, and reads its
// peak memory and event counters. Whatever goes wrong is a note in res.
func benchLab(ctx context.Context, o options, bin, work string, prefix []string,
	measure func(string, int) (load, error), res *result, progress func(string, ...any)) {
	lab, m := &res.lab, &res.mail
	state := filepath.Join(work, "lab-state")
	ports, err := freePorts(2)
	if err == nil {
		err = os.MkdirAll(state, 0o755)
	}
	if err != nil {
		lab.note = "not available: " + err.Error()
		return
	}
	smtpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	p, err := spawn("lab", filepath.Join(work, "lab.log"),
		slices.Concat(prefix, []string{bin}, labStartArgs(state, ports[0], ports[1])))
	if err != nil {
		lab.note = "not available: " + err.Error()
		return
	}
	defer p.stop(5 * time.Second)
	st, err := waitLab(ctx, bin, state, p, 30*time.Second)
	if err == nil {
		err = waitSMTP(ctx, smtpAddr, p.done, 10*time.Second)
	}
	if err != nil {
		lab.note = "not available: " + err.Error() + p.tail(3)
		return
	}
	imapAddr := findEndpoint(st, "imap")
	if imapAddr == "" {
		m.countErr = "lab status lists no IMAP endpoint"
	} else if m.before, err = countInbox(imapAddr); err != nil {
		m.countErr = err.Error()
		m.before = -1
	}

	l, err := measure(smtpAddr, p.pid())
	lab.load = &l
	if err != nil {
		lab.note = "failed: " + err.Error()
		if ctx.Err() != nil {
			return
		}
	}
	if m.before >= 0 {
		progress("counting bob's INBOX, then FETCH of %d messages", o.fetch)
		if m.after, err = settledCount(imapAddr, m.before+l.Sent, o.settle); err != nil {
			m.countErr = err.Error()
			m.after = -1
		}
		f, err := timeFetch(imapAddr, o.fetch, time.Minute)
		if err != nil {
			m.fetchErr = err.Error()
		} else {
			m.fetch = &f
		}
	}
	if !p.alive() {
		lab.note = fmt.Sprintf("failed: the lab exited during the load (%v)%s", p.err, p.tail(3))
		return
	}
	if rss, err := benchkit.PeakRSS(p.pid()); err == nil {
		lab.rss = rss
	}
	if st, err := labStatus(ctx, bin, state); err != nil {
		m.eventsErr = err.Error()
	} else {
		m.events = &[2]uint64{st.Events, st.Dropped}
	}
	if err := p.stop(5 * time.Second); err != nil {
		lab.warnings = append(lab.warnings, "did not stop cleanly: "+err.Error())
	}
}

// labStartArgs is the `lab start` command line: every port free (auto),
// SMTP's and the console's fixed beforehand.
func labStartArgs(state string, smtpPort, webPort int) []string {
	return []string{"start", labID, "--ports", "auto", "--port", "smtp=" + strconv.Itoa(smtpPort),
		"--web", net.JoinHostPort("127.0.0.1", strconv.Itoa(webPort)), "--state", state}
}

// labStatus runs `lab status --json` once.
func labStatus(ctx context.Context, bin, state string) (*api.Status, error) {
	out, err := output(ctx, 5*time.Second, "lab status", bin, "status", "--json", "--state", state)
	if err != nil {
		return nil, err
	}
	var st api.Status
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("lab status --json: %w", err)
	}
	return &st, nil
}

// waitLab asks `lab status --json` until it lists endpoints, the lab exits
// or limit passes.
func waitLab(ctx context.Context, bin, state string, p *child, limit time.Duration) (*api.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		st, err := labStatus(ctx, bin, state)
		if err == nil && len(st.Endpoints) > 0 {
			return st, nil
		}
		if err == nil {
			err = errors.New("lab status lists no endpoints yet")
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("lab start %s exited (%v)", labID, p.err)
		case <-ctx.Done():
			return nil, fmt.Errorf("lab not ready after %v: %w", limit, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// findEndpoint is the TCP address of the service's listener of the same
// name, else of its first TCP listener; "" when it has none.
func findEndpoint(st *api.Status, svc string) string {
	addr := ""
	for _, e := range st.Endpoints {
		if e.Service != svc || e.Network != "tcp" {
			continue
		}
		if e.Listener == svc {
			return e.Addr
		}
		if addr == "" {
			addr = e.Addr
		}
	}
	return addr
}

// buildLab builds ./cmd/lab of the module around the working directory.
func buildLab(ctx context.Context, out string) error {
	mod, err := output(ctx, 10*time.Second, "go list", "go", "list", "-m", "-f", "{{.Path}} {{.Dir}}")
	if err != nil {
		return err
	}
	path, dir, _ := strings.Cut(strings.TrimSpace(string(mod)), " ")
	if path != "protolab" {
		return fmt.Errorf("run mailbench inside the protolab module (the module here is %q)", path)
	}
	_, err = output(ctx, 5*time.Minute, "go build ./cmd/lab", "go", "build", "-C", dir, "-o", out, "./cmd/lab")
	return err
}

// pinning returns the command prefixes that put the load generator on the
// first CPU this process may use and each server on the second, and says
// so. The benchmark's own threads (the IMAP client) go with the load
// generator. With one core each, the server runs out first, runs repeat
// closely, and no server gains from a CPU the client leaves idle.
func pinning() (client, server []string, how string) {
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return nil, nil, "off: taskset not found (Debian package util-linux)"
	}
	cpus, _ := benchkit.AllowedCPUs() // none on an error: pinning is off
	p, err := benchkit.PinTwo(taskset, cpus)
	if err != nil {
		return nil, nil, "off: " + err.Error()
	}
	how = fmt.Sprintf("servers on CPU %d; smtp-source and the IMAP client on CPU %d (taskset)", p.ServerCPU, p.ClientCPU)
	if err := pinSelf(p.ClientCPU); err != nil {
		how += "; the IMAP client unpinned: " + err.Error()
	}
	return p.Client, p.Server, how
}
