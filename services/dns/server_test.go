package dns

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"protolab/internal/service"
)

// TestAnswers asks the lab zones what a learner asks and checks every
// section of the reply, and the event it produced.
func TestAnswers(t *testing.T) {
	s := startServer(t, loadLab(t, ""))
	soa := "lab.test. 300 IN SOA ns1.lab.test. hostmaster.lab.test. 2026112501 3600 600 86400 300"
	tests := []struct {
		name   string
		q      query
		rcode  int
		aa     bool
		answer []string
		ns     []string
		extra  []string
	}{
		{"A", query{name: "www.lab.test.", qtype: dns.TypeA}, dns.RcodeSuccess, true,
			[]string{"www.lab.test. 3600 IN A 192.0.2.80"}, nil, nil},
		{"AAAA", query{name: "www.lab.test.", qtype: dns.TypeAAAA}, dns.RcodeSuccess, true,
			[]string{"www.lab.test. 3600 IN AAAA 2001:db8:89::80"}, nil, nil},
		{"A over TCP", query{name: "rtr1.lab.test.", qtype: dns.TypeA, transport: "tcp"}, dns.RcodeSuccess, true,
			[]string{"rtr1.lab.test. 3600 IN A 192.0.2.1"}, nil, nil},
		{"mixed case", query{name: "PrInTeR.LAB.test.", qtype: dns.TypeA}, dns.RcodeSuccess, true,
			[]string{"printer.lab.test. 3600 IN A 192.0.2.60"}, nil, nil},
		{"MX with additional", query{name: "lab.test.", qtype: dns.TypeMX}, dns.RcodeSuccess, true,
			[]string{"lab.test. 3600 IN MX 10 mail.lab.test."}, nil,
			[]string{"mail.lab.test. 3600 IN A 192.0.2.25", "mail.lab.test. 3600 IN AAAA 2001:db8:89::25"}},
		{"NS with glue", query{name: "lab.test.", qtype: dns.TypeNS}, dns.RcodeSuccess, true,
			[]string{"lab.test. 3600 IN NS ns1.lab.test."}, nil,
			[]string{"ns1.lab.test. 3600 IN A 192.0.2.53", "ns1.lab.test. 3600 IN AAAA 2001:db8:89::53"}},
		{"SOA", query{name: "lab.test.", qtype: dns.TypeSOA}, dns.RcodeSuccess, true,
			[]string{"lab.test. 3600 IN SOA ns1.lab.test. hostmaster.lab.test. 2026112501 3600 600 86400 300"}, nil, nil},
		{"TXT at apex", query{name: "lab.test.", qtype: dns.TypeTXT}, dns.RcodeSuccess, true,
			[]string{`lab.test. 3600 IN TXT "v=spf1 mx -all"`, `lab.test. 3600 IN TXT "Protolab DNS lab - bienvenue / welcome"`}, nil, nil},
		{"secret TXT", query{name: "secret.lab.test.", qtype: dns.TypeTXT}, dns.RcodeSuccess, true,
			[]string{`secret.lab.test. 3600 IN TXT "flag=tournesol"`}, nil, nil},
		{"CNAME chased", query{name: "webmail.lab.test.", qtype: dns.TypeA}, dns.RcodeSuccess, true,
			[]string{"webmail.lab.test. 3600 IN CNAME www.lab.test.", "www.lab.test. 3600 IN A 192.0.2.80"}, nil, nil},
		{"CNAME chased AAAA", query{name: "webmail.lab.test.", qtype: dns.TypeAAAA}, dns.RcodeSuccess, true,
			[]string{"webmail.lab.test. 3600 IN CNAME www.lab.test.", "www.lab.test. 3600 IN AAAA 2001:db8:89::80"}, nil, nil},
		{"CNAME to NODATA", query{name: "webmail.lab.test.", qtype: dns.TypeMX}, dns.RcodeSuccess, true,
			[]string{"webmail.lab.test. 3600 IN CNAME www.lab.test."}, []string{soa}, nil},
		{"CNAME asked", query{name: "webmail.lab.test.", qtype: dns.TypeCNAME}, dns.RcodeSuccess, true,
			[]string{"webmail.lab.test. 3600 IN CNAME www.lab.test."}, nil, nil},
		{"SRV with additional", query{name: "_imap._tcp.lab.test.", qtype: dns.TypeSRV}, dns.RcodeSuccess, true,
			[]string{"_imap._tcp.lab.test. 3600 IN SRV 10 0 143 mail.lab.test."}, nil,
			[]string{"mail.lab.test. 3600 IN A 192.0.2.25", "mail.lab.test. 3600 IN AAAA 2001:db8:89::25"}},
		{"SRV submission", query{name: "_submission._tcp.lab.test.", qtype: dns.TypeSRV}, dns.RcodeSuccess, true,
			[]string{"_submission._tcp.lab.test. 3600 IN SRV 10 0 587 mail.lab.test."}, nil,
			[]string{"mail.lab.test. 3600 IN A 192.0.2.25", "mail.lab.test. 3600 IN AAAA 2001:db8:89::25"}},
		{"PTR v4", query{name: "80.2.0.192.in-addr.arpa.", qtype: dns.TypePTR}, dns.RcodeSuccess, true,
			[]string{"80.2.0.192.in-addr.arpa. 3600 IN PTR www.lab.test."}, nil, nil},
		{"PTR v6", query{name: mustReverse(t, "2001:db8:89::53"), qtype: dns.TypePTR}, dns.RcodeSuccess, true,
			[]string{mustReverse(t, "2001:db8:89::53") + " 3600 IN PTR ns1.lab.test."}, nil, nil},
		{"NXDOMAIN", query{name: "nope.lab.test.", qtype: dns.TypeA}, dns.RcodeNameError, true,
			nil, []string{soa}, nil},
		{"NXDOMAIN below a name", query{name: "a.www.lab.test.", qtype: dns.TypeA}, dns.RcodeNameError, true,
			nil, []string{soa}, nil},
		{"NXDOMAIN reverse", query{name: "99.2.0.192.in-addr.arpa.", qtype: dns.TypePTR}, dns.RcodeNameError, true,
			nil, []string{"2.0.192.in-addr.arpa. 300 IN SOA ns1.lab.test. hostmaster.lab.test. 2026112501 3600 600 86400 300"}, nil},
		{"NODATA", query{name: "www.lab.test.", qtype: dns.TypeMX}, dns.RcodeSuccess, true,
			nil, []string{soa}, nil},
		{"NODATA unknown type", query{name: "www.lab.test.", qtype: 65534}, dns.RcodeSuccess, true,
			nil, []string{soa}, nil},
		{"empty non-terminal", query{name: "_tcp.lab.test.", qtype: dns.TypeA}, dns.RcodeSuccess, true,
			nil, []string{soa}, nil},
		{"empty non-terminal reverse", query{name: "0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.8.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", qtype: dns.TypePTR}, dns.RcodeSuccess, true,
			nil, []string{"0.0.0.0.9.8.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN SOA ns1.lab.test. hostmaster.lab.test. 2026112501 3600 600 86400 300"}, nil},
		{"outside the zones", query{name: "www.example.com.", qtype: dns.TypeA}, dns.RcodeRefused, false, nil, nil, nil},
		{"parent of the zone", query{name: "test.", qtype: dns.TypeSOA}, dns.RcodeRefused, false, nil, nil, nil},
		{"root", query{name: ".", qtype: dns.TypeNS}, dns.RcodeRefused, false, nil, nil, nil},
		{"class CH", query{name: "version.bind.", qtype: dns.TypeTXT, mutate: func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }},
			dns.RcodeRefused, false, nil, nil, nil},
		{"opcode STATUS", query{name: "www.lab.test.", qtype: dns.TypeA, mutate: func(m *dns.Msg) { m.Opcode = dns.OpcodeStatus }},
			dns.RcodeNotImplemented, false, nil, nil, nil},
		{"MAILB", query{name: "lab.test.", qtype: dns.TypeMAILB}, dns.RcodeNotImplemented, false, nil, nil, nil},
		{"EDNS version 1", query{name: "www.lab.test.", qtype: dns.TypeA, edns: 1232, mutate: func(m *dns.Msg) { m.IsEdns0().SetVersion(1) }},
			dns.RcodeBadVers, false, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.ask(t, tt.q)
			if r.Rcode != tt.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
			if r.Authoritative != tt.aa {
				t.Errorf("aa %v, want %v", r.Authoritative, tt.aa)
			}
			if r.RecursionAvailable {
				t.Error("ra set: the server does not recurse")
			}
			checkSection(t, "answer", r.Answer, tt.answer)
			checkSection(t, "authority", r.Ns, tt.ns)
			checkSection(t, "additional", r.Extra, tt.extra)

			e := s.events.Next(t, KindQuery)
			want := map[string]string{
				"qname":     strings.ToLower(tt.q.name),
				"qtype":     typeString(tt.q.qtype),
				"rcode":     rcodeString(tt.rcode),
				"transport": map[bool]string{true: "tcp", false: "udp"}[tt.q.transport == "tcp"],
				"answers":   strconv.Itoa(len(tt.answer)),
				"aa":        strconv.FormatBool(tt.aa),
				"truncated": "false",
				"edns":      strconv.FormatBool(tt.q.edns > 0),
			}
			for k, v := range want {
				if e.Attrs[k] != v {
					t.Errorf("event %s=%q, want %q (%s)", k, e.Attrs[k], v, e.Summary())
				}
			}
			if e.Service != "dns" || e.Client == "" {
				t.Errorf("event service %q client %q", e.Service, e.Client)
			}
			if !strings.Contains(e.Transcript, "status: "+rcodeString(tt.rcode)) {
				t.Errorf("transcript lacks the status:\n%s", e.Transcript)
			}
			for _, a := range tt.answer {
				if !strings.Contains(strings.ReplaceAll(e.Transcript, "\t", " "), a) {
					t.Errorf("transcript lacks %q:\n%s", a, e.Transcript)
				}
			}
		})
	}
}

