// Command dhcpbench measures the lab's DHCP server against dnsmasq's on the
// same machine and in the same run. It makes two network namespaces joined
// by a veth pair: the server under test listens on the server side
// (192.0.2.1/24), and a load client of its own, on a packet socket on the
// client side, runs DISCOVER, OFFER, REQUEST, ACK exchanges for a set of
// simulated clients (distinct MACs), a fixed number in flight, for a fixed
// time. Both servers get the same load in alternate rounds, each server
// started afresh every round, the best round kept; the report gives the
// exchanges per second of each, the ratio lab/dnsmasq, the timeouts, and
// the lab's peak memory.
//
// The lab is the real `lab start --file` of a copy of the dhcp lab (its
// tasks, checker, journal and console running), with DHCP on the link
// (--dhcp-interface). It needs root (namespaces, a veth, raw sockets, port
// 67): run as another user it says so and exits 0.
//
// It is a report, not a test: it exits 0 whatever the figures, 1 when the
// benchmark itself could not run (dnsmasq missing or not answering), 2 on
// a usage error. Run it from the module's root:
//
//	go run ./bench/dhcpbench
//
// `dhcpbench client ...` is the load client, which the benchmark runs in
// the client's namespace; it is not meant to be run by hand.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"protolab/bench/internal/benchkit"
)

// installLine is what to run when dnsmasq is missing.
const installLine = "apt-get install -y dnsmasq-base"

// target is the least lab/dnsmasq ratio on exchanges per second.
const target = 1.0

// clientCommand is the first argument that makes this program the load
// client.
const clientCommand = "client"

