package echo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"protolab/internal/event"
	"protolab/internal/service"
)

var (
	_ service.Prepared = (*prepared)(nil)
	_ service.Instance = (*instance)(nil)
)

const (
	// readSize is how much one read takes from a TCP connection.
	readSize = 4096
	// writeTimeout bounds one write: a client that sends without ever
	// reading fills its window, and is then dropped.
	writeTimeout = 10 * time.Second
	// bindAttempts is how many free UDP ports are tried, with port 0, to
	// find one whose TCP twin is free too.
	bindAttempts = 10
)

// loopPorts are the ports of the small services of RFC 862 to 865 and 868
// (echo, discard's neighbours daytime, quote of the day, chargen, time). A
// datagram "from" one of them is not answered: with a forged source, two
// such servers would otherwise answer each other for ever.
var loopPorts = map[int]bool{0: true, 7: true, 13: true, 17: true, 19: true, 37: true}

// prepared is a loaded, valid configuration, ready to start.
type prepared struct {
	o options
}

// Start listens on rt.Bind, over UDP and TCP on one port, and serves until
// Shutdown. The TCP listener comes from rt.Listen, so that in the tcpip lab
// every connection also gives tcp.accept and tcp.close.
func (p *prepared) Start(ctx context.Context, rt service.Runtime) (service.Instance, error) {
	pc, ln, err := listen(ctx, rt, rt.Port("echo"))
	if err != nil {
		return nil, err
	}
	s := newServer(p.o, rt.Events, rt.Log, time.Now)
	s.udpServer = udpServerAddr(pc.LocalAddr(), rt.Advertise)
	in := &instance{s: s, ln: ln, pc: pc, conns: map[net.Conn]struct{}{},
		eps: service.Endpoints{
			rt.Endpoint("echo", "echo", "tcp", ln.Addr()),
			rt.Endpoint("echo", "echo", "udp", pc.LocalAddr()),
		}}
	in.wg.Add(2)
	go in.accept()
	go in.serveUDP()
	return in, nil
}

// listen opens UDP and TCP on the same port. With port 0 it takes a free
// UDP port and tries TCP on the same number, a few times if TCP is taken.
func listen(ctx context.Context, rt service.Runtime, port int) (net.PacketConn, net.Listener, error) {
	for attempt := 1; ; attempt++ {
		addr := net.JoinHostPort(rt.Bind, strconv.Itoa(port))
		pc, err := rt.ListenPacket(ctx, "udp", addr, service.PacketOptions{})
		if err != nil {
			return nil, nil, &service.BindError{Service: "echo", Listener: "echo", Network: "udp", Addr: addr, Err: err}
		}
		tcpAddr := net.JoinHostPort(rt.Bind, strconv.Itoa(service.PortOf(pc.LocalAddr())))
		ln, err := rt.Listen(ctx, "tcp", tcpAddr)
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != 0 || attempt == bindAttempts || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, &service.BindError{Service: "echo", Listener: "echo", Network: "tcp", Addr: tcpAddr, Err: err}
		}
	}
}

// udpServerAddr returns, for a datagram from a client of the given family,
// the server's address as the client reached it: the bound address when
// the socket has one, else the advertised address of the same family, else
// "" (a socket bound to every address cannot tell which one a datagram was
// sent to without asking the kernel for each packet).
func udpServerAddr(local net.Addr, advertise string) func(client *net.UDPAddr) string {
	ua, _ := local.(*net.UDPAddr)
	if ua == nil {
		return func(*net.UDPAddr) string { return "" }
	}
	if !ua.IP.IsUnspecified() && ua.IP != nil {
		s := ua.String()
		return func(*net.UDPAddr) string { return s }
	}
	adv := net.ParseIP(advertise)
	port := strconv.Itoa(ua.Port)
	return func(client *net.UDPAddr) string {
		if adv == nil || client == nil || (adv.To4() == nil) != (client.IP.To4() == nil) {
			return ""
		}
		return net.JoinHostPort(adv.String(), port)
	}
}

// server holds what the TCP and UDP sides share.
type server struct {
	o         options
	events    event.Publisher
	log       *slog.Logger
	now       func() time.Time
	udpServer func(client *net.UDPAddr) string

	mu      sync.Mutex // guards the rate limiter
	tokens  float64
	last    time.Time
	dropped int
}

// newServer builds a server with its rate limiter full.
func newServer(o options, pub event.Publisher, log *slog.Logger, now func() time.Time) *server {
	if pub == nil {
		pub = event.Discard{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &server{o: o, events: pub, log: log, now: now, tokens: float64(o.UDPRate), last: now(),
		udpServer: func(*net.UDPAddr) string { return "" }}
}

// instance is a running echo server.
type instance struct {
	s   *server
	ln  net.Listener
	pc  net.PacketConn
	eps service.Endpoints
	wg  sync.WaitGroup // the two loops and the connections

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closing bool

	once sync.Once
	err  error
}

// Endpoints returns the TCP and UDP addresses listened on.
func (in *instance) Endpoints() service.Endpoints { return in.eps }

// active is the number of TCP connections being served.
func (in *instance) active() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.conns)
}