func mustReverse(t testing.TB, ip string) string {
	t.Helper()
	r, err := dns.ReverseAddr(ip)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func checkSection(t *testing.T, name string, got []dns.RR, want []string) {
	t.Helper()
	g := rrStrings(got)
	if !slices.Equal(g, want) {
		t.Errorf("%s section:\n got %q\nwant %q", name, g, want)
	}
}

func TestFlags(t *testing.T) {
	s := startServer(t, loadLab(t, ""))
	for _, rd := range []bool{true, false} {
		r := s.ask(t, query{name: "www.lab.test.", qtype: dns.TypeA, mutate: func(m *dns.Msg) {
			m.RecursionDesired = rd
			m.CheckingDisabled = true
		}})
		if r.RecursionDesired != rd || r.RecursionAvailable || !r.CheckingDisabled || !r.Response {
			t.Errorf("rd=%v: reply flags rd=%v ra=%v cd=%v qr=%v", rd, r.RecursionDesired, r.RecursionAvailable, r.CheckingDisabled, r.Response)
		}
	}
}

func TestANY(t *testing.T) {
	s := startServer(t, loadLab(t, ""))
	r := s.ask(t, query{name: "lab.test.", qtype: dns.TypeANY, transport: "tcp"})
	types := map[uint16]int{}
	for _, rr := range r.Answer {
		types[rr.Header().Rrtype]++
	}
	want := map[uint16]int{dns.TypeSOA: 1, dns.TypeNS: 1, dns.TypeMX: 1, dns.TypeTXT: 2}
	if len(types) != len(want) {
		t.Fatalf("ANY answer types %v, want %v", types, want)
	}
	for k, v := range want {
		if types[k] != v {
			t.Errorf("ANY: %d %s, want %d", types[k], dns.TypeToString[k], v)
		}
	}
	r = s.ask(t, query{name: "webmail.lab.test.", qtype: dns.TypeANY})
	checkSection(t, "answer", r.Answer, []string{"webmail.lab.test. 3600 IN CNAME www.lab.test."})
}

func TestEDNS(t *testing.T) {
	s := startServer(t, loadLab(t, ""))
	r := s.ask(t, query{name: "www.lab.test.", qtype: dns.TypeA, edns: 4096, mutate: func(m *dns.Msg) { m.IsEdns0().SetDo() }})
	opt := r.IsEdns0()
	if opt == nil {
		t.Fatal("no OPT in the reply to an EDNS query")
	}
	if opt.UDPSize() != 1232 || opt.Version() != 0 || !opt.Do() {
		t.Errorf("OPT udp=%d version=%d do=%v, want 1232 0 true", opt.UDPSize(), opt.Version(), opt.Do())
	}
	e := s.events.Next(t, KindQuery)
	if e.Attrs["edns"] != "true" || !strings.Contains(e.Transcript, "udp: 1232") {
		t.Errorf("event %s, transcript:\n%s", e.Summary(), e.Transcript)
	}

	r = s.ask(t, query{name: "www.lab.test.", qtype: dns.TypeA})
	if r.IsEdns0() != nil {
		t.Error("OPT in the reply to a query without EDNS")
	}

	r = s.ask(t, query{name: "www.lab.test.", qtype: dns.TypeA, edns: 1232, mutate: func(m *dns.Msg) { m.IsEdns0().SetVersion(1) }})
	if r.Rcode != dns.RcodeBadVers || r.IsEdns0() == nil || len(r.Answer) != 0 {
		t.Errorf("EDNS version 1: rcode %d, opt %v, %d answers; want BADVERS with an OPT", r.Rcode, r.IsEdns0(), len(r.Answer))
	}

	r = s.ask(t, query{name: "www.lab.test.", qtype: dns.TypeA, edns: 1232, mutate: func(m *dns.Msg) { m.SetEdns0(512, false) }})
	if r.Rcode != dns.RcodeFormatError {
		t.Errorf("two OPT records: rcode %s, want FORMERR", dns.RcodeToString[r.Rcode])
	}
}

func TestTruncation(t *testing.T) {
	s := startServer(t, loadLab(t, ""))
	tests := []struct {
		name      string
		q         query
		truncated bool
		answers   int
	}{
		{"udp without EDNS", query{name: "big.lab.test.", qtype: dns.TypeTXT}, true, -1},
		{"udp with a 512 buffer", query{name: "big.lab.test.", qtype: dns.TypeTXT, edns: 512}, true, -1},
		{"udp with EDNS 1232", query{name: "big.lab.test.", qtype: dns.TypeTXT, edns: 1232}, false, 12},
		{"udp with EDNS 4096", query{name: "big.lab.test.", qtype: dns.TypeTXT, edns: 4096}, false, 12},
		{"tcp", query{name: "big.lab.test.", qtype: dns.TypeTXT, transport: "tcp"}, false, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.ask(t, tt.q)
			if r.Truncated != tt.truncated {
				t.Errorf("tc=%v, want %v", r.Truncated, tt.truncated)
			}
			if tt.answers >= 0 && len(r.Answer) != tt.answers {
				t.Errorf("%d answers, want %d", len(r.Answer), tt.answers)
			}
			if tt.truncated && len(r.Answer) >= 12 {
				t.Errorf("truncated answer still has %d records", len(r.Answer))
			}
			r.Compress = true // as it travelled
			if size := r.Len(); tt.q.transport != "tcp" && size > max(512, tt.q.edns) {
				t.Errorf("reply of %d bytes over UDP", size)
			}
			e := s.events.Next(t, KindQuery)
			if e.Attrs["truncated"] != strconv.FormatBool(tt.truncated) || e.Attrs["answers"] != strconv.Itoa(len(r.Answer)) {
				t.Errorf("event %s", e.Summary())
			}
		})
	}
}

