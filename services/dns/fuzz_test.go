package dns

import (
	"bytes"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"protolab/internal/event"
)

// fakeWriter is a dns.ResponseWriter that packs what it is given, as the
// library's writer does, and keeps the bytes.
type fakeWriter struct {
	out     [][]byte
	err     error
	discard bool // keep nothing (benchmarks)
}

var fakeClient = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}

func (w *fakeWriter) LocalAddr() net.Addr  { return fakeClient }
func (w *fakeWriter) RemoteAddr() net.Addr { return fakeClient }
func (w *fakeWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		w.err = err
		return err
	}
	if !w.discard {
		w.out = append(w.out, b)
	}
	return nil
}
func (w *fakeWriter) Write(b []byte) (int, error) {
	if !w.discard {
		w.out = append(w.out, bytes.Clone(b)) // the server reuses its buffers
	}
	return len(b), nil
}
func (w *fakeWriter) Close() error        { return nil }
func (w *fakeWriter) TsigStatus() error   { return nil }
func (w *fakeWriter) TsigTimersOnly(bool) {}
func (w *fakeWriter) Hijack()             {}

// renderer renders each transcript, as a subscriber would.
type renderer struct{}

func (renderer) Publish(e event.Event) { e.Render() }

func labIndex(tb testing.TB) *index {
	tb.Helper()
	return loadLab(tb, "").ix
}

func packed(tb testing.TB, name string, qtype uint16, mutate func(*dns.Msg)) []byte {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if mutate != nil {
		mutate(m)
	}
	b, err := m.Pack()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzHandler feeds wire messages to the server's path: the structure check,
// the library's decoder, then the handler over both transports. Nothing may
// panic and every reply must decode and answer the query's id.
func FuzzHandler(f *testing.F) {
	ix := labIndex(f)
	edns := func(m *dns.Msg) { m.SetEdns0(1232, true) }
	for _, s := range [][]byte{
		packed(f, "www.lab.test.", dns.TypeA, nil),
		packed(f, "webmail.lab.test.", dns.TypeAAAA, edns),
		packed(f, "big.lab.test.", dns.TypeTXT, nil),
		packed(f, "lab.test.", dns.TypeAXFR, nil),
		packed(f, "lab.test.", dns.TypeIXFR, func(m *dns.Msg) {
			m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "lab.test.", Rrtype: dns.TypeSOA, Class: 1}, Ns: "a.", Mbox: "b.", Serial: 1}}
		}),
		packed(f, "lab.test.", dns.TypeANY, edns),
		packed(f, "x.lab.test.", dns.TypeMX, func(m *dns.Msg) { m.SetEdns0(512, false); m.IsEdns0().SetVersion(3) }),
		packed(f, "example.com.", dns.TypeA, func(m *dns.Msg) { m.Opcode = dns.OpcodeUpdate }),
		packed(f, "_tcp.lab.test.", dns.TypeSRV, func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassANY }),
		[]byte("hello"),
		make([]byte, 12),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		start := time.Now()
		defer func() {
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("one message took %v", d)
			}
		}()
		reason := checkQuery(b)
		r := new(dns.Msg)
		if err := r.Unpack(b); err != nil {
			return
		}
		_ = reason // the library may accept what the check refuses, and the reverse
		for _, transport := range []string{"udp", "tcp"} {
			var logged bytes.Buffer
			h := &handler{
				ix: ix, allowTransfer: true, transport: transport,
				events: renderer{}, bad: newMalformed(renderer{}),
				log: slog.New(slog.NewTextHandler(&logged, nil)),
			}
			w := &fakeWriter{}
			h.ServeDNS(w, r)
			if logged.Len() > 0 {
				t.Fatalf("%s: the handler panicked: %s", transport, logged.String())
			}
			if w.err != nil {
				t.Fatalf("%s: reply does not pack: %v", transport, w.err)
			}
			for _, out := range w.out {
				resp := new(dns.Msg)
				if err := resp.Unpack(out); err != nil {
					t.Fatalf("%s: reply does not decode: %v", transport, err)
				}
				if resp.Id != r.Id || !resp.Response {
					t.Fatalf("%s: reply id %d qr %v to query %d", transport, resp.Id, resp.Response, r.Id)
				}
				if transport == "udp" && len(out) > ednsSize {
					t.Fatalf("udp reply of %d bytes", len(out))
				}
			}
		}
	})
}

// FuzzZone feeds zone text to the loader; whatever loads is indexed and
// every name asked every type.
func FuzzZone(f *testing.F) {
	for _, name := range []string{"lab.test.zone", "2.0.192.in-addr.arpa.zone", "0.0.0.0.9.8.0.0.8.b.d.0.1.0.0.2.ip6.arpa.zone"} {
		text, err := fs.ReadFile(labDir(f), "zones/"+name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(text))
	}
	f.Add(exampleZone)
	f.Add(goodZone + "$GENERATE 1-20 host$ A 192.0.2.$\n")
	f.Add(goodZone + "a IN CNAME b\nb IN CNAME a\n*.c IN CNAME a\n")
	f.Add("$ORIGIN x.\n$TTL 1\n@ SOA a b 1 2 3 4 5\n NS a\na A 1.2.3.4\n* MX 1 a\n")
	f.Add("@ IN SOA ( a b\n 1 2 3 4 5 ) ; x\n")
	f.Fuzz(func(t *testing.T, text string) {
		z, err := parseZone("fuzz.test.zone", []byte(text))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.test.zone") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if _, ok := z.xfr[0][0].(*dns.SOA); !ok {
			t.Fatal("transfer does not start with the SOA")
		}
		last := z.xfr[len(z.xfr)-1]
		if _, ok := last[len(last)-1].(*dns.SOA); !ok {
			t.Fatal("transfer does not end with the SOA")
		}
		ix, err := newIndex([]*zone{z})
		if err != nil {
			t.Fatal(err)
		}
		types := append([]uint16{dns.TypeANY, dns.TypeCNAME, 0, 4242}, ix.types...)
		for name := range ix.names {
			for _, qt := range types {
				r, _ := ix.lookup(name, qt)
				if r == nil {
					t.Fatalf("no result for %s %d", name, qt)
				}
				if len(r.answer) != cap(r.answer) || len(r.extra) != cap(r.extra) {
					t.Fatalf("%s %d: result not clipped", name, qt)
				}
			}
			ix.lookup("zz."+name, dns.TypeA)
			if len(ix.names) > 200 {
				break
			}
		}
	})
}
