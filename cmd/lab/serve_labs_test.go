package main

import (
	"encoding/csv"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"protolab/internal/api"
	"protolab/internal/service"
)

// A class on two labs at once: learner c ticks a task of the dns lab with
// dig, learner a one of the tcpip lab with nc, each from their own address;
// the progress is the combination's, found again by a restart and by lab
// report.
func TestServeLabs(t *testing.T) {
	dig, nc := needTool(t, "dig"), needTool(t, "nc")
	dir := t.TempDir()
	roster := filepath.Join(dir, "roster.yaml")
	if err := os.WriteFile(roster, []byte(serveRoster), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	p := startServe(t, state, roster, "--labs", "dns,tcpip")
	if out := p.out.String(); !strings.Contains(out, "Labs together: dns + tcpip (lab dns-tcpip)") ||
		!strings.Contains(out, "Class net-101: 3 learners") {
		t.Fatalf("header:\n%s", out)
	}
	_, c := p.class(t, p.token)
	if c.Lab != "dns-tcpip" || len(c.Learners) != 3 || len(c.Learners[0].Cells) != 9+4 {
		t.Fatalf("grid: lab %q, %d learners, %+v", c.Lab, len(c.Learners), c.Learners)
	}

	eps := service.Endpoints((&labProc{t: t, state: state}).status().Endpoints)
	dnsAddr, ok1 := eps.Find("dns", "udp")
	echoAddr, ok2 := eps.Find("echo", "tcp")
	if !ok1 || !ok2 {
		t.Fatalf("endpoints: %+v", eps)
	}
	host, port, _ := net.SplitHostPort(dnsAddr)
	runTool(t, dig, "-b", "127.0.0.3", "@"+host, "-p", port, "www.lab.test", "A")
	p.waitClass(t, "c ticks resolve-a", func(c api.Class) bool { return cellDone(c, "c", "resolve-a") })

	host, port, _ = net.SplitHostPort(echoAddr)
	if out := runInput(t, "hello lab\n", nc, "-N", "-s", "127.0.0.1", host, port); out != "hello lab\n" {
		t.Fatalf("nc printed %q", out)
	}
	c = p.waitClass(t, "a ticks tcp-echo", func(c api.Class) bool { return cellDone(c, "a", "tcp-echo") })
	for _, wrong := range [][2]string{{"a", "resolve-a"}, {"c", "tcp-echo"}, {"b", "resolve-a"}, {"b", "tcp-echo"}} {
		if cellDone(c, wrong[0], wrong[1]) {
			t.Fatalf("%s ticked %s: %+v", wrong[0], wrong[1], c.Learners)
		}
	}

	// A restart with the same list finds the same lab and its ticks.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	p2 := startServe(t, state, roster, "--labs", "dns", "--labs", "tcpip")
	if code, c := p2.class(t, p2.token); code != 200 || c.Lab != "dns-tcpip" || !cellDone(c, "a", "tcp-echo") || !cellDone(c, "c", "resolve-a") {
		t.Fatalf("after a restart: %d %s %+v", code, c.Lab, c.Learners)
	}

	// lab report finds the combination by its id, by its list, and as the
	// last lab run.
	for _, args := range [][]string{{"--lab", "dns-tcpip"}, {"--labs", "dns,tcpip"}, nil} {
		out, stderr, _ := labRun(t, append([]string{"report", "--format", "csv", "--state", state}, args...)...)
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("lab report %v: %v\n%s%s", args, err, out, stderr)
		}
		done := map[string]bool{}
		for _, r := range recs {
			if len(r) > 3 && r[3] == "true" {
				done[r[0]+" "+r[1]] = true
			}
		}
		if len(done) != 2 || !done["a tcp-echo"] || !done["c resolve-a"] {
			t.Fatalf("lab report %v: done %v\n%s", args, done, out)
		}
	}
}

// lab solve and lab lesson take a combination's id.
func TestServeLabsByID(t *testing.T) {
	out, stderr, code := labRun(t, "solve", "dns-tcpip", "--state", t.TempDir())
	if code != 0 || !strings.Contains(out, "All 13 tasks solved.") {
		t.Fatalf("lab solve dns-tcpip: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = labRun(t, "lesson", "smtp-mail", "--lang", "en")
	for _, want := range []string{"Labs together: smtp + mail", "The task smtp-send of the lab mail is mail-smtp-send here", "SMTP: how an email travels"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("lab lesson smtp-mail: exit %d, no %q\n%s%s", code, want, out, stderr)
		}
	}
}

func TestServeLabsUsage(t *testing.T) {
	dir := t.TempDir()
	roster := filepath.Join(dir, "roster.yaml")
	if err := os.WriteFile(roster, []byte(serveRoster), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"lab and labs", []string{"serve", "--roster", roster, "--lab", "dns", "--labs", "tcpip"}, "--lab ID or --exercise FILE"},
		{"labs and exercise", []string{"serve", "--roster", roster, "--labs", "dns,tcpip", "--exercise", "x.yaml"}, "--lab ID or --exercise FILE"},
		{"twice", []string{"serve", "--roster", roster, "--labs", "dns,tcpip,dns"}, "the lab dns is named twice"},
		{"twice repeated", []string{"serve", "--roster", roster, "--labs", "dns", "--labs", "dns"}, "the lab dns is named twice"},
		{"unknown", []string{"serve", "--roster", roster, "--labs", "dns,nosuch"}, `no lab named "nosuch"; the labs are: course,`},
		{"empty", []string{"serve", "--roster", roster, "--labs", "dns,,tcpip"}, "an empty lab name"},
		{"start both", []string{"start", "dns", "--labs", "tcpip"}, "give a lab name, --labs ID,ID..., --file FILE or --exercise FILE"},
		{"start twice", []string{"start", "--labs", "tcpip,tcpip"}, "the lab tcpip is named twice"},
		{"start unknown id", []string{"start", "dns-nosuch"}, `no lab named "dns-nosuch"`},
		{"report both", []string{"report", "--lab", "dns", "--labs", "dns,tcpip"}, "give --lab ID or --labs ID,ID..., not both"},
		{"report unknown", []string{"report", "--labs", "dns,nosuch"}, "--lab dns-nosuch: no built-in lab has this id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := labRun(t, append(tt.args, "--state", state)...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}
