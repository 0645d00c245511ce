package benchzone

import (
	"bytes"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		zone    string
		records []string // "name type addr ttl"
		soa     bool
		wantErr string
	}{
		{
			name: "builtin",
			zone: Builtin,
			soa:  true,
			records: []string{
				"files.lab.test. A 192.0.2.45 3600", "files.lab.test. AAAA 2001:db8:89::45 3600",
				"mail.lab.test. A 192.0.2.25 3600", "mail.lab.test. AAAA 2001:db8:89::25 3600",
				"ns1.lab.test. A 192.0.2.53 3600", "ns1.lab.test. AAAA 2001:db8:89::53 3600",
				"printer.lab.test. A 192.0.2.60 3600", "printer.lab.test. AAAA 2001:db8:89::60 3600",
				"rtr1.lab.test. A 192.0.2.1 3600", "rtr1.lab.test. AAAA 2001:db8:89::1 3600",
				"www.lab.test. A 192.0.2.80 3600", "www.lab.test. AAAA 2001:db8:89::80 3600",
			},
		},
		{
			name: "other types, wildcards, other zones and duplicates are skipped",
			zone: `$ORIGIN lab.test.
$TTL 300
@     IN MX 10 mail
ftp   IN CNAME files
*     IN A 192.0.2.99
we\.ird IN A 192.0.2.98
it's  IN A 192.0.2.97
WWW   IN A 192.0.2.80
www   IN A 192.0.2.80
www   60 IN A 192.0.2.81
www.example.com. IN A 192.0.2.7
`,
			records: []string{"www.lab.test. A 192.0.2.80 300", "www.lab.test. A 192.0.2.81 60"},
		},
		{name: "no address records", zone: "$ORIGIN lab.test.\n@ 300 IN NS ns1\n", wantErr: "no A or AAAA"},
		{name: "syntax error", zone: "$ORIGIN lab.test.\nwww IN A not-an-address\n", wantErr: "bad A"},
		{name: "empty", zone: "", wantErr: "no A or AAAA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z, err := Parse(strings.NewReader(tt.zone), "LAB.test", "test.zone")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range z.Records {
				got = append(got, r.Name+" "+dns.TypeToString[r.Type()]+" "+r.Addr.String()+" "+itoa(r.TTL))
			}
			if !slices.Equal(got, tt.records) {
				t.Errorf("records:\n got %q\nwant %q", got, tt.records)
			}
			if (z.SOA != nil) != tt.soa {
				t.Errorf("SOA = %v, want present %v", z.SOA, tt.soa)
			}
			if z.Origin != "lab.test." {
				t.Errorf("Origin = %q", z.Origin)
			}
		})
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func TestWriters(t *testing.T) {
	z, err := Parse(strings.NewReader("$ORIGIN lab.test.\nwww 60 IN A 192.0.2.80\nwww 70 IN AAAA 2001:db8:89::80\nmail 80 IN A 192.0.2.25\n"),
		Origin, "t")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		write func(*bytes.Buffer) error
		want  string
	}{
		{"dnsmasq", func(b *bytes.Buffer) error { return z.WriteDnsmasq(b) },
			"host-record=mail.lab.test,192.0.2.25,80\nhost-record=www.lab.test,192.0.2.80,60\nhost-record=www.lab.test,2001:db8:89::80,70\n"},
		{"queries", func(b *bytes.Buffer) error { return z.WriteQueries(b) },
			"mail.lab.test A\nwww.lab.test A\nwww.lab.test AAAA\n"},
		{"zone", func(b *bytes.Buffer) error { return z.WriteZone(b) },
			"mail.lab.test.\t80\tIN\tA\t192.0.2.25\nwww.lab.test.\t60\tIN\tA\t192.0.2.80\nwww.lab.test.\t70\tIN\tAAAA\t2001:db8:89::80\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}

// TestWriteZoneRoundTrip checks that the zone the bare responder reads back
// is the zone that was written.
func TestWriteZoneRoundTrip(t *testing.T) {
	z, err := Parse(strings.NewReader(Builtin), Origin, "builtin")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := z.WriteZone(&b); err != nil {
		t.Fatal(err)
	}
	back, err := Parse(&b, Origin, "written")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Records, z.Records) || back.SOA.String() != z.SOA.String() {
		t.Errorf("round trip changed the zone:\n%v\n%v", back.Records, z.Records)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Builtin)
	f.Add("$ORIGIN lab.test.\nwww IN A 192.0.2.1\n")
	f.Add("www.lab.test. 1 IN AAAA ::ffff:192.0.2.1\n*.lab.test. IN A 192.0.2.2\n")
	f.Add("$TTL 5\n@ IN SOA a. b. 1 2 3 4 5\nx IN CNAME y\n")
	f.Fuzz(func(t *testing.T, text string) {
		z, err := Parse(strings.NewReader(text), Origin, "fuzz")
		if err != nil {
			return
		}
		if len(z.Records) == 0 {
			t.Fatal("Parse returned a zone without records and no error")
		}
		var b bytes.Buffer
		if err := z.WriteZone(&b); err != nil {
			t.Fatal(err)
		}
		back, err := Parse(&b, Origin, "written")
		if err != nil {
			t.Fatalf("written zone does not parse: %v\n%s", err, b.String())
		}
		if !slices.Equal(back.Records, z.Records) {
			t.Fatalf("round trip changed the records:\n%v\n%v", back.Records, z.Records)
		}
	})
}

// serve starts h on a UDP and a TCP socket of 127.0.0.1 and returns the
// address.
func serve(t *testing.T, h dns.Handler) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Skipf("tcp port of %s taken: %v", pc.LocalAddr(), err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	udp := &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: wg.Done}
	tcp := &dns.Server{Listener: ln, Handler: h, NotifyStartedFunc: wg.Done}
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	wg.Wait()
	t.Cleanup(func() { _ = udp.Shutdown(); _ = tcp.Shutdown() })
	return pc.LocalAddr().String()
}

