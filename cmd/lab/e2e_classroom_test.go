package main

// The Docker Compose classroom (docker/compose.yaml) rebuilt with network
// namespaces, as Compose would make it, for where no Docker engine runs:
// a "host" namespace holds the lab network's bridge with the gateway's
// address, and the lab server and each learner have a namespace of their
// own, with the compose file's address and MAC address on an eth0 whose
// other end is on the bridge. The real lab serves there with the compose
// file's own command line, and three learners work with the real clients
// (dig, nc, swaks, snmpget, curl, udhcpc, dhclient). The test needs root;
// without it, it is skipped unless LAB_REQUIRE_CLIENTS=1.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"go.yaml.in/yaml/v3"

	"protolab/internal/api"
	"protolab/internal/console"
	"protolab/internal/event"
)

// classroomRuns numbers the classrooms a test process builds, so that
// every run (go test -count=N) has namespaces of its own.
var classroomRuns atomic.Int64

// composeClass is what the classroom's topology takes from a compose file.
type composeClass struct {
	Services map[string]struct {
		Command  []string
		MAC      string `yaml:"mac_address"` // the service's, or its network's
		Networks map[string]struct {
			IPv4 string `yaml:"ipv4_address"`
			MAC  string `yaml:"mac_address"`
		}
	}
	Networks map[string]struct {
		Driver string
		IPAM   struct {
			Config []struct{ Subnet, Gateway string }
		}
	}
}

// classroom is the compose classroom built with network namespaces.
type classroom struct {
	t       *testing.T
	host    string            // the namespace holding the bridge (the gateway's address)
	ns      map[string]string // compose service -> its namespace
	addr    map[string]string // compose service -> its IPv4 address
	mac     map[string]string // compose service -> its MAC address
	bits    string            // the lab network's prefix length: "/24"
	web     string            // the server's web address, seen from the lab network
	token   string            // the instructor's token
	out     *lockedBuffer     // lab serve's output
	clients map[string]*http.Client
}

// needRoot skips a test that builds network namespaces when not root,
// unless every test is required.
func needRoot(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("network namespaces need Linux")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("LAB_REQUIRE_CLIENTS") == "1" {
			t.Fatal("the classroom's network namespaces need root (LAB_REQUIRE_CLIENTS=1)")
		}
		t.Skip("the classroom's network namespaces need root")
	}
}

