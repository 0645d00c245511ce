package dhcp

import (
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// oobSize holds one IP_PKTINFO control message.
var oobSize = unix.CmsgSpace(unix.SizeofInet4Pktinfo)

// reader reads datagrams with the address each was sent to, so that a
// broadcast REQUEST (rebinding) can be told from a unicast one (renewing).
type reader struct {
	pc  net.PacketConn
	udp *net.UDPConn // nil when the socket gives no control messages
}

// newReader asks the kernel for IP_PKTINFO on UDP sockets; on other
// sockets (or if it refuses) the destination stays unknown.
func newReader(pc net.PacketConn) reader {
	r := reader{pc: pc}
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		return r
	}
	sc, err := uc.SyscallConn()
	if err != nil {
		return r
	}
	var serr error
	if err := sc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
	}); err == nil && serr == nil {
		r.udp = uc
	}
	return r
}

// read reads one datagram.
func (r reader) read(buf, oob []byte) (packet, error) {
	if r.udp == nil {
		n, from, err := r.pc.ReadFrom(buf)
		if err != nil {
			return packet{}, err
		}
		ua, _ := from.(*net.UDPAddr)
		return packet{raw: buf[:n], peer: ua}, nil
	}
	n, oobn, _, from, err := r.udp.ReadMsgUDPAddrPort(buf, oob)
	if err != nil {
		return packet{}, err
	}
	p := packet{raw: buf[:n], peer: net.UDPAddrFromAddrPort(netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))}
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_PKTINFO && len(m.Data) >= unix.SizeofInet4Pktinfo {
				// struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }:
				// addr is the header's destination.
				p.dst = netip.AddrFrom4([4]byte(m.Data[8:12]))
			}
		}
	}
	return p, nil
}
