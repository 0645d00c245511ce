package dhcp

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"

	"protolab/internal/event"
	"protolab/internal/eventtest"
	"protolab/internal/service"
)

const mac1, mac2, mac3, macRes = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03", "02:00:00:00:00:42"

func TestDORA(t *testing.T) {
	r := start(t, startOpts{})
	ack := r.lease(mac1)
	if got := ack.YourIPAddr.String(); got != "192.0.2.100" {
		t.Fatalf("yiaddr %s, want the pool's first address 192.0.2.100", got)
	}
	checks := []struct {
		name string
		got  string
		want string
	}{
		{"type", ack.MessageType().String(), "ACK"},
		{"mask (1)", net.IP(ack.SubnetMask()).String(), "255.255.255.0"},
		{"router (3)", joinIPs(ack.Router()), "192.0.2.1"},
		{"dns (6)", joinIPs(ack.DNS()), "192.0.2.1"},
		{"domain (15)", ack.DomainName(), "lab.test"},
		{"lease (51)", ack.IPAddressLeaseTime(0).String(), "2m0s"},
		{"server id (54)", ack.ServerIdentifier().String(), "192.0.2.1"},
		{"T1 (58)", ack.IPAddressRenewalTime(0).String(), "1m0s"},
		{"T2 (59)", ack.IPAddressRebindingTime(0).String(), "1m45s"},
		{"ntp (42), not asked", joinIPs(ack.NTPServers()), ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
	d := r.events.Next(t, KindDiscover)
	o := r.events.Next(t, KindOffer)
	q := r.events.Next(t, KindRequest)
	a := r.events.Next(t, KindAck)
	for _, e := range []struct {
		kind  string
		attrs map[string]string
		want  map[string]string
	}{
		{KindDiscover, d.Attrs, map[string]string{"mac": mac1, "requested": "subnet-mask router dns domain-name", "reason": ""}},
		{KindOffer, o.Attrs, map[string]string{"mac": mac1, "ip": "192.0.2.100", "lease": "120"}},
		{KindRequest, q.Attrs, map[string]string{"mac": mac1, "ip": "192.0.2.100", "state": "selecting", "server": "192.0.2.1"}},
		{KindAck, a.Attrs, map[string]string{"mac": mac1, "ip": "192.0.2.100", "state": "selecting", "lease": "120"}},
	} {
		for k, v := range e.want {
			if e.attrs[k] != v {
				t.Errorf("%s %s = %q, want %q", e.kind, k, e.attrs[k], v)
			}
		}
		if !strings.HasPrefix(e.attrs["xid"], "0x") || e.attrs["xid"] != d.Attrs["xid"] {
			t.Errorf("%s xid %q, want the DISCOVER's %q", e.kind, e.attrs["xid"], d.Attrs["xid"])
		}
	}
	lines := strings.Split(strings.TrimSpace(a.Transcript), "\n")
	want := []string{
		"client " + mac1 + " → DHCPDISCOVER xid " + d.Attrs["xid"],
		"server 192.0.2.1 → DHCPOFFER 192.0.2.100 lease 120s (T1 60s, T2 105s)",
		"client " + mac1 + " → DHCPREQUEST 192.0.2.100 xid",
		"server 192.0.2.1 → DHCPACK 192.0.2.100 lease 120s (T1 60s, T2 105s)",
	}
	if len(lines) != len(want) {
		t.Fatalf("ladder of %d lines, want %d:\n%s", len(lines), len(want), a.Transcript)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("ladder line %d: %q, want it to start with %q", i+1, lines[i], w)
		}
	}
	if !strings.Contains(lines[0], "requests [1 3 6 15]") || !strings.Contains(lines[2], "server 192.0.2.1 (selecting)") {
		t.Errorf("ladder lacks the request list or the state:\n%s", a.Transcript)
	}
	// Again with the same MAC: the same address.
	if ack := r.lease(mac1); ack.YourIPAddr.String() != "192.0.2.100" {
		t.Errorf("second lease for the same MAC: %s", ack.YourIPAddr)
	}
	if ack := r.lease(mac2); ack.YourIPAddr.String() != "192.0.2.101" {
		t.Errorf("lease for another MAC: %s, want 192.0.2.101", ack.YourIPAddr)
	}
}

func joinIPs(ips []net.IP) string {
	var s []string
	for _, ip := range ips {
		s = append(s, ip.String())
	}
	return strings.Join(s, ",")
}

func TestOptionsAskedVersusSent(t *testing.T) {
	r := start(t, startOpts{})
	tests := []struct {
		name   string
		mac    string
		params []uint8
		has    []uint8
		hasnt  []uint8
		names  string
	}{
		{"defaults", mac1, nil, []uint8{1, 3, 6, 15, 51, 54, 58, 59}, []uint8{12, 28, 42}, "subnet-mask router dns domain-name"},
		{"ntp and broadcast", mac2, []uint8{42, 28}, []uint8{1, 3, 6, 15, 51, 54, 58, 59, 42, 28}, []uint8{12}, "ntp broadcast"},
		{"reserved host name", macRes, []uint8{12, 6, 15}, []uint8{12, 6, 15}, []uint8{42}, "hostname dns domain-name"},
		{"unknown asked", mac3, []uint8{200, 121}, []uint8{1, 51}, []uint8{200, 121}, "option-200 classless-route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ack := r.lease(tt.mac, tt.params...)
			for _, c := range tt.has {
				if !ack.Options.Has(dhcpv4.GenericOptionCode(c)) {
					t.Errorf("option %d (%s) missing", c, nameOf(c))
				}
			}
			for _, c := range tt.hasnt {
				if ack.Options.Has(dhcpv4.GenericOptionCode(c)) {
					t.Errorf("option %d (%s) sent unasked", c, nameOf(c))
				}
			}
			if e := r.events.Next(t, KindAck); e.Attrs["requested"] != tt.names {
				t.Errorf("requested = %q, want %q", e.Attrs["requested"], tt.names)
			}
		})
	}
	ack := r.lease(mac2, 42, 28)
	if got := joinIPs(ack.NTPServers()); got != "192.0.2.1" {
		t.Errorf("ntp %q", got)
	}
	if got := ack.BroadcastAddress().String(); got != "192.0.2.255" {
		t.Errorf("broadcast %q", got)
	}
	if got := r.lease(macRes, 12).HostName(); got != "pc42" {
		t.Errorf("reserved host name %q, want pc42", got)
	}
}

