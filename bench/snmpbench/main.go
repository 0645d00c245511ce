// Command snmpbench measures the lab's SNMP agent against net-snmp's snmpd
// on the same machine and in the same run. Several snmpbulkwalk processes
// in parallel walk the whole MIB (1.3.6.1, SNMPv2c, 25 repetitions) of each
// agent for the same wall time; since the two MIBs differ in size, the
// report gives walks per second and varbinds per second, and the ratio
// lab/snmpd on varbinds per second, with the lab's peak memory.
//
// It is a report, not a test: it exits 0 whatever the figures, 1 when the
// benchmark itself could not run (net-snmp's tools missing, snmpd would
// not answer), 2 on a usage error. Run it from the module's root:
//
//	go run ./bench/snmpbench
package main

import (
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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"protolab/bench/internal/benchkit"
)

// installLine is what to run when net-snmp's tools are missing.
const installLine = "apt-get install -y snmp snmpd"

// target is the least lab/snmpd ratio on varbinds per second.
const target = 1.0

// toolEnv keeps net-snmp's tools from loading MIB files: OIDs stay numeric
// and the walks measure the agents, not the parsing of MIBs.
var toolEnv = []string{"MIBS=", "MIBDIRS=/nonexistent"}

// options are the command-line settings.
type options struct {
	duration time.Duration // load time per agent
	walkers  int           // snmpbulkwalk processes in parallel
	pin      bool
	lab      string // a lab binary to use instead of building ./cmd/lab
	keep     bool
}

func main() {
	var o options
	fs := flag.NewFlagSet("snmpbench", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "load time per agent")
	fs.IntVar(&o.walkers, "walkers", 4, "snmpbulkwalk processes in parallel")
	fs.BoolVar(&o.pin, "pin", true, "pin the agent to one CPU and the walkers to another (taskset)")
	fs.StringVar(&o.lab, "lab", "", "lab binary to measure (default: build ./cmd/lab)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (logs, snmpd.conf, the lab's state)")
	benchkit.ParseArgs(fs, os.Args[1:], func() error {
		if o.duration < time.Second || o.duration > 30*time.Second || o.walkers < 1 || o.walkers > 32 {
			return errors.New("-duration must be between 1s and 30s, -walkers between 1 and 32")
		}
		return nil
	})
	benchkit.Main(func(ctx context.Context) int { return run(ctx, o, os.Stdout, os.Stderr) })
}

// tools are net-snmp's programs.
type tools struct{ walk, snmpd string }

// findTools looks for snmpbulkwalk and snmpd on the PATH, then in /usr/sbin.
func findTools() (tools, error) {
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		if p := filepath.Join("/usr/sbin", name); benchkit.IsExec(p) {
			return p
		}
		return ""
	}
	t := tools{walk: find("snmpbulkwalk"), snmpd: find("snmpd")}
	if t.walk == "" || t.snmpd == "" {
		return t, fmt.Errorf("net-snmp's snmpbulkwalk and snmpd not found: install them with `%s` "+
			"(as root, or with sudo), then stop the system snmpd it may start", installLine)
	}
	return t, nil
}

// agent is one SNMP agent and what was measured of it.
type agent struct {
	name    string
	note    string // why figures are missing
	perWalk int    // varbinds in one walk, before the load
	load    *load
	rss     int64
}

// load is the outcome of the walkers' run against one agent.
type load struct {
	walks, varbinds, errors int
	elapsed                 time.Duration
	serverCPU, clientCPU    time.Duration
	lastErr                 string
}

func (l *load) walksPerSec() float64    { return float64(l.walks) / l.elapsed.Seconds() }
func (l *load) varbindsPerSec() float64 { return float64(l.varbinds) / l.elapsed.Seconds() }

// result is everything the report prints.
type result struct {
	opts       options
	cpus       int
	pinning    string
	otherCPU   float64 // -1 unknown
	snmpd, lab agent
	elapsed    time.Duration
}