// accept serves connections until the listener is closed. Over MaxConns, a
// new connection is closed at once: nothing is owed to it.
func (in *instance) accept() {
	defer in.wg.Done()
	var backoff time.Duration
	for {
		c, err := in.ln.Accept()
		if err != nil {
			if in.stopping() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait a little.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			in.s.log.Warn("echo: accept", "err", err)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		in.mu.Lock()
		full := len(in.conns) >= in.s.o.MaxConns
		if in.closing || full {
			in.mu.Unlock()
			if full {
				in.s.log.Debug("echo: too many connections", "client", c.RemoteAddr().String())
			}
			c.Close()
			continue
		}
		in.conns[c] = struct{}{}
		in.wg.Add(1)
		in.mu.Unlock()
		go func() {
			defer in.wg.Done()
			defer func() {
				in.mu.Lock()
				delete(in.conns, c)
				in.mu.Unlock()
			}()
			in.s.serveConn(c)
		}()
	}
}

func (in *instance) stopping() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.closing
}

// serveConn echoes a TCP connection until the client closes it, stays idle
// too long, or has had MaxBytes echoed.
func (s *server) serveConn(c net.Conn) {
	defer c.Close()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("echo: panic serving a connection", "panic", p, "client", c.RemoteAddr().String())
		}
	}()
	buf := make([]byte, readSize)
	total := 0
	for {
		_ = c.SetReadDeadline(s.now().Add(s.o.IdleTimeout))
		n, err := c.Read(buf)
		if n > 0 {
			n = min(n, s.o.MaxBytes-total)
			_ = c.SetWriteDeadline(s.now().Add(writeTimeout))
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
			if total == 0 {
				s.events.Publish(tcpEvent(c, buf[:n]))
			}
			total += n
			if total >= s.o.MaxBytes {
				return
			}
		}
		if err != nil {
			// End of stream (the client is done: all it sent is back), the
			// idle timeout, or a reset.
			return
		}
	}
}

// serveUDP echoes datagrams until the socket is closed.
func (in *instance) serveUDP() {
	defer in.wg.Done()
	// One byte more than the largest datagram echoed: a larger one is seen
	// as larger (the kernel cuts it to the buffer).
	buf := make([]byte, in.s.o.MaxDatagram+1)
	for {
		n, from, err := in.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || in.stopping() {
				return
			}
			in.s.log.Debug("echo: udp read", "err", err)
			continue
		}
		if reply := in.s.handleDatagram(buf[:n], from); reply != nil {
			if _, err := in.pc.WriteTo(reply, from); err != nil {
				in.s.log.Debug("echo: udp write", "err", err, "client", from.String())
			}
		}
	}
}

// handleDatagram decides about one datagram and publishes its event: the
// reply to send (nil: none). A panic is logged and the datagram dropped.
func (s *server) handleDatagram(payload []byte, from net.Addr) (reply []byte) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("echo: panic handling a datagram", "panic", p, "client", from.String())
			reply = nil
		}
	}()
	return s.handleDatagramUnguarded(payload, from)
}

// handleDatagramUnguarded is handleDatagram without the recover, for the
// fuzzer to see panics.
func (s *server) handleDatagramUnguarded(payload []byte, from net.Addr) []byte {
	dropped, ok := s.allow()
	if !ok {
		return nil
	}
	ua, _ := from.(*net.UDPAddr)
	reason := ""
	switch {
	case len(payload) > s.o.MaxDatagram:
		reason = "too-large"
	case ua == nil || loopPorts[ua.Port]:
		reason = "loop-port"
	}
	s.events.Publish(datagramEvent(payload, from, s.udpServer(ua), reason, dropped, s.o.MaxDatagram))
	if reason != "" {
		return nil
	}
	return payload
}

// allow takes a token from the rate limiter: whether the datagram may be
// handled, and how many were dropped since the last one that was.
func (s *server) allow() (dropped int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	rate := float64(s.o.UDPRate)
	if d := now.Sub(s.last); d > 0 {
		s.tokens = min(rate, s.tokens+d.Seconds()*rate)
	}
	s.last = now
	if s.tokens < 1 {
		s.dropped++
		return 0, false
	}
	s.tokens--
	dropped, s.dropped = s.dropped, 0
	return dropped, true
}

// Shutdown stops listening, closes every connection (an echo server owes
// nothing to a client in the middle of a stream) and waits up to ctx.
// Calling it again returns the first result.
func (in *instance) Shutdown(ctx context.Context) error {
	in.once.Do(func() {
		in.mu.Lock()
		in.closing = true
		for c := range in.conns {
			c.Close()
		}
		in.mu.Unlock()
		err := errors.Join(in.ln.Close(), in.pc.Close())
		finished := make(chan struct{})
		go func() { in.wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-ctx.Done():
			err = errors.Join(err, ctx.Err())
		}
		if err != nil {
			in.err = fmt.Errorf("echo: shutdown: %w", err)
		}
	})
	return in.err
}