// axfr transfers a zone over TCP and returns the records and the rcode.
func axfr(t *testing.T, addr, zone string) ([]dns.RR, int) {
	t.Helper()
	m := new(dns.Msg)
	m.SetAxfr(zone)
	c, err := dns.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := c.WriteMsg(m); err != nil {
		t.Fatal(err)
	}
	var rrs []dns.RR
	for soas := 0; soas < 2; {
		r, err := c.ReadMsg()
		if err != nil {
			t.Fatalf("axfr %s: %v after %d records", zone, err, len(rrs))
		}
		if r.Rcode != dns.RcodeSuccess {
			return nil, r.Rcode
		}
		if !r.Authoritative || r.Id != m.Id {
			t.Errorf("transfer message aa=%v id=%d", r.Authoritative, r.Id)
		}
		for _, rr := range r.Answer {
			if rr.Header().Rrtype == dns.TypeSOA {
				soas++
			}
		}
		rrs = append(rrs, r.Answer...)
	}
	return rrs, dns.RcodeSuccess
}

func TestAXFR(t *testing.T) {
	p := loadLab(t, "")
	s := startServer(t, p)
	for _, z := range p.ix.zones {
		rrs, rcode := axfr(t, s.tcp, z.origin)
		if rcode != dns.RcodeSuccess {
			t.Fatalf("%s: %s", z.origin, dns.RcodeToString[rcode])
		}
		if _, ok := rrs[0].(*dns.SOA); !ok {
			t.Errorf("%s: starts with %s", z.origin, rrs[0])
		}
		if _, ok := rrs[len(rrs)-1].(*dns.SOA); !ok {
			t.Errorf("%s: ends with %s", z.origin, rrs[len(rrs)-1])
		}
		got := rrStrings(rrs[:len(rrs)-1])
		want := rrStrings(z.records)
		if !slices.Equal(got, want) {
			t.Errorf("%s: transferred\n%q\nzone\n%q", z.origin, got, want)
		}
		e := s.events.Next(t, KindQuery)
		if e.Attrs["qtype"] != "AXFR" || e.Attrs["transfer"] != "complete" || e.Attrs["answers"] != strconv.Itoa(len(rrs)) || e.Attrs["transport"] != "tcp" {
			t.Errorf("event %s", e.Summary())
		}
		if !strings.Contains(e.Transcript, "XFR size: "+strconv.Itoa(len(rrs))+" records") {
			t.Errorf("transcript:\n%s", e.Transcript)
		}
	}
	rrs, _ := axfr(t, s.tcp, "lab.test.")
	if !slices.ContainsFunc(rrs, func(rr dns.RR) bool { return strings.Contains(rr.String(), "flag=tournesol") }) {
		t.Error("the transfer does not reveal the secret")
	}
	s.events.Next(t, KindQuery)

	// Refusals and errors.
	tests := []struct {
		name      string
		zone      string
		qtype     uint16
		transport string
		rcode     int
	}{
		{"AXFR over UDP", "lab.test.", dns.TypeAXFR, "udp", dns.RcodeRefused},
		{"not a zone", "www.lab.test.", dns.TypeAXFR, "tcp", dns.RcodeNotAuth},
		{"outside the zones", "example.com.", dns.TypeAXFR, "tcp", dns.RcodeRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.ask(t, query{name: tt.zone, qtype: tt.qtype, transport: tt.transport})
			if r.Rcode != tt.rcode || len(r.Answer) != 0 {
				t.Errorf("rcode %s with %d answers, want %s", dns.RcodeToString[r.Rcode], len(r.Answer), dns.RcodeToString[tt.rcode])
			}
			e := s.events.Next(t, KindQuery)
			if e.Attrs["transfer"] != "failed" || e.Attrs["rcode"] != dns.RcodeToString[tt.rcode] || e.Attrs["answers"] != "0" {
				t.Errorf("event %s", e.Summary())
			}
		})
	}
}

