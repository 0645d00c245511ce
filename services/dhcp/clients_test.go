//go:build linux

package dhcp

// Real clients on a real link: the test makes two network namespaces joined
// by a veth pair, runs the server in one (bound to its end, as in the lab
// network) and busybox udhcpc, ISC dhclient, dhcpcd and the lab's own raw
// client in the other. They need root; without it they are skipped, unless
// LAB_REQUIRE_CLIENTS=1.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"protolab/internal/event"
	"protolab/internal/eventtest"
	"protolab/internal/service"
)

// needRoot skips (or fails, when clients are required) without root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("LAB_REQUIRE_CLIENTS") == "1" {
			t.Fatal("real-client DHCP tests need root (LAB_REQUIRE_CLIENTS=1)")
		}
		t.Skip("real-client DHCP tests need root: they create network namespaces")
	}
}

// needTool finds a client, skipping (or failing) when it is missing.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, d := range []string{"/usr/sbin/", "/sbin/"} {
			if _, serr := os.Stat(d + name); serr == nil {
				return d + name
			}
		}
		if os.Getenv("LAB_REQUIRE_CLIENTS") == "1" {
			t.Fatalf("%s is required (LAB_REQUIRE_CLIENTS=1) but not installed", name)
		}
		t.Skipf("%s not installed (make test installs it)", name)
	}
	return p
}

var linkSeq atomic.Int32

// testLink is a veth pair between two namespaces made for one test.
type testLink struct {
	srvNS, cliNS string
	srvIf, cliIf string
}

// newLink makes the namespaces and the link; the client's end is named
// cliIf (a fresh name when empty). Everything is removed at cleanup.
func newLink(t *testing.T, cliIf string) *testLink {
	t.Helper()
	needRoot(t)
	ipBin := needTool(t, "ip")
	id := fmt.Sprintf("%d%d", os.Getpid()%100000, linkSeq.Add(1))
	l := &testLink{srvNS: "pldhs" + id, cliNS: "pldhc" + id, srvIf: "dhs" + id, cliIf: cliIf}
	tmp := "dhc" + id
	if l.cliIf == "" {
		l.cliIf = tmp
	}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ipBin, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, ns := range []string{l.srvNS, l.cliNS} {
		ip("netns", "add", ns)
		t.Cleanup(func() { exec.Command(ipBin, "netns", "delete", ns).Run() })
	}
	ip("link", "add", l.srvIf, "type", "veth", "peer", "name", tmp)
	ip("link", "set", l.srvIf, "netns", l.srvNS)
	ip("link", "set", tmp, "netns", l.cliNS)
	if tmp != l.cliIf {
		ip("-n", l.cliNS, "link", "set", tmp, "name", l.cliIf)
	}
	ip("-n", l.cliNS, "link", "set", l.cliIf, "address", "02:00:00:00:00:10")
	ip("-n", l.srvNS, "addr", "add", "192.0.2.1/24", "dev", l.srvIf)
	for _, a := range [][]string{{l.srvNS, l.srvIf}, {l.srvNS, "lo"}, {l.cliNS, l.cliIf}, {l.cliNS, "lo"}} {
		ip("-n", a[0], "link", "set", a[1], "up")
	}
	return l
}

// inNS runs f on a thread in the named namespace: sockets f opens live
// there.
func inNS(name string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := netns.GetFromName(name)
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			errc <- err
			return
		}
		ferr := f()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread() // else the thread ends with the goroutine
		}
		errc <- ferr
	}()
	return <-errc
}

// nsNet opens the server's sockets in a namespace, as the lab network's
// does.
type nsNet struct{ name string }

func (n nsNet) Listen(context.Context, string, string) (net.Listener, error) {
	return nil, errors.New("no stream sockets here")
}

func (n nsNet) ListenPacket(ctx context.Context, network, addr string, o service.PacketOptions) (pc net.PacketConn, err error) {
	nerr := inNS(n.name, func() error {
		pc, err = service.HostNet{}.ListenPacket(ctx, network, addr, o)
		return nil
	})
	return pc, errors.Join(nerr, err)
}