// options are the command-line settings.
type options struct {
	duration time.Duration // load time per round
	rounds   int
	inflight int // exchanges in flight
	clients  int // distinct MACs
	timeout  time.Duration
	wait     time.Duration // for a server to answer its first DORA
	maxDORA  int           // end a round after this many exchanges; 0: no limit
	pin      bool
	quiet    bool // dnsmasq --quiet-dhcp
	onDisk   bool // leases and the lab's state in the work directory, not on tmpfs
	lab      string
	keep     bool
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == clientCommand {
		os.Exit(clientMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	o := options{wait: 30 * time.Second}
	fs := flag.NewFlagSet("dhcpbench", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 8*time.Second, "load time per round")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds per server, alternating lab and dnsmasq; the best is kept")
	fs.IntVar(&o.inflight, "inflight", 64, "exchanges in flight at once")
	fs.IntVar(&o.clients, "clients", 200, "simulated clients (distinct MACs), at most "+strconv.Itoa(maxClients))
	fs.DurationVar(&o.timeout, "timeout", time.Second, "how long the client waits for an OFFER, then for an ACK")
	fs.BoolVar(&o.pin, "pin", true, "pin the server to one CPU and the load client to another (taskset)")
	fs.BoolVar(&o.quiet, "dnsmasq-quiet", false, "run dnsmasq with --quiet-dhcp (by default it logs every DHCP message to a file)")
	fs.BoolVar(&o.onDisk, "state-on-disk", false, "keep the leases and the lab's state in the work directory (under $TMPDIR) instead of on tmpfs (/dev/shm)")
	fs.StringVar(&o.lab, "lab", "", "lab binary to measure (default: build ./cmd/lab)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (logs, lease files, the lab's state)")
	benchkit.ParseArgs(fs, os.Args[1:], func() error { return o.validate() }) // not o.validate: that would copy o before parsing
	if os.Geteuid() != 0 {
		fmt.Println("dhcpbench: skipped: it needs root (network namespaces, a veth pair, a raw socket, port 67); " +
			"run it as root, e.g. sudo go run ./bench/dhcpbench")
		os.Exit(0)
	}
	benchkit.Main(func(ctx context.Context) int {
		ctx, cancel := context.WithTimeout(ctx, o.limit())
		defer cancel()
		return run(ctx, o, os.Stdout, os.Stderr)
	})
}

func (o options) validate() error {
	switch {
	case o.duration < time.Second || o.duration > time.Minute:
		return errors.New("-duration must be between 1s and 1m")
	case o.rounds < 1 || o.rounds > 5:
		return errors.New("-rounds must be between 1 and 5")
	case o.clients < 1 || o.clients > maxClients:
		return fmt.Errorf("-clients must be between 1 and %d (the pool's free addresses)", maxClients)
	case o.inflight < 1 || o.inflight > o.clients:
		return errors.New("-inflight must be between 1 and -clients")
	case o.timeout < 10*time.Millisecond || o.timeout > 10*time.Second:
		return errors.New("-timeout must be between 10ms and 10s")
	}
	return nil
}

// limit bounds the whole run: the build, then every round's start, load
// and stop.
func (o options) limit() time.Duration {
	return 6*time.Minute + time.Duration(2*o.rounds)*(o.duration+o.wait+30*time.Second)
}

// server is one DHCP server under test and what was measured of it.
type server struct {
	name   string
	note   string // why figures are missing: "not available: ...", "failed: ..."
	runs   []loadResult
	rss    int64   // the highest peak RSS over the rounds
	events *events // the lab's, after its best round
	start  func(ctx context.Context, round int) (*benchkit.Child, error)
	// status reads the lab's event counts before it stops; nil for dnsmasq.
	status func(ctx context.Context, round int) (*events, error)
}

// events are the lab's event counts after a round.
type events struct {
	published, dropped uint64
	err                string
}

// best is the round with the most exchanges per second.
func (s *server) best() (loadResult, int, bool) {
	bi := -1
	for i, r := range s.runs {
		if bi < 0 || r.rate() > s.runs[bi].rate() {
			bi = i
		}
	}
	if bi < 0 {
		return loadResult{}, -1, false
	}
	return s.runs[bi], bi, true
}

// result is everything the report prints.
type result struct {
	opts    options
	cpus    int
	pinning string
	// stateWhere says where the leases and the lab's state are kept.
	stateWhere string
	otherCPU   float64 // -1 unknown
	lab        *server
	dnsmasq    *server
	elapsed    time.Duration
}

func run(ctx context.Context, o options, stdout, stderr io.Writer) int {
	began := time.Now()
	fail := func(err error) int {
		fmt.Fprintln(stderr, "dhcpbench:", err)
		return 1
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "dhcpbench: "+format+"\n", a...) }
	dnsmasq, ipCmd := findTool("dnsmasq"), findTool("ip")
	if dnsmasq == "" {
		return fail(fmt.Errorf("dnsmasq not found: install it with `%s`", installLine))
	}
	if ipCmd == "" {
		return fail(errors.New("the ip command not found: install it with `apt-get install -y iproute2`"))
	}
	self, err := os.Executable()
	if err != nil {
		return fail(fmt.Errorf("own executable: %w", err))
	}
	mod, err := moduleDir(ctx)
	if err != nil {
		return fail(err)
	}
	sweepStale(ipCmd)
	// A killed benchmark's directories are swept by the next one, unless
	// they are to be kept.
	prefix := fmt.Sprintf("%s%d-", nsPrefix, os.Getpid())
	if o.keep {
		prefix = nsPrefix + "kept-"
	}
	work, removeWork, err := benchkit.WorkDir("dhcpbench", prefix, o.keep, stderr)
	if err != nil {
		return fail(err)
	}
	defer removeWork()
	state, where, err := stateDir(work, prefix, o.onDisk)
	if err != nil {
		return fail(err)
	}
	if state != work {
		if o.keep {
			progress("leases, dnsmasq's log and the lab's state kept: %s", state)
		} else {
			defer os.RemoveAll(state)
		}
	}

	res := &result{opts: o, cpus: runtime.NumCPU(), otherCPU: -1, stateWhere: where,
		lab: &server{name: "lab"}, dnsmasq: &server{name: "dnsmasq"}}
	labBin := o.lab
	if labBin == "" {
		progress("building the lab")
		labBin = filepath.Join(work, "lab")
		err = buildLab(ctx, mod, labBin)
	} else if labBin, err = filepath.Abs(labBin); err == nil && !benchkit.IsExec(labBin) {
		err = fmt.Errorf("-lab %s: not an executable file", o.lab)
	}
	labFile := ""
	if err == nil {
		labFile, err = writeLabFile(mod, filepath.Join(work, "lab-dhcp"))
	}
	if err != nil {
		res.lab.note = "not available: " + err.Error()
	}

	tb := newTestbed(ipCmd, os.Getpid())
	if err := tb.setup(ctx); err != nil {
		return fail(fmt.Errorf("testbed: %w", err))
	}
	defer tb.remove()
	client, srv := []string(nil), []string(nil)
	res.pinning = "off (-pin=false)"
	if o.pin {
		client, srv, res.pinning = pinning()
	}

	res.dnsmasq.start = func(ctx context.Context, round int) (*benchkit.Child, error) {
		log := filepath.Join(state, fmt.Sprintf("dnsmasq-%d.log", round))
		leases := filepath.Join(state, fmt.Sprintf("dnsmasq-%d.leases", round))
		return spawn(filepath.Join(work, fmt.Sprintf("dnsmasq-%d.out", round)),
			tb.exec(tb.serverNS, concat(srv, dnsmasqArgs(dnsmasq, tb.serverIf, leases, log, o.quiet))...))
	}
	labState := func(round int) string { return filepath.Join(state, fmt.Sprintf("lab-state-%d", round)) }
	res.lab.start = func(ctx context.Context, round int) (*benchkit.Child, error) {
		if err := os.MkdirAll(labState(round), 0o755); err != nil {
			return nil, err
		}
		return spawn(filepath.Join(work, fmt.Sprintf("lab-%d.log", round)),
			tb.exec(tb.serverNS, concat(srv, labStartArgs(labBin, labFile, tb.serverIf, labState(round)))...))
	}
	res.lab.status = func(ctx context.Context, round int) (*events, error) {
		st, err := labStatus(ctx, tb, labBin, labState(round))
		if err != nil {
			return nil, err
		}
		return &events{published: st.Events, dropped: st.Dropped}, nil
	}

	var noise benchkit.Noise
	for round := 1; round <= o.rounds; round++ {
		for _, s := range []*server{res.lab, res.dnsmasq} {
			if s.note != "" || ctx.Err() != nil {
				continue
			}
			progress("round %d/%d: %s, %d exchanges in flight from %d clients for %v",
				round, o.rounds, s.name, o.inflight, o.clients, o.duration)
			r, err := runRound(ctx, s, round, self, tb, client, o)
			if err != nil {
				s.note = "failed: " + err.Error()
				continue
			}
			s.runs = append(s.runs, r)
			if r.MachineAll > 0 && r.ServerCPU >= 0 && r.ClientCPU >= 0 {
				noise.Add(r.MachineBusy, r.MachineAll, r.ServerCPU+r.ClientCPU)
			} else {
				noise.Unknown()
			}
		}
	}
	if ctx.Err() != nil {
		return fail(fmt.Errorf("stopped: %w", context.Cause(ctx)))
	}
	if len(res.dnsmasq.runs) == 0 {
		return fail(fmt.Errorf("dnsmasq: %s", res.dnsmasq.note))
	}
	res.otherCPU = noise.Share()
	res.elapsed = time.Since(began)
	printReport(stdout, res)
	return 0
}

// runRound starts the server, runs the load client against it and stops
// it, keeping its peak RSS and (for the lab) its event counts.
func runRound(ctx context.Context, s *server, round int, self string, tb *testbed, prefix []string, o options) (loadResult, error) {
	c, err := s.start(ctx, round)
	if err != nil {
		return loadResult{}, err
	}
	defer c.Stop()
	r, err := runClient(ctx, self, tb, prefix, c, o)
	if err != nil {
		return r, err
	}
	if !c.Alive() {
		return r, fmt.Errorf("%s exited during the load%s", s.name, c.Tail())
	}
	if rss, err := benchkit.PeakRSS(c.Pid()); err == nil {
		s.rss = max(s.rss, rss)
	}
	if s.status != nil {
		ev, err := s.status(ctx, round)
		if err != nil {
			ev = &events{err: err.Error()}
		}
		if _, bi, ok := s.best(); !ok || r.rate() > s.runs[bi].rate() {
			s.events = ev
		}
	}
	return r, nil
}

// runClient runs the load client in the client's namespace against the
// server c: it waits for the server's first answer, then loads it.
func runClient(ctx context.Context, self string, tb *testbed, prefix []string, c *benchkit.Child, o options) (loadResult, error) {
	ctx, cancel := context.WithTimeout(ctx, o.wait+o.duration+30*time.Second)
	defer cancel()
	argv := tb.exec(tb.clientNS, concat(prefix, []string{self, clientCommand,
		"-iface", tb.clientIf, "-server-pid", strconv.Itoa(c.Pid()),
		"-clients", strconv.Itoa(o.clients), "-inflight", strconv.Itoa(o.inflight),
		"-duration", o.duration.String(), "-timeout", o.timeout.String(), "-wait", o.wait.String(),
		"-max-dora", strconv.Itoa(o.maxDORA)})...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		why := strings.TrimSpace(stderr.String())
		if !c.Alive() {
			why += "; the server exited" + c.Tail()
		}
		return loadResult{}, fmt.Errorf("load client: %w: %s", err, why)
	}
	var r loadResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return r, fmt.Errorf("load client: bad output: %w", err)
	}
	return r, nil
}

