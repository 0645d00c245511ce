package dhcp

import (
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"go.yaml.in/yaml/v3"

	"protolab/internal/event"
)

// FuzzHandlePacket feeds random and mutated packets to the server (without
// the recover that guards it in the serve loop): it must never panic, and
// whatever it answers must be a BOOTREPLY that parses, sent to the client
// or broadcast.
func FuzzHandlePacket(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed, false, false)
	}
	p := loadLab(f, "pool: 192.0.2.100-192.0.2.103\nreservations: [{mac: '02:00:00:00:00:42', ip: 192.0.2.42}]\noptions: {ntp: [192.0.2.1], mtu: 1500}\n")
	clk := newClock()
	s := newServer(p.o, newPool(&p.o, nil, clk.now), event.Discard{}, nil, false)
	link := newServer(p.o, newPool(&p.o, nil, clk.now), event.Discard{}, nil, true)
	peer := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6800}
	f.Fuzz(func(t *testing.T, raw []byte, onLink, bcast bool) {
		srv := s
		if onLink {
			srv = link
		}
		pk := packet{raw: raw, peer: peer}
		if bcast {
			pk.dst = netip.MustParseAddr("255.255.255.255")
		}
		out, to := srv.handleUnguarded(pk)
		if out == nil {
			return
		}
		reply, err := dhcpv4.FromBytes(out)
		if err != nil || reply.OpCode != dhcpv4.OpcodeBootReply {
			t.Fatalf("reply does not parse as a BOOTREPLY: %v", err)
		}
		if to == nil || len(out) > 1024 {
			t.Fatalf("reply of %d bytes to %v", len(out), to)
		}
		clk.add(7e9) // leases and offers run out as the fuzzer goes
	})
}

// fuzzSeeds are real client messages of every kind.
func fuzzSeeds(tb testing.TB) [][]byte {
	mac := "02:00:00:00:00:07"
	var seeds [][]byte
	for _, m := range []*dhcpv4.DHCPv4{
		msg(tb, dhcpv4.MessageTypeDiscover, mac, dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionNTPServers, dhcpv4.OptionInterfaceMTU)),
		msg(tb, dhcpv4.MessageTypeDiscover, "02:00:00:00:00:42", withRequested("192.0.2.101"), dhcpv4.WithOption(dhcpv4.OptHostName("pc"))),
		msg(tb, dhcpv4.MessageTypeRequest, mac, withRequested("192.0.2.100"), withServerID("192.0.2.1")),
		msg(tb, dhcpv4.MessageTypeRequest, mac, withRequested("192.0.2.100")),
		msg(tb, dhcpv4.MessageTypeRequest, mac, dhcpv4.WithClientIP(ip4("192.0.2.100"))),
		msg(tb, dhcpv4.MessageTypeRelease, mac, dhcpv4.WithClientIP(ip4("192.0.2.100")), withServerID("192.0.2.1")),
		msg(tb, dhcpv4.MessageTypeDecline, mac, withRequested("192.0.2.100")),
		msg(tb, dhcpv4.MessageTypeInform, mac, dhcpv4.WithClientIP(ip4("192.0.2.50")), dhcpv4.WithGatewayIP(ip4("192.0.2.254"))),
	} {
		seeds = append(seeds, m.ToBytes())
	}
	return seeds
}

// FuzzOptions feeds lab-file options to the loader: it must never panic,
// and what it accepts must hold together (a pool inside the network).
func FuzzOptions(f *testing.F) {
	for _, s := range []string{labOptions, "", "pool: 10.0.0.2-10.0.0.9\nserver: 10.0.0.1\nnetmask: /28", "options: {mtu: 1500, domain_search: [a.b]}", "reservations: [{mac: '02:00:00:00:00:01', ip: 192.0.2.9}]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var doc yaml.Node
		if yaml.Unmarshal([]byte(text), &doc) != nil {
			return
		}
		o, err := decodeOptions(&doc)
		if err != nil {
			return
		}
		if !o.Prefix.Contains(o.Start) || !o.Prefix.Contains(o.End) || o.End.Less(o.Start) || ipU32(o.End)-ipU32(o.Start) >= maxPoolSize {
			t.Fatalf("accepted a pool %s-%s outside %s", o.Start, o.End, o.Prefix)
		}
	})
}
