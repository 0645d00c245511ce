package snmp

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"protolab/internal/trapdtest"
)

// tool finds a net-snmp command, skipping the test when it is absent
// (unless LAB_REQUIRE_CLIENTS=1).
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("LAB_REQUIRE_CLIENTS") == "1" {
			t.Fatalf("%s is required: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// netsnmp runs a net-snmp command against the agent and returns its
// output (stdout and stderr).
func netsnmp(t *testing.T, r *running, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	full := append([]string{"-On", "-t", "1", "-r", "1"}, args...)
	for i, a := range full {
		if a == "AGENT" {
			full[i] = "udp:" + r.addr
		}
	}
	cmd := exec.CommandContext(ctx, tool(t, name), full...)
	cmd.Env = append(os.Environ(), "MIBS=", "MIBDIRS=/nonexistent", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestNetSNMPClients(t *testing.T) {
	r := start(t, "")
	v3sha := []string{"-v3", "-u", "learner", "-a", "SHA", "-A", "labauthpass", "-x", "AES", "-X", "labprivpass"}
	v3md5 := []string{"-v3", "-u", "learner-md5", "-a", "MD5", "-A", "labauthpass", "-x", "DES", "-X", "labprivpass"}
	tests := []struct {
		name    string
		tool    string
		args    []string
		want    []string
		wantErr bool
	}{
		{"get", "snmpget", []string{"-v2c", "-c", "public", "AGENT", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.9.0", "1.3.6.1.2.1.1.5"},
			[]string{`.1.3.6.1.2.1.1.5.0 = STRING: "rtr1.lab.test"`, ".1.3.6.1.2.1.1.9.0 = No Such Object available on this agent at this OID",
				".1.3.6.1.2.1.1.5 = No Such Instance currently exists at this OID"}, false},
		{"v1 get noSuchName", "snmpget", []string{"-v1", "-c", "public", "AGENT", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.9.0"},
			[]string{"(noSuchName) There is no such variable name in this MIB.", "Failed object: .1.3.6.1.2.1.1.9.0", `.1.3.6.1.2.1.1.5.0 = STRING: "rtr1.lab.test"`}, true},
		{"getnext", "snmpgetnext", []string{"-v2c", "-c", "public", "AGENT", "1.3.6.1.2.1.2.2.1.2.4"},
			[]string{".1.3.6.1.2.1.2.2.1.3.1 = INTEGER: 24"}, false},
		{"walk", "snmpwalk", []string{"-v2c", "-c", "public", "AGENT", "1.3.6.1.2.1.2.2.1.2"},
			[]string{`.1.3.6.1.2.1.2.2.1.2.1 = STRING: "lo"`, `.1.3.6.1.2.1.2.2.1.2.4 = STRING: "eth2"`}, false},
		{"v1 walk", "snmpwalk", []string{"-v1", "-c", "public", "AGENT", "1.3.6.1.2.1.31.1.1.1"},
			[]string{`.1.3.6.1.2.1.31.1.1.1.1.1 = STRING: "lo"`, ".1.3.6.1.2.1.31.1.1.1.15.4 = Gauge32: 100"}, false},
		{"bulkwalk", "snmpbulkwalk", []string{"-v2c", "-c", "public", "-Cr5", "AGENT", "1.3.6.1.2.1.4.20"},
			[]string{".1.3.6.1.2.1.4.20.1.1.198.51.100.1 = IpAddress: 198.51.100.1", ".1.3.6.1.2.1.4.20.1.3.192.0.2.1 = IpAddress: 255.255.255.0"}, false},
		{"bulkwalk everything", "snmpbulkwalk", []string{"-v2c", "-c", "public", "-Cr5", "AGENT", "1.3"},
			[]string{".1.3.6.1.4.1.32473.2.1.0 = Counter32:", "No more variables left in this MIB View"}, false},
		{"bulkget", "snmpbulkget", []string{"-v2c", "-c", "public", "-Cn1", "-Cr3", "AGENT", "1.3.6.1.2.1.1.1", "1.3.6.1.2.1.2.2.1.2"},
			[]string{`.1.3.6.1.2.1.1.1.0 = STRING: "Protolab virtual router rtr1, 4 interfaces"`, `.1.3.6.1.2.1.2.2.1.2.3 = STRING: "eth1"`}, false},
		{"set v2c", "snmpset", []string{"-v2c", "-c", "private", "AGENT", "1.3.6.1.2.1.1.6.0", "s", "Rack 2"},
			[]string{`.1.3.6.1.2.1.1.6.0 = STRING: "Rack 2"`}, false},
		{"set v1", "snmpset", []string{"-v1", "-c", "private", "AGENT", "1.3.6.1.2.1.1.4.0", "s", "ops@lab.test"},
			[]string{`.1.3.6.1.2.1.1.4.0 = STRING: "ops@lab.test"`}, false},
		{"set wrong type", "snmpset", []string{"-v2c", "-c", "private", "AGENT", "1.3.6.1.2.1.1.4.0", "i", "3"},
			[]string{"Reason: wrongType", "Failed object: .1.3.6.1.2.1.1.4.0"}, true},
		{"set read-only community", "snmpset", []string{"-v2c", "-c", "public", "AGENT", "1.3.6.1.2.1.1.4.0", "s", "x"},
			[]string{"Reason: noAccess"}, true},
		{"set not writable", "snmpset", []string{"-v2c", "-c", "private", "AGENT", "1.3.6.1.2.1.1.1.0", "s", "x"},
			[]string{"Reason: notWritable"}, true},
		{"wrong community", "snmpget", []string{"-v2c", "-c", "nope", "-t", "0.3", "-r", "0", "AGENT", "1.3.6.1.2.1.1.5.0"},
			[]string{"Timeout: No Response from udp:127.0.0.1:"}, true},
		{"v3 authPriv SHA/AES", "snmpget", append(append([]string{"-l", "authPriv"}, v3sha...), "AGENT", "1.3.6.1.2.1.1.5.0"),
			[]string{`.1.3.6.1.2.1.1.5.0 = STRING: "rtr1.lab.test"`}, false},
		{"v3 authPriv MD5/DES", "snmpget", append(append([]string{"-l", "authPriv"}, v3md5...), "AGENT", "1.3.6.1.2.1.1.5.0"),
			[]string{`.1.3.6.1.2.1.1.5.0 = STRING: "rtr1.lab.test"`}, false},
		{"v3 authNoPriv SHA", "snmpget", []string{"-v3", "-l", "authNoPriv", "-u", "watcher", "-a", "SHA", "-A", "labauthpass", "AGENT", "1.3.6.1.2.1.1.6.0"},
			[]string{`.1.3.6.1.2.1.1.6.0 = STRING:`}, false},
		{"v3 authNoPriv MD5", "snmpget", []string{"-v3", "-l", "authNoPriv", "-u", "learner-md5", "-a", "MD5", "-A", "labauthpass", "AGENT", "1.3.6.1.2.1.1.5.0"},
			[]string{`.1.3.6.1.2.1.1.5.0 = STRING: "rtr1.lab.test"`}, false},
		{"v3 walk", "snmpbulkwalk", append(append([]string{"-l", "authPriv", "-Cr5"}, v3sha...), "AGENT", "1.3.6.1.2.1.2.2.1.2"),
			[]string{`.1.3.6.1.2.1.2.2.1.2.4 = STRING: "eth2"`}, false},
		{"v3 wrong password", "snmpget", []string{"-v3", "-l", "authNoPriv", "-u", "learner", "-a", "SHA", "-A", "wrongpassword", "AGENT", "1.3.6.1.2.1.1.5.0"},
			[]string{"Authentication failure"}, true},
		{"v3 below the user's level", "snmpget", []string{"-v3", "-l", "noAuthNoPriv", "-u", "learner", "AGENT", "1.3.6.1.2.1.1.5.0"},
			[]string{"Reason: authorizationError"}, true},
		{"v3 above the user's level", "snmpget", []string{"-v3", "-l", "authPriv", "-u", "watcher", "-a", "SHA", "-A", "labauthpass", "-x", "AES", "-X", "labprivpass", "AGENT", "1.3.6.1.2.1.1.5.0"},
			[]string{"Unsupported security level"}, true},
		{"v3 wrong privacy passphrase", "snmpget", append(append([]string{"-l", "authPriv"}, v3sha[:len(v3sha)-1]...), "wrongprivpass", "AGENT", "1.3.6.1.2.1.1.5.0"),
			[]string{"Decryption error"}, true},
		{"v3 unknown user", "snmpget", []string{"-v3", "-l", "authNoPriv", "-u", "mallory", "-a", "SHA", "-A", "labauthpass", "AGENT", "1.3.6.1.2.1.1.5.0"},
			[]string{"Unknown user name"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := netsnmp(t, r, tt.tool, tt.args...)
			if (err != nil) != tt.wantErr {
				t.Errorf("exit error %v, want an error: %v", err, tt.wantErr)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	// The failures were seen.
	reasons := map[string]bool{}
	deadline := time.After(5 * time.Second)
	for len(reasons) < 5 {
		select {
		case e := <-r.events.C():
			if e.Kind == KindAuthFailure {
				reasons[e.Attrs["reason"]] = true
			}
		case <-deadline:
			t.Fatalf("auth failures seen: %v", reasons)
		}
	}
	for _, want := range []string{"bad-community", "wrong-digest", "unknown-user", "unsupported-sec-level", "decryption-error"} {
		if !reasons[want] {
			t.Errorf("no %s auth-failure event (saw %v)", want, reasons)
		}
	}
}

func TestNotInTimeWindow(t *testing.T) {
	r := start(t, "")
	// net-snmp given the engine and a wrong clock gets a notInTimeWindow
	// report, resynchronizes and asks again.
	out, err := netsnmp(t, r, "snmpget", "-v3", "-l", "authNoPriv", "-u", "watcher", "-a", "SHA", "-A", "labauthpass",
		"-e", "0x"+strings.ToUpper(hexString(defaultEngineID)), "-Z", "1,100000", "AGENT", "1.3.6.1.2.1.1.5.0")
	if err != nil || !strings.Contains(out, `STRING: "rtr1.lab.test"`) {
		t.Fatalf("%v\n%s", err, out)
	}
	e := r.events.Next(t, KindAuthFailure)
	if e.Attrs["reason"] != "not-in-time-window" || e.Attrs["user"] != "watcher" || e.Attrs["version"] != "3" {
		t.Errorf("event %v", e.Attrs)
	}
	e = r.events.Next(t, KindRequest)
	if e.Attrs["version"] != "3" || e.Attrs["user"] != "watcher" || e.Attrs["community"] != "" {
		t.Errorf("request event %v", e.Attrs)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// freeUDPPort returns a port that was free a moment ago.
func freeUDPPort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().String()
}

func TestSnmptrapdReceivesLinkDown(t *testing.T) {
	bin := tool(t, "snmptrapd")
	target := freeUDPPort(t)
	waitFor := trapdtest.Start(t, bin, target).Wait

	r := start(t, "trap_target: "+target+"\n")
	if out, err := netsnmp(t, r, "snmpset", "-v2c", "-c", "private", "AGENT", "1.3.6.1.2.1.2.2.1.7.3", "i", "2"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	l := waitFor(".1.3.6.1.6.3.1.1.5.3")
	for _, w := range []string{".1.3.6.1.2.1.2.2.1.1.3 = INTEGER: 3", ".1.3.6.1.2.1.2.2.1.7.3 = INTEGER: 2", ".1.3.6.1.2.1.2.2.1.8.3 = INTEGER: 2"} {
		if !strings.Contains(l, w) {
			t.Errorf("trap lacks %q: %s", w, l)
		}
	}
	e := r.events.Next(t, KindNotification)
	if e.Attrs["kind"] != "trap" || e.Attrs["trap"] != "linkDown" || e.Attrs["target"] != target || e.Attrs["ifindex"] != "3" {
		t.Errorf("event %v", e.Attrs)
	}
}