// clientMain is the load client: in the client's namespace, it waits for
// the server to answer, runs the load, and prints the result as JSON.
func clientMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dhcpbench client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	iface := fs.String("iface", "", "interface to send on")
	pid := fs.Int("server-pid", 0, "the server's process, whose CPU time is read")
	clients := fs.Int("clients", 200, "simulated clients")
	inflight := fs.Int("inflight", 64, "exchanges in flight")
	duration := fs.Duration("duration", 8*time.Second, "load time")
	timeout := fs.Duration("timeout", time.Second, "wait for each answer")
	wait := fs.Duration("wait", 30*time.Second, "wait for the server's first answer")
	maxDORA := fs.Int("max-dora", 0, "stop after this many exchanges (0: run for -duration)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *iface == "" || *clients < 1 || *clients > 1<<16 || *inflight < 1 || *inflight > *clients ||
		*duration <= 0 || *duration > time.Hour || *timeout <= 0 || *wait <= 0 || *maxDORA < 0 {
		fmt.Fprintln(stderr, "dhcpbench client: give -iface, and -clients, -inflight, -duration, -timeout, -wait in range")
		return 2
	}
	l, err := openLink(*iface)
	if err != nil {
		fmt.Fprintln(stderr, "dhcpbench client:", err)
		return 1
	}
	defer l.Close()
	if err := probe(l, *wait); err != nil {
		fmt.Fprintln(stderr, "dhcpbench client: the server did not answer:", err)
		return 1
	}
	macs := make([]net.HardwareAddr, *clients)
	for i := range macs {
		macs[i] = clientMAC(i)
	}
	cfg := loadConfig{Macs: macs, Inflight: *inflight, Timeout: *timeout, Duration: *duration, StopAfter: *maxDORA}
	r := measured(*pid, func() loadResult { return runLoad(l, cfg) })
	b, err := json.Marshal(r)
	if err != nil {
		fmt.Fprintln(stderr, "dhcpbench client:", err)
		return 1
	}
	fmt.Fprintln(stdout, string(b))
	return 0
}

