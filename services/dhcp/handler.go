package dhcp

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"protolab/internal/event"
)

// The client states a REQUEST reveals (RFC 2131 §4.3.2).
const (
	stateSelecting  = "selecting"
	stateInitReboot = "init-reboot"
	stateRenewing   = "renewing"
	stateRebinding  = "rebinding"
)

// Ports of the protocol.
const (
	serverPort = 67
	clientPort = 68
)

// Packet size bounds: a BOOTP header is 236 bytes plus the 4-byte cookie;
// nothing legitimate comes near the read buffer.
const (
	minPacketSize = 240
	maxPacketSize = 4096
)

// packet is a datagram as received.
type packet struct {
	raw  []byte
	peer *net.UDPAddr // where it came from
	dst  netip.Addr   // the address it was sent to, when known
}

// server answers DHCP messages. It is safe for concurrent use.
type server struct {
	o       options
	pool    *pool
	events  event.Publisher
	log     *slog.Logger
	link    bool // bound to a lab network's link: answer as RFC 2131 §4.1 says
	sid     net.IP
	ladders *ladders
	bcast   netip.Addr // the network's directed broadcast

	panics    atomic.Int64
	malformed atomic.Int64
	lastWarn  atomic.Int64 // Unix nanoseconds of the last exhaustion warning
}

