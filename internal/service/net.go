package service

import (
	"context"
	"net"
	"strconv"
)

// Net opens the sockets a service listens on. The runner gives services the
// host's network (HostNet) or, with `lab start --sandbox`, a Net whose
// sockets live inside the lab network's namespace.
type Net interface {
	Listen(ctx context.Context, network, addr string) (net.Listener, error)
	ListenPacket(ctx context.Context, network, addr string, o PacketOptions) (net.PacketConn, error)
}

// PacketOptions are the socket options a datagram server may need beyond
// an address: a DHCP server answers broadcasts on one link only.
type PacketOptions struct {
	Device    string // bind to this interface (SO_BINDTODEVICE)
	Broadcast bool   // may send to broadcast addresses (SO_BROADCAST)
	ReuseAddr bool   // SO_REUSEADDR, as DHCP servers set it
}

// HostNet opens sockets in the calling process's own network namespace.
type HostNet struct{}

// Listen opens a stream listener.
func (HostNet) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(ctx, network, addr)
}

// ListenPacket opens a datagram socket with the given options.
func (HostNet) ListenPacket(ctx context.Context, network, addr string, o PacketOptions) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: o.control}
	return lc.ListenPacket(ctx, network, addr)
}

func (rt Runtime) net() Net {
	if rt.Net == nil {
		return HostNet{}
	}
	return rt.Net
}

// Listen opens a stream listener through the runtime's Net.
func (rt Runtime) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	ln, err := rt.net().Listen(ctx, network, addr)
	if err != nil || !rt.Transport || rt.Events == nil {
		return ln, err
	}
	return watchTransport(ln, rt.Service, rt.Events), nil
}

// ListenPacket opens a datagram socket through the runtime's Net.
func (rt Runtime) ListenPacket(ctx context.Context, network, addr string, o PacketOptions) (net.PacketConn, error) {
	return rt.net().ListenPacket(ctx, network, addr, o)
}

// Endpoint describes a socket the service opened, as clients reach it: with
// the runtime's advertised address in place of the bound one when set (a
// sandboxed service listens on every address of its namespace, and
// learners reach it at the lab server's address).
func (rt Runtime) Endpoint(svc, listener, network string, a net.Addr) Endpoint {
	addr := a.String()
	if rt.Advertise != "" {
		if _, port, err := net.SplitHostPort(addr); err == nil {
			addr = net.JoinHostPort(rt.Advertise, port)
		}
	}
	return Endpoint{Service: svc, Listener: listener, Network: network, Addr: addr}
}

// PortOf returns the port of a socket address (0 when it has none).
func PortOf(a net.Addr) int {
	_, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}