func TestAXFRNotAllowed(t *testing.T) {
	s := startServer(t, loadLab(t, "allow_transfer: false"))
	if _, rcode := axfr(t, s.tcp, "lab.test."); rcode != dns.RcodeRefused {
		t.Errorf("rcode %s, want REFUSED", dns.RcodeToString[rcode])
	}
	e := s.events.Next(t, KindQuery)
	if e.Attrs["transfer"] != "failed" || e.Attrs["rcode"] != "REFUSED" {
		t.Errorf("event %s", e.Summary())
	}
	// Queries still work.
	r := s.ask(t, query{name: "secret.lab.test.", qtype: dns.TypeTXT})
	if len(r.Answer) != 1 {
		t.Errorf("TXT: %v", r.Answer)
	}
}

func TestIXFR(t *testing.T) {
	p := loadLab(t, "")
	s := startServer(t, p)
	ixfr := func(serial uint32) func(*dns.Msg) {
		return func(m *dns.Msg) {
			m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "lab.test.", Rrtype: dns.TypeSOA, Class: dns.ClassINET},
				Ns: "ns1.lab.test.", Mbox: "hostmaster.lab.test.", Serial: serial}}
		}
	}
	whole := len(p.ix.zones["lab.test."].records) + 1
	tests := []struct {
		name      string
		serial    uint32
		transport string
		answers   int
		transfer  string
	}{
		{"older serial over TCP: the whole zone", 2026112400, "tcp", whole, "complete"},
		{"current serial over TCP: up to date", 2026112501, "tcp", 1, "complete"},
		{"older serial over UDP: SOA, retry over TCP", 2026112400, "udp", 1, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.ask(t, query{name: "lab.test.", qtype: dns.TypeIXFR, transport: tt.transport, mutate: ixfr(tt.serial)})
			if r.Rcode != dns.RcodeSuccess || len(r.Answer) != tt.answers {
				t.Fatalf("rcode %s, %d answers, want %d", dns.RcodeToString[r.Rcode], len(r.Answer), tt.answers)
			}
			if _, ok := r.Answer[0].(*dns.SOA); !ok {
				t.Errorf("first record %s", r.Answer[0])
			}
			e := s.events.Next(t, KindQuery)
			if e.Attrs["qtype"] != "IXFR" || e.Attrs["transfer"] != tt.transfer || e.Attrs["answers"] != strconv.Itoa(tt.answers) {
				t.Errorf("event %s", e.Summary())
			}
		})
	}
}

