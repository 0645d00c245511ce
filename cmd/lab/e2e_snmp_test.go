package main

// The SNMP lab solved end to end by net-snmp's tools, onesixtyone and
// snmptrapd.

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"protolab/internal/trapdtest"
)

// snmpTool runs a net-snmp command without MIB files (Debian ships none).
func snmpTool(t *testing.T, want string, name string, args ...string) string {
	t.Helper()
	bin := needTool(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "MIBS=", "MIBDIRS=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), want) {
		t.Fatalf("%s %s: %v, want %q in:\n%s", name, strings.Join(args, " "), err, want, out)
	}
	return string(out)
}

// freeUDPPort returns a UDP port nobody uses on 127.0.0.1 right now.
func freeUDPPort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	_, port, _ := net.SplitHostPort(pc.LocalAddr().String())
	return port
}

// snmpLabWithTrapPort copies the built-in snmp lab into a directory with its
// trap target on the given port, as an instructor would adapt it.
func snmpLabWithTrapPort(t *testing.T, port string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"lab.yaml", "router.snmprec", "lesson.fr.md", "lesson.en.md"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "labs", "snmp", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "lab.yaml" {
			b = []byte(strings.Replace(string(b), "trap_target: 127.0.0.1:1162", "trap_target: 127.0.0.1:"+port, 1))
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o600)
	}
	return filepath.Join(dir, "lab.yaml")
}

func TestSNMPLabWithRealClients(t *testing.T) {
	needTool(t, "snmpget")
	// snmptrapd first, on a free port the lab's copy sends its traps to.
	trapPort := freeUDPPort(t)
	trapd := trapdtest.Start(t, needTool(t, "snmptrapd"), "127.0.0.1:"+trapPort)
	waitLine := trapd.Wait

	p := startLabID(t, "", t.TempDir(), "--file", snmpLabWithTrapPort(t, trapPort))
	a, ok := p.eps.Find("snmp", "udp")
	if !ok {
		t.Fatalf("no snmp endpoint in %+v", p.eps)
	}
	// The header shows the accounts, but not the weak community to find.
	weak := regexp.MustCompile(`(?m)^\s+snmp\s+` + regexp.QuoteMeta(labValue(t, "snmp", "", "community")) + `\s+\(community`)
	if h := p.out.String(); !strings.Contains(h, "private") || !strings.Contains(h, "learner / labauthpass") || weak.MatchString(h) {
		t.Fatalf("the accounts in the header:\n%s", h)
	}
	v2 := []string{"-v2c", "-c", "public", "-On", a}

	snmpTool(t, `.1.3.6.1.2.1.1.5.0 = STRING: "rtr1.lab.test"`, "snmpget", append(v2, "1.3.6.1.2.1.1.5.0")...)
	p.waitDone("snmp-get")
	out := snmpTool(t, `.1.3.6.1.2.1.2.2.1.2.4 = STRING: "eth2"`, "snmpwalk", append(v2, "1.3.6.1.2.1.2.2")...)
	if strings.Contains(out, ".1.3.6.1.2.1.31") {
		t.Fatalf("the walk left the subtree:\n%s", out)
	}
	p.waitDone("snmp-walk")
	// SNMP watches the lab's own traffic: the events of its services.
	out = snmpTool(t, "Counter32: ", "snmpget", append(v2, "1.3.6.1.4.1.32473.3.6.0")...)
	if n, _ := strconv.Atoi(strings.TrimSpace(out[strings.Index(out, "Counter32: ")+len("Counter32: "):])); n < 5 {
		t.Fatalf("the lab's SNMP event counter says %d after a walk:\n%s", n, out)
	}
	snmpTool(t, `.1.3.6.1.2.1.2.2.1.2.1 = STRING: "lo"`, "snmpbulkwalk", append([]string{"-Cr5"}, append(v2, "1.3.6.1.2.1.2.2")...)...)
	snmpTool(t, `.1.3.6.1.2.1.1.1.0 = STRING:`, "snmpbulkget", append([]string{"-Cn1", "-Cr3"}, append(v2, "1.3.6.1.2.1.1.5", "1.3.6.1.2.1.1")...)...)
	p.waitDone("snmp-bulk")
	snmpTool(t, `.1.3.6.1.2.1.1.5.0 = STRING: "rtr1.lab.test"`, "snmpgetnext", append(v2, "1.3.6.1.2.1.1.4.0")...)
	snmpTool(t, `STRING: "rtr1.lab.test"`, "snmpget", "-v1", "-c", "public", "-On", a, "1.3.6.1.2.1.1.5.0")

	snmpTool(t, `.1.3.6.1.2.1.1.4.0 = STRING: "learner@lab.test"`, "snmpset", "-v2c", "-c", "private", "-On", a, "1.3.6.1.2.1.1.4.0", "s", "learner@lab.test")
	p.waitDone("snmp-set")
	// A wrong type is refused, and a read-only community cannot write.
	if out, err := exec.Command(needTool(t, "snmpset"), "-v2c", "-c", "private", "-On", a, "1.3.6.1.2.1.1.4.0", "i", "3").CombinedOutput(); err == nil || !strings.Contains(string(out), "wrongType") {
		t.Fatalf("a SET of the wrong type: %v\n%s", err, out)
	}
	if out, err := exec.Command(needTool(t, "snmpset"), "-v2c", "-c", "public", "-On", a, "1.3.6.1.2.1.1.4.0", "s", "x").CombinedOutput(); err == nil || !strings.Contains(string(out), "noAccess") {
		t.Fatalf("a SET with the read-only community: %v\n%s", err, out)
	}

	snmpTool(t, `STRING: "rtr1.lab.test"`, "snmpget", "-v3", "-u", "learner", "-l", "authNoPriv", "-a", "SHA", "-A", "labauthpass", "-On", a, "1.3.6.1.2.1.1.5.0")
	snmpTool(t, `STRING: "rtr1.lab.test"`, "snmpget", "-v3", "-u", "learner-md5", "-l", "authPriv", "-a", "MD5", "-A", "labauthpass", "-x", "DES", "-X", "labprivpass", "-On", a, "1.3.6.1.2.1.1.5.0")
	snmpTool(t, `STRING: "rtr1.lab.test"`, "snmpget", "-v3", "-u", "learner", "-l", "authPriv", "-a", "SHA", "-A", "labauthpass", "-x", "AES", "-X", "labprivpass", "-On", a, "1.3.6.1.2.1.1.5.0")
	p.waitDone("snmp-v3")

	// onesixtyone finds the weak community among the lesson's list.
	list := filepath.Join(t.TempDir(), "communities.txt")
	os.WriteFile(list, []byte("public\nprivate\ncommunity\nsnmp\nadmin\nmanager\nmonitor\ncisco\nsecret\nrouter\n"), 0o600)
	host, port, _ := strings.Cut(a, ":")
	out, _ = tool(t, "", needTool(t, "onesixtyone"), "-c", list, "-p", port, host)
	if weak := labValue(t, "snmp", "", "community"); !strings.Contains(out, "["+weak+"]") {
		t.Fatalf("onesixtyone did not find the weak community:\n%s", out)
	}
	p.waitDone("community-guess")

	// snmptrapd receives the linkDown when an interface is set down.
	snmpTool(t, "INTEGER: 2", "snmpset", "-v2c", "-c", "private", "-On", a, "1.3.6.1.2.1.2.2.1.7.3", "i", "2")
	waitLine(".1.3.6.1.6.3.1.1.5.3") // linkDown
	p.waitDone("snmp-trap")
	allDone(t, p)
}