func TestRenewAndRebind(t *testing.T) {
	r := start(t, startOpts{})
	c := r.client(mac1)
	ctx := context.Background()
	l, err := c.Lease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := r.inst.s.pool.snapshot()[netip.MustParseAddr("192.0.2.100")].expires
	r.clock.add(61 * time.Second) // past T1
	l2, err := c.Renew(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	if l2.ACK.YourIPAddr.String() != "192.0.2.100" || l2.ACK.ClientIPAddr.String() != "192.0.2.100" {
		t.Errorf("renew ACK yiaddr %s ciaddr %s", l2.ACK.YourIPAddr, l2.ACK.ClientIPAddr)
	}
	if e := r.events.Next(t, KindAck); e.Attrs["state"] != "selecting" {
		t.Fatalf("first ACK state %q", e.Attrs["state"])
	}
	e := r.events.Next(t, KindAck)
	if e.Attrs["state"] != "renewing" || e.Attrs["ip"] != "192.0.2.100" {
		t.Errorf("renew ACK event %v", e.Attrs)
	}
	if !strings.Contains(e.Transcript, "DHCPREQUEST 192.0.2.100") || !strings.Contains(e.Transcript, "(renewing)") {
		t.Errorf("renew ladder:\n%s", e.Transcript)
	}
	if got := r.inst.s.pool.snapshot()[netip.MustParseAddr("192.0.2.100")].expires; got.Sub(first) != 61*time.Second {
		t.Errorf("lease extended by %s, want 61s", got.Sub(first))
	}
	// Rebinding: the same REQUEST, broadcast.
	for _, dst := range []string{"255.255.255.255", "192.0.2.255"} {
		req, _ := dhcpv4.NewRenewFromAck(l.ACK)
		reply := r.handle(req, netip.MustParseAddr(dst))
		if reply == nil || reply.MessageType() != dhcpv4.MessageTypeAck {
			t.Fatalf("rebind to %s: %v", dst, reply)
		}
		if e := r.events.Next(t, KindAck); e.Attrs["state"] != "rebinding" {
			t.Errorf("rebind to %s: state %q", dst, e.Attrs["state"])
		}
	}
	// A renewal after the lease ran out and someone else took the address.
	r.clock.add(10 * time.Minute)
	r.lease(mac2) // offered 192.0.2.101 first: .100 is remembered for mac1
	req, _ := dhcpv4.NewRenewFromAck(l.ACK)
	if reply := r.handle(req, netip.Addr{}); reply == nil || reply.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("late renewal of a free address: %v", reply)
	}
}

