package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"protolab/internal/api"
	"protolab/internal/catalog"
	"protolab/internal/event"
	"protolab/internal/service"
	"protolab/labs"
)

// serveClass starts `lab serve` with labFlags for serveRoster's class
// and returns it with its servers' endpoints.
func serveClass(t *testing.T, labFlags ...string) (*serveProc, service.Endpoints) {
	t.Helper()
	dir := t.TempDir()
	roster := filepath.Join(dir, "roster.yaml")
	if err := os.WriteFile(roster, []byte(serveRoster), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	p := startServe(t, state, roster, labFlags...)
	return p, service.Endpoints((&labProc{t: t, state: state}).status().Endpoints)
}

// hostPort is the address of one of eps's servers.
func hostPort(t *testing.T, eps service.Endpoints, svc, network string) (string, string) {
	t.Helper()
	a, ok := eps.Find(svc, network)
	if !ok {
		t.Fatalf("no %s endpoint: %+v", svc, eps)
	}
	host, port, _ := net.SplitHostPort(a)
	return host, port
}

// TestServeLearnerFlags: in a class, the DNS server gives each learner
// their own flag in secret.lab.test (the dns lab's variable), told apart
// by the address dig asks from.
func TestServeLearnerFlags(t *testing.T) {
	dig := needTool(t, "dig")
	p, eps := serveClass(t, "--lab", "dns")
	host, port := hostPort(t, eps, "dns", "udp")
	flags := map[string]string{}
	for _, l := range []struct{ id, from string }{{"a", "127.0.0.1"}, {"c", "127.0.0.3"}} {
		want := `"flag=` + labValue(t, "dns", l.id, "secret") + `"`
		for _, transport := range []string{"+notcp", "+tcp"} {
			out := strings.TrimSpace(runTool(t, dig, "-b", l.from, "@"+host, "-p", port, transport, "+short", "secret.lab.test", "TXT"))
			if out != want {
				t.Fatalf("learner %s (%s, %s) reads %s, want their own %s", l.id, l.from, transport, out, want)
			}
		}
		flags[l.id] = want
		id := l.id
		c := p.waitClass(t, id+" ticks txt-secret", func(c api.Class) bool { return cellDone(c, id, "txt-secret") })
		// The dashboard shows the instructor each learner's flag.
		for _, row := range c.Learners {
			if row.ID == id && `"flag=`+row.Values["secret"]+`"` != want {
				t.Errorf("the dashboard gives %s the values %v, want flag %s", id, row.Values, want)
			}
		}
	}
	if flags["a"] == flags["c"] {
		t.Fatalf("learners a and c have the same flag %s", flags["a"])
	}
}

// TestServeLearnerCommunities: in a class, the SNMP agent takes each
// learner's own weak community (the snmp lab's variable) and not their
// neighbour's, and the guess ticks for that learner only.
func TestServeLearnerCommunities(t *testing.T) {
	snmpget := needTool(t, "snmpget")
	p, eps := serveClass(t, "--lab", "snmp")
	host, port := hostPort(t, eps, "snmp", "udp")
	mine, theirs := labValue(t, "snmp", "c", "community"), ""
	for _, other := range []string{"a", "b"} {
		if v := labValue(t, "snmp", other, "community"); v != mine && theirs == "" {
			theirs = v
		}
	}
	if theirs == "" {
		t.Fatalf("learners a, b and c all drew %q: no neighbour's community to try", mine)
	}
	get := func(from, community string) bool {
		_, code := tool(t, "", snmpget, "-v2c", "-c", community, "-t", "0.3", "-r", "0", "-On",
			"--clientaddr="+from, host+":"+port, "1.3.6.1.2.1.1.5.0")
		return code == 0
	}
	if get("127.0.0.3", "not-a-community") {
		t.Fatal("the agent answered a wrong community")
	}
	if !get("127.0.0.3", mine) {
		t.Fatalf("learner c's own community %q is refused", mine)
	}
	if get("127.0.0.3", theirs) {
		t.Fatalf("learner c got in with a neighbour's community %q", theirs)
	}
	c := p.waitClass(t, "c ticks community-guess", func(c api.Class) bool { return cellDone(c, "c", "community-guess") })
	if cellDone(c, "a", "community-guess") {
		t.Fatalf("learner a ticked c's guess: %+v", c.Learners)
	}
}

// TestServeExerciseVariants: lab serve --exercise runs the French example
// for a class: each learner's word to put in a Subject is their own (a
// neighbour's word ticks nothing for them), and the DNS server the
// exercise uses from the dns lab gives each learner their own flag.
func TestServeExerciseVariants(t *testing.T) {
	dig, swaks := needTool(t, "dig"), needTool(t, "swaks")
	file := filepath.Join("..", "..", "exercises", "dns-courrier", "exercise.yaml")
	word := func(learner string) string {
		lab, err := labs.LoadExercise(file, learner, catalog.New())
		if err != nil {
			t.Fatal(err)
		}
		return lab.Values["mot"]
	}
	mine, theirs := word("c"), ""
	for _, other := range []string{"a", "b"} {
		if w := word(other); w != mine && theirs == "" {
			theirs = w
		}
	}
	if theirs == "" {
		t.Fatalf("learners a, b and c all drew the word %q", mine)
	}
	p, eps := serveClass(t, "--exercise", file)
	host, port := hostPort(t, eps, "dns", "udp")
	mh, mp := hostPort(t, eps, "smtp", "tcp")
	mx := net.JoinHostPort(mh, mp)
	send := func(subject string) {
		mustTool(t, "250", "", swaks, "--server", mx, "--local-interface", "127.0.0.3", "--from", "alice@lab.test",
			"--to", "bob@lab.test", "--header", "Subject: "+subject)
	}
	send(theirs)
	send(mine)
	c := p.waitClass(t, "c ticks envoyer-mot", func(c api.Class) bool { return cellDone(c, "c", "envoyer-mot") })
	if cellDone(c, "a", "envoyer-mot") || cellDone(c, "b", "envoyer-mot") {
		t.Fatalf("another learner ticked c's mail: %+v", c.Learners)
	}
	// The tick is the second mail's, with c's word: the first, with a
	// neighbour's, came before it and ticked nothing.
	var doneAt time.Time
	for _, row := range c.Learners {
		for _, cell := range row.Cells {
			if row.ID == "c" && cell.Task == "envoyer-mot" && cell.DoneAt != nil {
				doneAt = *cell.DoneAt
			}
		}
	}
	req, _ := http.NewRequest("GET", p.web+"/api/class/learner?id=c", nil)
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tl struct{ Events []event.Event }
	err = json.NewDecoder(resp.Body).Decode(&tl)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string]time.Time{}
	for _, e := range tl.Events {
		if e.Kind == "smtp.delivered" {
			subjects[e.Attrs["subject"]] = e.Time
		}
	}
	if at, ok := subjects[mine]; !ok || !at.Equal(doneAt) || !subjects[theirs].Before(doneAt) {
		t.Fatalf("c's deliveries %v; the tick at %v should be the one with %q", subjects, doneAt, mine)
	}
	out := strings.TrimSpace(runTool(t, dig, "-b", "127.0.0.3", "@"+host, "-p", port, "+short", "secret.lab.test", "TXT"))
	if want := `"flag=` + labValue(t, "dns", "c", "secret") + `"`; out != want {
		t.Fatalf("learner c reads %s in the exercise's DNS, want their own %s", out, want)
	}
	for _, row := range c.Learners {
		if row.ID == "c" && (row.Values["mot"] != mine || row.Values["dns.secret"] != labValue(t, "dns", "c", "secret")) {
			t.Errorf("the dashboard gives c the values %v", row.Values)
		}
	}
}
