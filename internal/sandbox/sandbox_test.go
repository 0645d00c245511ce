package sandbox

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	// The holder is this test binary started again.
	if len(os.Args) > 1 && os.Args[1] == HolderArg {
		os.Exit(RunHolder(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// canSandbox skips when namespaces cannot be made here, unless the run
// requires every test (LAB_REQUIRE_CLIENTS=1, as CI sets it as root).
func canSandbox(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the lab network needs Linux")
	}
	if os.Geteuid() != 0 && os.Getenv("LAB_REQUIRE_CLIENTS") != "1" {
		if userNamespacesBlocked() != "" {
			t.Skip("user namespaces are disabled here")
		}
	}
}

func startSandbox(t *testing.T, o Options) *Sandbox {
	t.Helper()
	canSandbox(t)
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Start(ctx, o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// run runs a shell command in the learner's namespace and returns its
// output and exit code.
func run(t *testing.T, dir, script string) (string, int) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	null, _ := os.Open(os.DevNull)
	defer null.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code, err := Exec(ctx, dir, ExecRequest{Argv: []string{"/bin/sh", "-c", script}, Env: os.Environ(), Dir: "/"}, null, out, out)
	if err != nil {
		t.Fatalf("Exec %q: %v", script, err)
	}
	b, _ := os.ReadFile(out.Name())
	return string(b), code
}

func TestLabNetwork(t *testing.T) {
	s := startSandbox(t, Options{})
	dir := filepath.Dir(s.Socket())

	// A server socket in the lab server's namespace, reached from lab0.
	ln, err := s.Net().Listen(context.Background(), "tcp", "[::]:7")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				c.Write([]byte("from " + c.RemoteAddr().String() + " " + line))
			}()
		}
	}()
	pc, err := s.Net().ListenPacket(context.Background(), "udp", "[::]:9", servicePacketOptions())
	if err != nil {
		t.Fatalf("ListenPacket: %v", err)
	}
	pc.Close()

	out, code := run(t, dir, "ip -o addr show dev lab0; ip route; cat /etc/resolv.conf; hostname; getent hosts mail.lab.test")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	for _, want := range []string{"inet 192.0.2.10/24", "inet6 2001:db8:89::10/64", "default via 192.0.2.1", "nameserver 192.0.2.1", "search lab.test", LearnerHost, "::25 mail.lab.test"} {
		if !strings.Contains(out, want) {
			t.Errorf("learner's view lacks %q:\n%s", want, out)
		}
	}
	for _, addr := range []string{"192.0.2.1", "192.0.2.25", "2001:db8:89::53"} {
		out, code = run(t, dir, "echo hello | nc -q1 -w3 "+addr+" 7")
		host := addr
		if strings.Contains(addr, ":") {
			host = "[" + addr + "]"
		}
		_ = host
		if code != 0 || !strings.Contains(out, "hello") || !strings.Contains(out, "2.10") && !strings.Contains(out, "89::10") {
			t.Errorf("nc to %s: exit %d, %q", addr, code, out)
		}
	}
	// The exit code comes back.
	if _, code := run(t, dir, "exit 7"); code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
	// Nothing of it is on the host.
	links, _ := exec.Command("ip", "-o", "link").Output()
	if strings.Contains(string(links), ServerLink) || strings.Contains(string(links), LearnerLink+":") {
		t.Errorf("the host has a lab link:\n%s", links)
	}
	if b, _ := os.ReadFile("/etc/resolv.conf"); strings.Contains(string(b), "192.0.2.1") {
		t.Errorf("the host's resolv.conf was changed:\n%s", b)
	}
}

func TestNoIPv4(t *testing.T) {
	s := startSandbox(t, Options{NoIPv4: true})
	out, code := run(t, filepath.Dir(s.Socket()), "ip -o addr show dev lab0")
	if code != 0 || strings.Contains(out, "inet ") || !strings.Contains(out, "inet6 2001:db8:89::10") {
		t.Errorf("lab0 should have IPv6 only: exit %d\n%s", code, out)
	}
}

func TestPortTakenKeepsErrno(t *testing.T) {
	s := startSandbox(t, Options{})
	ln, err := s.Net().Listen(context.Background(), "tcp", "[::]:25")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = s.Net().Listen(context.Background(), "tcp", "[::]:25")
	var op *net.OpError
	_ = op
	if err == nil || !isAddrInUse(err) {
		t.Fatalf("second listen: %v, want address in use", err)
	}
}

func TestCloseRemovesEverything(t *testing.T) {
	s := startSandbox(t, Options{})
	pid := s.cmd.Process.Pid
	s.Close()
	if _, err := os.Stat(s.Socket()); !os.IsNotExist(err) {
		t.Errorf("socket left: %v", err)
	}
	if _, err := os.Stat("/proc/" + itoa(pid)); !os.IsNotExist(err) {
		t.Errorf("holder %d still runs", pid)
	}
	if _, err := Exec(context.Background(), filepath.Dir(s.Socket()), ExecRequest{Argv: []string{"/bin/true"}}, os.Stdin, os.Stdout, os.Stderr); err != ErrNoSandbox {
		t.Errorf("Exec after Close: %v, want ErrNoSandbox", err)
	}
}

func TestHostsFile(t *testing.T) {
	h := hostsFile()
	for _, want := range []string{"192.0.2.1\trtr1.lab.test rtr1\n", "192.0.2.25\tmail.lab.test mail\n", "2001:db8:89::80\twww.lab.test www webmail.lab.test webmail\n", "192.0.2.10\tlearner.lab.test learner\n"} {
		if !strings.Contains(h, want) {
			t.Errorf("hosts lacks %q:\n%s", want, h)
		}
	}
}