func run(ctx context.Context, o options, stdout, stderr io.Writer) int {
	began := time.Now()
	fail := func(err error) int {
		fmt.Fprintln(stderr, "snmpbench:", err)
		return 1
	}
	t, err := findTools()
	if err != nil {
		return fail(err)
	}
	work, removeWork, err := benchkit.WorkDir("snmpbench", "snmpbench-", o.keep, stderr)
	if err != nil {
		return fail(err)
	}
	defer removeWork()
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "snmpbench: "+format+"\n", a...) }
	res := &result{opts: o, cpus: runtime.NumCPU(), otherCPU: -1,
		snmpd: agent{name: "snmpd"}, lab: agent{name: "lab"}}
	client, server := []string(nil), []string(nil)
	res.pinning = "off (-pin=false)"
	if o.pin {
		client, server, res.pinning = pinning()
	}

	var noise benchkit.Noise
	measure := func(addr string, pid int) load {
		b0, a0, e0 := machineCPU()
		l := runLoad(ctx, client, t.walk, addr, pid, o)
		b1, a1, e1 := machineCPU()
		if e0 == nil && e1 == nil && l.serverCPU > 0 {
			noise.Add(b1-b0, a1-a0, l.serverCPU+l.clientCPU)
		} else {
			noise.Unknown()
		}
		return l
	}

	progress("snmpd: %d walkers for %v", o.walkers, o.duration)
	if err := benchSnmpd(ctx, t, work, server, client, measure, &res.snmpd); err != nil {
		return fail(err)
	}
	labBin, err := o.lab, error(nil)
	if labBin == "" {
		progress("building the lab")
		labBin = filepath.Join(work, "lab")
		err = buildLab(ctx, labBin)
	} else if labBin, err = filepath.Abs(labBin); err == nil && !benchkit.IsExec(labBin) {
		err = fmt.Errorf("-lab %s: not an executable file", o.lab)
	}
	if err != nil {
		res.lab.note = "not available: " + err.Error()
	} else {
		progress("lab snmp, its MIB padded to snmpd's %d objects: %d walkers for %v", res.snmpd.perWalk, o.walkers, o.duration)
		benchLab(ctx, t, labBin, work, res.snmpd.perWalk, server, client, measure, &res.lab)
	}
	if ctx.Err() != nil {
		return fail(ctx.Err())
	}
	res.otherCPU = noise.Share()
	res.elapsed = time.Since(began)
	printReport(stdout, res)
	return 0
}

