package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"protolab/internal/sandbox"
)

// needSandbox skips where no lab network can be built (not Linux, or no
// root and no user namespaces), unless every test is required.
func needSandbox(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the lab network needs Linux")
	}
	if os.Geteuid() != 0 && os.Getenv("LAB_REQUIRE_CLIENTS") != "1" {
		if _, err := os.Stat("/proc/self/ns/user"); err != nil {
			t.Skip("no user namespaces here")
		}
	}
}

// startSandboxed runs `lab start ID --sandbox` (standard ports in the lab
// network).
func startSandboxed(t *testing.T, id string) *labProc {
	t.Helper()
	needSandbox(t)
	return startLabArgs(t, t.TempDir(), "start", id, "--sandbox")
}

// shell runs `lab shell -c SCRIPT` and returns its output and exit code.
func (p *labProc) shell(script string) (string, int) {
	p.t.Helper()
	cmd := exec.Command(labBin, "shell", "--state", p.state, "-c", script)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		p.t.Fatalf("lab shell -c %q: %v", script, err)
	}
	return string(out), 0
}

// mustShell is shell that fails the test unless the script exits 0.
func (p *labProc) mustShell(script string) string {
	p.t.Helper()
	out, code := p.shell(script)
	if code != 0 {
		p.t.Fatalf("lab shell -c %q: exit %d\n%s\nlab's output:\n%s", script, code, out, p.out)
	}
	return out
}

// hostNetwork is what `ip link` and `ip netns` show on the host.
func hostNetwork(t *testing.T) string {
	t.Helper()
	links, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatalf("ip link: %v", err)
	}
	ns, _ := exec.Command("ip", "netns", "list").Output()
	var names []string
	for _, l := range strings.Split(string(links), "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			names = append(names, strings.TrimSuffix(f[1], ":"))
		}
	}
	return strings.Join(names, " ") + " | netns: " + strings.TrimSpace(string(ns))
}

// holdersOf lists the holder processes of a state directory.
func holdersOf(state string) []string {
	var pids []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), sandbox.HolderArg) && strings.Contains(string(b), state) {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	return pids
}

func TestSandboxDNS(t *testing.T) {
	needTool(t, "dig")
	before := hostNetwork(t)
	p := startSandboxed(t, "dns")
	if !strings.Contains(p.out.String(), "udp+tcp 192.0.2.1:53") || !strings.Contains(p.out.String(), "lab shell") {
		t.Errorf("the header should show the lab server on port 53 and lab shell:\n%s", p.out)
	}
	if got := strings.TrimSpace(p.mustShell("dig +short www.lab.test")); got != "192.0.2.80" {
		t.Errorf("dig +short www.lab.test = %q, want 192.0.2.80", got)
	}
	p.waitDone("resolve-a")
	// The zone's name server answers on its own address, over IPv6 too.
	if got := strings.TrimSpace(p.mustShell("dig +short AAAA www.lab.test @ns1.lab.test; dig +short +tcp MX lab.test @2001:db8:89::53")); got != "2001:db8:89::80\n10 mail.lab.test." {
		t.Errorf("dig over IPv6 and TCP printed %q", got)
	}
	p.waitDone("resolve-aaaa")
	p.waitDone("mx")
	p.waitDone("tcp")
	// The learner's shell does not see the host's network.
	if out := p.mustShell("ip -o link show"); strings.Contains(out, "eth0") || !strings.Contains(out, "lab0") {
		t.Errorf("the lab shell should have lo and lab0 only:\n%s", out)
	}
	if during := hostNetwork(t); during != before {
		t.Errorf("the host's network changed while the lab runs:\nbefore %s\nduring %s", before, during)
	}

	// kill -9 of the lab: its network goes with it.
	if len(holdersOf(p.state)) != 1 {
		t.Fatalf("want one holder of the lab network, have %v", holdersOf(p.state))
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	p.cmd.ProcessState = &os.ProcessState{} // stop() has nothing left to do
	deadline := time.Now().Add(5 * time.Second)
	for len(holdersOf(p.state)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if h := holdersOf(p.state); len(h) > 0 {
		t.Errorf("the lab network's holder outlived kill -9: %v", h)
	}
	if after := hostNetwork(t); after != before {
		t.Errorf("kill -9 left something on the host:\nbefore %s\nafter  %s", before, after)
	}
	out, err := exec.Command(labBin, "shell", "--state", p.state, "-c", "true").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no lab is running") {
		t.Errorf("lab shell after kill -9: %v %s", err, out)
	}
}

func TestSandboxMail(t *testing.T) {
	needTool(t, "swaks")
	needTool(t, "curl")
	p := startSandboxed(t, "mail")
	p.mustShell("swaks --to bob@lab.test --from alice@lab.test --server mail.lab.test --header 'Subject: over the lab network' --body 'hello'")
	p.waitDone("smtp-send")
	if out := p.mustShell("curl -s pop3://mail.lab.test/ -u bob:builder"); !strings.Contains(out, "1 ") {
		t.Errorf("curl pop3 LIST printed %q", out)
	}
	p.mustShell("n=$(curl -s pop3://mail.lab.test/ -u bob:builder | wc -l); curl -s pop3://mail.lab.test/$n -u bob:builder | grep -q 'over the lab network'")
	p.waitDone("pop3-retr")
	// The message just sent is the newest: its UID is UIDNEXT-1.
	out := p.mustShell(`curl -sS imap://mail.lab.test/ -u bob:builder -X 'STATUS INBOX (UIDNEXT)'`)
	f := strings.FieldsFunc(out, func(r rune) bool { return r < '0' || r > '9' })
	if len(f) == 0 {
		t.Fatalf("STATUS printed %q", out)
	}
	next, _ := strconv.Atoi(f[len(f)-1])
	if out := p.mustShell(fmt.Sprintf("curl -sS 'imap://mail.lab.test/INBOX;UID=%d' -u bob:builder", next-1)); !strings.Contains(out, "over the lab network") {
		t.Errorf("curl imap fetched %q", out)
	}
	p.waitDone("imap-fetch")
}

func TestSandboxSNMP(t *testing.T) {
	needTool(t, "snmpget")
	p := startSandboxed(t, "snmp")
	if out := p.mustShell("snmpget -v2c -c public -On rtr1.lab.test 1.3.6.1.2.1.1.5.0"); !strings.Contains(out, ".1.3.6.1.2.1.1.5.0 = STRING") {
		t.Errorf("snmpget printed %q", out)
	}
	p.waitDone("snmp-get")

	// The router's linkDown reaches snmptrapd on the learner's side, on
	// the standard port 162 (the lab file's loopback target is the
	// learner's in a lab network).
	needTool(t, "snmptrapd")
	out := p.mustShell(`out=$(mktemp); snmptrapd -f -Lo --disableAuthorization=yes -n udp:162 >"$out" 2>&1 & pid=$!
for i in $(seq 50); do grep -q "NET-SNMP version" "$out" && break; sleep 0.1; done
snmpset -v2c -c private -On rtr1.lab.test 1.3.6.1.2.1.2.2.1.7.3 i 2 >/dev/null
for i in $(seq 50); do grep -q "6.3.1.1.5.3" "$out" && break; sleep 0.1; done
kill $pid; cat "$out"; rm -f "$out"`)
	if !strings.Contains(out, "6.3.1.1.5.3") || !strings.Contains(out, "192.0.2.1") {
		t.Errorf("snmptrapd in the lab network did not get the linkDown from 192.0.2.1:\n%s", out)
	}
	p.waitDone("snmp-trap")
}

func TestSandboxSolve(t *testing.T) {
	p := startSandboxed(t, "dns")
	out, err := exec.Command(labBin, "solve", "dns", "--state", p.state).CombinedOutput()
	if err != nil {
		t.Fatalf("lab solve dns in the lab network: %v\n%s", err, out)
	}
	for _, tk := range p.status().Tasks {
		if !tk.Done {
			t.Errorf("task %s not done after lab solve", tk.ID)
		}
	}
}

func TestShellNeedsSandbox(t *testing.T) {
	p := startLab(t, t.TempDir())
	out, code := p.shell("true")
	if code != 1 || !strings.Contains(out, "--sandbox") {
		t.Errorf("lab shell without a lab network: exit %d, %q", code, out)
	}
	// And a sandbox does not take --bind.
	cmd := exec.Command(labBin, "start", "dns", "--sandbox", "--bind", "127.0.0.2", "--state", t.TempDir())
	out2, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out2), "--bind") {
		t.Errorf("--sandbox with --bind: %v %s", err, out2)
	}
}