// TestGarbage sends what is not a query and checks the server reports it,
// survives, and still answers.
func TestGarbage(t *testing.T) {
	s := startServer(t, loadLab(t, ""))
	good := new(dns.Msg)
	good.SetQuestion("www.lab.test.", dns.TypeA)
	wire, err := good.Pack()
	if err != nil {
		t.Fatal(err)
	}
	response := slices.Clone(wire)
	response[2] |= 0x80
	tooManyQuestions := slices.Clone(wire)
	tooManyQuestions[5] = 200
	tests := []struct {
		name   string
		packet []byte
		reason string
	}{
		{"text", []byte("hello\n"), "shorter than the 12-byte DNS header"},
		{"empty header", make([]byte, 12), "no question"},
		{"response", response, "QR bit"},
		{"200 questions announced", tooManyQuestions, "runs past the end"},
		{"random", []byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x3fabc"), "runs past the end"},
		{"bad label type", []byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x40abc\x00\x00\x01\x00\x01"), "runs past the end"},
		{"pointer loop", []byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01"), "cannot be decoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := sendRaw(t, s.udp, tt.packet)
			e := s.events.Next(t, KindMalformed)
			if !strings.Contains(e.Attrs["reason"], tt.reason) || e.Attrs["transport"] != "udp" {
				t.Errorf("event %s, want reason with %q", e.Summary(), tt.reason)
			}
			if e.Client != "" && e.Client != from.String() {
				t.Errorf("client %q, sent from %s", e.Client, from)
			}
			r := s.ask(t, query{name: "www.lab.test.", qtype: dns.TypeA})
			if len(r.Answer) != 1 {
				t.Fatalf("after %s: %v", tt.name, r)
			}
			s.events.Next(t, KindQuery)
		})
	}

	t.Run("tcp text", func(t *testing.T) {
		c, err := net.Dial("tcp", s.tcp)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("hello, is this DNS?\r\n"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 10)); err == nil {
			t.Errorf("read %d bytes, want the connection closed", n)
		}
		e := s.events.Next(t, KindMalformed)
		if e.Attrs["transport"] != "tcp" || !strings.Contains(e.Attrs["reason"], "length prefix") || e.Client != c.LocalAddr().String() {
			t.Errorf("event %s client %s", e.Summary(), e.Client)
		}
		r := s.ask(t, query{name: "www.lab.test.", qtype: dns.TypeA, transport: "tcp"})
		if len(r.Answer) != 1 {
			t.Fatalf("after garbage: %v", r)
		}
	})

	t.Run("two questions", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetQuestion("www.lab.test.", dns.TypeA)
		m.Question = append(m.Question, dns.Question{Name: "mail.lab.test.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
		r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, s.udp)
		if err != nil {
			t.Fatal(err)
		}
		if r.Rcode != dns.RcodeFormatError {
			t.Errorf("rcode %s, want FORMERR", dns.RcodeToString[r.Rcode])
		}
		e := s.events.Next(t, KindMalformed)
		if !strings.Contains(e.Attrs["reason"], "more than one question") || e.Client == "" {
			t.Errorf("event %s", e.Summary())
		}
	})
}

