package main

// End-to-end tests: the real `lab` binary, started as a learner starts it,
// solved by the real clients a learner uses (dig, kdig, host, nslookup).
// Missing clients skip these tests unless LAB_REQUIRE_CLIENTS=1 (make test
// sets it in CI and as root, after installing them).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"protolab/internal/api"
	"protolab/internal/catalog"
	"protolab/internal/service"
	"protolab/labs"
)

var labBin string // built once by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lab-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	labBin = filepath.Join(dir, "lab")
	out, err := exec.Command("go", "build", "-o", labBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building lab: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needTool skips (or, when clients are required, fails) without the tool.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("LAB_REQUIRE_CLIENTS") == "1" {
			t.Fatalf("%s is required (LAB_REQUIRE_CLIENTS=1) but not installed: %v", name, err)
		}
		t.Skipf("%s not installed (make test installs it)", name)
	}
	return p
}

// labProc is a running `lab start`.
type labProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	state  string
	api    *api.Client
	eps    service.Endpoints
	dnsUDP string
	dnsTCP string
	out    *lockedBuffer
	exited chan error

	mu      sync.Mutex
	cond    *sync.Cond
	done    map[string]bool
	stopSSE context.CancelFunc
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startLab runs `lab start dns` on free ports with the state directory
// and waits for its header, which is printed once every server listens.
func startLab(t *testing.T, state string, extra ...string) *labProc {
	t.Helper()
	return startLabID(t, "dns", state, extra...)
}

// startLabID runs `lab start ID` like startLab.
func startLabID(t *testing.T, id, state string, extra ...string) *labProc {
	t.Helper()
	return startLabArgs(t, state, append([]string{"start", id, "--ports", "auto"}, extra...)...)
}

// startLabArgs runs `lab ARGS --web 127.0.0.1:0 --state STATE --lang en`.
func startLabArgs(t *testing.T, state string, args ...string) *labProc {
	t.Helper()
	args = append(args, "--web", "127.0.0.1:0", "--state", state, "--lang", "en")
	cmd := exec.Command(labBin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &labProc{t: t, cmd: cmd, state: state, out: &lockedBuffer{}, exited: make(chan error, 1), done: map[string]bool{}}
	p.cond = sync.NewCond(&p.mu)
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(p.stop)

	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			p.out.Write([]byte(sc.Text() + "\n"))
			if !signalled && strings.HasPrefix(sc.Text(), "Web console:") {
				signalled = true
				close(ready)
			}
		}
		if !signalled {
			close(ready)
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("lab start printed no header in time; output:\n%s", p.out.String())
	}
	st := p.status()
	if !st.Running {
		t.Fatalf("lab not running after start; output:\n%s", p.out.String())
	}
	p.api = &api.Client{Base: st.Web}
	p.eps = st.Endpoints
	for _, e := range st.Endpoints {
		if e.Listener == "dns" && e.Network == "udp" {
			p.dnsUDP = e.Addr
		}
		if e.Listener == "dns" && e.Network == "tcp" {
			p.dnsTCP = e.Addr
		}
	}
	if st.Lab == "dns" && (p.dnsUDP == "" || p.dnsUDP != p.dnsTCP) {
		t.Fatalf("want DNS on one port over UDP and TCP, got endpoints %+v", st.Endpoints)
	}
	for _, tk := range st.Tasks {
		p.done[tk.ID] = tk.Done
	}
	p.followTicks()
	return p
}

// followTicks reads the console's event stream and records task changes.
func (p *labProc) followTicks() {
	ctx, cancel := context.WithCancel(context.Background())
	p.stopSSE = cancel
	started := make(chan struct{})
	go func() {
		once := sync.Once{}
		p.api.Events(ctx, func(kind string, data json.RawMessage) error {
			switch kind {
			case "status":
				var st api.Status
				if json.Unmarshal(data, &st) == nil {
					p.mu.Lock()
					for _, tk := range st.Tasks {
						p.done[tk.ID] = tk.Done
					}
					p.mu.Unlock()
				}
				once.Do(func() { close(started) })
			case "task":
				var c api.Change
				if json.Unmarshal(data, &c) == nil {
					p.mu.Lock()
					p.done[c.Task.ID] = c.Task.Done
					p.cond.Broadcast()
					p.mu.Unlock()
				}
			}
			return nil
		})
		once.Do(func() { close(started) })
	}()
	<-started
}

