package explain_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"protolab/internal/catalog"
	"protolab/internal/event"
	"protolab/internal/eventtest"
	"protolab/internal/explain"
	"protolab/internal/sandbox"
	"protolab/internal/service"
)

func explainCtx(lang string) explain.Context {
	x := explain.Context{Lab: "tcpip", Lang: lang}
	x.Brief, x.Networks = explain.SpecFuncs(catalog.New().Service)
	return x
}

func tr(lang, en, fr string) string {
	if lang == "fr" {
		return fr
	}
	return en
}

// layer returns the explanation's layer of the TCP/IP model.
func layer(t *testing.T, ex *explain.Explanation, name string) explain.Layer {
	t.Helper()
	for _, l := range ex.Layers {
		if l.TCPIP == name {
			return l
		}
	}
	t.Fatalf("no %s layer in %+v", name, ex.Layers)
	return explain.Layer{}
}

func TestExplainLatest(t *testing.T) {
	const nc, dig, scan = "127.0.0.1:40000", "127.0.0.1:40001", "127.0.0.1:40002"
	echoConn := []event.Event{
		eventtest.Make("dns", "dns.query", dig, "qname", "www.lab.test.", "qtype", "A", "transport", "udp"),
		eventtest.Make("echo", service.KindTCPAccept, nc, "server", "127.0.0.1:1007", "port", "1007", "service", "echo", "family", "ipv4"),
		eventtest.Make("echo", "echo.tcp", nc, "server", "127.0.0.1:1007", "bytes", "6", "text", "hello", "transport", "tcp"),
		eventtest.Make("echo", service.KindTCPClose, nc, "server", "127.0.0.1:1007", "port", "1007", "bytes_in", "6", "bytes_out", "6",
			"duration_ms", "1500", "closed_by", "client"),
	}
	echoConn[2].Transcript = "TCP 127.0.0.1:40000 → 127.0.0.1:1007, first data, 6 bytes\nC: \"hello\\n\"\nS: \"hello\\n\"\n"
	tests := []struct {
		name      string
		evs       []event.Event
		svc       string
		ctx       func(*explain.Context)
		transport string
		family    string
		link      string
		want      map[string][]string // layer -> substrings of its facts, summary and transcript
		events    int
	}{
		{
			name: "a TCP echo, from accept to close", evs: echoConn, transport: "tcp", family: "ipv4", link: "loopback", events: 3,
			want: map[string][]string{
				"application": {"Echo: echo.tcp bytes=6 text=hello", `C: "hello\n"`},
				"transport":   {"client port 40000 → server port 1007", "SYN, SYN-ACK, ACK completed at", "6 bytes from the client, 6 bytes back", "closed by the client", "after 1500 ms", "TCP 40000 → 1007, closed by the client"},
				"internet":    {"IPv4 127.0.0.1 → 127.0.0.1", "loopback addresses"},
				"link":        {"no link-layer frames", "loopback interface carries packets inside the kernel"},
			},
		},
		{
			name: "the same, asking for the DNS exchange", evs: echoConn, svc: "dns", transport: "udp", family: "ipv4", link: "loopback", events: 1,
			ctx: func(x *explain.Context) {
				x.Running = true
				x.Endpoints = service.Endpoints{{Service: "dns", Listener: "dns", Network: "udp", Addr: "127.0.0.1:1053"}}
			},
			want: map[string][]string{
				"application": {"DNS: dns.query qname=www.lab.test. qtype=A"},
				"transport":   {"UDP 40001 → 1053", "no handshake and no teardown"},
				"internet":    {"client 127.0.0.1 → server 127.0.0.1"},
			},
		},
		{
			name: "a port scan: accept and close, no data",
			evs: eventtest.Journal(
				eventtest.Make("smtp", service.KindTCPAccept, scan, "server", "127.0.0.1:2525"),
				eventtest.Make("smtp", service.KindTCPClose, scan, "server", "127.0.0.1:2525", "bytes_in", "0", "bytes_out", "0", "duration_ms", "0", "closed_by", "client"),
			),
			transport: "tcp", family: "ipv4", link: "loopback", events: 2,
			want: map[string][]string{"application": {"SMTP: no data, opened and closed as a port scan does", "without a byte"}},
		},
		{
			name: "a connection still open",
			evs: eventtest.Journal(
				eventtest.Make("echo", service.KindTCPClose, nc, "bytes_in", "1", "bytes_out", "1", "closed_by", "client"), // an earlier connection from the same port
				eventtest.Make("echo", service.KindTCPAccept, nc, "server", "127.0.0.1:1007"),
				eventtest.Make("echo", "echo.tcp", nc, "bytes", "3", "transport", "tcp"),
			),
			transport: "tcp", family: "ipv4", link: "loopback", events: 2,
			want: map[string][]string{"transport": {"still open", "TCP 40000 → 1007, open"}},
		},
		{
			name: "a session whose end is reported after the close",
			evs: eventtest.Journal(
				eventtest.Make("pop3", service.KindTCPAccept, nc, "server", "127.0.0.1:1110"),
				eventtest.Make("pop3", "pop3.connect", nc),
				eventtest.Make("pop3", service.KindTCPClose, nc, "bytes_in", "6", "bytes_out", "40", "closed_by", "client"),
				eventtest.Make("pop3", "pop3.disconnect", nc),
			),
			transport: "tcp", family: "ipv4", link: "loopback", events: 4,
			want: map[string][]string{"transport": {"SYN, SYN-ACK, ACK completed", "6 bytes from the client, 40 bytes back"}},
		},
		{
			name: "a UDP echo session: three datagrams from one port",
			evs: eventtest.Journal(
				eventtest.Make("echo", "udp.datagram", nc, "server", "127.0.0.1:1007", "bytes", "5", "echoed", "true", "transport", "udp"),
				eventtest.Make("echo", "udp.datagram", nc, "server", "127.0.0.1:1007", "bytes", "7", "echoed", "true", "transport", "udp"),
				eventtest.Make("dns", "dns.query", dig, "transport", "udp"),
				eventtest.Make("echo", "udp.datagram", nc, "server", "127.0.0.1:1007", "bytes", "2", "echoed", "true", "transport", "udp"),
			),
			transport: "udp", family: "ipv4", link: "loopback", events: 3,
			want: map[string][]string{"transport": {"3 datagram(s) from this client port (payload: 5, 7, 2 bytes)", "UDP 40000 → 1007, 2 bytes"}},
		},
		{
			name:      "DNS over TCP in a lab that does not watch connections",
			evs:       eventtest.Journal(eventtest.Make("dns", "dns.query", dig, "transport", "tcp", "qname", "lab.test.")),
			transport: "tcp", family: "ipv4", link: "loopback", events: 1,
			want: map[string][]string{"transport": {"this lab does not record connections"}},
		},
		{
			name:      "SMTP: a TCP-only service whose events do not say the transport",
			evs:       eventtest.Journal(eventtest.Make("smtp", "smtp.delivered", "[::1]:40000", "to", "bob@lab.test")),
			transport: "tcp", family: "ipv6", link: "loopback", events: 1,
			want: map[string][]string{"internet": {"IPv6 ::1 → (not known)", "no longer running", "hop limit"}},
		},
		{
			name: "the lab network: veth with the two MAC addresses",
			evs: eventtest.Journal(
				eventtest.Make("echo", service.KindTCPAccept, "192.0.2.10:40000", "server", "192.0.2.1:7"),
				eventtest.Make("echo", "echo.tcp", "192.0.2.10:40000", "server", "192.0.2.1:7", "bytes", "3", "transport", "tcp"),
			),
			ctx:       func(x *explain.Context) { x.Running, x.Sandboxed = true, true },
			transport: "tcp", family: "ipv4", link: "veth", events: 2,
			want: map[string][]string{
				"internet": {"IPv4 192.0.2.10 → 192.0.2.1", "RFC 5737"},
				"link":     {sandbox.LearnerLink, sandbox.LearnerMAC, sandbox.ServerLink, sandbox.ServerMAC, "ARP", "virtual, no cable", "because it built the link"},
			},
		},
		{
			name:      "a client on another network: the link is hidden",
			evs:       eventtest.Journal(eventtest.Make("echo", "udp.datagram", "198.51.100.7:5000", "server", "", "bytes", "1", "transport", "udp")),
			ctx:       func(x *explain.Context) { x.Running = true },
			transport: "udp", family: "ipv4", link: "hidden", events: 1,
			want: map[string][]string{
				"internet": {"(not known)", "listens on every address"},
				"link":     {"which interface carried the packets"},
			},
		},
		{
			name:      "French",
			evs:       echoConn,
			ctx:       func(x *explain.Context) { x.Lang = "fr" },
			transport: "tcp", family: "ipv4", link: "loopback", events: 3,
			want: map[string][]string{
				"transport": {"port du client 40000 → port du serveur 1007", "fermée par le client", "poignée de main"},
				"link":      {"ni trame ni adresse MAC"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := explainCtx("en")
			if tt.ctx != nil {
				tt.ctx(&x)
			}
			ex, ok := explain.Latest(eventtest.Journal(tt.evs...), x, tt.svc)
			if !ok {
				t.Fatal("nothing explained")
			}
			if ex.Transport != tt.transport || ex.Family != tt.family || ex.Link != tt.link || len(ex.Events) != tt.events {
				t.Errorf("transport %q family %q link %q, %d events; want %q %q %q, %d", ex.Transport, ex.Family, ex.Link, len(ex.Events),
					tt.transport, tt.family, tt.link, tt.events)
			}
			if len(ex.Layers) != 4 {
				t.Fatalf("%d layers", len(ex.Layers))
			}
			for name, wants := range tt.want {
				l := layer(t, ex, name)
				all := l.Summary + "\n" + strings.Join(l.Facts, "\n") + "\n" + strings.Join(l.Hidden, "\n") + "\n" + l.Transcript
				for _, w := range wants {
					if !strings.Contains(all, w) {
						t.Errorf("%s layer lacks %q:\n%s", name, w, all)
					}
				}
			}
		})
	}
}

func TestExplainNothing(t *testing.T) {
	x := explainCtx("en")
	for _, evs := range [][]event.Event{
		nil,
		eventtest.Journal(event.Event{Service: "snmp", Kind: "snmp.notification-sent"}),          // no client
		eventtest.Journal(eventtest.Make("dns", "dns.query", "127.0.0.1:1", "transport", "udp")), // only another service
	} {
		if ex, ok := explain.Latest(evs, x, "echo"); ok {
			t.Errorf("explained %+v", ex)
		}
	}
	x.Endpoints = service.Endpoints{{Service: "echo", Listener: "echo", Network: "tcp", Addr: "127.0.0.1:1007"}}
	if err := explain.Nothing(x, ""); !errors.Is(err, explain.ErrNothing) || !strings.Contains(err.Error(), "try 'nc 127.0.0.1 1007'") {
		t.Errorf("no advice: %v", err)
	}
}

// The drawing puts each TCP/IP layer in front of the OSI layers it covers.
func TestExplainDrawing(t *testing.T) {
	for _, lang := range []string{"en", "fr"} {
		x := explainCtx(lang)
		ex, _ := explain.Latest(eventtest.Journal(
			eventtest.Make("echo", service.KindTCPAccept, "127.0.0.1:5", "server", "127.0.0.1:7"),
			eventtest.Make("echo", "echo.tcp", "127.0.0.1:5", "server", "127.0.0.1:7", "bytes", "1", "text", "x", "transport", "tcp"),
		), x, "")
		lines := explain.Drawing(ex)
		if len(lines) != 8 {
			t.Fatalf("%s: %d lines:\n%s", lang, len(lines), strings.Join(lines, "\n"))
		}
		osi := explain.OSINames(lang)
		for i, row := range []struct {
			osi   int
			tcpip string
		}{{7, ""}, {6, "Application"}, {5, ""}, {4, "Transport"}, {3, "Internet"}, {2, ""}, {1, tr(lang, "Link", "Accès au réseau")}} {
			line := lines[i+1]
			if !strings.Contains(line, osi[row.osi]) || (row.tcpip != "") != strings.Contains(line, "──  ") {
				t.Errorf("%s row %d: %q", lang, row.osi, line)
			}
			if row.tcpip != "" && !strings.Contains(line, row.tcpip) {
				t.Errorf("%s row %d lacks %s: %q", lang, row.osi, row.tcpip, line)
			}
		}
		// The TCP/IP column starts at the same place on every labelled row.
		col := -1
		for _, i := range []int{2, 4, 5, 7} {
			at := utf8.RuneCountInString(lines[i][:strings.Index(lines[i], "──  ")])
			if col >= 0 && at != col {
				t.Errorf("%s: column %d on row %d, %d before:\n%s", lang, at, i, col, strings.Join(lines, "\n"))
			}
			col = at
		}
	}
}
