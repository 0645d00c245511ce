package snmp

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"protolab/internal/service"
	"protolab/internal/servicetest"
)

// TestLearnerVariants: in a class whose lab draws a weak community per
// learner, the agent accepts each learner's own (Runtime.Variants), told
// apart by the address the request comes from, and refuses another
// learner's; any other client has the lab's own communities.
func TestLearnerVariants(t *testing.T) {
	weak := func(c string) service.Prepared {
		opts := strings.Replace(labOptions, "{name: private, access: rw}]", "{name: private, access: rw}, {name: "+c+", access: rw, hidden: true}]", 1)
		p, err := Spec.Load(servicetest.YAML(t, opts), labFS(t))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	who := map[netip.Addr]string{netip.MustParseAddr("127.0.0.3"): "ada", netip.MustParseAddr("127.0.0.4"): "bob"}
	col := newCollector()
	inst, err := weak("cisco").Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Events: col,
		Variants: map[string]service.Prepared{"ada": weak("admin"), "bob": weak("router")},
		Who:      func(a netip.Addr) string { return who[a] }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		inst.Shutdown(ctx)
	})
	addr, _ := inst.Endpoints().Find("snmp", "udp")
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	get := func(from, community string) bool {
		x := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Version: gosnmp.Version2c, Community: community,
			Timeout: 300 * time.Millisecond, Retries: 0, LocalAddr: from + ":0"}
		if err := x.Connect(); err != nil {
			t.Fatal(err)
		}
		defer x.Conn.Close()
		r, err := x.Get([]string{".1.3.6.1.2.1.1.5.0"})
		return err == nil && len(r.Variables) == 1
	}
	for _, tc := range []struct {
		from, community string
		ok              bool
	}{
		{"127.0.0.3", "admin", true}, {"127.0.0.3", "router", false}, {"127.0.0.3", "cisco", false}, {"127.0.0.3", "public", true},
		{"127.0.0.4", "router", true}, {"127.0.0.4", "admin", false},
		{"127.0.0.1", "cisco", true}, {"127.0.0.1", "admin", false}, {"127.0.0.1", "private", true},
	} {
		if got := get(tc.from, tc.community); got != tc.ok {
			t.Errorf("from %s with %q: answered %v, want %v", tc.from, tc.community, got, tc.ok)
		}
	}
}
