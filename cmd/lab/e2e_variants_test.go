package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"protolab/internal/api"
	"protolab/internal/service"
)

// classEndpoint starts `lab serve` with labFlags for serveRoster's class
// and returns it with the address of one of its servers.
func classEndpoint(t *testing.T, svc, network string, labFlags ...string) (*serveProc, string, string) {
	t.Helper()
	dir := t.TempDir()
	roster := filepath.Join(dir, "roster.yaml")
	if err := os.WriteFile(roster, []byte(serveRoster), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	p := startServe(t, state, roster, labFlags...)
	st := (&labProc{t: t, state: state}).status()
	a, ok := service.Endpoints(st.Endpoints).Find(svc, network)
	if !ok {
		t.Fatalf("no %s endpoint: %+v", svc, st)
	}
	host, port, _ := net.SplitHostPort(a)
	return p, host, port
}

// TestServeLearnerFlags: in a class, the DNS server gives each learner
// their own flag in secret.lab.test (the dns lab's variable), told apart
// by the address dig asks from.
func TestServeLearnerFlags(t *testing.T) {
	dig := needTool(t, "dig")
	p, host, port := classEndpoint(t, "dns", "udp", "--lab", "dns")
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
	p, host, port := classEndpoint(t, "snmp", "udp", "--lab", "snmp")
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