func TestReleaseAndDecline(t *testing.T) {
	r := start(t, startOpts{})
	ctx := context.Background()
	c := r.client(mac1)
	l, err := c.Lease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Release(l); err != nil {
		t.Fatal(err)
	}
	e := r.events.Next(t, KindRelease)
	if e.Attrs["mac"] != mac1 || e.Attrs["ip"] != "192.0.2.100" {
		t.Errorf("release event %v", e.Attrs)
	}
	rec := r.inst.s.pool.snapshot()[netip.MustParseAddr("192.0.2.100")]
	if rec.active(r.clock.now()) {
		t.Errorf("after release the lease is still active until %v", rec.expires)
	}
	// The released address goes back to its client first.
	if ack := r.lease(mac1); ack.YourIPAddr.String() != "192.0.2.100" {
		t.Errorf("after release, same client got %s", ack.YourIPAddr)
	}

	// DECLINE: the address is set aside, the client gets another.
	decl := msg(t, dhcpv4.MessageTypeDecline, mac1, withRequested("192.0.2.100"), withServerID("192.0.2.1"))
	if reply := r.handle(decl, netip.Addr{}); reply != nil {
		t.Fatalf("a DECLINE got an answer: %v", reply)
	}
	if e := r.events.Next(t, KindDecline); e.Attrs["ip"] != "192.0.2.100" {
		t.Errorf("decline event %v", e.Attrs)
	}
	if ack := r.lease(mac1); ack.YourIPAddr.String() == "192.0.2.100" {
		t.Error("the declined address was offered again")
	}
	if rec := r.inst.s.pool.snapshot()[netip.MustParseAddr("192.0.2.100")]; rec.state != stateDeclined {
		t.Errorf("declined address record %+v", rec)
	}
	// Someone else cannot decline (or release) an address it does not hold.
	other := msg(t, dhcpv4.MessageTypeDecline, mac2, withRequested("192.0.2.101"))
	r.handle(other, netip.Addr{})
	if rec := r.inst.s.pool.snapshot()[netip.MustParseAddr("192.0.2.101")]; rec.state != stateBound || rec.mac != mac1 {
		t.Errorf("a stranger's DECLINE changed the lease: %+v", rec)
	}
	// After declineHold the address is free again.
	r.clock.add(declineHold + time.Second)
	d := msg(t, dhcpv4.MessageTypeDiscover, mac3, withRequested("192.0.2.100"))
	if off := r.handle(d, netip.Addr{}); off == nil || off.YourIPAddr.String() != "192.0.2.100" {
		t.Errorf("after the decline hold, asking for the address: %v", off)
	}
}

func TestInform(t *testing.T) {
	r := start(t, startOpts{})
	inf := msg(t, dhcpv4.MessageTypeInform, mac1, dhcpv4.WithClientIP(ip4("192.0.2.50")),
		dhcpv4.WithRequestedOptions(dhcpv4.OptionDomainNameServer, dhcpv4.OptionNTPServers))
	reply := r.handle(inf, netip.Addr{})
	if reply == nil || reply.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("INFORM: %v", reply)
	}
	if !reply.YourIPAddr.IsUnspecified() || reply.Options.Has(dhcpv4.OptionIPAddressLeaseTime) ||
		reply.Options.Has(dhcpv4.OptionRenewTimeValue) {
		t.Errorf("INFORM's ACK carries a lease: yiaddr %s, options %v", reply.YourIPAddr, reply.Options)
	}
	if joinIPs(reply.DNS()) != "192.0.2.1" || joinIPs(reply.NTPServers()) != "192.0.2.1" || reply.DomainName() != "lab.test" {
		t.Errorf("INFORM's ACK options: %v", reply.Options)
	}
	if reply.ClientIPAddr.String() != "192.0.2.50" {
		t.Errorf("ciaddr %s", reply.ClientIPAddr)
	}
	e := r.events.Next(t, KindInform)
	if e.Attrs["ip"] != "192.0.2.50" || e.Attrs["requested"] != "dns ntp" {
		t.Errorf("inform event %v", e.Attrs)
	}
	if len(r.inst.s.pool.snapshot()) != 0 {
		t.Error("an INFORM created a lease")
	}
}

