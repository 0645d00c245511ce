package dns

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"protolab/internal/bus"
	"protolab/internal/event"
	"protolab/internal/service"
)

// BenchmarkServeDNS measures the answer path, with events going through a
// real bus to a subscriber that renders them, against a bare miekg/dns
// responder: first the handler alone (no sockets), then over UDP on
// loopback. The ratio lab/bare is what matters.
func BenchmarkServeDNS(b *testing.B) {
	p := loadLab(b, "")
	bareA := &dns.A{Hdr: dns.RR_Header{Name: "www.lab.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 3600}, A: net.IPv4(192, 0, 2, 80)}
	bare := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		m.Answer = []dns.RR{bareA}
		_ = w.WriteMsg(m)
	})

	events := bus.New()
	sub := events.Subscribe(4096)
	go func() {
		for e := range sub.C() {
			e.Render()
		}
	}()
	b.Cleanup(func() { events.Unsubscribe(sub) })

	lab := &handler{ix: p.ix, allowTransfer: true, transport: "udp", events: events, bad: newMalformed(events), log: slog.New(slog.DiscardHandler)}
	for _, bc := range []struct {
		name    string
		handler dns.Handler
		qname   string
		qtype   uint16
	}{
		{"handler/bare", bare, "www.lab.test.", dns.TypeA},
		{"handler/A", lab, "www.lab.test.", dns.TypeA},
		{"handler/A-no-events", &handler{ix: p.ix, transport: "udp", events: event.Discard{}, bad: newMalformed(event.Discard{}), log: slog.New(slog.DiscardHandler)}, "www.lab.test.", dns.TypeA},
		{"handler/MX+additional", lab, "lab.test.", dns.TypeMX},
		{"handler/CNAME", lab, "webmail.lab.test.", dns.TypeA},
		{"handler/NXDOMAIN", lab, "nope.lab.test.", dns.TypeA},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := new(dns.Msg)
			r.SetQuestion(bc.qname, bc.qtype)
			r.SetEdns0(1232, false)
			w := &fakeWriter{discard: true}
			b.ReportAllocs()
			for b.Loop() {
				bc.handler.ServeDNS(w, r)
			}
		})
	}

	for _, bc := range []struct {
		name  string
		start func(b *testing.B) string
	}{
		{"udp/bare", func(b *testing.B) string {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			started := make(chan struct{})
			srv := &dns.Server{PacketConn: pc, Handler: bare, NotifyStartedFunc: func() { close(started) }}
			go srv.ActivateAndServe()
			<-started
			b.Cleanup(func() { srv.Shutdown() })
			return pc.LocalAddr().String()
		}},
		{"udp/lab", func(b *testing.B) string {
			inst, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Events: events})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { inst.Shutdown(context.Background()) })
			addr, _ := inst.Endpoints().Find("dns", "udp")
			return addr
		}},
		{"udp/lab-no-events", func(b *testing.B) string {
			inst, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Events: event.Discard{}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { inst.Shutdown(context.Background()) })
			addr, _ := inst.Endpoints().Find("dns", "udp")
			return addr
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			addr := bc.start(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				conn, err := net.Dial("udp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer conn.Close()
				c := &dns.Conn{Conn: conn}
				m := new(dns.Msg)
				m.SetQuestion("www.lab.test.", dns.TypeA)
				for pb.Next() {
					m.Id = dns.Id()
					c.SetDeadline(time.Now().Add(2 * time.Second))
					if err := c.WriteMsg(m); err != nil {
						b.Error(err)
						return
					}
					if _, err := c.ReadMsg(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
