//go:build !linux

package dhcp

import "net"

// oobSize is unused outside Linux.
const oobSize = 0

// reader reads datagrams; outside Linux the destination stays unknown
// (every REQUEST with ciaddr counts as renewing).
type reader struct{ pc net.PacketConn }

func newReader(pc net.PacketConn) reader { return reader{pc: pc} }

// read reads one datagram.
func (r reader) read(buf, _ []byte) (packet, error) {
	n, from, err := r.pc.ReadFrom(buf)
	if err != nil {
		return packet{}, err
	}
	ua, _ := from.(*net.UDPAddr)
	return packet{raw: buf[:n], peer: ua}, nil
}