func TestMalformedRateLimit(t *testing.T) {
	col := newCollector()
	b := newMalformed(col)
	now := time.Unix(1000, 0)
	b.now = func() time.Time { return now }
	for range 25 {
		b.report("udp", "", 3, "short", nil)
	}
	if n := len(col.C()); n != malformedBurst {
		t.Fatalf("%d events for 25 packets at once, want %d", n, malformedBurst)
	}
	for range malformedBurst {
		<-col.C()
	}
	now = now.Add(time.Second / malformedPerSecond)
	b.report("udp", "", 3, "short", nil)
	e := <-col.C()
	if e.Attrs["suppressed"] != "15" || e.Attrs["size"] != "3" {
		t.Errorf("event after the pause: %s", e.Summary())
	}
}

func TestPorts(t *testing.T) {
	p := loadLab(t, "")
	s := startServer(t, p)
	_, up, _ := net.SplitHostPort(s.udp)
	_, tp, _ := net.SplitHostPort(s.tcp)
	if up != tp || up == "0" {
		t.Errorf("udp port %s, tcp port %s: want the same real port", up, tp)
	}

	// A taken port is a BindError naming the listener.
	port, _ := strconv.Atoi(up)
	_, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Ports: map[string]int{"dns": port}})
	be, ok := service.AsBindError(err)
	if !ok {
		t.Fatalf("start on a taken port: %v, want a BindError", err)
	}
	if be.Service != "dns" || be.Listener != "dns" || be.Network != "udp" || !strings.HasSuffix(be.Addr, ":"+up) {
		t.Errorf("bind error %+v", be)
	}

	// TCP taken, UDP free.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tport := ln.Addr().(*net.TCPAddr).Port
	pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(tport))
	if err != nil {
		t.Skipf("udp port %d taken too: %v", tport, err)
	}
	pc.Close()
	_, err = p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Ports: map[string]int{"dns": tport}})
	if be, ok := service.AsBindError(err); !ok || be.Network != "tcp" {
		t.Errorf("tcp taken: %v", err)
	}
}

