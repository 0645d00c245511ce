package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"protolab/internal/api"
	"protolab/internal/service"
)

// Learner a is the host localhost (its addresses, resolved at start,
// include 127.0.0.1), learner c the loopback address 127.0.0.3 (two learners
// on one machine), and learner b's address is never used here.
const serveRoster = `class: net-101
learners:
  - id: a
    name: Ada
    host: localhost
  - id: b
    name: Bob
    address: 192.0.2.102
  - id: c
    name: Cyd
    address: 127.0.0.3
`

// serveProc is a running `lab serve`.
type serveProc struct {
	cmd        *exec.Cmd
	out        *lockedBuffer
	exited     chan error
	web, token string
}

// startServe runs `lab serve` on free ports and waits for the dashboard's
// address. labFlags say which lab (default: --lab dns).
func startServe(t *testing.T, state, roster string, labFlags ...string) *serveProc {
	t.Helper()
	if len(labFlags) == 0 {
		labFlags = []string{"--lab", "dns"}
	}
	args := append([]string{"serve", "--roster", roster}, labFlags...)
	cmd := exec.Command(labBin, append(args, "--ports", "auto",
		"--web", "127.0.0.1:0", "--state", state, "--lang", "en")...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, out: &lockedBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-p.exited
			}
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.out.Write([]byte(sc.Text() + "\n"))
			if u, ok := strings.CutPrefix(sc.Text(), "Instructor dashboard: "); ok {
				ready <- u
			}
		}
		close(ready)
	}()
	select {
	case u, ok := <-ready:
		if !ok {
			t.Fatalf("lab serve printed no dashboard address; output:\n%s", p.out.String())
		}
		base, tok, found := strings.Cut(u, "/instructor?token=")
		if !found || len(tok) != 32 {
			t.Fatalf("dashboard address %q", u)
		}
		p.web, p.token = base, tok
	case <-time.After(20 * time.Second):
		t.Fatalf("lab serve did not start in time; output:\n%s", p.out.String())
	}
	return p
}

func (p *serveProc) class(t *testing.T, token string) (int, api.Class) {
	t.Helper()
	req, _ := http.NewRequest("GET", p.web+"/api/class", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var c api.Class
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("GET /api/class: %v: %s", err, b)
		}
	}
	return resp.StatusCode, c
}

// waitClass polls the dashboard's grid until cond holds.
func (p *serveProc) waitClass(t *testing.T, what string, cond func(api.Class) bool) api.Class {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, c := p.class(t, p.token)
		if cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached; grid %+v\noutput:\n%s", what, c, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func cellDone(c api.Class, learner, task string) bool {
	for _, l := range c.Learners {
		if l.ID == learner {
			for _, cell := range l.Cells {
				if cell.Task == task {
					return cell.Done
				}
			}
		}
	}
	return false
}