// waitDone waits until the task is reported done on the event stream.
func (p *labProc) waitDone(id string) {
	p.t.Helper()
	timer := time.AfterFunc(10*time.Second, func() { p.mu.Lock(); p.cond.Broadcast(); p.mu.Unlock() })
	defer timer.Stop()
	deadline := time.Now().Add(10 * time.Second)
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.done[id] {
		if time.Now().After(deadline) {
			p.t.Fatalf("task %s did not tick; done: %v", id, p.done)
		}
		p.cond.Wait()
	}
}

func (p *labProc) doneSet() map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]bool{}
	for k, v := range p.done {
		if v {
			out[k] = true
		}
	}
	return out
}

func (p *labProc) status() api.Status {
	p.t.Helper()
	out, err := exec.Command(labBin, "status", "--json", "--state", p.state).Output()
	if err != nil {
		p.t.Fatalf("lab status --json: %v\n%s", err, stderrOf(err))
	}
	var st api.Status
	if err := json.Unmarshal(out, &st); err != nil {
		p.t.Fatalf("lab status --json printed %q: %v", out, err)
	}
	return st
}

func (p *labProc) stop() {
	if p.stopSSE != nil {
		p.stopSSE()
	}
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// addr is the host and port of a listener over TCP.
func (p *labProc) addr(listener string) (string, string) {
	p.t.Helper()
	a, ok := p.eps.Find(listener, "tcp")
	if !ok {
		p.t.Fatalf("no tcp endpoint %q in %+v", listener, p.eps)
	}
	h, port, _ := net.SplitHostPort(a)
	return h, port
}

func (p *labProc) host() string { h, _, _ := net.SplitHostPort(p.dnsUDP); return h }
func (p *labProc) port() string { _, port, _ := net.SplitHostPort(p.dnsUDP); return port }

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// digTasks are the DNS lab's tasks solved with a dig-like client, with what
// the answer must show.
var digTasks = []struct {
	task string
	args []string
	want string // regular expression over the output
}{
	{"resolve-a", []string{"www.lab.test", "A"}, `www\.lab\.test\.\s+\d+\s+IN\s+A\s+192\.0\.2\.80`},
	{"resolve-aaaa", []string{"www.lab.test", "AAAA"}, `IN\s+AAAA\s+2001:db8:89::80`},
	{"mx", []string{"lab.test", "MX"}, `IN\s+MX\s+10 mail\.lab\.test\.`},
	{"cname", []string{"webmail.lab.test", "A"}, `(?s)webmail\.lab\.test\.\s+\d+\s+IN\s+CNAME\s+www\.lab\.test\..*IN\s+A\s+192\.0\.2\.80`},
	{"reverse", []string{"-x", "192.0.2.80"}, `IN\s+PTR\s+www\.lab\.test\.`},
	{"tcp", []string{"+tcp", "mail.lab.test", "A"}, `IN\s+A\s+192\.0\.2\.25`},
	{"nxdomain", []string{"nosuchhost.lab.test", "A"}, `NXDOMAIN`},
	{"txt-secret", []string{"secret.lab.test", "TXT"}, `"flag={var.secret}"`}, // the local learner's own
	{"axfr", []string{"lab.test", "AXFR"}, `(?s)lab\.test\.\s+\d+\s+IN\s+SOA.*www\.lab\.test\..*lab\.test\.\s+\d+\s+IN\s+SOA`},
}

// labValue is a learner's value of a built-in lab's variable ("" : the
// local learner, as a lab started by the test draws it from the same
// environment).
func labValue(t *testing.T, lab, learner, name string) string {
	t.Helper()
	l, err := labs.LoadIDFor(lab, learner, catalog.New())
	if err != nil {
		t.Fatal(err)
	}
	v, ok := l.Values[name]
	if !ok {
		t.Fatalf("lab %s has no variable %s", lab, name)
	}
	return v
}

func solveWith(t *testing.T, p *labProc, tool string) {
	bin := needTool(t, tool)
	for _, dt := range digTasks {
		args := append([]string{"@" + p.host(), "-p", p.port()}, dt.args...)
		out := runTool(t, bin, args...)
		want := strings.ReplaceAll(dt.want, "{var.secret}", regexp.QuoteMeta(labValue(t, "dns", "", "secret")))
		if !regexp.MustCompile(want).MatchString(out) {
			t.Fatalf("%s %s: output does not match %q:\n%s", tool, strings.Join(args, " "), dt.want, out)
		}
		p.waitDone(dt.task)
	}
	st := p.status()
	for _, tk := range st.Tasks {
		if !tk.Done || tk.DoneAt == nil {
			t.Errorf("after solving with %s: task %s done=%v done_at=%v", tool, tk.ID, tk.Done, tk.DoneAt)
		}
	}
	if st.Done != len(digTasks) || st.Total != len(digTasks) {
		t.Errorf("status says %d/%d done, want %d/%d", st.Done, st.Total, len(digTasks), len(digTasks))
	}
}

func TestDNSLabWithRealClients(t *testing.T) {
	needTool(t, "dig")
	state := t.TempDir()
	p := startLab(t, state)
	dig := needTool(t, "dig")
	args := func(a ...string) []string { return append([]string{"@" + p.host(), "-p", p.port()}, a...) }

	// Near misses tick nothing they are near to. ww.lab.test is a name that
	// does not exist, so it is (rightly) the nxdomain task and nothing else;
	// the MX of a host (NODATA) ticks nothing at all.
	out := runTool(t, dig, args("ww.lab.test", "A")...)
	if !strings.Contains(out, "NXDOMAIN") {
		t.Fatalf("ww.lab.test: want NXDOMAIN, got\n%s", out)
	}
	p.waitDone("nxdomain")
	out = runTool(t, dig, args("www.lab.test", "MX")...)
	if !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, "ANSWER: 0") {
		t.Fatalf("www.lab.test MX: want NODATA, got\n%s", out)
	}
	// Events are checked in order: once this marker ticks, the near misses
	// before it have been seen by the checker.
	runTool(t, dig, args("+tcp", "lab.test", "SOA")...)
	p.waitDone("tcp")
	if got, want := p.doneSet(), map[string]bool{"nxdomain": true, "tcp": true}; !equalSets(got, want) {
		t.Fatalf("after the near misses and the marker, done = %v, want %v", got, want)
	}

	t.Run("dig", func(t *testing.T) { solveWith(t, p, "dig") })

	t.Run("host and nslookup", func(t *testing.T) {
		out := runTool(t, needTool(t, "host"), "-p", p.port(), "www.lab.test", p.host())
		if !strings.Contains(out, "192.0.2.80") {
			t.Errorf("host: %s", out)
		}
		out = runTool(t, needTool(t, "nslookup"), "-port="+p.port(), "www.lab.test", p.host())
		if !strings.Contains(out, "192.0.2.80") {
			t.Errorf("nslookup: %s", out)
		}
	})

	t.Run("reset then kdig", func(t *testing.T) {
		out := runTool(t, labBin, "reset", "--state", state)
		if !strings.Contains(out, "cleared") {
			t.Fatalf("lab reset: %s", out)
		}
		if st := p.status(); st.Done != 0 {
			t.Fatalf("after reset %d tasks are done", st.Done)
		}
		p.mu.Lock()
		for k := range p.done {
			p.done[k] = false
		}
		p.mu.Unlock()
		solveWith(t, p, "kdig")
	})

	t.Run("kill -9 keeps progress", func(t *testing.T) {
		before := p.status()
		p.stopSSE()
		if err := p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-p.exited
		p2 := startLab(t, state)
		after := p2.status()
		if after.Done != before.Done || after.Done != len(digTasks) {
			t.Fatalf("after kill -9 and restart: %d done, before %d", after.Done, before.Done)
		}
		for i, tk := range after.Tasks {
			if !tk.Done || !tk.DoneAt.Equal(*before.Tasks[i].DoneAt) {
				t.Errorf("task %s: done=%v at %v, before at %v", tk.ID, tk.Done, tk.DoneAt, before.Tasks[i].DoneAt)
			}
		}
	})
}

func equalSets(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}
