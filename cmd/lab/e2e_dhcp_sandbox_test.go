package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The DHCP lab in the lab network, with the three clients a learner meets:
// busybox udhcpc, ISC dhclient and dhcpcd each get a lease on lab0, renew
// it and release it. Their hook scripts only log and configure lab0: the
// lab shell is the learner's namespace, and its /etc/resolv.conf is the
// lab's.

// dhcpLabFile copies the DHCP lab with a short lease (so that dhclient
// renews at T1 within the test) and returns the lab file.
func dhcpLabFile(t *testing.T, lease string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"lab.yaml", "lesson.fr.md", "lesson.en.md"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "labs", "dhcp", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "lab.yaml" {
			b = regexp.MustCompile(`(?m)^(\s*lease_time:)\s*\S+`).ReplaceAll(b, []byte("${1} "+lease))
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "lab.yaml")
}

func startDHCPSandbox(t *testing.T, lease string) (*labProc, string) {
	t.Helper()
	needSandbox(t)
	p := startLabArgs(t, t.TempDir(), "start", "--file", dhcpLabFile(t, lease), "--sandbox")
	work := t.TempDir()
	os.Chmod(work, 0o755)
	return p, work
}

// writeHook writes an executable script, with $HOOKLOG set to log (the
// clients run their scripts with an environment of their own).
func writeHook(t *testing.T, path, log, text string) {
	t.Helper()
	text = strings.Replace(text, "#!/bin/sh\n", "#!/bin/sh\nHOOKLOG="+log+"\n", 1)
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}

// waitFor is a shell function that waits up to N tenths of a second for a
// pattern in a file.
const waitFor = `waitfor() { i=0; while ! grep -q "$1" "$2" 2>/dev/null; do i=$((i+1)); [ $i -gt $3 ] && { echo "timed out waiting for $1 in $2"; cat "$2"; return 1; }; sleep 0.1; done; }
`

// checkLeased asserts that lab0 had a pool address and the tasks ticked.
func checkDHCPDone(t *testing.T, p *labProc, out string, tasks ...string) {
	t.Helper()
	if !regexp.MustCompile(`inet 192\.0\.2\.1\d\d/24`).MatchString(out) {
		t.Errorf("lab0 never had an address from the pool:\n%s", out)
	}
	for _, id := range tasks {
		p.waitDone(id)
	}
}

func TestSandboxDHCPUdhcpc(t *testing.T) {
	needTool(t, "udhcpc")
	p, work := startDHCPSandbox(t, "120s")
	hook := filepath.Join(work, "udhcpc.hook")
	log := filepath.Join(work, "hook.log")
	// The line is logged once the address is in place: the test looks at
	// lab0 as soon as it reads "bound".
	writeHook(t, hook, log, `#!/bin/sh
case "$1" in
  bound|renew) ip -4 addr flush dev "$interface"; ip addr add "$ip/${mask:-24}" dev "$interface"
               [ -n "$router" ] && ip route replace default via "$router" dev "$interface";;
  deconfig)    ip -4 addr flush dev "$interface";;
esac
echo "$1 ip=${ip:-} dns=${dns:-} domain=${domain:-}" >> "$HOOKLOG"
exit 0
`)
	out := p.mustShell(waitFor + `export HOOKLOG=` + log + `
udhcpc -i lab0 -f -t 5 -T 1 -s ` + hook + ` -O dns -O domain -x hostname:learner >/dev/null 2>&1 & pid=$!
waitfor '^bound' $HOOKLOG 100 || exit 1
ip -4 addr show lab0
kill -USR1 $pid; waitfor '^renew' $HOOKLOG 100 || exit 1
kill -USR2 $pid; waitfor '^deconfig' $HOOKLOG 100 || exit 1
kill $pid; cat $HOOKLOG`)
	if !strings.Contains(out, "dns=192.0.2.1") || !strings.Contains(out, "domain=lab.test") {
		t.Errorf("udhcpc did not get the lab's DNS and domain:\n%s", out)
	}
	checkDHCPDone(t, p, out, "dhcp-lease", "dhcp-options", "dhcp-renew", "dhcp-release")
}