// measured runs load and adds the CPU times spent meanwhile: the server's
// (process pid), this process's and the machine's.
func measured(pid int, load func() loadResult) loadResult {
	s0, errS0 := benchkit.ProcCPU(pid)
	c0 := selfCPU()
	b0, a0, errM0 := machineCPU()
	r := load()
	s1, errS1 := benchkit.ProcCPU(pid)
	c1 := selfCPU()
	b1, a1, errM1 := machineCPU()
	r.ServerCPU, r.ClientCPU, r.MachineBusy, r.MachineAll = -1, -1, -1, -1
	if errS0 == nil && errS1 == nil {
		r.ServerCPU = s1 - s0
	}
	if c0 >= 0 && c1 >= 0 {
		r.ClientCPU = c1 - c0
	}
	if errM0 == nil && errM1 == nil {
		r.MachineBusy, r.MachineAll = b1-b0, a1-a0
	}
	return r
}

// shmDir is a tmpfs on most Linux systems.
const shmDir = "/dev/shm"

// stateDir is where the servers keep their leases and their record of the
// messages (dnsmasq's lease file and log, the lab's state directory with
// its database of leases and events): by default on tmpfs, so that
// dnsmasq's fsync of its lease file after each change, its log writes and
// the lab's database writes wait for no disk shared with other work; with
// onDisk, in the work directory. where says which, for the report.
func stateDir(work, prefix string, onDisk bool) (dir, where string, err error) {
	if !onDisk {
		var st unix.Statfs_t
		if unix.Statfs(shmDir, &st) == nil && st.Type == unix.TMPFS_MAGIC {
			if dir, err = os.MkdirTemp(shmDir, prefix); err == nil {
				return dir, "on tmpfs (" + shmDir + ")", nil
			}
		}
		return work, "in " + work + " (" + shmDir + " is not a usable tmpfs)", nil
	}
	return work, "on disk (" + work + ")", nil
}

// findTool looks for a program on the PATH, then in /usr/sbin and /sbin.
func findTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(dir, name); benchkit.IsExec(p) {
			return p
		}
	}
	return ""
}

// pinning returns the command prefixes that put the load client on one
// CPU and the server on another, and says so.
func pinning() (client, server []string, how string) {
	taskset := findTool("taskset")
	if taskset == "" {
		return nil, nil, "off: taskset not found (Debian package util-linux)"
	}
	cpus, err := benchkit.TasksetCPUs(taskset)
	if err != nil {
		return nil, nil, "off: " + err.Error()
	}
	p, err := benchkit.PinTwo(taskset, cpus)
	if err != nil {
		return nil, nil, "off: " + err.Error()
	}
	return p.Client, p.Server, fmt.Sprintf("server on CPU %d, load client on CPU %d (taskset)", p.ServerCPU, p.ClientCPU)
}