func TestNAKAndSilence(t *testing.T) {
	r := start(t, startOpts{})
	r.lease(mac1) // holds 192.0.2.100
	r.events.All()
	none := netip.Addr{}
	tests := []struct {
		name   string
		m      *dhcpv4.DHCPv4
		reason string // "" : silence
		state  string
	}{
		{"selecting another server", msg(t, dhcpv4.MessageTypeRequest, mac2, withRequested("192.0.2.101"), withServerID("192.0.2.99")), "", "selecting"},
		{"selecting never offered", msg(t, dhcpv4.MessageTypeRequest, mac2, withRequested("192.0.2.150"), withServerID("192.0.2.1")), "not-offered", "selecting"},
		{"init-reboot outside the pool", msg(t, dhcpv4.MessageTypeRequest, mac2, withRequested("192.0.2.250")), "outside-pool", "init-reboot"},
		{"init-reboot the server's address", msg(t, dhcpv4.MessageTypeRequest, mac2, withRequested("192.0.2.1")), "outside-pool", "init-reboot"},
		{"init-reboot wrong subnet", msg(t, dhcpv4.MessageTypeRequest, mac2, withRequested("10.0.0.5")), "wrong-subnet", "init-reboot"},
		{"init-reboot taken", msg(t, dhcpv4.MessageTypeRequest, mac2, withRequested("192.0.2.100")), "taken", "init-reboot"},
		{"renewing taken", msg(t, dhcpv4.MessageTypeRequest, mac2, dhcpv4.WithClientIP(ip4("192.0.2.100"))), "taken", "renewing"},
		{"someone else's reservation", msg(t, dhcpv4.MessageTypeRequest, mac2, withRequested("192.0.2.42")), "reserved", "init-reboot"},
		{"reserved client elsewhere", msg(t, dhcpv4.MessageTypeRequest, macRes, withRequested("192.0.2.120")), "reserved", "init-reboot"},
		{"no address at all", msg(t, dhcpv4.MessageTypeRequest, mac2), "unknown-lease", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := r.handle(tt.m, none)
			req := r.events.Next(t, KindRequest)
			if req.Attrs["state"] != tt.state {
				t.Errorf("request state %q, want %q", req.Attrs["state"], tt.state)
			}
			if tt.reason == "" {
				if reply != nil {
					t.Fatalf("want silence, got %s", reply.MessageType())
				}
				if !strings.Contains(req.Transcript, "stays silent") {
					t.Errorf("ladder does not say the server stayed silent:\n%s", req.Transcript)
				}
				r.events.None(t, KindNak)
				return
			}
			if reply == nil || reply.MessageType() != dhcpv4.MessageTypeNak {
				t.Fatalf("want a NAK, got %v", reply)
			}
			if !reply.YourIPAddr.IsUnspecified() || reply.Options.Has(dhcpv4.OptionIPAddressLeaseTime) ||
				reply.ServerIdentifier().String() != "192.0.2.1" || !strings.HasPrefix(reply.Message(), tt.reason) {
				t.Errorf("NAK: yiaddr %s, options %v", reply.YourIPAddr, reply.Options)
			}
			if e := r.events.Next(t, KindNak); e.Attrs["reason"] != tt.reason || e.Attrs["state"] != tt.state {
				t.Errorf("nak event %v, want reason %q", e.Attrs, tt.reason)
			}
		})
	}
	// The offer withdrawn for another server's sake goes back to the pool.
	d := msg(t, dhcpv4.MessageTypeDiscover, mac3)
	if off := r.handle(d, none); off == nil || off.YourIPAddr.String() != "192.0.2.101" {
		t.Fatalf("offer: %v", off)
	}
	r.handle(msg(t, dhcpv4.MessageTypeRequest, mac3, withRequested("192.0.2.101"), withServerID("192.0.2.77")), none)
	if _, held := r.inst.s.pool.snapshot()[netip.MustParseAddr("192.0.2.101")]; held {
		t.Error("the offer is still held after the client chose another server")
	}
}