func TestSandboxDHCPDhclient(t *testing.T) {
	needTool(t, "dhclient")
	p, work := startDHCPSandbox(t, "10s") // T1 after 5 s
	hook := filepath.Join(work, "dhclient.hook")
	log := filepath.Join(work, "hook.log")
	writeHook(t, hook, log, `#!/bin/sh
echo "$reason ip=${new_ip_address:-} dns=${new_domain_name_servers:-} domain=${new_domain_name:-}" >> "$HOOKLOG"
case "$reason" in
  BOUND|RENEW|REBIND|REBOOT) ip -4 addr flush dev "$interface"; ip addr add "$new_ip_address/24" dev "$interface";;
  RELEASE|EXPIRE|FAIL|STOP)  ip -4 addr flush dev "$interface";;
esac
exit 0
`)
	out := p.mustShell(waitFor + `export HOOKLOG=` + log + `
d=` + work + `
dhclient -4 -1 -sf ` + filepath.Join(work, "dhclient.hook") + ` -lf $d/leases -pf $d/pid lab0 >/dev/null 2>&1 || { echo dhclient failed; exit 1; }
ip -4 addr show lab0
waitfor '^RENEW' $HOOKLOG 100 || exit 1
dhclient -4 -r -sf ` + hook + ` -lf $d/leases -pf $d/pid lab0 >/dev/null 2>&1
cat $HOOKLOG`)
	if !strings.Contains(out, "dns=192.0.2.1") || !strings.Contains(out, "domain=lab.test") || !strings.Contains(out, "RELEASE") {
		t.Errorf("dhclient's exchange:\n%s", out)
	}
	checkDHCPDone(t, p, out, "dhcp-lease", "dhcp-options", "dhcp-renew", "dhcp-release")
}

func TestSandboxDHCPDhcpcd(t *testing.T) {
	needTool(t, "dhcpcd")
	p, work := startDHCPSandbox(t, "120s")
	hook := filepath.Join(work, "dhcpcd.hook")
	log := filepath.Join(work, "hook.log")
	writeHook(t, hook, log, `#!/bin/sh
echo "$reason ip=${new_ip_address:-} dns=${new_domain_name_servers:-} domain=${new_domain_name:-}" >> "$HOOKLOG"
exit 0
`)
	conf := filepath.Join(work, "dhcpcd.conf")
	os.WriteFile(conf, []byte("# only what the lab needs: IPv4, the lab's options, no other hooks\nipv4only\noption domain_name_servers, domain_name, routers\nnohook resolv.conf\n"), 0o644)
	out := p.mustShell(waitFor + `export HOOKLOG=` + log + `
dhcpcd -4 -f ` + conf + ` -c ` + hook + ` -t 10 -w lab0 >/dev/null 2>&1 || { echo dhcpcd failed; exit 1; }
waitfor '^BOUND' $HOOKLOG 100 || exit 1
ip -4 addr show lab0
dhcpcd -4 -f ` + conf + ` -N lab0 >/dev/null 2>&1; waitfor '^RENEW' $HOOKLOG 100 || exit 1
dhcpcd -4 -f ` + conf + ` -k lab0 >/dev/null 2>&1; waitfor 'RELEASE\|STOPPED' $HOOKLOG 100
dhcpcd -x >/dev/null 2>&1; cat $HOOKLOG`)
	checkDHCPDone(t, p, out, "dhcp-lease", "dhcp-options", "dhcp-renew", "dhcp-release")
}

// TestSandboxDHCPReserved changes lab0's MAC address as the lesson shows and
// gets the reserved address; then lab solve runs from the learner's side.
func TestSandboxDHCPReserved(t *testing.T) {
	needTool(t, "udhcpc")
	p, work := startDHCPSandbox(t, "120s")
	hook := filepath.Join(work, "udhcpc.hook")
	writeHook(t, hook, filepath.Join(work, "hook.log"), "#!/bin/sh\n[ \"$1\" = bound ] && ip addr add \"$ip/24\" dev \"$interface\"\nexit 0\n")
	out := p.mustShell(`ip link set lab0 down; ip link set lab0 address 02:00:00:00:00:42; ip link set lab0 up
udhcpc -i lab0 -f -q -n -t 5 -T 1 -s ` + hook + ` >/dev/null 2>&1 && ip -4 addr show lab0`)
	if !strings.Contains(out, "inet 192.0.2.42/24") {
		t.Errorf("the reserved MAC did not get 192.0.2.42:\n%s", out)
	}
	p.waitDone("dhcp-reserved")
}
