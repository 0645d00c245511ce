package service

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"protolab/internal/event"
)

// Transport event kinds: what the transport layer saw of a TCP connection
// to any of the lab's servers, whatever the protocol above. The runner turns
// them on for a lab whose checks use them (the tcpip lab); otherwise a
// service's connections are not wrapped at all.
const (
	KindTCPAccept = "tcp.accept"
	KindTCPClose  = "tcp.close"
)

var (
	attrTCPServer = event.Attr{Name: "server", Doc: "the server's address and port the client connected to, e.g. 127.0.0.1:2525"}
	attrTCPPort   = event.Attr{Name: "port", Doc: "the server's port"}
	attrTCPSvc    = event.Attr{Name: "service", Doc: "the lab service that accepted it: dns, smtp, pop3, imap, echo..."}
	attrTCPFamily = event.Attr{Name: "family", Doc: "ipv4 or ipv6 (an IPv4 client of a dual-stack socket counts as ipv4)"}
)

// TransportEvents are the specs of the transport events; every lab may
// check them.
var TransportEvents = []event.Spec{
	{
		Kind:  KindTCPAccept,
		Doc:   "a TCP connection was accepted (the three-way handshake is complete): SYN, SYN-ACK, ACK",
		Attrs: []event.Attr{attrTCPServer, attrTCPPort, attrTCPSvc, attrTCPFamily},
		Brief: []string{"service", "port"},
	},
	{
		Kind: KindTCPClose,
		Doc:  "a TCP connection ended, closed by either side",
		Attrs: []event.Attr{attrTCPServer, attrTCPPort, attrTCPSvc, attrTCPFamily,
			{Name: "bytes_in", Doc: "bytes the server received on it (application data, after TCP)"},
			{Name: "bytes_out", Doc: "bytes the server sent on it"},
			{Name: "duration_ms", Doc: "how long the connection lasted, in milliseconds"},
			{Name: "closed_by", Doc: `"client" (the server read end of stream) or "server"`}},
		Brief: []string{"service", "port", "bytes_in", "bytes_out"},
	},
}

// watchTransport wraps a listener so that each connection it accepts
// publishes tcp.accept and, once, tcp.close.
func watchTransport(ln net.Listener, svc string, pub event.Publisher) net.Listener {
	return &transportListener{Listener: ln, svc: svc, pub: pub}
}

type transportListener struct {
	net.Listener
	svc string
	pub event.Publisher
}

func (l *transportListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	tc := &transportConn{Conn: c, l: l, start: time.Now()}
	server := c.LocalAddr().String()
	tc.attrs = map[string]string{"server": server, "port": strconv.Itoa(PortOf(c.LocalAddr())),
		"service": l.svc, "family": family(c.RemoteAddr())}
	l.pub.Publish(event.Event{Time: tc.start, Service: l.svc, Kind: KindTCPAccept, Client: c.RemoteAddr().String(), Attrs: tc.attrs})
	return tc, nil
}

func family(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok && ta.IP.To4() == nil {
		return "ipv6"
	}
	return "ipv4"
}

// transportConn counts the bytes each way and reports the close.
type transportConn struct {
	net.Conn
	l        *transportListener
	start    time.Time
	attrs    map[string]string
	in, out  atomic.Int64
	eof      atomic.Bool
	closeOne sync.Once
}

func (c *transportConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	if err != nil && n == 0 && isEOF(err) {
		c.eof.Store(true)
	}
	return n, err
}

func (c *transportConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

func (c *transportConn) Close() error {
	err := c.Conn.Close()
	c.closeOne.Do(func() {
		by := "server"
		if c.eof.Load() {
			by = "client"
		}
		attrs := make(map[string]string, len(c.attrs)+4)
		for k, v := range c.attrs {
			attrs[k] = v
		}
		attrs["bytes_in"] = strconv.FormatInt(c.in.Load(), 10)
		attrs["bytes_out"] = strconv.FormatInt(c.out.Load(), 10)
		attrs["duration_ms"] = strconv.FormatInt(time.Since(c.start).Milliseconds(), 10)
		attrs["closed_by"] = by
		c.l.pub.Publish(event.Event{Time: time.Now(), Service: c.l.svc, Kind: KindTCPClose, Client: c.RemoteAddr().String(), Attrs: attrs})
	})
	return err
}

func isEOF(err error) bool { return err != nil && err.Error() == "EOF" }

// CloseWrite half-closes, when the connection can (echo servers use it).
func (c *transportConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