// ipRun runs ip with args; it must succeed within 10 s.
func ipRun(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newClassroom builds the lab network of docker/compose.yaml: the bridge in
// a host namespace, one namespace per service. Everything is removed when
// the test ends.
//
// guests are learners the compose file does not have, by id and MAC: the
// roster knows them by MAC only and their eth0 has no address, as for a
// machine the class network's DHCP server configures.
func newClassroom(t *testing.T, guests map[string]string) *classroom {
	t.Helper()
	needRoot(t)
	needTool(t, "ip")
	src, err := os.ReadFile(filepath.Join(repoRoot, "docker", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc composeClass
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatalf("docker/compose.yaml: %v", err)
	}
	lab := doc.Networks["lab"]
	if lab.Driver != "bridge" || len(lab.IPAM.Config) != 1 {
		t.Fatalf("docker/compose.yaml: network lab is %+v, want one bridge", lab)
	}
	subnet, err := netip.ParsePrefix(lab.IPAM.Config[0].Subnet)
	if err != nil {
		t.Fatalf("docker/compose.yaml: subnet: %v", err)
	}

	prefix := fmt.Sprintf("labclass-%d-%d-", os.Getpid(), classroomRuns.Add(1))
	c := &classroom{t: t, host: prefix + "host", ns: map[string]string{}, addr: map[string]string{}, mac: map[string]string{},
		clients: map[string]*http.Client{}, bits: fmt.Sprintf("/%d", subnet.Bits())}
	bits := c.bits
	services := slices.Sorted(maps.Keys(doc.Services))
	for _, s := range services {
		n := doc.Services[s].Networks["lab"]
		if n.MAC == "" {
			n.MAC = doc.Services[s].MAC
		}
		if n.IPv4 == "" || n.MAC == "" {
			t.Fatalf("docker/compose.yaml: service %s has no fixed address and MAC on the lab network", s)
		}
		c.ns[s], c.addr[s], c.mac[s] = prefix+s, n.IPv4, n.MAC
	}
	// Removed last, after every process in them has been stopped
	// (t.Cleanup runs in reverse order); the veth pairs go with them.
	t.Cleanup(func() {
		for _, ns := range append([]string{c.host}, slices.Collect(maps.Values(c.ns))...) {
			if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
				if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
					t.Errorf("ip netns del %s: %v %s", ns, err, out)
				}
			}
		}
		for _, cl := range c.clients {
			cl.CloseIdleConnections()
		}
	})
	ipRun(t, "netns", "add", c.host)
	ipRun(t, "-n", c.host, "link", "set", "lo", "up")
	ipRun(t, "-n", c.host, "link", "add", "br0", "type", "bridge")
	ipRun(t, "-n", c.host, "addr", "add", lab.IPAM.Config[0].Gateway+bits, "dev", "br0")
	ipRun(t, "-n", c.host, "link", "set", "br0", "up")
	for i, s := range services {
		ns, port := c.ns[s], fmt.Sprintf("veth%d", i)
		ipRun(t, "netns", "add", ns)
		ipRun(t, "-n", ns, "link", "set", "lo", "up")
		ipRun(t, "-n", c.host, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
		ipRun(t, "-n", c.host, "link", "set", port, "master", "br0", "up")
		ipRun(t, "-n", ns, "link", "set", "eth0", "address", c.mac[s])
		ipRun(t, "-n", ns, "addr", "add", c.addr[s]+bits, "dev", "eth0")
		ipRun(t, "-n", ns, "link", "set", "eth0", "up")
	}
	for i, g := range slices.Sorted(maps.Keys(guests)) {
		ns, port := prefix+g, fmt.Sprintf("vguest%d", i)
		c.ns[g], c.mac[g] = ns, guests[g]
		ipRun(t, "netns", "add", ns)
		ipRun(t, "-n", ns, "link", "set", "lo", "up")
		ipRun(t, "-n", c.host, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
		ipRun(t, "-n", c.host, "link", "set", port, "master", "br0", "up")
		ipRun(t, "-n", ns, "link", "set", "eth0", "address", guests[g])
		ipRun(t, "-n", ns, "link", "set", "eth0", "up")
	}

	// The lab server, with the compose file's command: its roster is
	// docker/roster.yaml, its state a directory of the test's.
	cmd := doc.Services["lab"].Command
	dir := t.TempDir()
	roster, err := os.ReadFile(filepath.Join(repoRoot, "docker", "roster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range slices.Sorted(maps.Keys(guests)) {
		roster = fmt.Appendf(roster, "  - id: %s\n    mac: \"%s\"\n", g, guests[g])
	}
	rosterPath := filepath.Join(dir, "roster.yaml")
	if err := os.WriteFile(rosterPath, roster, 0o600); err != nil {
		t.Fatal(err)
	}
	args := slices.Clone(cmd)
	i := slices.Index(args, "--roster")
	j := slices.Index(args, "--web")
	if len(args) == 0 || args[0] != "serve" || i < 0 || i+1 >= len(args) || j < 0 || j+1 >= len(args) {
		t.Fatalf("docker/compose.yaml: the lab server's command %q is not lab serve --roster FILE --web ADDR", cmd)
	}
	args[i+1] = rosterPath
	_, webPort, err := net.SplitHostPort(args[j+1])
	if err != nil {
		t.Fatalf("docker/compose.yaml: --web %q: %v", args[j+1], err)
	}
	c.web = "http://" + net.JoinHostPort(c.addr["lab"], webPort)
	c.serve(append(args, "--state", filepath.Join(dir, "state"), "--lang", "en"))
	return c
}

// serve runs lab with args in the server's namespace and waits for the
// instructor's token.
func (c *classroom) serve(args []string) {
	t := c.t
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", c.ns["lab"], labBin}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.out = &lockedBuffer{}
	cmd.Stderr = c.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // ip netns exec is lab itself
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.out.Write([]byte(sc.Text() + "\n"))
			if _, tok, ok := strings.Cut(sc.Text(), "/instructor?token="); ok && strings.HasPrefix(sc.Text(), "Instructor dashboard: ") {
				ready <- tok
			}
		}
		close(ready)
	}()
	select {
	case tok, ok := <-ready:
		if !ok || len(tok) != 32 {
			t.Fatalf("lab serve printed no dashboard token; output:\n%s", c.out.String())
		}
		c.token = tok
	case <-time.After(20 * time.Second):
		t.Fatalf("lab serve did not start in time; output:\n%s", c.out.String())
	}
}

// dialIn dials addr from network namespace ns: the socket is made by a
// thread switched into the namespace for that moment, and stays there.
func dialIn(ctx context.Context, ns, network, addr string) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		conn, back, err := func() (net.Conn, bool, error) {
			orig, err := netns.Get()
			if err != nil {
				return nil, true, err
			}
			defer orig.Close()
			target, err := netns.GetFromName(ns)
			if err != nil {
				return nil, true, fmt.Errorf("namespace %s: %w", ns, err)
			}
			defer target.Close()
			if err := netns.Set(target); err != nil {
				return nil, true, fmt.Errorf("entering namespace %s: %w", ns, err)
			}
			// A literal address: the socket is made on this goroutine.
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			return conn, netns.Set(orig) == nil, err
		}()
		if back {
			runtime.UnlockOSThread()
		} // else the thread, stuck in ns, ends with this goroutine
		ch <- result{conn, err}
	}()
	r := <-ch
	return r.conn, r.err
}