// newServer builds a server over a pool.
func newServer(o options, p *pool, pub event.Publisher, log *slog.Logger, link bool) *server {
	if pub == nil {
		pub = event.Discard{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{o: o, pool: p, events: pub, log: log, link: link,
		sid: net.IP(o.Server.AsSlice()), ladders: newLadders(), bcast: broadcastOf(o.Prefix)}
	p.persistErrs = func(err error) { log.Warn("dhcp: cannot save a lease; it is kept in memory", "err", err) }
	if p.db != nil {
		p.db.errs = p.persistErrs
	}
	return s
}

// handlePacket answers one datagram: the reply and where to send it, or
// nil to stay silent. A panic is logged, counted, and the packet dropped.
func (s *server) handlePacket(p packet) (out []byte, to *net.UDPAddr) {
	defer func() {
		if r := recover(); r != nil {
			s.panics.Add(1)
			s.log.Error("dhcp: panic handling a packet", "panic", r, "client", p.peer.String())
			out, to = nil, nil
		}
	}()
	return s.handleUnguarded(p)
}

// handleUnguarded is handlePacket without the recover, for the fuzzer.
func (s *server) handleUnguarded(p packet) ([]byte, *net.UDPAddr) {
	if len(p.raw) < minPacketSize || len(p.raw) > maxPacketSize {
		s.malformed.Add(1)
		return nil, nil
	}
	req, err := dhcpv4.FromBytes(p.raw)
	if err != nil || req.OpCode != dhcpv4.OpcodeBootRequest ||
		req.HWType != iana.HWTypeEthernet || len(req.ClientHWAddr) != 6 {
		s.malformed.Add(1)
		return nil, nil
	}
	x := &exchange{s: s, req: req, p: p, mac: req.ClientHWAddr.String(),
		xid: binary.BigEndian.Uint32(req.TransactionID[:]), hostname: cleanHostname(req.HostName()), prl: prlOf(req)}
	var reply *dhcpv4.DHCPv4
	switch req.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		reply = x.discover()
	case dhcpv4.MessageTypeRequest:
		reply = x.request()
	case dhcpv4.MessageTypeRelease:
		x.release()
	case dhcpv4.MessageTypeDecline:
		x.decline()
	case dhcpv4.MessageTypeInform:
		reply = x.inform()
	default:
		return nil, nil // BOOTP, or a server's message: not ours to answer
	}
	if reply == nil {
		return nil, nil
	}
	return reply.ToBytes(), s.destination(req, reply, p)
}

// prlOf is the parameter request list, at most 64 codes.
func prlOf(req *dhcpv4.DHCPv4) []uint8 {
	b := req.Options.Get(dhcpv4.OptionParameterRequestList)
	if len(b) > 64 {
		b = b[:64]
	}
	return append([]uint8(nil), b...)
}

// destination is where a reply goes. On loopback, back to the peer. On a
// lab network (RFC 2131 §4.1): to the relay when giaddr is set; a NAK is
// broadcast; a client using its address (ciaddr, and it wrote from an
// address) gets unicast; anyone else gets a broadcast, since a client with
// no address yet cannot answer ARP.
func (s *server) destination(req, reply *dhcpv4.DHCPv4, p packet) *net.UDPAddr {
	if !s.link {
		return p.peer
	}
	port := clientPort
	if p.peer != nil && p.peer.Port != 0 {
		port = p.peer.Port
	}
	if g := req.GatewayIPAddr.To4(); g != nil && !g.IsUnspecified() {
		return &net.UDPAddr{IP: g, Port: serverPort}
	}
	bcast := &net.UDPAddr{IP: net.IPv4bcast, Port: port}
	if reply.MessageType() == dhcpv4.MessageTypeNak {
		return bcast
	}
	ci := req.ClientIPAddr.To4()
	if ci != nil && !ci.IsUnspecified() && p.peer != nil && p.peer.IP != nil &&
		!p.peer.IP.IsUnspecified() && !p.peer.IP.Equal(net.IPv4bcast) {
		return &net.UDPAddr{IP: ci, Port: port}
	}
	return bcast
}

// exchange is one message being answered.
type exchange struct {
	s        *server
	req      *dhcpv4.DHCPv4
	p        packet
	mac      string
	xid      uint32
	hostname string
	prl      []uint8
}

// attrs are the attributes every event of the message carries.
func (x *exchange) attrs(ip string) map[string]string {
	return map[string]string{
		"mac": x.mac, "xid": fmt.Sprintf("0x%08x", x.xid), "ip": ip, "hostname": x.hostname,
	}
}

// publish emits an event with the exchange's ladder as transcript.
func (x *exchange) publish(kind string, attrs map[string]string, l ladder) {
	x.s.events.Publish(event.Event{Service: "dhcp", Kind: kind, Client: x.p.peer.String(), Attrs: attrs, TranscriptFrom: l})
}

// clientStep records the client's message in the ladder.
func (x *exchange) clientStep(ip, server, state string, restart bool) ladder {
	return x.s.ladders.add(x.mac, step{client: true, who: x.mac, mt: x.req.MessageType(), xid: x.xid,
		ip: ip, prl: x.prl, server: server, state: state, hostname: x.hostname}, restart)
}

// serverStep records the server's answer (or silence) in the ladder.
func (x *exchange) serverStep(s step) ladder {
	s.who = x.s.o.Server.String()
	s.xid = x.xid
	return x.s.ladders.add(x.mac, s, false)
}

func (x *exchange) discover() *dhcpv4.DHCPv4 {
	want := addrOf(x.req.RequestedIPAddress())
	a := x.attrs(addrString(want))
	a["requested"] = requestedNames(x.prl)
	x.clientStep(addrString(want), "", "", true)
	ip, reason := x.s.pool.offer(x.mac, want, x.hostname)
	a["reason"] = reason
	if reason != "" {
		if reason == "pool-exhausted" {
			x.s.warnExhausted()
		}
		x.publish(KindDiscover, a, x.serverStep(step{silent: true, reason: reason}))
		return nil
	}
	l := x.serverStep(step{mt: dhcpv4.MessageTypeOffer, ip: ip.String(), lease: x.s.o.LeaseTime})
	x.publish(KindDiscover, a, l)
	reply := x.reply(dhcpv4.MessageTypeOffer, ip, true)
	oa := x.attrs(ip.String())
	oa["lease"] = strconv.Itoa(int(x.s.o.LeaseTime / time.Second))
	x.publish(KindOffer, oa, l)
	return reply
}

func (x *exchange) request() *dhcpv4.DHCPv4 {
	sid := addrOf(x.req.ServerIdentifier())
	want := addrOf(x.req.RequestedIPAddress())
	ci := addrOf(x.req.ClientIPAddr)
	var st string
	ip := want
	switch {
	case sid.IsValid():
		st = stateSelecting
	case want.IsValid() && !ci.IsValid():
		st = stateInitReboot
	case ci.IsValid():
		st, ip = stateRenewing, ci
		if x.p.dst == x.s.bcast || x.p.dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			st = stateRebinding
		}
	}
	a := x.attrs(addrString(ip))
	a["requested"] = requestedNames(x.prl)
	a["state"] = st
	a["server"] = addrString(sid)
	if st == stateSelecting && sid != x.s.o.Server {
		x.clientStep(addrString(ip), addrString(sid), st, false)
		x.s.pool.forget(x.mac)
		x.publish(KindRequest, a, x.serverStep(step{silent: true, reason: "other-server"}))
		return nil
	}
	x.clientStep(addrString(ip), addrString(sid), st, st == stateInitReboot)
	reason := "unknown-lease"
	if ip.IsValid() {
		reason = x.s.pool.request(x.mac, ip, st, x.hostname)
		if reason == "" {
			x.s.pool.sync() // the lease is on stable storage before the ACK
		}
	}
	if reason != "" {
		l := x.serverStep(step{mt: dhcpv4.MessageTypeNak, ip: addrString(ip), reason: reason})
		x.publish(KindRequest, a, l)
		na := x.attrs(addrString(ip))
		na["state"], na["reason"] = st, reason
		x.publish(KindNak, na, l)
		reply, err := dhcpv4.NewReplyFromRequest(x.req,
			dhcpv4.WithMessageType(dhcpv4.MessageTypeNak),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(x.s.sid)),
			dhcpv4.WithOption(dhcpv4.OptMessage(nakText(reason))))
		if err != nil {
			return nil
		}
		if !x.req.GatewayIPAddr.IsUnspecified() && x.req.GatewayIPAddr.To4() != nil {
			reply.SetBroadcast() // RFC 2131 §4.3.2: the relay broadcasts it
		}
		return reply
	}
	l := x.serverStep(step{mt: dhcpv4.MessageTypeAck, ip: ip.String(), lease: x.s.o.LeaseTime})
	x.publish(KindRequest, a, l)
	aa := x.attrs(ip.String())
	aa["requested"], aa["state"] = a["requested"], st
	aa["lease"] = strconv.Itoa(int(x.s.o.LeaseTime / time.Second))
	x.publish(KindAck, aa, l)
	reply := x.reply(dhcpv4.MessageTypeAck, ip, true)
	if ci.IsValid() {
		reply.ClientIPAddr = x.req.ClientIPAddr
	}
	return reply
}