func TestReservation(t *testing.T) {
	r := start(t, startOpts{})
	ack := r.lease(macRes)
	if ack.YourIPAddr.String() != "192.0.2.42" {
		t.Fatalf("reserved client got %s", ack.YourIPAddr)
	}
	e := r.events.Next(t, KindAck)
	if e.Attrs["mac"] != macRes || e.Attrs["ip"] != "192.0.2.42" {
		t.Errorf("ack %v", e.Attrs)
	}
	// Even asking for another address (option 50) it gets its own.
	d := msg(t, dhcpv4.MessageTypeDiscover, macRes, withRequested("192.0.2.150"))
	if off := r.handle(d, netip.Addr{}); off == nil || off.YourIPAddr.String() != "192.0.2.42" {
		t.Errorf("offer to the reserved client: %v", off)
	}
	// Nobody else is offered it, even asking.
	d = msg(t, dhcpv4.MessageTypeDiscover, mac1, withRequested("192.0.2.42"))
	if off := r.handle(d, netip.Addr{}); off == nil || off.YourIPAddr.String() == "192.0.2.42" {
		t.Errorf("offer to another client: %v", off)
	}
	// The option 50 of an ordinary client is honoured when free.
	d = msg(t, dhcpv4.MessageTypeDiscover, mac2, withRequested("192.0.2.150"))
	if off := r.handle(d, netip.Addr{}); off == nil || off.YourIPAddr.String() != "192.0.2.150" {
		t.Errorf("option 50 not honoured: %v", off)
	}
}

func TestExhaustedPoolIsSilent(t *testing.T) {
	r := start(t, startOpts{options: "pool: 192.0.2.100-192.0.2.102\n"})
	for i, m := range []string{mac1, mac2, mac3} {
		if got := r.lease(m).YourIPAddr.String(); got != "192.0.2.10"+string(rune('0'+i)) {
			t.Fatalf("%s got %s", m, got)
		}
	}
	d := msg(t, dhcpv4.MessageTypeDiscover, "02:00:00:00:00:04")
	if reply := r.handle(d, netip.Addr{}); reply != nil {
		t.Fatalf("exhausted pool answered %s", reply.MessageType())
	}
	e := r.events.Next(t, KindDiscover)
	for e.Attrs["mac"] != "02:00:00:00:00:04" {
		e = r.events.Next(t, KindDiscover)
	}
	if e.Attrs["reason"] != "pool-exhausted" || !strings.Contains(e.Transcript, "stays silent: no free address left in the pool") {
		t.Errorf("discover event %v\n%s", e.Attrs, e.Transcript)
	}
	r.events.None(t, KindOffer)
	// Pending offers expire and are not a way to starve the pool.
	r.clock.add(3 * time.Minute) // the 120 s leases ran out
	if reply := r.handle(d, netip.Addr{}); reply == nil || reply.MessageType() != dhcpv4.MessageTypeOffer {
		t.Fatalf("after the leases ran out: %v", reply)
	}
	// Through the real client, silence is a timeout.
	r2 := start(t, startOpts{options: "pool: 192.0.2.100-192.0.2.100\n"})
	r2.lease(mac1)
	c := r2.client(mac2)
	c.nc.Close()
	c2, err := NewClient(ClientOptions{Server: r2.addr, MAC: mustMAC(t, mac2), Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Lease(context.Background()); err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("lease from an exhausted pool: %v", err)
	}
}

func TestLeasesSurviveRestart(t *testing.T) {
	state := t.TempDir()
	clk := newClock()
	r := start(t, startOpts{state: state, clock: clk})
	r.lease(mac1)
	r.lease(mac2)
	decl := msg(t, dhcpv4.MessageTypeDecline, mac2, withRequested("192.0.2.101"))
	r.handle(decl, netip.Addr{})
	r.stop()

	r = start(t, startOpts{state: state, clock: clk})
	snap := r.inst.s.pool.snapshot()
	if l := snap[netip.MustParseAddr("192.0.2.100")]; l.mac != mac1 || l.state != stateBound || !l.active(clk.now()) {
		t.Fatalf("after restart: %+v", l)
	}
	if l := snap[netip.MustParseAddr("192.0.2.101")]; l.state != stateDeclined {
		t.Fatalf("declined address after restart: %+v", l)
	}
	// The same client re-boots into its address; another is refused it.
	if reply := r.handle(msg(t, dhcpv4.MessageTypeRequest, mac1, withRequested("192.0.2.100")), netip.Addr{}); reply == nil || reply.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("init-reboot after restart: %v", reply)
	}
	if reply := r.handle(msg(t, dhcpv4.MessageTypeRequest, mac3, withRequested("192.0.2.100")), netip.Addr{}); reply == nil || reply.MessageType() != dhcpv4.MessageTypeNak {
		t.Fatalf("someone else's address after restart: %v", reply)
	}
	if ack := r.lease(mac1); ack.YourIPAddr.String() != "192.0.2.100" {
		t.Errorf("DORA after restart gave %s", ack.YourIPAddr)
	}
	// Reset empties memory and database.
	if err := r.inst.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(r.inst.s.pool.snapshot()); n != 0 {
		t.Errorf("%d records after reset", n)
	}
	r.stop()
	r = start(t, startOpts{state: state, clock: clk})
	if n := len(r.inst.s.pool.snapshot()); n != 0 {
		t.Errorf("%d records after reset and restart", n)
	}
	if ack := r.lease(mac3); ack.YourIPAddr.String() != "192.0.2.100" {
		t.Errorf("after reset a new client got %s, want the first address", ack.YourIPAddr)
	}
}