// get GETs the server's path from the namespace of a compose service ("" is
// the host's), with the token if given, into v; it returns the status.
func (c *classroom) get(from, path, token string, v any) int {
	c.t.Helper()
	ns := c.host
	if from != "" {
		ns = c.ns[from]
	}
	cl := c.clients[ns]
	if cl == nil {
		cl = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return dialIn(ctx, ns, network, addr)
			}}}
		c.clients[ns] = cl
	}
	req, _ := http.NewRequest("GET", c.web+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := cl.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s from %s: %v\nlab serve:\n%s", path, ns, err, c.out.String())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			c.t.Fatalf("GET %s: %v: %s", path, err, b)
		}
	}
	return resp.StatusCode
}

// grid is the dashboard's grid, fetched from the host through the bridge.
func (c *classroom) grid() api.Class {
	c.t.Helper()
	var cl api.Class
	if code := c.get("", "/api/class", c.token, &cl); code != http.StatusOK {
		c.t.Fatalf("GET /api/class with the token: %d", code)
	}
	return cl
}

// doneOn is the set of tasks the grid shows done for each learner.
func doneOn(cl api.Class) map[string][]string {
	out := map[string][]string{}
	for _, l := range cl.Learners {
		out[l.ID] = []string{}
		for _, cell := range l.Cells {
			if cell.Done {
				out[l.ID] = append(out[l.ID], cell.Task)
			}
		}
		slices.Sort(out[l.ID])
	}
	return out
}