func (x *exchange) release() {
	ip := addrOf(x.req.ClientIPAddr)
	x.s.pool.release(x.mac, ip)
	x.publish(KindRelease, x.attrs(addrString(ip)), x.clientStep(addrString(ip), addrString(addrOf(x.req.ServerIdentifier())), "", false))
}

func (x *exchange) decline() {
	ip := addrOf(x.req.RequestedIPAddress())
	x.s.pool.decline(x.mac, ip)
	x.publish(KindDecline, x.attrs(addrString(ip)), x.clientStep(addrString(ip), addrString(addrOf(x.req.ServerIdentifier())), "", false))
}

func (x *exchange) inform() *dhcpv4.DHCPv4 {
	ci := addrOf(x.req.ClientIPAddr)
	a := x.attrs(addrString(ci))
	a["requested"] = requestedNames(x.prl)
	x.clientStep(addrString(ci), "", "", true)
	l := x.serverStep(step{mt: dhcpv4.MessageTypeAck})
	x.publish(KindInform, a, l)
	reply := x.reply(dhcpv4.MessageTypeAck, netip.Addr{}, false)
	reply.ClientIPAddr = x.req.ClientIPAddr
	return reply
}

// reply builds an OFFER or ACK: the lab's options always (mask, router,
// DNS, domain, and with a lease its time, T1 and T2), and the others the
// client asked for (option 55) when the lab has them.
func (x *exchange) reply(mt dhcpv4.MessageType, yiaddr netip.Addr, withLease bool) *dhcpv4.DHCPv4 {
	o := &x.s.o
	mods := []dhcpv4.Modifier{
		dhcpv4.WithMessageType(mt),
		dhcpv4.WithServerIP(x.s.sid),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(x.s.sid)),
		dhcpv4.WithOption(dhcpv4.OptSubnetMask(o.mask())),
	}
	if yiaddr.IsValid() {
		mods = append(mods, dhcpv4.WithYourIP(net.IP(yiaddr.AsSlice())))
	}
	if withLease {
		mods = append(mods,
			dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(o.LeaseTime)),
			dhcpv4.WithOption(dhcpv4.OptRenewTimeValue(o.LeaseTime/2)),
			dhcpv4.WithOption(dhcpv4.OptRebindingTimeValue(o.LeaseTime*7/8)))
	}
	if o.Router.IsValid() {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRouter(net.IP(o.Router.AsSlice()))))
	}
	if len(o.DNS) > 0 {
		ips := make([]net.IP, len(o.DNS))
		for i, d := range o.DNS {
			ips[i] = net.IP(d.AsSlice())
		}
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptDNS(ips...)))
	}
	if o.Domain != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptDomainName(o.Domain)))
	}
	for _, c := range x.prl {
		if v, ok := o.Extra[c]; ok {
			mods = append(mods, dhcpv4.WithGeneric(dhcpv4.GenericOptionCode(c), v))
			continue
		}
		switch c {
		case dhcpv4.OptionBroadcastAddress.Code():
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptBroadcastAddress(net.IP(x.s.bcast.AsSlice()))))
		case dhcpv4.OptionHostName.Code():
			if h := x.s.pool.hostnameOf(x.mac); h != "" {
				mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(h)))
			}
		}
	}
	reply, err := dhcpv4.NewReplyFromRequest(x.req, mods...)
	if err != nil {
		// Only the random transaction ID it replaces can fail; WithReply
		// sets the client's.
		reply, _ = dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithReply(x.req)}, mods...)...)
	}
	return reply
}

// warnExhausted logs an exhausted pool, at most every 10 seconds.
func (s *server) warnExhausted() {
	now := time.Now().UnixNano()
	last := s.lastWarn.Load()
	if now-last < int64(10*time.Second) || !s.lastWarn.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn("dhcp: the pool is exhausted; DISCOVERs go unanswered", "pool", s.o.Start.String()+"-"+s.o.End.String())
}

// addrOf converts an IPv4 field or option; the zero address and nil are
// "none".
func addrOf(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip.To4())
	if !ok || a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}

// addrString prints an address, or "" for none.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// cleanHostname bounds a client's host name (option 12) and replaces what
// would garble a log line or a terminal.
func cleanHostname(h string) string {
	if len(h) > 64 {
		h = h[:64]
	}
	b := []byte(h)
	for i, c := range b {
		if c < 0x21 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}
