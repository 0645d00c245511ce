package dns

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"protolab/internal/service"
	"protolab/internal/servicetest"
)

// TestLearnerVariants: in a class, each learner is answered from the zones
// with their own values (Runtime.Variants), told apart by the address the
// query comes from; any other client gets the lab's own.
func TestLearnerVariants(t *testing.T) {
	load := func(secret string) service.Prepared {
		p, err := Spec.Load(servicetest.YAML(t, labOptions+"\nallow_transfer: true"), labDirWith(t, secret))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	who := map[netip.Addr]string{netip.MustParseAddr("127.0.0.3"): "ada", netip.MustParseAddr("127.0.0.4"): "bob",
		netip.MustParseAddr("127.0.0.5"): "cyd"}
	s := startServerWith(t, load("tournesol"), service.Runtime{
		// cyd has no variant of this service: the lab's own.
		Variants: map[string]service.Prepared{"ada": load("mimosa"), "bob": load("lavande")},
		Who:      func(a netip.Addr) string { return who[a] },
	})
	for _, tc := range []struct{ from, want string }{
		{"127.0.0.3", "mimosa"}, {"127.0.0.4", "lavande"}, {"127.0.0.5", "tournesol"}, {"127.0.0.1", "tournesol"},
	} {
		for _, transport := range []string{"udp", "tcp"} {
			addr := s.udp
			var local net.Addr = &net.UDPAddr{IP: net.ParseIP(tc.from)}
			if transport == "tcp" {
				addr, local = s.tcp, &net.TCPAddr{IP: net.ParseIP(tc.from)}
			}
			c := &dns.Client{Net: transport, Timeout: 2 * time.Second, Dialer: &net.Dialer{LocalAddr: local, Timeout: 2 * time.Second}}
			m := new(dns.Msg)
			m.SetQuestion("secret.lab.test.", dns.TypeTXT)
			r, _, err := c.Exchange(m, addr)
			if err != nil {
				t.Fatalf("from %s over %s: %v", tc.from, transport, err)
			}
			if len(r.Answer) != 1 || !strings.Contains(r.Answer[0].String(), `"flag=`+tc.want+`"`) {
				t.Errorf("from %s over %s: %v, want flag=%s", tc.from, transport, r.Answer, tc.want)
			}
		}
		// A zone transfer gives away the same learner's flag.
		tr := &dns.Transfer{Conn: nil}
		m := new(dns.Msg)
		m.SetAxfr("lab.test.")
		conn, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tc.from)}, Timeout: 2 * time.Second}).Dial("tcp", s.tcp)
		if err != nil {
			t.Fatal(err)
		}
		tr.Conn = &dns.Conn{Conn: conn}
		envs, err := tr.In(m, s.tcp)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for env := range envs {
			for _, rr := range env.RR {
				found = found || strings.Contains(rr.String(), `"flag=`+tc.want+`"`)
			}
		}
		conn.Close()
		if !found {
			t.Errorf("the transfer to %s lacks flag=%s", tc.from, tc.want)
		}
	}
}
