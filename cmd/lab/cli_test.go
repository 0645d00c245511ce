package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// labRun runs the lab binary and returns stdout, stderr and the exit code.
func labRun(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(labBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestListAndVersion(t *testing.T) {
	out, _, code := labRun(t, "list", "--lang", "en")
	if code != 0 || !regexp.MustCompile(`(?m)^dns\s+DNS: from names to addresses\s+dns\s+9$`).MatchString(out) {
		t.Fatalf("lab list (exit %d):\n%s", code, out)
	}
	out, _, code = labRun(t, "list", "--json")
	var entries []labEntry
	if code != 0 || json.Unmarshal([]byte(out), &entries) != nil || !slices.ContainsFunc(entries, func(e labEntry) bool { return e.ID == "dns" }) {
		t.Fatalf("lab list --json (exit %d): %s", code, out)
	}
	out, _, code = labRun(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "lab version ") {
		t.Fatalf("lab --version (exit %d): %q", code, out)
	}
}

func TestLesson(t *testing.T) {
	out, _, code := labRun(t, "lesson", "dns", "--lang", "fr", "--width", "80", "--state", t.TempDir())
	if code != 0 {
		t.Fatalf("lab lesson exit %d", code)
	}
	for _, want := range []string{"Quel service fait le lien entre un nom de domaine et une adresse IP", "DNS", "resolve-a"} {
		if !strings.Contains(out, want) {
			t.Errorf("French lesson lacks %q", want)
		}
	}
	out, _, _ = labRun(t, "lesson", "dns", "--lang", "en", "--state", t.TempDir())
	if !strings.Contains(out, "resolve-a") || strings.Contains(out, "Quel service") {
		t.Errorf("English lesson looks wrong:\n%s", out)
	}
}

func TestUsageErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("id: mine\ntitle: Mine\nservices:\n  dns:\n    zones: []\n  ftp: {}\ntasks:\n  - id: a\n    title: A\n    check: {event: dns.querry}\n  - id: a\n    title: B\n    check: {event: dns.query}\n"), 0o600)
	tests := []struct {
		name string
		args []string
		code int
		want []string // in stderr
	}{
		{"unknown lab", []string{"start", "dnss"}, 2, []string{`no lab named "dnss"`, "dns"}},
		{"malformed lab file", []string{"start", "--file", bad}, 2, []string{bad + ":6: unknown service \"ftp\"", bad + ":10: check: unknown event kind \"dns.querry\"", bad + ":11: task id \"a\" is used twice"}},
		{"unknown command", []string{"strat"}, 2, []string{"unknown command"}},
		{"unknown flag", []string{"start", "dns", "--prots", "x"}, 2, []string{"unknown flag"}},
		{"bad ports", []string{"start", "dns", "--ports", "low"}, 2, []string{"choose high, standard or auto"}},
		{"bad port flag", []string{"start", "dns", "--port", "smtp=25"}, 2, []string{`no listener "smtp"`}},
		{"bad lang", []string{"lesson", "dns", "--lang", "de"}, 2, []string{"choose fr or en"}},
		{"hint, nothing running", []string{"hint", "resolve-a", "--state", t.TempDir()}, 1, []string{"no lab is running", "lab start"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := labRun(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestPortTaken(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	_, stderr, code := labRun(t, "start", "dns", "--port", "dns="+strconv.Itoa(port), "--web", "127.0.0.1:0", "--state", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "port "+strconv.Itoa(port)) || !strings.Contains(stderr, "--port dns=PORT") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, stderr, code = labRun(t, "start", "dns", "--ports", "auto", "--web", ln.Addr().String(), "--state", t.TempDir())
	if code != 1 || !strings.Contains(stderr, ln.Addr().String()) || !strings.Contains(stderr, "--web ADDR") {
		t.Fatalf("web port taken: exit %d, stderr:\n%s", code, stderr)
	}
}

func TestSecondLabSameState(t *testing.T) {
	state := t.TempDir()
	startLab(t, state)
	_, stderr, code := labRun(t, "start", "dns", "--ports", "auto", "--web", "127.0.0.1:0", "--state", state)
	if code != 1 || !strings.Contains(stderr, "already running") || !strings.Contains(stderr, "--state DIR") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

func TestHintsAndSolve(t *testing.T) {
	state := t.TempDir()
	p := startLab(t, state)
	out, _, code := labRun(t, "hint", "resolve-a", "--state", state)
	if code != 0 || !strings.Contains(out, "Hint 1/2 for resolve-a") {
		t.Fatalf("first hint (exit %d):\n%s", code, out)
	}
	out, _, _ = labRun(t, "hint", "resolve-a", "--state", state)
	if want := "dig @" + p.host() + " -p " + p.port() + " www.lab.test A"; !strings.Contains(out, want) {
		t.Fatalf("second hint lacks the exact command %q:\n%s", want, out)
	}
	_, stderr, code := labRun(t, "hint", "nope", "--state", state)
	if code != 1 || !strings.Contains(stderr, "resolve-a") {
		t.Fatalf("unknown task: exit %d, stderr:\n%s", code, stderr)
	}
	if st := p.status(); st.Tasks[0].HintsShown != 2 {
		t.Fatalf("hints shown = %d, want 2", st.Tasks[0].HintsShown)
	}

	out, stderr, code = labRun(t, "solve", "dns", "--state", state)
	if code != 0 || !strings.Contains(out, "All 9 tasks solved") {
		t.Fatalf("lab solve (exit %d):\n%s\n%s", code, out, stderr)
	}
	st := p.status()
	if st.Done != st.Total || st.Total != 9 {
		t.Fatalf("after lab solve: %d/%d done", st.Done, st.Total)
	}

	// Stopped: status still answers from the saved progress.
	p.stop()
	out, _, code = labRun(t, "status", "--state", state)
	if code != 0 || !strings.Contains(out, "not running") || !strings.Contains(out, "9/9 tasks") {
		t.Fatalf("status of a stopped lab (exit %d):\n%s", code, out)
	}
	out, _, code = labRun(t, "reset", "--state", state)
	if code != 0 || !strings.Contains(out, "lab dns cleared") {
		t.Fatalf("reset of a stopped lab (exit %d):\n%s", code, out)
	}
	out, _, _ = labRun(t, "status", "--json", "--state", state)
	if !strings.Contains(out, `"done": 0`) {
		t.Fatalf("status after offline reset:\n%s", out)
	}
}

// Every built-in lab can be solved by `lab solve` alone (with the Go
// clients of its services), starting the lab itself on free ports.
func TestSolveEveryLab(t *testing.T) {
	want := map[string]int{"dns": 9, "dhcp": 5, "smtp": 7, "pop": 6, "imap": 7, "mail": 4, "snmp": 7, "course": 8, "tcpip": 4, "ws": 4}
	out, _, _ := labRun(t, "list", "--json")
	var entries []labEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Fatalf("lab list has %d labs, this test knows %d: update it", len(entries), len(want))
	}
	for _, e := range entries {
		t.Run(e.ID, func(t *testing.T) {
			out, stderr, code := labRun(t, "solve", e.ID, "--state", t.TempDir())
			if code != 0 || !strings.Contains(out, "All "+strconv.Itoa(want[e.ID])+" tasks solved") {
				t.Fatalf("exit %d:\n%s\n%s", code, out, stderr)
			}
		})
	}
}

func TestGarbageNeverKillsDNS(t *testing.T) {
	dig := needTool(t, "dig")
	p := startLab(t, t.TempDir())
	rng := rand.New(rand.NewPCG(1, 2))
	conn, err := net.Dial("udp", p.dnsUDP)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := 0; i < 2000; i++ {
		b := make([]byte, rng.IntN(600))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		// Half the time, a plausible header with random counts.
		if len(b) >= 12 && i%2 == 0 {
			b[2], b[3] = 0x01, 0x00
		}
		conn.Write(b)
	}
	for i := 0; i < 20; i++ {
		c, err := net.DialTimeout("tcp", p.dnsTCP, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, rng.IntN(3000))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		c.Write(b)
		c.Close()
	}
	out := runTool(t, dig, "@"+p.host(), "-p", p.port(), "+short", "www.lab.test", "A")
	if strings.TrimSpace(out) != "192.0.2.80" {
		t.Fatalf("after garbage, dig says %q", out)
	}
	out = runTool(t, dig, "@"+p.host(), "-p", p.port(), "+tcp", "+short", "mail.lab.test", "A")
	if strings.TrimSpace(out) != "192.0.2.25" {
		t.Fatalf("after garbage, dig +tcp says %q", out)
	}
}

func TestDHCPInterfaceUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"start", "dns", "--dhcp-interface", "lo"}, "has no DHCP server"},
		{[]string{"start", "dhcp", "--dhcp-interface", "no-such-if0"}, "no such interface"},
		{[]string{"start", "dhcp", "--dhcp-interface", "lo", "--sandbox"}, "do not go together"},
	} {
		var out, errb strings.Builder
		code := run(append(c.args, "--state", t.TempDir()), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("lab %v: exit %d, %q; want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
}
