package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"protolab/internal/event"
	"protolab/internal/service"
)

// Resource bounds of a running server.
const (
	maxQuerySize   = 4096            // bytes; a query is rarely over 512
	maxTCPConns    = 64              // concurrent TCP connections
	maxTCPQueries  = 128             // queries on one TCP connection
	tcpReadTimeout = 2 * time.Second // to receive a whole query
	tcpIdleTimeout = 8 * time.Second // between queries (RFC 7766 §6.2.3)
	writeTimeout   = 2 * time.Second // to send one message
	bindAttempts   = 10              // port 0: UDP+TCP on one free port
	startTimeout   = 5 * time.Second // for both servers to come up
)

var (
	_ service.Prepared = (*prepared)(nil)
	_ service.Instance = (*instance)(nil)
	_ dns.Handler      = (*handler)(nil)
	_ dns.Reader       = (*reader)(nil)
)

// prepared is a loaded, valid configuration, ready to start any number of
// times (the index is immutable and shared).
type prepared struct {
	ix            *index
	allowTransfer bool
}

// Start listens on rt.Bind over UDP and TCP on the same port and serves
// until Shutdown.
func (p *prepared) Start(ctx context.Context, rt service.Runtime) (service.Instance, error) {
	pub := rt.Events
	if pub == nil {
		pub = event.Discard{}
	}
	log := rt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pc, ln, err := listen(ctx, rt, rt.Port("dns"))
	if err != nil {
		return nil, err
	}
	bad := newMalformed(pub)
	var variants map[string]*index
	if rt.Who != nil {
		variants = make(map[string]*index, len(rt.Variants))
		for learner, v := range rt.Variants {
			if vp, ok := v.(*prepared); ok {
				variants[learner] = vp.ix
			}
		}
	}
	newHandler := func(transport string) *handler {
		return &handler{ix: p.ix, variants: variants, who: rt.Who, allowTransfer: p.allowTransfer, transport: transport, events: pub, bad: bad, log: log}
	}
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	in := &instance{
		done: make(chan struct{}),
		eps: service.Endpoints{
			rt.Endpoint("dns", "dns", "udp", pc.LocalAddr()),
			rt.Endpoint("dns", "dns", "tcp", ln.Addr()),
		},
	}
	in.udp = &dns.Server{
		PacketConn:        pc,
		Handler:           newHandler("udp"),
		UDPSize:           maxQuerySize,
		MsgAcceptFunc:     accept("udp", bad),
		MsgInvalidFunc:    invalid("udp", bad),
		DecorateReader:    func(r dns.Reader) dns.Reader { return &reader{Reader: r, transport: "udp", bad: bad} },
		NotifyStartedFunc: notify,
	}
	in.tcp = &dns.Server{
		Listener:          &limitListener{Listener: ln, slots: make(chan struct{}, maxTCPConns)},
		Handler:           newHandler("tcp"),
		ReadTimeout:       tcpReadTimeout,
		IdleTimeout:       func() time.Duration { return tcpIdleTimeout },
		MaxTCPQueries:     maxTCPQueries,
		MsgAcceptFunc:     accept("tcp", bad),
		MsgInvalidFunc:    invalid("tcp", bad),
		DecorateReader:    func(r dns.Reader) dns.Reader { return &reader{Reader: r, transport: "tcp", bad: bad} },
		NotifyStartedFunc: notify,
	}
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	for _, srv := range []*dns.Server{in.udp, in.tcp} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.ActivateAndServe(); err != nil {
				log.Error("dns: server stopped", "err", err)
				errs <- err
			}
		}()
	}
	go func() { wg.Wait(); close(in.done) }()

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	for up := 0; up < 2; {
		select {
		case <-started:
			up++
			continue
		case err = <-errs:
			err = fmt.Errorf("dns: starting: %w", err)
		case <-ctx.Done():
			err = fmt.Errorf("dns: starting: %w", ctx.Err())
		case <-timer.C:
			err = errors.New("dns: the servers did not start in time")
		}
		// Tear down what came up; the sockets are closed either way.
		pc.Close()
		ln.Close()
		_ = in.Shutdown(context.Background())
		return nil, err
	}
	return in, nil
}

// instance is a running server: UDP and TCP on one port.
type instance struct {
	udp, tcp *dns.Server
	eps      service.Endpoints
	done     chan struct{} // closed when both servers have returned

	once sync.Once
	err  error
}

// Endpoints returns the UDP and TCP addresses listened on.
func (in *instance) Endpoints() service.Endpoints { return in.eps }

// Shutdown stops both servers and waits for the queries in progress, up to
// ctx. Calling it again returns the first result.
func (in *instance) Shutdown(ctx context.Context) error {
	in.once.Do(func() {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, srv := range []*dns.Server{in.udp, in.tcp} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := srv.ShutdownContext(ctx); err != nil && !notStarted(err) {
					errs[i] = err
				}
			}()
		}
		wg.Wait()
		select {
		case <-in.done:
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
		}
		if err := errors.Join(errs...); err != nil {
			in.err = fmt.Errorf("dns: shutdown: %w", err)
		}
	})
	return in.err
}

// notStarted is the library's error for shutting down a server that never
// started (Start failing half-way).
func notStarted(err error) bool { return err.Error() == "dns: server not started" }