func TestBadInput(t *testing.T) {
	r := start(t, startOpts{})
	good := msg(t, dhcpv4.MessageTypeDiscover, "02:00:00:00:00:09").ToBytes()
	peer := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6800}
	for n := 0; n < len(good); n++ {
		out, _ := r.inst.s.handlePacket(packet{raw: good[:n], peer: peer})
		if out != nil && n < 241 {
			t.Fatalf("a DISCOVER cut to %d bytes was answered", n)
		}
	}
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	bad := map[string][]byte{
		"BOOTREPLY":         mutate(func(b []byte) []byte { b[0] = 2; return b }),
		"hlen 16":           mutate(func(b []byte) []byte { b[2] = 16; return b }),
		"hlen 0":            mutate(func(b []byte) []byte { b[2] = 0; return b }),
		"token ring":        mutate(func(b []byte) []byte { b[1] = 6; return b }),
		"bad cookie":        mutate(func(b []byte) []byte { b[236] = 0; return b }),
		"no message type":   append(append([]byte(nil), good[:240]...), 255),
		"option runs over":  append(append([]byte(nil), good[:240]...), 53, 200, 1),
		"message type long": append(append([]byte(nil), good[:240]...), 53, 3, 1, 1, 1, 255),
		"huge":              make([]byte, maxPacketSize+1),
		// Option overload (52): the message type sits in the file field.
		"overload": mutate(func(b []byte) []byte {
			b[108] = 53
			b[109] = 1
			b[110] = 1
			b[111] = 255
			return append(b[:240], 52, 1, 1, 255)
		}),
	}
	for name, raw := range bad {
		out, _ := r.inst.s.handlePacket(packet{raw: raw, peer: peer})
		if out != nil {
			t.Errorf("%s: answered", name)
		}
	}
	if r.inst.s.panics.Load() != 0 {
		t.Fatalf("%d panics", r.inst.s.panics.Load())
	}
	// A client that asks for every address in turn holds one offer at most.
	for a := 101; a <= 199; a++ { // .100 is offered to the truncated DISCOVER's client
		ip := "192.0.2." + itoa(a)
		off := r.handle(msg(t, dhcpv4.MessageTypeDiscover, mac2, withRequested(ip)), netip.Addr{})
		if off == nil || off.YourIPAddr.String() != ip {
			t.Fatalf("asking for %s: %v", ip, off)
		}
	}
	if n := len(r.inst.s.pool.snapshot()); n != 2 {
		t.Errorf("%d records held after asking for every address, want 2 (its offer and the truncated DISCOVER's)", n)
	}
	// A REQUEST for an address never offered to it: NAK.
	reply := r.handle(msg(t, dhcpv4.MessageTypeRequest, mac2, withRequested("192.0.2.150"), withServerID("192.0.2.1")), netip.Addr{})
	if reply == nil || reply.MessageType() != dhcpv4.MessageTypeNak {
		t.Errorf("REQUEST for an address not offered: %v", reply)
	}
	// And the server still works over the wire.
	if ack := r.lease(mac3); ack == nil {
		t.Fatal("no lease after the bad input")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestPanicIsRecovered(t *testing.T) {
	p := loadLab(t, "")
	pub := &panicOnce{next: eventtest.New(&Spec)}
	inst, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Events: pub})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Shutdown(context.Background())
	a, _ := inst.Endpoints().Find("dhcp", "udp")
	c, err := NewClient(ClientOptions{Server: net.UDPAddrFromAddrPort(netip.MustParseAddrPort(a)), Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The first DISCOVER's handler panics; nclient4 sends it again and the
	// server, still up, answers.
	if _, err := c.Lease(context.Background()); err != nil {
		t.Fatalf("lease after a panic: %v", err)
	}
	if n := inst.(*instance).s.panics.Load(); n != 1 {
		t.Fatalf("panics = %d, want 1", n)
	}
}

// panicOnce panics at the first event, then hands events on.
type panicOnce struct {
	done atomic.Bool
	next event.Publisher
}

func (p *panicOnce) Publish(e event.Event) {
	if p.done.CompareAndSwap(false, true) {
		panic("publish")
	}
	p.next.Publish(e)
}

func TestReplyDestination(t *testing.T) {
	s := &server{link: true}
	ack := func(m *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
		rep, _ := dhcpv4.NewReplyFromRequest(m, dhcpv4.WithMessageType(dhcpv4.MessageTypeAck))
		return rep
	}
	nak := func(m *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
		rep, _ := dhcpv4.NewReplyFromRequest(m, dhcpv4.WithMessageType(dhcpv4.MessageTypeNak))
		return rep
	}
	unconf := &net.UDPAddr{IP: net.IPv4zero, Port: 68}
	fromLease := &net.UDPAddr{IP: ip4("192.0.2.100"), Port: 68}
	tests := []struct {
		name  string
		req   *dhcpv4.DHCPv4
		reply func(*dhcpv4.DHCPv4) *dhcpv4.DHCPv4
		peer  *net.UDPAddr
		want  string
	}{
		{"discover", msg(t, dhcpv4.MessageTypeDiscover, mac1), ack, unconf, "255.255.255.255:68"},
		{"renewing from its address", msg(t, dhcpv4.MessageTypeRequest, mac1, dhcpv4.WithClientIP(ip4("192.0.2.100"))), ack, fromLease, "192.0.2.100:68"},
		{"ciaddr but no source address", msg(t, dhcpv4.MessageTypeRequest, mac1, dhcpv4.WithClientIP(ip4("192.0.2.100"))), ack, unconf, "255.255.255.255:68"},
		{"nak to a renewing client", msg(t, dhcpv4.MessageTypeRequest, mac1, dhcpv4.WithClientIP(ip4("192.0.2.100"))), nak, fromLease, "255.255.255.255:68"},
		{"relay", msg(t, dhcpv4.MessageTypeDiscover, mac1, dhcpv4.WithGatewayIP(ip4("192.0.2.254"))), ack, &net.UDPAddr{IP: ip4("192.0.2.254"), Port: 67}, "192.0.2.254:67"},
	}
	for _, tt := range tests {
		if got := s.destination(tt.req, tt.reply(tt.req), packet{peer: tt.peer}).String(); got != tt.want {
			t.Errorf("%s: to %s, want %s", tt.name, got, tt.want)
		}
	}
	s.link = false
	if got := s.destination(tests[0].req, ack(tests[0].req), packet{peer: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}}).String(); got != "127.0.0.1:40000" {
		t.Errorf("loopback: to %s", got)
	}
}

var _ = nclient4.ErrNoResponse