// startOnLink runs the server on the link's server end, port 67.
func startOnLink(t *testing.T, l *testLink, opts string) *eventtest.Collector {
	t.Helper()
	p := loadLab(t, opts)
	col := eventtest.New(&Spec)
	inst, err := p.Start(context.Background(), service.Runtime{
		Ports: map[string]int{"dhcp": 67}, Events: col, State: t.TempDir(),
		Net: nsNet{l.srvNS}, Interface: l.srvIf, Advertise: "192.0.2.1",
	})
	if err != nil {
		t.Fatalf("start on %s: %v", l.srvIf, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		inst.Shutdown(ctx)
		col.CheckDeclared(t)
	})
	if a, _ := inst.Endpoints().Find("dhcp", "udp"); a != "192.0.2.1:67" {
		t.Fatalf("endpoint %q, want the advertised 192.0.2.1:67", a)
	}
	return col
}

// shortLease makes clients renew (T1) after 5 s.
var shortLease = strings.Replace(labOptions, "lease_time: 120s", "lease_time: 10s", 1)

// waitEvent waits for an event of the kind whose attributes match.
func waitEvent(t *testing.T, col *eventtest.Collector, kind string, within time.Duration, want map[string]string) event.Event {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case e := <-col.C():
			if e.Kind != kind {
				continue
			}
			ok := true
			for k, v := range want {
				ok = ok && e.Attrs[k] == v
			}
			if ok {
				col.CheckDeclared(t)
				e.Render()
				return e
			}
		case <-timer.C:
			t.Fatalf("no %s event with %v within %s", kind, want, within)
			return event.Event{}
		}
	}
}