// benchSnmpd runs snmpd in the foreground on a free port with its default
// MIB modules and a read-only community "public", and measures it.
func benchSnmpd(ctx context.Context, t tools, work string, prefix, client []string,
	measure func(string, int) load, a *agent) error {
	port, err := freeUDPPort()
	if err != nil {
		return err
	}
	dir := filepath.Join(work, "snmpd")
	conf := filepath.Join(work, "snmpd.conf")
	if err := os.MkdirAll(dir, 0o700); err == nil {
		err = os.WriteFile(conf, []byte(snmpdConfig()), 0o600)
	}
	if err != nil {
		return fmt.Errorf("snmpd: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	p, err := spawn(filepath.Join(work, "snmpd.log"), []string{"SNMP_PERSISTENT_DIR=" + dir},
		slices.Concat(prefix, snmpdArgs(t.snmpd, conf, filepath.Join(work, "snmpd.log"), addr)))
	if err != nil {
		return fmt.Errorf("snmpd: %w", err)
	}
	defer p.Stop()
	if a.perWalk, err = waitWalk(ctx, client, t.walk, addr, p, 15*time.Second); err != nil {
		return fmt.Errorf("snmpd: %w%s", err, p.Tail())
	}
	l := measure(addr, p.Pid())
	a.load = &l
	a.rss, _ = benchkit.PeakRSS(p.Pid())
	if l.walks == 0 {
		return fmt.Errorf("snmpd: no walk completed under load: %s", l.lastErr)
	}
	return nil
}

// snmpdConfig is snmpd's configuration: read-only "public" from loopback,
// no connection logging (it would cost snmpd a write per request).
func snmpdConfig() string {
	return "rocommunity public 127.0.0.1\ndontLogTCPWrappersConnects yes\n"
}

// snmpdArgs runs snmpd in the foreground (-f) with only conf (-C -c),
// logging to a file, listening on addr alone.
func snmpdArgs(bin, conf, logFile, addr string) []string {
	return []string{bin, "-f", "-C", "-c", conf, "-Lf", logFile, "udp:" + addr}
}

// benchLab starts the snmp lab on free ports, with its MIB padded to about
// objects objects (the size of snmpd's, so that both walks are as long), and
// measures it; what goes wrong is a note in a.
func benchLab(ctx context.Context, t tools, bin, work string, objects int, prefix, client []string,
	measure func(string, int) load, a *agent) {
	file, err := sameSizeLab(work, objects)
	if err != nil {
		a.note = "not available: " + err.Error()
		return
	}
	snmpPort, err := freeUDPPort()
	var webPort int
	if err == nil {
		webPort, err = freeTCPPort()
	}
	state := filepath.Join(work, "lab-state")
	if err == nil {
		err = os.MkdirAll(state, 0o755)
	}
	if err != nil {
		a.note = "not available: " + err.Error()
		return
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(snmpPort))
	p, err := spawn(filepath.Join(work, "lab.log"), nil,
		slices.Concat(prefix, []string{bin}, labStartArgs(file, state, snmpPort, webPort)))
	if err != nil {
		a.note = "not available: " + err.Error()
		return
	}
	defer p.Stop()
	if a.perWalk, err = waitWalk(ctx, client, t.walk, addr, p, 30*time.Second); err != nil {
		a.note = "not available: " + err.Error() + p.Tail()
		return
	}
	l := measure(addr, p.Pid())
	a.load = &l
	if !p.Alive() {
		a.note = "failed: the lab exited during the load" + p.Tail()
		return
	}
	a.rss, _ = benchkit.PeakRSS(p.Pid())
}

// labStartArgs is the `lab start` command line for the lab file: every
// port free (auto), SNMP's and the console's fixed beforehand.
func labStartArgs(file, state string, snmpPort, webPort int) []string {
	return []string{"start", "--file", file, "--ports", "auto", "--port", "snmp=" + strconv.Itoa(snmpPort),
		"--web", net.JoinHostPort("127.0.0.1", strconv.Itoa(webPort)), "--state", state}
}

// sameSizeLab writes a copy of the built-in snmp lab whose MIB holds about
// objects objects: the router's, then filler strings under the
// documentation enterprise (1.3.6.1.4.1.32473.9), as an instructor could.
func sameSizeLab(work string, objects int) (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %w", err)
	}
	src := filepath.Join(strings.TrimSpace(string(out)), "labs", "snmp")
	lab, err := os.ReadFile(filepath.Join(src, "lab.yaml"))
	if err != nil {
		return "", err
	}
	mib, err := os.ReadFile(filepath.Join(src, "router.snmprec"))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Write(mib)
	have := 0
	for _, l := range strings.Split(string(mib), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			have++
		}
	}
	for i := 1; have < objects; i++ {
		fmt.Fprintf(&b, "1.3.6.1.4.1.32473.9.1.%d|4|filler object %d of the benchmark\n", i, i)
		have++
	}
	dir := filepath.Join(work, "lab-same-size")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	lab = []byte(strings.Replace(string(lab), "mib: router.snmprec", "mib: bench.snmprec", 1))
	if err := os.WriteFile(filepath.Join(dir, "lab.yaml"), lab, 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.snmprec"), []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	return filepath.Join(dir, "lab.yaml"), nil
}