func TestServeClass(t *testing.T) {
	dig := needTool(t, "dig")
	dir := t.TempDir()
	roster := filepath.Join(dir, "roster.yaml")
	if err := os.WriteFile(roster, []byte(serveRoster), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	p := startServe(t, state, roster)
	if out := p.out.String(); !strings.Contains(out, "Class net-101: 3 learners") {
		t.Fatalf("header:\n%s", out)
	}
	// lab status asks from 127.0.0.1: learner a's console.
	st := (&labProc{t: t, state: state}).status()
	a, ok := service.Endpoints(st.Endpoints).Find("dns", "udp")
	if !ok {
		t.Fatalf("no DNS endpoint: %+v", st)
	}
	host, port, _ := net.SplitHostPort(a)

	if code, _ := p.class(t, ""); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := p.class(t, strings.Repeat("f", 32)); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	runTool(t, dig, "-b", "127.0.0.1", "@"+host, "-p", port, "www.lab.test", "A")
	p.waitClass(t, "a ticks resolve-a", func(c api.Class) bool { return cellDone(c, "a", "resolve-a") })
	// From an address on no learner's: counted, ticks nothing.
	runTool(t, dig, "-b", "127.0.0.2", "@"+host, "-p", port, "lab.test", "MX")
	c := p.waitClass(t, "unknown counted", func(c api.Class) bool { return c.Unknown > 0 })
	if cellDone(c, "a", "mx") || cellDone(c, "b", "mx") {
		t.Fatalf("an unknown query ticked: %+v", c.Learners)
	}
	// From learner c's address: c's task, nobody else's.
	runTool(t, dig, "-b", "127.0.0.3", "@"+host, "-p", port, "webmail.lab.test", "CNAME")
	c = p.waitClass(t, "c ticks cname", func(c api.Class) bool { return cellDone(c, "c", "cname") })
	if cellDone(c, "a", "cname") || cellDone(c, "c", "resolve-a") {
		t.Fatalf("a tick went to the wrong learner: %+v", c.Learners)
	}
	if !strings.Contains(p.out.String(), "a") || !strings.Contains(p.out.String(), "1/9 tasks done") {
		t.Errorf("no progress line in the output:\n%s", p.out.String())
	}

	// kill -9, then a restart: the tick is kept, under a new token.
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	p2 := startServe(t, state, roster)
	if p2.token == p.token {
		t.Error("the token did not change with the restart")
	}
	if code, c := p2.class(t, p2.token); code != 200 || !cellDone(c, "a", "resolve-a") {
		t.Fatalf("after kill -9 and restart: %d %+v", code, c.Learners)
	}
	if code, _ := p2.class(t, p.token); code != 401 {
		t.Fatalf("the old token still works: %d", code)
	}
	// Export, as CSV.
	req, _ := http.NewRequestWithContext(context.Background(), "GET", p2.web+"/api/class/export?format=csv&token="+p2.token, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(rows) != 1+3*9 || rows[1][0] != "a" || rows[1][2] != "resolve-a" || rows[1][4] != "true" {
		t.Fatalf("export: %v %v", err, rows)
	}

	// lab report reads the same state: learner a is there.
	out, _, _ := labRun(t, "report", "--lab", "dns", "--format", "csv", "--state", state)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("lab report: %v\n%s", err, out)
	}
	found := false
	for _, r := range recs {
		found = found || (len(r) > 3 && r[0] == "a" && r[1] == "resolve-a" && r[3] == "true")
	}
	if !found {
		t.Fatalf("lab report does not show a's tick:\n%s", out)
	}
}

func TestServeUsage(t *testing.T) {
	dir := t.TempDir()
	roster := filepath.Join(dir, "roster.yaml")
	os.WriteFile(roster, []byte(serveRoster), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("learners:\n  - id: Ada\n"), 0o600)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no roster", []string{"serve", "--lab", "dns"}, "--roster FILE is required"},
		{"no lab", []string{"serve", "--roster", roster}, "--lab ID or --exercise FILE"},
		{"both", []string{"serve", "--roster", roster, "--lab", "dns", "--exercise", "x.yaml"}, "--lab ID or --exercise FILE"},
		{"missing roster", []string{"serve", "--roster", filepath.Join(dir, "nope.yaml"), "--lab", "dns"}, "cannot read the roster"},
		{"bad roster", []string{"serve", "--roster", bad, "--lab", "dns"}, "bad.yaml:2"},
		{"bad ports", []string{"serve", "--roster", roster, "--lab", "dns", "--ports", "low"}, "--ports"},
		{"unknown lab", []string{"serve", "--roster", roster, "--lab", "nosuchlab"}, "nosuchlab"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := labRun(t, append(tt.args, "--state", filepath.Join(dir, "state"))...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

// TestLearnersURL: the learners' consoles are announced at the servers'
// address when the web server listens on every address.
func TestLearnersURL(t *testing.T) {
	for _, tc := range []struct{ local, web, bind, want string }{
		{"http://127.0.0.1:8080", "0.0.0.0:8080", "192.0.2.1", "http://192.0.2.1:8080"},
		{"http://127.0.0.1:41234", "0.0.0.0:0", "192.0.2.1", "http://192.0.2.1:41234"},
		{"http://127.0.0.1:8080", "[::]:8080", "2001:db8:89::1", "http://[2001:db8:89::1]:8080"},
		{"http://127.0.0.1:8080", ":8080", "192.0.2.1", "http://192.0.2.1:8080"},
		{"http://127.0.0.1:8080", "127.0.0.1:8080", "192.0.2.1", "http://127.0.0.1:8080"}, // loopback only: as it is
		{"http://192.0.2.5:8080", "192.0.2.5:8080", "192.0.2.1", "http://192.0.2.5:8080"}, // a given address: as it is
		{"http://127.0.0.1:8080", "0.0.0.0:8080", "127.0.0.1", "http://127.0.0.1:8080"},   // servers on loopback
		{"http://127.0.0.1:8080", "0.0.0.0:8080", "0.0.0.0", "http://127.0.0.1:8080"},     // servers everywhere: no better name
		{"http://127.0.0.1:8080", "nonsense", "192.0.2.1", "http://127.0.0.1:8080"},
	} {
		if got := learnersURL(tc.local, tc.web, tc.bind); got != tc.want {
			t.Errorf("learnersURL(%q, %q, %q) = %q, want %q", tc.local, tc.web, tc.bind, got, tc.want)
		}
	}
}
