package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const walkSample = `.1.3.6.1.2.1.1.1.0 = STRING: "Linux rtr1"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.8072.3.2.10
.1.3.6.1.2.1.2.2.1.6.2 = Hex-STRING: 00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF
00 11
.1.3.6.1.2.1.1.4.0 = STRING: "two
lines"
.1.3.6.1.2.1.1.9.0 = No Such Object available on this agent at this OID
.1.3.6.1.6.3.16.1.5.2.1.6.6.1 = No more variables left in this MIB View (It is past the end of the MIB tree)
`

func TestCountVarbinds(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"sample", walkSample, 4},
		{"empty", "", 0},
		{"no oid", "Timeout: No Response from 127.0.0.1:161\n", 0},
		{"named oid", "SNMPv2-MIB::sysName.0 = STRING: x\n", 0},
		{"empty arc", ".1..3 = INTEGER: 1\n", 0},
		{"no value separator", ".1.3.6.1\n", 0},
		{"crlf-free single", ".1.3 = INTEGER: 1", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := countVarbinds([]byte(tt.in)); got != tt.want {
				t.Errorf("countVarbinds = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestVerdictAndRatios(t *testing.T) {
	mk := func(vb int, cpu time.Duration) *load {
		return &load{walks: 10, varbinds: vb, elapsed: time.Second, serverCPU: cpu}
	}
	r := &result{lab: agent{name: "lab", load: mk(2000, 100*time.Millisecond)},
		snmpd: agent{name: "snmpd", load: mk(1000, 200*time.Millisecond)}}
	if v, _ := ratios(r); v != 2 || verdict(v) != "PASS" {
		t.Errorf("ratio %v verdict %s, want 2 PASS", v, verdict(v))
	}
	if c := cpuRatio(r); c != 4 {
		t.Errorf("cpuRatio = %v, want 4", c)
	}
	r.lab.note = "failed: x"
	if v, _ := ratios(r); verdict(v) != "NA" {
		t.Errorf("verdict with a failed lab = %s, want NA", verdict(v))
	}
	if verdict(0.5) != "MISS" {
		t.Error("verdict(0.5) is not MISS")
	}
}

// TestWalkSnmpd runs one snmpbulkwalk against a real snmpd started with the
// benchmark's configuration.
func TestWalkSnmpd(t *testing.T) {
	tl, err := findTools()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	port, err := freeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "snmpd.conf")
	if err := os.WriteFile(conf, []byte(snmpdConfig()), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	log := filepath.Join(dir, "snmpd.log")
	p, err := spawn(log, []string{"SNMP_PERSISTENT_DIR=" + dir}, snmpdArgs(tl.snmpd, conf, log, addr))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	n, err := waitWalk(context.Background(), nil, tl.walk, addr, p, 15*time.Second)
	if err != nil {
		t.Fatalf("walk: %v%s", err, p.Tail())
	}
	if n < 50 {
		t.Errorf("one walk of snmpd's MIB gave %d varbinds, want at least 50", n)
	}
	// A wrong community gets no answer: the walk must fail, not count.
	cmd := exec.Command(tl.walk, "-v2c", "-c", "wrong", "-On", "-t", "0.2", "-r", "0", addr, "1.3.6.1")
	cmd.Env = append(os.Environ(), toolEnv...)
	out, _ := cmd.Output()
	if c := countVarbinds(out); c != 0 {
		t.Errorf("walk with a wrong community counted %d varbinds", c)
	}
	p.Stop()
	if p.Alive() {
		t.Error("snmpd still running after stop")
	}
}

func FuzzCountVarbinds(f *testing.F) {
	f.Add([]byte(walkSample))
	f.Add([]byte(".1 = x\n.2.3 = No Such Instance\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := countVarbinds(b)
		if n < 0 || n > strings.Count(string(b), " = ") {
			t.Fatalf("countVarbinds = %d for %d separators", n, strings.Count(string(b), " = "))
		}
	})
}