// hook writes a client script that logs and configures only the client's
// namespace (the stock scripts would rewrite the host's resolv.conf).
func hook(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "hook")
	text := "#!/bin/sh\nLOG=" + filepath.Join(dir, "log") + "\n" + body
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// background runs a client in the client namespace until the test ends.
func background(t *testing.T, l *testLink, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(needTool(t, "ip"), append([]string{"netns", "exec", l.cliNS, name}, args...)...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	// A client's helper processes (dhcpcd's privilege separation) share its
	// group and may keep the output open: end the whole group, and stop
	// waiting for the output soon after the client itself is gone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	return cmd
}

func runIn(t *testing.T, l *testLink, name string, args ...string) string {
	t.Helper()
	out, err := tryIn(l, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// tryIn runs a command in the client's namespace and returns its output.
func tryIn(l *testLink, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", l.cliNS, name}, args...)...).CombinedOutput()
	return string(out), err
}

func TestUdhcpc(t *testing.T) {
	udhcpc := needTool(t, "udhcpc")
	l := newLink(t, "")
	col := startOnLink(t, l, "")
	h := hook(t, `echo "$1 $ip" >> "$LOG"
case "$1" in
bound|renew) ip addr replace "$ip/$subnet" dev "$interface" ;;
deconfig) ip addr flush dev "$interface" ;;
esac
`)
	cmd := background(t, l, udhcpc, "-i", l.cliIf, "-f", "-s", h, "-t", "5", "-T", "1", "-A", "1", "-x", "hostname:learner-u")
	waitEvent(t, col, KindDiscover, 10*time.Second, map[string]string{"mac": "02:00:00:00:00:10", "hostname": "learner-u"})
	ack := waitEvent(t, col, KindAck, 10*time.Second, map[string]string{"mac": "02:00:00:00:00:10", "state": "selecting"})
	if ack.Attrs["ip"] != "192.0.2.100" || !strings.Contains(ack.Attrs["requested"], "dns") {
		t.Errorf("udhcpc ack %v", ack.Attrs)
	}
	waitLog(t, h, "bound 192.0.2.100")
	cmd.Process.Signal(syscall.SIGUSR1) // renew now
	waitEvent(t, col, KindAck, 10*time.Second, map[string]string{"state": "renewing", "ip": "192.0.2.100"})
	cmd.Process.Signal(syscall.SIGUSR2) // release
	waitEvent(t, col, KindRelease, 10*time.Second, map[string]string{"ip": "192.0.2.100", "mac": "02:00:00:00:00:10"})
}

// waitLog waits for a line in a hook's log.
func waitLog(t *testing.T, hookPath, want string) {
	t.Helper()
	log := filepath.Join(filepath.Dir(hookPath), "log")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(log)
		if strings.Contains(string(b), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("hook log lacks %q:\n%s", want, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDhclient(t *testing.T) {
	dhclient := needTool(t, "dhclient")
	l := newLink(t, "")
	col := startOnLink(t, l, shortLease)
	h := hook(t, `echo "$reason $new_ip_address" >> "$LOG"
case "$reason" in
PREINIT) ip link set "$interface" up ;;
BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
EXPIRE|FAIL|RELEASE|STOP) [ -n "$old_ip_address" ] && ip addr del "$old_ip_address/$old_subnet_mask" dev "$interface" ;;
esac
exit 0
`)
	dir := filepath.Dir(h)
	lf, pf := filepath.Join(dir, "leases"), filepath.Join(dir, "pid")
	background(t, l, dhclient, "-d", "-v", "-1", "-sf", h, "-lf", lf, "-pf", pf, l.cliIf)
	ack := waitEvent(t, col, KindAck, 15*time.Second, map[string]string{"mac": "02:00:00:00:00:10", "state": "selecting"})
	if ack.Attrs["ip"] != "192.0.2.100" {
		t.Errorf("dhclient ack %v", ack.Attrs)
	}
	waitLog(t, h, "BOUND 192.0.2.100")
	// T1 is 5 s: dhclient renews by itself, unicast.
	waitEvent(t, col, KindAck, 15*time.Second, map[string]string{"state": "renewing", "ip": "192.0.2.100"})
	runIn(t, l, dhclient, "-r", "-v", "-sf", h, "-lf", lf, "-pf", pf, l.cliIf)
	waitEvent(t, col, KindRelease, 10*time.Second, map[string]string{"ip": "192.0.2.100", "mac": "02:00:00:00:00:10"})
}

func TestDhcpcd(t *testing.T) {
	dhcpcd := needTool(t, "dhcpcd")
	l := newLink(t, "")
	col := startOnLink(t, l, shortLease)
	h := hook(t, `echo "$reason $new_ip_address" >> "$LOG"
exit 0
`)
	conf := filepath.Join(filepath.Dir(h), "dhcpcd.conf")
	if err := os.WriteFile(conf, []byte("ipv4only\nnoipv4ll\nnoarp\noption subnet_mask, routers, domain_name_servers, domain_name\nscript "+h+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	background(t, l, dhcpcd, "-B", "-4", "-f", conf, "-c", h, "-h", "learner-d", l.cliIf)
	ack := waitEvent(t, col, KindAck, 20*time.Second, map[string]string{"mac": "02:00:00:00:00:10", "state": "selecting"})
	if ack.Attrs["ip"] != "192.0.2.100" || ack.Attrs["hostname"] != "learner-d" {
		t.Errorf("dhcpcd ack %v", ack.Attrs)
	}
	// dhcpcd stretches the lease to its minimum of 20 s: T1 at 10 s.
	waitEvent(t, col, KindAck, 20*time.Second, map[string]string{"state": "renewing", "ip": "192.0.2.100"})
	// Release is tested in the lab network (cmd/lab TestSandboxDHCPDhcpcd),
	// where dhcpcd runs as a daemon, the way learners run it: here, in the
	// foreground (-B) on a loaded machine, `dhcpcd -k` sometimes signals a
	// process that never acts on it, which says nothing about the server.
}

// The lab's own client on the link lab0, as `lab solve` runs it inside the
// lab network: a raw socket, broadcast DORA, renewal by broadcast
// (rebinding: the link has no address to renew from), release.
func TestRawClientOnLab0(t *testing.T) {
	l := newLink(t, LabInterface)
	col := startOnLink(t, l, "")
	eps := service.Endpoints{{Service: "dhcp", Listener: "dhcp", Network: "udp", Addr: "192.0.2.1:67"}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, st := range []struct {
		step service.Step
		kind string
		want map[string]string
	}{
		{service.Step{Action: "dhcp.lease"}, KindAck, map[string]string{"mac": "02:00:00:00:00:10", "ip": "192.0.2.100", "state": "selecting"}},
		{service.Step{Action: "dhcp.renew"}, KindAck, map[string]string{"state": "rebinding", "ip": "192.0.2.100"}},
		{service.Step{Action: "dhcp.release"}, KindRelease, map[string]string{"ip": "192.0.2.100"}},
		{service.Step{Action: "dhcp.lease", Args: map[string]string{"mac": "02:00:00:00:00:42"}}, KindAck, map[string]string{"mac": "02:00:00:00:00:42", "ip": "192.0.2.42"}},
	} {
		if err := inNS(l.cliNS, func() error { return Spec.Solve(ctx, eps, st.step) }); err != nil {
			t.Fatalf("%s %v: %v", st.step.Action, st.step.Args, err)
		}
		waitEvent(t, col, st.kind, 10*time.Second, st.want)
	}
}
