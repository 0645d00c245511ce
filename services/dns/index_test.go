package dns

import (
	"slices"
	"testing"

	"github.com/miekg/dns"
)

const exampleZone = `$ORIGIN example.test.
$TTL 600
@           IN SOA   ns1 hostmaster 1 3600 600 86400 60
            IN NS    ns1
ns1         IN A     192.0.2.53
*.wild      IN TXT   "wildcard"
*.wild      IN A     192.0.2.9
host.wild   IN A     192.0.2.10
*.alias     IN CNAME ns1
sub         IN NS    ns.sub
sub         IN NS    ns.other.test.
ns.sub      IN A     192.0.2.99
loop1       IN CNAME loop2
loop2       IN CNAME loop1
out         IN CNAME www.elsewhere.test.
chain1      IN CNAME chain2
chain2      IN CNAME ns1
dangling    IN CNAME nothing
deleg       IN CNAME x.sub
deep.ent.a  IN TXT   "deep"
`

const childZone = `$ORIGIN sub.example.test.
$TTL 600
@    IN SOA ns hostmaster 7 3600 600 86400 60
     IN NS  ns
ns   IN A   192.0.2.99
www  IN A   192.0.2.100
`

func buildIndex(t *testing.T, texts map[string]string) *index {
	t.Helper()
	var zones []*zone
	for file, text := range texts {
		z, err := parseZone(file, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, z)
	}
	ix, err := newIndex(zones)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestLookup(t *testing.T) {
	soa := "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60"
	referral := []string{"sub.example.test. 600 IN NS ns.sub.example.test.", "sub.example.test. 600 IN NS ns.other.test."}
	glue := []string{"ns.sub.example.test. 600 IN A 192.0.2.99"}
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		aa     bool
		answer []string
		ns     []string
		extra  []string
	}{
		{"wildcard A", "a.wild.example.test.", dns.TypeA, 0, true, []string{"a.wild.example.test. 600 IN A 192.0.2.9"}, nil, nil},
		{"wildcard two labels down", "x.y.wild.example.test.", dns.TypeTXT, 0, true, []string{`x.y.wild.example.test. 600 IN TXT "wildcard"`}, nil, nil},
		{"wildcard NODATA", "a.wild.example.test.", dns.TypeMX, 0, true, nil, []string{soa}, nil},
		{"existing name beats wildcard", "host.wild.example.test.", dns.TypeTXT, 0, true, nil, []string{soa}, nil},
		{"wildcard CNAME", "b.alias.example.test.", dns.TypeA, 0, true, []string{"b.alias.example.test. 600 IN CNAME ns1.example.test.", "ns1.example.test. 600 IN A 192.0.2.53"}, nil, nil},
		{"wildcard asked itself", "*.wild.example.test.", dns.TypeA, 0, true, []string{"*.wild.example.test. 600 IN A 192.0.2.9"}, nil, nil},
		{"referral", "www.sub.example.test.", dns.TypeA, 0, false, nil, referral, glue},
		{"referral at the cut", "sub.example.test.", dns.TypeNS, 0, false, nil, referral, glue},
		{"glue is a referral", "ns.sub.example.test.", dns.TypeA, 0, false, nil, referral, glue},
		{"CNAME loop", "loop1.example.test.", dns.TypeA, 0, true, []string{"loop1.example.test. 600 IN CNAME loop2.example.test.", "loop2.example.test. 600 IN CNAME loop1.example.test."}, nil, nil},
		{"CNAME out of the zones", "out.example.test.", dns.TypeA, 0, true, []string{"out.example.test. 600 IN CNAME www.elsewhere.test."}, nil, nil},
		{"CNAME chain", "chain1.example.test.", dns.TypeA, 0, true, []string{"chain1.example.test. 600 IN CNAME chain2.example.test.", "chain2.example.test. 600 IN CNAME ns1.example.test.", "ns1.example.test. 600 IN A 192.0.2.53"}, nil, nil},
		{"CNAME chain unknown type", "chain1.example.test.", 4242, 0, true, []string{"chain1.example.test. 600 IN CNAME chain2.example.test.", "chain2.example.test. 600 IN CNAME ns1.example.test."}, []string{soa}, nil},
		{"dangling CNAME", "dangling.example.test.", dns.TypeA, dns.RcodeNameError, true, []string{"dangling.example.test. 600 IN CNAME nothing.example.test."}, []string{soa}, nil},
		{"CNAME into a delegation", "deleg.example.test.", dns.TypeA, 0, true, []string{"deleg.example.test. 600 IN CNAME x.sub.example.test."}, referral, glue},
		{"empty non-terminals", "ent.a.example.test.", dns.TypeTXT, 0, true, nil, []string{soa}, nil},
		{"empty non-terminal ANY", "a.example.test.", dns.TypeANY, 0, true, nil, []string{soa}, nil},
		{"NXDOMAIN", "nx.example.test.", dns.TypeA, dns.RcodeNameError, true, nil, []string{soa}, nil},
		{"REFUSED", "example.org.", dns.TypeA, dns.RcodeRefused, false, nil, nil, nil},
	}
	ix := buildIndex(t, map[string]string{"example.test.zone": exampleZone})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := ix.lookup(tt.qname, tt.qtype)
			if r.rcode != tt.rcode || r.aa != tt.aa {
				t.Errorf("rcode %d aa %v, want %d %v", r.rcode, r.aa, tt.rcode, tt.aa)
			}
			for _, s := range []struct {
				name string
				got  []dns.RR
				want []string
			}{{"answer", r.answer, tt.answer}, {"authority", r.ns, tt.ns}, {"additional", r.extra, tt.extra}} {
				if g := rrStrings(s.got); !slices.Equal(g, s.want) {
					t.Errorf("%s:\n got %q\nwant %q", s.name, g, s.want)
				}
			}
			// Results are shared: their slices must be full so that an
			// append never writes into them.
			for _, s := range [][]dns.RR{r.answer, r.ns, r.extra} {
				if len(s) != cap(s) {
					t.Errorf("len %d != cap %d", len(s), cap(s))
				}
			}
		})
	}

	// The same names with the child zone loaded: answered by the child.
	ix = buildIndex(t, map[string]string{"example.test.zone": exampleZone, "sub.example.test.zone": childZone})
	childSOA := []string{"sub.example.test. 60 IN SOA ns.sub.example.test. hostmaster.sub.example.test. 7 3600 600 86400 60"}
	for _, tt := range []struct {
		qname  string
		rcode  int
		answer []string
		ns     []string
	}{
		{"www.sub.example.test.", 0, []string{"www.sub.example.test. 600 IN A 192.0.2.100"}, nil},
		{"ns.sub.example.test.", 0, []string{"ns.sub.example.test. 600 IN A 192.0.2.99"}, nil},
		{"nothing.sub.example.test.", dns.RcodeNameError, nil, childSOA},
		{"deleg.example.test.", dns.RcodeNameError, []string{"deleg.example.test. 600 IN CNAME x.sub.example.test."}, childSOA},
	} {
		r, _ := ix.lookup(tt.qname, dns.TypeA)
		if r.rcode != tt.rcode || !r.aa || !slices.Equal(rrStrings(r.answer), tt.answer) || !slices.Equal(rrStrings(r.ns), tt.ns) {
			t.Errorf("nested %s: rcode %d aa %v answer %q ns %q", tt.qname, r.rcode, r.aa, rrStrings(r.answer), rrStrings(r.ns))
		}
	}
}