// buildLab builds ./cmd/lab of the module around the working directory.
func buildLab(ctx context.Context, out string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	mod, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Path}} {{.Dir}}").Output()
	if err != nil {
		return fmt.Errorf("go list -m: %w", err)
	}
	path, dir, _ := strings.Cut(strings.TrimSpace(string(mod)), " ")
	if path != "protolab" {
		return fmt.Errorf("run snmpbench inside the protolab module (the module here is %q)", path)
	}
	if b, err := exec.CommandContext(ctx, "go", "build", "-C", dir, "-o", out, "./cmd/lab").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/lab: %w: %s", err, strings.TrimSpace(string(b)))
	}
	return nil
}

// walkArgs is one bulk walk of the whole MIB, OIDs numeric.
func walkArgs(bin, addr string) []string {
	return []string{bin, "-v2c", "-c", "public", "-On", "-Cr25", addr, "1.3.6.1"}
}

// walk runs one snmpbulkwalk and counts the varbinds it printed.
func walk(ctx context.Context, prefix []string, bin, addr string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	argv := slices.Concat(prefix, walkArgs(bin, addr))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), toolEnv...)
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("snmpbulkwalk: %w: %s", err, benchkit.FirstLine(errb.String()))
	}
	n := countVarbinds(out)
	if n == 0 {
		return 0, errors.New("snmpbulkwalk printed no varbind")
	}
	return n, nil
}

// waitWalk walks until a walk succeeds (the agent is up), p exits or limit
// passes; it returns that walk's varbind count.
func waitWalk(ctx context.Context, prefix []string, bin, addr string, p *benchkit.Child, limit time.Duration) (int, error) {
	deadline := time.Now().Add(limit)
	for {
		n, err := walk(ctx, prefix, bin, addr)
		if err == nil {
			return n, nil
		}
		if !p.Alive() {
			return 0, fmt.Errorf("it exited before answering (%v)", p.Err())
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return 0, fmt.Errorf("no complete walk after %v: %w", limit, err)
		}
		select {
		case <-ctx.Done():
		case <-p.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// runLoad runs o.walkers walkers in a loop for o.duration against addr;
// walks under way at the end finish and count. It measures the server's
// (pid) and the walkers' CPU time.
func runLoad(ctx context.Context, prefix []string, bin, addr string, pid int, o options) load {
	var l load
	var mu sync.Mutex
	cpu0, _ := benchkit.ProcCPU(pid)
	child0 := childrenCPU()
	start := time.Now()
	end := start.Add(o.duration)
	var wg sync.WaitGroup
	for range o.walkers {
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				n, err := walk(ctx, prefix, bin, addr)
				mu.Lock()
				if err != nil {
					l.errors++
					l.lastErr = err.Error()
				} else {
					l.walks++
					l.varbinds += n
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	l.elapsed = time.Since(start)
	if cpu1, err := benchkit.ProcCPU(pid); err == nil {
		l.serverCPU = cpu1 - cpu0
	}
	l.clientCPU = childrenCPU() - child0
	return l
}

// childrenCPU is the CPU time of this process and of its waited-for
// children: the benchmark and the walkers.
func childrenCPU() time.Duration {
	var sum time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			sum += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return sum
}

// spawn starts argv with env added, its output to logFile.
func spawn(logFile string, env, argv []string) (*benchkit.Child, error) {
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = slices.Concat(os.Environ(), toolEnv, env)
	cmd.Stdout, cmd.Stderr = f, f
	c, err := benchkit.StartChild(cmd, logFile)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(argv[0]), err)
	}
	return c, nil
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free udp port: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free tcp port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// pinning returns the command prefixes that put the walkers on one CPU and
// the agent on another, and says so.
func pinning() (client, server []string, how string) {
	taskset, err := exec.LookPath("taskset")
	if err != nil {
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
	return p.Client, p.Server, fmt.Sprintf("agent on CPU %d, walkers on CPU %d (taskset)", p.ServerCPU, p.ClientCPU)
}