// TestSandboxRootless starts a lab network as an unprivileged user (nobody):
// a user namespace gives the lab its own root, and lab shell works for
// that user only.
func TestSandboxRootless(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to become another user")
	}
	needTool(t, "dig")
	setpriv := needTool(t, "setpriv")
	for _, f := range []string{"/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "/proc/sys/kernel/unprivileged_userns_clone", "/proc/sys/user/max_user_namespaces"} {
		if b, err := os.ReadFile(f); err == nil {
			v := strings.TrimSpace(string(b))
			if (strings.Contains(f, "apparmor") && v == "1") || (!strings.Contains(f, "apparmor") && v == "0") {
				t.Skipf("unprivileged user namespaces are disabled here (%s = %s)", f, v)
			}
		}
	}
	// A copy of lab that nobody may run, and a state directory of its own.
	dir, err := os.MkdirTemp("", "lab-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "lab")
	data, err := os.ReadFile(labBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	os.Mkdir(state, 0o700)
	for _, p := range []string{dir, state} {
		os.Chmod(p, 0o755)
		os.Chown(p, 65534, 65534)
	}
	os.Chmod(state, 0o700)
	asNobody := func(args ...string) *exec.Cmd {
		cmd := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		return cmd
	}
	start := asNobody("start", "dns", "--sandbox", "--web", "127.0.0.1:0", "--state", state, "--lang", "en")
	var out lockedBuffer
	start.Stdout, start.Stderr = &out, &out
	if err := start.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { start.Process.Signal(syscall.SIGTERM); start.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Web console:") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "192.0.2.1:53") {
		t.Fatalf("lab start --sandbox as nobody:\n%s", out.String())
	}
	got, err := asNobody("shell", "--state", state, "-c", "id -u; dig +short www.lab.test").CombinedOutput()
	if err != nil || strings.TrimSpace(string(got)) != "0\n192.0.2.80" {
		t.Errorf("lab shell as nobody: %v\n%s", err, got)
	}
	// Root of the host is not the lab's root: the shell is refused, clearly.
	got, err = exec.Command(bin, "shell", "--state", state, "-c", "true").CombinedOutput()
	if err == nil || !strings.Contains(string(got), "only the user who started the lab") {
		t.Errorf("lab shell by another user: %v\n%s", err, got)
	}
}