func TestHandler(t *testing.T) {
	z, err := Parse(strings.NewReader(Builtin), Origin, "builtin")
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, NewHandler(z))
	tests := []struct {
		name   string
		net    string
		qname  string
		qtype  uint16
		edns   bool
		rcode  int
		aa     bool
		answer []string // data of the answer records
		soa    bool     // SOA in the authority section
	}{
		{"A", "udp", "www.lab.test.", dns.TypeA, false, dns.RcodeSuccess, true, []string{"192.0.2.80"}, false},
		{"AAAA, upper case, tcp", "tcp", "WWW.Lab.Test.", dns.TypeAAAA, false, dns.RcodeSuccess, true, []string{"2001:db8:89::80"}, false},
		{"EDNS", "udp", "mail.lab.test.", dns.TypeA, true, dns.RcodeSuccess, true, []string{"192.0.2.25"}, false},
		{"NODATA", "udp", "www.lab.test.", dns.TypeMX, false, dns.RcodeSuccess, true, nil, true},
		{"NXDOMAIN", "udp", "nope.lab.test.", dns.TypeA, false, dns.RcodeNameError, true, nil, true},
		{"apex SOA", "udp", "lab.test.", dns.TypeSOA, false, dns.RcodeSuccess, true, []string{"ns1.lab.test."}, false},
		{"apex NODATA", "udp", "lab.test.", dns.TypeA, false, dns.RcodeSuccess, true, nil, true},
		{"outside the zone", "udp", "example.com.", dns.TypeA, false, dns.RcodeRefused, false, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion(tt.qname, tt.qtype)
			if tt.edns {
				m.SetEdns0(1232, false)
			}
			c := &dns.Client{Net: tt.net, Timeout: 5 * time.Second}
			r, _, err := c.Exchange(m, addr)
			if err != nil {
				t.Fatal(err)
			}
			if r.Rcode != tt.rcode || r.Authoritative != tt.aa {
				t.Errorf("rcode %s aa %v, want %s aa %v", dns.RcodeToString[r.Rcode], r.Authoritative,
					dns.RcodeToString[tt.rcode], tt.aa)
			}
			var got []string
			for _, rr := range r.Answer {
				f := strings.Fields(rr.String())
				got = append(got, f[4])
			}
			if !slices.Equal(got, tt.answer) {
				t.Errorf("answer %q, want %q", got, tt.answer)
			}
			hasSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == dns.TypeSOA
			if hasSOA != tt.soa {
				t.Errorf("authority %v, want SOA %v", r.Ns, tt.soa)
			}
			if (r.IsEdns0() != nil) != tt.edns {
				t.Errorf("EDNS in answer = %v, want %v", r.IsEdns0() != nil, tt.edns)
			}
		})
	}
}