// waitGrid waits until each learner has done exactly the tasks of want,
// no more, no fewer.
func (c *classroom) waitGrid(what string, want map[string][]string) api.Class {
	c.t.Helper()
	norm := map[string][]string{}
	for id, tasks := range want {
		norm[id] = slices.Sorted(slices.Values(tasks))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		cl := c.grid()
		got := doneOn(cl)
		if maps.EqualFunc(got, norm, slices.Equal) {
			return cl
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: the grid shows %v, want %v\nlab serve:\n%s", what, got, norm, c.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// timeline waits until a learner's timeline on the dashboard has an event
// ok accepts, and returns the timeline.
func (c *classroom) timeline(learner, what string, ok func(event.Event) bool) []event.Event {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var tl console.Timeline
		if code := c.get("", "/api/class/learner?limit=1000&id="+learner, c.token, &tl); code != http.StatusOK {
			c.t.Fatalf("GET /api/class/learner?id=%s: %d", learner, code)
		}
		if slices.ContainsFunc(tl.Events, ok) {
			return tl.Events
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not in %s's timeline: %+v", what, learner, tl.Events)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run runs a client in a learner's namespace; it must succeed within 30 s
// and print want.
func (c *classroom) run(learner, want, stdin, name string, args ...string) string {
	c.t.Helper()
	return mustTool(c.t, want, stdin, "ip", append([]string{"netns", "exec", c.ns[learner], needTool(c.t, name)}, args...)...)
}

// bgProc is a client left running in a namespace.
type bgProc struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan error
}

// start starts a client in a learner's namespace, in a process group of its
// own (killed, with whatever it started, when the test ends).
func (c *classroom) start(learner, name string, args ...string) *bgProc {
	c.t.Helper()
	p := &bgProc{out: &lockedBuffer{}, exited: make(chan error, 1)}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", c.ns[learner], needTool(c.t, name)}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	c.t.Cleanup(func() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	})
	return p
}

// wait waits up to 15 s for the client to end, and fails the test unless
// it exits 0.
func (p *bgProc) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.exited:
		p.exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(p.cmd.Args, " "), err, p.out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: still running after 15 s\n%s", strings.Join(p.cmd.Args, " "), p.out.String())
	}
}

// waitFile waits up to 15 s for a line matching re in a file.
func waitFile(t *testing.T, file, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(file)
		if m := rx.FindString(string(b)); m != "" {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line matching %s in %s:\n%s", re, file, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClassroomNetns runs the compose classroom's class: three learners on
// the bridge, each with their own address, work with real clients; the
// dashboard attributes each tick to the learner who did it and to nobody
// else, each learner's console shows their own progress, and one learner's
// DHCP lease and release do not disturb another's.
func TestClassroomNetns(t *testing.T) {
	for _, tool := range []string{"dig", "nc", "swaks", "snmpget", "curl", "udhcpc", "dhclient"} {
		needTool(t, tool)
	}
	const l1, l2, l3, g4 = "learner-01", "learner-02", "learner-03", "guest-04"
	c := newClassroom(t, map[string]string{g4: "02:00:00:00:02:04"})
	server := c.addr["lab"]

	// The grid: the roster's learners by the course's tasks, nothing done.
	want := map[string][]string{l1: {}, l2: {}, l3: {}, g4: {}}
	cl := c.waitGrid("at start", want)
	if cl.Lab != "course" || len(cl.Tasks) != len(courseTaskIDs) {
		t.Fatalf("the grid is lab %q with %d tasks, want course with %d", cl.Lab, len(cl.Tasks), len(courseTaskIDs))
	}
	for _, l := range cl.Learners {
		if l.Address != c.addr[l.ID] {
			t.Errorf("learner %s: address %q on the grid, want the compose file's %s", l.ID, l.Address, c.addr[l.ID])
		}
	}
	// A learner cannot see the dashboard.
	if code := c.get(l1, "/api/class", "", nil); code != http.StatusUnauthorized {
		t.Errorf("GET /api/class from %s without the token: %d, want 401", l1, code)
	}

	// learner-01: DNS and the echo server.
	if got := strings.TrimSpace(c.run(l1, "", "", "dig", "@"+server, "+short", "+time=2", "+tries=2", "www.lab.test", "A")); got != "192.0.2.80" {
		t.Fatalf("dig www.lab.test from %s: %q", l1, got)
	}
	want[l1] = append(want[l1], "resolve-a")
	c.waitGrid("learner-01's dig", want)
	c.run(l1, "hello from learner-01", "hello from learner-01\n", "nc", "-N", "-w", "5", server, "7")
	want[l1] = append(want[l1], "tcp-echo")
	c.waitGrid("learner-01's nc", want)

	// learner-02: mail and SNMP.
	c.run(l2, "250", "", "swaks", "--server", server+":25", "--timeout", "10", "--from", "alice@lab.test", "--to", "bob@lab.test",
		"--header", "Subject: from learner-02")
	want[l2] = append(want[l2], "smtp-send")
	c.waitGrid("learner-02's swaks", want)
	c.run(l2, `.1.3.6.1.2.1.1.5.0 = STRING: "rtr1.lab.test"`, "", "env", "MIBS=", "MIBDIRS=/nonexistent",
		"snmpget", "-v2c", "-c", "public", "-On", "-t", "2", "-r", "1", server, "1.3.6.1.2.1.1.5.0")
	want[l2] = append(want[l2], "snmp-get")
	c.waitGrid("learner-02's snmpget", want)

	// learner-03: a SOAP call.
	envelope := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
		`<LookupHost xmlns="urn:lab.test:directory"><name>www.lab.test</name></LookupHost></soap:Body></soap:Envelope>`
	c.run(l3, "192.0.2.80", "", "curl", "-sS", "-m", "10", "http://"+server+"/directory",
		"-H", "Content-Type: text/xml; charset=utf-8", "-H", `SOAPAction: "urn:lab.test:directory/LookupHost"`, "--data-binary", envelope)
	want[l3] = append(want[l3], "soap-call")
	c.waitGrid("learner-03's curl", want)

	// DHCP: udhcpc in learner-01 and learner-02 at the same time. Their
	// scripts record the lease and leave eth0 alone, as the learner
	// image's does; learner-01's udhcpc stays, to renew later.
	work := t.TempDir()
	hook := func(learner, text string) (script, log string) {
		script, log = filepath.Join(work, learner+".script"), filepath.Join(work, learner+".log")
		writeHook(t, script, log, text)
		return script, log
	}
	const udhcpcScript = "#!/bin/sh\necho \"$1 ip=${ip:-} mask=${mask:-} serverid=${serverid:-}\" >> \"$HOOKLOG\"\nexit 0\n"
	s1, log1 := hook(l1, udhcpcScript)
	s2, log2 := hook(l2, udhcpcScript)
	u1 := c.start(l1, "udhcpc", "-i", "eth0", "-f", "-n", "-t", "5", "-T", "1", "-s", s1)
	u2 := c.start(l2, "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "5", "-T", "1", "-s", s2)
	u2.wait(t)
	waitFile(t, log2, `(?m)^bound ip=`+regexp.QuoteMeta(c.addr[l2])+` mask=(24|255\.255\.255\.0) serverid=`+regexp.QuoteMeta(server)+`$`)
	waitFile(t, log1, `(?m)^bound ip=`+regexp.QuoteMeta(c.addr[l1])+` mask=(24|255\.255\.255\.0) serverid=`+regexp.QuoteMeta(server)+`$`)
	want[l1] = append(want[l1], "dhcp-lease")
	want[l2] = append(want[l2], "dhcp-lease")
	c.waitGrid("learner-01's and learner-02's udhcpc", want)

	// learner-03: dhclient gets its own address, then gives it back.
	s3, log3 := hook(l3, "#!/bin/sh\necho \"$reason ip=${new_ip_address:-} old=${old_ip_address:-}\" >> \"$HOOKLOG\"\nexit 0\n")
	conf := filepath.Join(work, "dhclient.conf")
	if err := os.WriteFile(conf, []byte("timeout 10;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(work, "dhclient.pid")
	dhclient := []string{"-4", "-cf", conf, "-sf", s3, "-lf", filepath.Join(work, "dhclient.leases"), "-pf", pidFile}
	t.Cleanup(func() { // dhclient -1 stays in the background once bound
		if b, err := os.ReadFile(pidFile); err == nil {
			var pid int
			if fmt.Sscan(string(b), &pid); pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	c.start(l3, "dhclient", append(slices.Clone(dhclient), "-1", "eth0")...).wait(t)
	waitFile(t, log3, `(?m)^BOUND ip=`+regexp.QuoteMeta(c.addr[l3])+` `)
	want[l3] = append(want[l3], "dhcp-lease")
	c.waitGrid("learner-03's dhclient", want)
	c.start(l3, "dhclient", append(slices.Clone(dhclient), "-r", "eth0")...).wait(t)
	waitFile(t, log3, `(?m)^RELEASE `)
	c.timeline(l3, "learner-03's DHCPRELEASE", func(e event.Event) bool {
		return e.Kind == "dhcp.release" && e.Attrs["ip"] == c.addr[l3]
	})

	// learner-01 renews (unicast, from its address): its own address is
	// acknowledged, the release notwithstanding.
	if err := u1.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitFile(t, log1, `(?m)^renew ip=`+regexp.QuoteMeta(c.addr[l1])+` `)
	c.timeline(l1, "learner-01's renewal", func(e event.Event) bool {
		return e.Kind == "dhcp.ack" && e.Attrs["state"] == "renewing" && e.Attrs["ip"] == c.addr[l1]
	})
	cl = c.waitGrid("after learner-03's release and learner-01's renewal", want)

	// guest-04, known by its MAC only, configures eth0 with the address the
	// lab's DHCP server gives it; what it does from that address is its
	// own, and the DNS server gives it its own flag.
	s4, log4 := hook(g4, `#!/bin/sh
case "$1" in
  bound|renew) ip -4 addr flush dev "$interface"; ip addr add "$ip/${mask:-24}" dev "$interface";;
esac
echo "$1 ip=${ip:-}" >> "$HOOKLOG"
exit 0
`)
	c.start(g4, "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "5", "-T", "1", "-s", s4).wait(t)
	leased := strings.TrimPrefix(waitFile(t, log4, `(?m)^bound ip=\S+`), "bound ip=")
	c.run(g4, "192.0.2.80", "", "dig", "+time=5", "+tries=1", "@"+server, "www.lab.test", "A")
	flag := `"flag=` + labValue(t, "dns", g4, "secret") + `"`
	c.run(g4, flag, "", "dig", "+time=5", "+tries=1", "+short", "@"+server, "secret.lab.test", "TXT")
	want[g4] = append(want[g4], "dhcp-lease", "resolve-a")
	cl = c.waitGrid("guest-04's lease and query from it", want)
	c.timeline(g4, "guest-04's query from its leased address", func(e event.Event) bool {
		return e.Kind == "dns.query" && strings.HasPrefix(e.Client, leased+":")
	})
	if cl.Unknown != 0 {
		t.Errorf("%d events were attributed to no learner", cl.Unknown)
	}

	// Each learner's DHCP messages are on their timeline only, and each
	// learner's eth0 kept its fixed address.
	for _, l := range []string{l1, l2, l3} {
		evs := c.timeline(l, l+"'s DHCP exchange", func(e event.Event) bool { return e.Kind == "dhcp.ack" })
		for _, e := range evs {
			if e.Learner != l {
				t.Errorf("%s's timeline has an event of %q: %+v", l, e.Learner, e)
			}
			if e.Service == "dhcp" && e.Attrs["mac"] != c.mac[l] {
				t.Errorf("%s's timeline has a DHCP message from MAC %s: %+v", l, e.Attrs["mac"], e)
			}
			if e.Kind == "dhcp.ack" && e.Attrs["ip"] != c.addr[l] {
				t.Errorf("%s was acknowledged %s, not its own %s: %+v", l, e.Attrs["ip"], c.addr[l], e)
			}
			if e.Kind == "dhcp.release" && l != l3 {
				t.Errorf("%s's timeline has a release: %+v", l, e)
			}
		}
		out := mustTool(t, "", "", "ip", "-n", c.ns[l], "-4", "-o", "addr", "show", "dev", "eth0")
		if got := regexp.MustCompile(`inet (\S+)`).FindAllStringSubmatch(out, -1); len(got) != 1 || got[0][1] != c.addr[l]+c.bits {
			t.Errorf("%s's eth0 after DHCP: %s, want only %s%s", l, strings.TrimSpace(out), c.addr[l], c.bits)
		}
	}

	// Each learner's own console, asked from their own namespace, shows
	// their progress and their account, nobody else's.
	for _, l := range []string{l2, l1} {
		var st api.Status
		if code := c.get(l, "/api/status", "", &st); code != http.StatusOK {
			t.Fatalf("GET /api/status from %s: %d", l, code)
		}
		var done []string
		for _, tk := range st.Tasks {
			if tk.Done {
				done = append(done, tk.ID)
			}
		}
		slices.Sort(done)
		if w := slices.Sorted(slices.Values(want[l])); !slices.Equal(done, w) || st.Done != len(w) {
			t.Errorf("%s's console shows %v done (%d), want %v", l, done, st.Done, w)
		}
		if st.Account == nil || st.Account.User != l {
			t.Errorf("%s's console shows the account %+v, want %s's", l, st.Account, l)
		}
	}
}