func TestParent(t *testing.T) {
	for _, tt := range []struct {
		in, out string
		ok      bool
	}{
		{"www.lab.test.", "lab.test.", true},
		{"test.", ".", true},
		{".", "", false},
		{`a\.b.test.`, "test.", true},
	} {
		out, ok := parent(tt.in)
		if out != tt.out || ok != tt.ok {
			t.Errorf("parent(%q) = %q %v, want %q %v", tt.in, out, ok, tt.out, tt.ok)
		}
	}
}

func TestCheckQuery(t *testing.T) {
	m := new(dns.Msg)
	m.SetQuestion("www.lab.test.", dns.TypeA)
	m.SetEdns0(1232, true)
	good, _ := m.Pack()
	m.Compress = true
	m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "www.lab.test.", Rrtype: dns.TypeA, Class: 1}, A: []byte{1, 2, 3, 4}}}
	compressed, _ := m.Pack()
	for _, tt := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"query", good, true},
		{"compressed", compressed, true},
		{"cut in the OPT", good[:len(good)-3], false},
		{"cut in the question", good[:20], false},
		{"header only", good[:12], false},
		{"short", good[:5], false},
	} {
		if got := checkQuery(tt.b) == ""; got != tt.ok {
			t.Errorf("%s: ok=%v (%q)", tt.name, got, checkQuery(tt.b))
		}
	}
}
