package main

import (
	"encoding/binary"
	"net"
	"net/netip"
)

// DHCP message types (RFC 2132 §9.6) the load client sends or reads.
const (
	msgDiscover = 1
	msgOffer    = 2
	msgRequest  = 3
	msgAck      = 5
	msgNak      = 6
)

// Sizes of the frames: Ethernet, IPv4 without options, UDP, then the BOOTP
// message (236 bytes of fixed fields, the 4-byte magic cookie, options),
// padded to 300 bytes as RFC 1542 asks of clients.
const (
	ethLen       = 14
	ipLen        = 20
	udpLen       = 8
	bootpFixed   = 236
	bootpMinimum = 300
	frameLen     = ethLen + ipLen + udpLen + bootpMinimum
	bootpAt      = ethLen + ipLen + udpLen
)

// paramList is the parameter request list (option 55) of every message:
// subnet mask, router, DNS, domain name, broadcast address, NTP servers,
// as a Linux client asks.
var paramList = []byte{1, 3, 6, 15, 28, 42}

var magicCookie = [4]byte{99, 130, 83, 99}

// clientMAC is the hardware address of simulated client i: locally
// administered, unicast, apart from the lab's reserved 02:00:00:00:00:42.
func clientMAC(i int) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0xdc, 0xb0, byte(i >> 16), byte(i >> 8), byte(i)}
}

// probeMAC is the client that asks whether a server is up yet.
var probeMAC = net.HardwareAddr{0x02, 0xdc, 0xb1, 0xff, 0xff, 0xfe}

// buildFrame writes a client message into f (frameLen bytes), as a client
// without an address sends it: an Ethernet broadcast from its own MAC,
// 0.0.0.0:68 to 255.255.255.255:67, no broadcast flag. A REQUEST carries
// the offered address (option 50) and the chosen server (option 54).
func buildFrame(f []byte, mac net.HardwareAddr, mt byte, xid uint32, requested, server netip.Addr) []byte {
	f = f[:frameLen]
	clear(f)
	// Ethernet.
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], mac)
	binary.BigEndian.PutUint16(f[12:14], 0x0800)
	// IPv4.
	ip := f[ethLen : ethLen+ipLen]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:4], ipLen+udpLen+bootpMinimum)
	ip[8] = 64 // TTL
	ip[9] = 17 // UDP
	copy(ip[16:20], []byte{255, 255, 255, 255})
	binary.BigEndian.PutUint16(ip[10:12], ipChecksum(ip))
	// UDP, checksum 0: none (allowed over IPv4).
	u := f[ethLen+ipLen : bootpAt]
	binary.BigEndian.PutUint16(u[0:2], 68)
	binary.BigEndian.PutUint16(u[2:4], 67)
	binary.BigEndian.PutUint16(u[4:6], udpLen+bootpMinimum)
	// BOOTP.
	b := f[bootpAt:]
	b[0], b[1], b[2] = 1, 1, 6 // BOOTREQUEST, Ethernet, 6-byte address
	binary.BigEndian.PutUint32(b[4:8], xid)
	copy(b[28:34], mac)
	copy(b[bootpFixed:bootpFixed+4], magicCookie[:])
	o := b[bootpFixed+4:]
	n := copy(o, []byte{53, 1, mt})
	if mt == msgRequest {
		n += putAddrOption(o[n:], 50, requested)
		n += putAddrOption(o[n:], 54, server)
	}
	o[n], o[n+1] = 55, byte(len(paramList))
	n += 2 + copy(o[n+2:], paramList)
	o[n] = 255
	return f
}

func putAddrOption(o []byte, code byte, a netip.Addr) int {
	if !a.Is4() {
		return 0
	}
	o[0], o[1] = code, 4
	v := a.As4()
	copy(o[2:6], v[:])
	return 6
}

// ipChecksum is the IPv4 header checksum (RFC 791) of h, whose checksum
// field is zero.
func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// reply is what the load client reads of a server's answer.
type reply struct {
	xid    uint32
	mt     byte
	chaddr [6]byte
	yiaddr netip.Addr
	server netip.Addr // option 54; invalid when absent
}

// parseReply reads an Ethernet frame holding a server's DHCP answer to a
// client (BOOTREPLY to UDP port 68). Anything else, or anything
// malformed, is reported as not a reply.
func parseReply(f []byte) (reply, bool) {
	var r reply
	if len(f) < ethLen+ipLen || binary.BigEndian.Uint16(f[12:14]) != 0x0800 {
		return r, false
	}
	ip := f[ethLen:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[0]>>4 != 4 || ihl < ipLen || len(ip) < ihl+udpLen || ip[9] != 17 ||
		binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 { // a fragment
		return r, false
	}
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if total < ihl+udpLen || total > len(ip) {
		return r, false
	}
	u := ip[ihl:total]
	ulen := int(binary.BigEndian.Uint16(u[4:6]))
	if binary.BigEndian.Uint16(u[2:4]) != 68 || ulen < udpLen || ulen > len(u) {
		return r, false
	}
	b := u[udpLen:ulen]
	if len(b) < bootpFixed+4 || b[0] != 2 || b[1] != 1 || b[2] != 6 ||
		[4]byte(b[bootpFixed:bootpFixed+4]) != magicCookie {
		return r, false
	}
	r.xid = binary.BigEndian.Uint32(b[4:8])
	r.yiaddr = netip.AddrFrom4([4]byte(b[16:20]))
	r.chaddr = [6]byte(b[28:34])
	o := b[bootpFixed+4:]
	for i := 0; i < len(o); {
		code := o[i]
		if code == 0 {
			i++
			continue
		}
		if code == 255 || i+1 >= len(o) {
			break
		}
		n := int(o[i+1])
		if i+2+n > len(o) {
			return r, false
		}
		v := o[i+2 : i+2+n]
		switch {
		case code == 53 && n == 1:
			r.mt = v[0]
		case code == 54 && n == 4:
			r.server = netip.AddrFrom4([4]byte(v))
		}
		i += 2 + n
	}
	return r, r.mt != 0
}
