// Package benchzone holds the records the DNS benchmark serves: the A and
// AAAA records of the lab.test zone, read from the lab's zone file (or a
// built-in copy), and written out in each server's own format (a zone file
// for the bare responder, host records for dnsmasq, a query file for
// dnsperf), so that every server answers the same questions the same way.
package benchzone

import (
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// Origin is the lab's domain.
const Origin = "lab.test."

// Record is one address record: a host name and one of its addresses.
type Record struct {
	Name string     // fully qualified, lower case: "www.lab.test."
	Addr netip.Addr // IPv4 for A, IPv6 for AAAA
	TTL  uint32
}

// Type is the record's DNS type, dns.TypeA or dns.TypeAAAA.
func (r Record) Type() uint16 {
	if r.Addr.Is4() {
		return dns.TypeA
	}
	return dns.TypeAAAA
}

// RR is the record as a miekg/dns resource record.
func (r Record) RR() dns.RR {
	hdr := dns.RR_Header{Name: r.Name, Rrtype: r.Type(), Class: dns.ClassINET, Ttl: r.TTL}
	if r.Addr.Is4() {
		a := r.Addr.As4()
		return &dns.A{Hdr: hdr, A: a[:]}
	}
	a := r.Addr.As16()
	return &dns.AAAA{Hdr: hdr, AAAA: a[:]}
}

// Zone is the part of a zone the benchmark serves: its SOA and its address
// records, sorted by name, type and address.
type Zone struct {
	Origin  string
	SOA     *dns.SOA // nil when the zone file has none
	Records []Record
}

// Builtin is the lab.test zone as the DNS lab describes it, used when the
// lab's zone file cannot be read: six hosts with one IPv4 and one IPv6
// address each, from the documentation ranges.
const Builtin = `$ORIGIN lab.test.
$TTL 3600
@        IN SOA  ns1.lab.test. hostmaster.lab.test. 1 3600 600 86400 300
@        IN NS   ns1.lab.test.
ns1      IN A    192.0.2.53
ns1      IN AAAA 2001:db8:89::53
www      IN A    192.0.2.80
www      IN AAAA 2001:db8:89::80
mail     IN A    192.0.2.25
mail     IN AAAA 2001:db8:89::25
rtr1     IN A    192.0.2.1
rtr1     IN AAAA 2001:db8:89::1
files    IN A    192.0.2.45
files    IN AAAA 2001:db8:89::45
printer  IN A    192.0.2.60
printer  IN AAAA 2001:db8:89::60
`

// maxRecords bounds what Parse keeps, so a huge zone file cannot make the
// benchmark's files or query list grow without limit.
const maxRecords = 10000

// Parse reads a zone in master-file format and keeps its SOA and the A and
// AAAA records inside origin. Other types (NS, MX, CNAME...), wildcards and
// names that are not plain host names are skipped: every server under test
// must be able to serve what is kept. name is used in error messages.
func Parse(r io.Reader, origin, name string) (*Zone, error) {
	origin = dns.CanonicalName(origin)
	z := &Zone{Origin: origin}
	zp := dns.NewZoneParser(r, origin, name)
	seen := make(map[Record]bool)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		if h.Class != dns.ClassINET || !dns.IsSubDomain(origin, h.Name) {
			continue
		}
		owner := dns.CanonicalName(h.Name)
		var rec Record
		switch v := rr.(type) {
		case *dns.SOA:
			if z.SOA == nil && owner == origin {
				z.SOA = dns.Copy(v).(*dns.SOA)
				z.SOA.Hdr.Name = origin
			}
			continue
		case *dns.A:
			addr, ok := netip.AddrFromSlice(v.A.To4())
			if !ok {
				continue
			}
			rec = Record{Name: owner, Addr: addr, TTL: h.Ttl}
		case *dns.AAAA:
			addr, ok := netip.AddrFromSlice(v.AAAA.To16())
			if !ok || addr.Is4In6() {
				continue
			}
			rec = Record{Name: owner, Addr: addr, TTL: h.Ttl}
		default:
			continue
		}
		if !isHostname(owner) || seen[rec] {
			continue
		}
		if len(z.Records) == maxRecords {
			return nil, fmt.Errorf("benchzone: %s: more than %d address records", name, maxRecords)
		}
		seen[rec] = true
		z.Records = append(z.Records, rec)
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("benchzone: %w", err)
	}
	if len(z.Records) == 0 {
		return nil, fmt.Errorf("benchzone: %s: no A or AAAA records under %s", name, origin)
	}
	slices.SortFunc(z.Records, func(a, b Record) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Type(), b.Type()), a.Addr.Compare(b.Addr))
	})
	return z, nil
}

// isHostname reports whether a fully qualified name is made of letters,
// digits, hyphens and underscores only: what every server under test (and
// dnsmasq's host-record) accepts, and what prints and parses back the same.
// Wildcards and escaped characters are left out.
func isHostname(name string) bool {
	for label := range strings.SplitSeq(strings.TrimSuffix(name, "."), ".") {
		if label == "" {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Question is one (name, type) pair the zone can answer.
type Question struct {
	Name string
	Type uint16
}

func (q Question) String() string {
	return strings.TrimSuffix(q.Name, ".") + " " + dns.TypeToString[q.Type]
}

// Questions lists each (name, type) pair that has at least one record, in
// the zone's order: the queries every server can answer with data.
func (z *Zone) Questions() []Question {
	var qs []Question
	for _, r := range z.Records {
		q := Question{r.Name, r.Type()}
		if len(qs) == 0 || qs[len(qs)-1] != q {
			qs = append(qs, q)
		}
	}
	return qs
}

// WriteZone writes the zone (SOA first, if any, then the address records)
// in master-file format, one record a line.
func (z *Zone) WriteZone(w io.Writer) error {
	var b strings.Builder
	if z.SOA != nil {
		b.WriteString(z.SOA.String() + "\n")
	}
	for _, r := range z.Records {
		b.WriteString(r.RR().String() + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteDnsmasq writes one dnsmasq host-record line per address record,
// keeping each record's TTL: "host-record=www.lab.test,192.0.2.80,3600".
func (z *Zone) WriteDnsmasq(w io.Writer) error {
	var b strings.Builder
	for _, r := range z.Records {
		fmt.Fprintf(&b, "host-record=%s,%s,%d\n", strings.TrimSuffix(r.Name, "."), r.Addr, r.TTL)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteQueries writes dnsperf's input: one "name TYPE" line per question.
func (z *Zone) WriteQueries(w io.Writer) error {
	var b strings.Builder
	for _, q := range z.Questions() {
		b.WriteString(q.String() + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