// listen opens UDP and TCP on the same port. With port 0 it takes a free
// UDP port and tries TCP on the same number, a few times if TCP is taken.
func listen(ctx context.Context, rt service.Runtime, port int) (net.PacketConn, net.Listener, error) {
	bind := rt.Bind
	for attempt := 1; ; attempt++ {
		addr := net.JoinHostPort(bind, strconv.Itoa(port))
		pc, err := rt.ListenPacket(ctx, "udp", addr, service.PacketOptions{})
		if err != nil {
			return nil, nil, &service.BindError{Service: "dns", Listener: "dns", Network: "udp", Addr: addr, Err: err}
		}
		p := service.PortOf(pc.LocalAddr())
		tcpAddr := net.JoinHostPort(bind, strconv.Itoa(p))
		ln, err := rt.Listen(ctx, "tcp", tcpAddr)
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != 0 || attempt == bindAttempts || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, &service.BindError{Service: "dns", Listener: "dns", Network: "tcp", Addr: tcpAddr, Err: err}
		}
	}
}

// accept is the first look the library gives the server at a message (its
// header only). Messages with the QR bit set are ignored, never answered;
// everything else goes on to ServeDNS, which answers bad opcodes and
// question counts itself, knowing the client.
func accept(transport string, bad *malformed) dns.MsgAcceptFunc {
	return func(dh dns.Header) dns.MsgAcceptAction {
		if dh.Bits&(1<<15) != 0 {
			bad.report(transport, "", -1, "the QR bit is set: this is a response, not a query", nil)
			return dns.MsgIgnore
		}
		return dns.MsgAccept
	}
}

// invalid reports messages the library could not decode (it answers FORMERR
// when the header was readable).
func invalid(transport string, bad *malformed) dns.MsgInvalidFunc {
	return func(m []byte, err error) {
		bad.report(transport, "", len(m), "cannot be decoded: "+err.Error(), m)
	}
}

// errMalformed closes a TCP connection that sent something that is not a
// DNS message.
var errMalformed = errors.New("dns: malformed message")

// reader wraps the library's reader to look at each message with its
// sender: garbage is reported with the client's address and dropped. Over
// TCP it also bounds the message size.
type reader struct {
	dns.Reader
	transport string
	bad       *malformed
}

// ReadUDP returns the next acceptable UDP message.
func (r *reader) ReadUDP(conn *net.UDPConn, timeout time.Duration) ([]byte, *dns.SessionUDP, error) {
	for {
		m, s, err := r.Reader.ReadUDP(conn, timeout)
		if err != nil {
			return m, s, err
		}
		if reason := checkQuery(m); reason != "" {
			r.bad.report(r.transport, clientString(s.RemoteAddr()), len(m), reason, m)
			continue // dropped: an answer to garbage can serve reflection
		}
		return m, s, nil
	}
}

// ReadTCP reads one length-prefixed message (RFC 1035 §4.2.2).
func (r *reader) ReadTCP(conn net.Conn, timeout time.Duration) ([]byte, error) {
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	var prefix [2]byte
	n, err := io.ReadFull(conn, prefix[:])
	if err != nil {
		if n == 1 {
			r.bad.report(r.transport, clientString(conn.RemoteAddr()), 1, "1 byte, then nothing: a TCP message starts with a 2-byte length", prefix[:1])
		}
		return nil, err
	}
	size := int(binary.BigEndian.Uint16(prefix[:]))
	client := clientString(conn.RemoteAddr())
	switch {
	case size < headerSize:
		r.bad.report(r.transport, client, size, fmt.Sprintf("length prefix %d is shorter than the 12-byte DNS header", size), prefix[:])
		return nil, errMalformed
	case size > maxQuerySize:
		r.bad.report(r.transport, client, size, fmt.Sprintf("length prefix announces %d bytes, more than the %d accepted for a query (over TCP each message starts with its length in 2 bytes)", size, maxQuerySize), prefix[:])
		return nil, errMalformed
	}
	m := make([]byte, size)
	if n, err := io.ReadFull(conn, m); err != nil {
		r.bad.report(r.transport, client, size, fmt.Sprintf("message cut short: %d of the %d bytes announced arrived", n, size), m[:n])
		return nil, err
	}
	if reason := checkQuery(m); reason != "" {
		r.bad.report(r.transport, client, size, reason, m)
		return nil, errMalformed
	}
	return m, nil
}

// limitListener bounds the concurrent TCP connections: over the limit, a
// new connection is closed at once. Its connections time out their writes.
type limitListener struct {
	net.Listener
	slots chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &tcpConn{Conn: c, slots: l.slots}, nil
		default:
			c.Close()
		}
	}
}

// tcpConn is an accepted connection: a write deadline on each write, a slot
// given back on Close, and a read deadline that stays in the past once
// shutdown put it there (the reader sets a new deadline before each message
// and must not undo the shutdown's).
type tcpConn struct {
	net.Conn
	slots chan struct{}
	once  sync.Once

	mu      sync.Mutex
	stopped bool
}

func (c *tcpConn) Write(b []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return c.Conn.Write(b)
}

func (c *tcpConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	if !t.IsZero() && t.Before(time.Now()) {
		c.stopped = true
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *tcpConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.slots })
	return err
}