func TestShutdown(t *testing.T) {
	p := loadLab(t, "")
	inst, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	tcp, _ := inst.Endpoints().Find("dns", "tcp")
	// An idle TCP connection must not hold the shutdown.
	idle, err := net.Dial("tcp", tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	m := new(dns.Msg)
	m.SetQuestion("www.lab.test.", dns.TypeA)
	if _, _, err := (&dns.Client{Net: "tcp"}).Exchange(m, tcp); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := inst.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	if err := inst.Shutdown(ctx); err != nil {
		t.Errorf("second shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", tcp, time.Second); err == nil {
		t.Error("tcp still accepting after shutdown")
	}
	// The port is free again.
	ln, err := net.Listen("tcp", tcp)
	if err != nil {
		t.Errorf("port not released: %v", err)
	} else {
		ln.Close()
	}
}

func TestTCPConnectionLimit(t *testing.T) {
	s := startServer(t, loadLab(t, ""))
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range maxTCPConns {
		c, err := net.Dial("tcp", s.tcp)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// Make sure the server has accepted them all: each answers a query.
	for _, c := range conns {
		dc := &dns.Conn{Conn: c}
		m := new(dns.Msg)
		m.SetQuestion("www.lab.test.", dns.TypeA)
		dc.SetDeadline(time.Now().Add(5 * time.Second))
		if err := dc.WriteMsg(m); err != nil {
			t.Fatal(err)
		}
		if _, err := dc.ReadMsg(); err != nil {
			t.Fatal(err)
		}
	}
	extra, err := net.Dial("tcp", s.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = extra.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("connection over the limit: read %v, want it closed by the server", err)
	}
	// Freeing one slot lets a new client in.
	conns[0].Close()
	conns = conns[1:]
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, _, err := (&dns.Client{Net: "tcp", Timeout: time.Second}).Exchange(func() *dns.Msg {
			m := new(dns.Msg)
			m.SetQuestion("www.lab.test.", dns.TypeA)
			return m
		}(), s.tcp)
		if err == nil && len(r.Answer) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no TCP service after a slot was freed: %v", err)
		}
	}
}
