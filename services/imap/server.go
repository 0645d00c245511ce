package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"protolab/internal/event"
	"protolab/internal/labtls"
	"protolab/internal/service"
	"protolab/services/mailstore"
)

var (
	_ service.Prepared = (*prepared)(nil)
	_ service.Instance = (*instance)(nil)
)

// writeTimeout bounds the one write the server does outside the library:
// the BYE to a connection over the limit or after too many failed logins.
const writeTimeout = 2 * time.Second

// caps are the capabilities advertised; the library adds SASL-IR,
// LITERAL-, IDLE, UNSELECT, ENABLE, STARTTLS, AUTH=PLAIN and APPENDLIMIT as
// the connection's state allows.
var caps = imap.CapSet{
	imap.CapIMAP4rev1:    {},
	imap.CapIMAP4rev2:    {},
	imap.CapLiteralPlus:  {},
	imap.CapNamespace:    {},
	imap.CapUIDPlus:      {},
	imap.CapESearch:      {},
	imap.CapSearchRes:    {},
	imap.CapListExtended: {},
	imap.CapListStatus:   {},
	imap.CapMove:         {},
	imap.CapStatusSize:   {},
	imap.CapBinary:       {},
	imap.CapChildren:     {},
}

// prepared is a loaded, valid configuration.
type prepared struct {
	opts   options
	delays delays // slowing down of wrong passwords; tests shorten it
}

// Start listens on rt.Bind and serves until Shutdown. The mail store must
// already be running (it is put in rt.Shared by the mailstore service).
func (p *prepared) Start(ctx context.Context, rt service.Runtime) (service.Instance, error) {
	store, err := mailstore.FromShared(rt.Shared)
	if err != nil {
		return nil, fmt.Errorf("imap: %w", err)
	}
	tlsBase, err := labtls.Config(rt.Shared)
	if err != nil {
		return nil, fmt.Errorf("imap: %w", err)
	}
	pub := rt.Events
	if pub == nil {
		pub = event.Discard{}
	}
	log := rt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addr := rt.Addr("imap")
	ln, err := rt.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, &service.BindError{Service: "imap", Listener: "imap", Network: "tcp", Addr: addr, Err: err}
	}
	in := &instance{
		store:    store,
		pub:      pub,
		log:      log,
		opts:     p.opts,
		throttle: newThrottle(p.delays),
		conns:    map[string]*conn{},
		closing:  make(chan struct{}),
		served:   make(chan struct{}),
		subs:     newSubscriptions(),
		eps:      service.Endpoints{rt.Endpoint("imap", "imap", "tcp", ln.Addr())},
	}
	in.ctx, in.cancel = context.WithCancel(context.Background())
	in.appendLimit = appendLimit(store)
	tlsCfg := tlsBase.Clone()
	tlsCfg.GetConfigForClient = in.tlsConfigFor(tlsBase)
	in.srv = imapserver.New(&imapserver.Options{
		NewSession:   in.newSession,
		Caps:         caps,
		Logger:       libLogger{log},
		TLSConfig:    tlsCfg,
		InsecureAuth: p.opts.AllowInsecureAuth,
	})
	in.ln = &listener{Listener: ln, in: in}
	go func() {
		defer close(in.served)
		if err := in.srv.Serve(in.ln); err != nil {
			log.Error("imap: server stopped", "err", err)
		}
	}()
	return in, nil
}

// appendLimit is the largest message APPEND takes: the store's own limit
// when it tells it, else its default.
func appendLimit(store *mailstore.Store) int64 {
	if s, ok := any(store).(interface{ MaxMessageBytes() int64 }); ok && s.MaxMessageBytes() > 0 {
		return s.MaxMessageBytes()
	}
	return mailstore.DefaultMaxMessageBytes
}

// instance is a running IMAP server.
type instance struct {
	store       *mailstore.Store
	pub         event.Publisher
	log         *slog.Logger
	opts        options
	appendLimit int64
	throttle    *throttle
	subs        *subscriptions
	srv         *imapserver.Server
	ln          *listener
	eps         service.Endpoints

	// ctx is cancelled at shutdown (store writes in progress give up).
	ctx    context.Context
	cancel context.CancelFunc
	// closing is closed at shutdown (a login being slowed down stops).
	closing chan struct{}
	// served is closed when Serve has returned.
	served chan struct{}
	// running counts the connections being served and the IDLE loops.
	running sync.WaitGroup

	mu    sync.Mutex
	conns map[string]*conn // by client address
	open  int              // connections being served

	once sync.Once
	err  error
}

// Endpoints returns the address listened on.
func (in *instance) Endpoints() service.Endpoints { return in.eps }

// Shutdown stops listening, closes every connection and waits for their
// goroutines, up to ctx. Calling it again returns the first result.
func (in *instance) Shutdown(ctx context.Context) error {
	in.once.Do(func() {
		close(in.closing)
		in.cancel()
		var errs []error
		if err := in.srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
		// The library closes the listeners it has registered; if Close came
		// before Serve registered ours, Serve would accept for ever.
		in.ln.Close()
		// The library closes the connections it has registered; one
		// accepted just before Close may not be registered yet.
		in.mu.Lock()
		for _, c := range in.conns {
			c.Conn.Close()
		}
		in.mu.Unlock()
		done := make(chan struct{})
		go func() {
			<-in.served
			in.running.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
		}
		if err := errors.Join(errs...); err != nil {
			in.err = fmt.Errorf("imap: shutdown: %w", err)
		}
	})
	return in.err
}

// newSession is called by the library for each connection, before the
// greeting.
func (in *instance) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	cn, ok := c.NetConn().(*conn)
	if !ok { // cannot happen: every connection comes through listener
		return nil, nil, errors.New("imap: connection not from the lab's listener")
	}
	s := &session{in: in, conn: c, cn: cn, client: cn.client, tr: cn.tr}
	in.publish(KindConnect, cn.client, nil, cn.tr)
	return s, nil, nil
}

// publish emits an event with the session's transcript so far.
func (in *instance) publish(kind, client string, attrs map[string]string, tr *transcript) {
	e := event.Event{Service: "imap", Kind: kind, Client: client, Attrs: attrs}
	if tr != nil {
		e.TranscriptFrom = tr.view()
	}
	in.pub.Publish(e)
}

// tlsConfigFor returns the GetConfigForClient hook: each STARTTLS gets its
// own configuration whose VerifyConnection tells the connection that the
// handshake went through (the library does the handshake and says nothing).
func (in *instance) tlsConfigFor(base *tls.Config) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		in.mu.Lock()
		c := in.conns[clientString(hello.Conn.RemoteAddr())]
		in.mu.Unlock()
		if c == nil {
			return nil, nil
		}
		cfg := base.Clone()
		cfg.VerifyConnection = func(tls.ConnectionState) error {
			c.handshakeDone()
			return nil
		}
		return cfg, nil
	}
}

// listener bounds the connections served at once: over the limit, a
// connection gets a BYE and is closed.
type listener struct {
	net.Listener
	in *instance
}

func (l *listener) Accept() (net.Conn, error) {
	in := l.in
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		in.mu.Lock()
		full := in.open >= in.opts.MaxConnections
		if !full {
			in.open++
			in.running.Add(1)
		}
		in.mu.Unlock()
		if full {
			in.log.Warn("imap: too many connections, refusing one", "client", nc.RemoteAddr().String(), "max", in.opts.MaxConnections)
			_ = nc.SetWriteDeadline(time.Now().Add(writeTimeout))
			_, _ = io.WriteString(nc, "* BYE Too many connections to this lab server, try again later\r\n")
			nc.Close()
			continue
		}
		c := &conn{Conn: nc, in: in, client: clientString(nc.RemoteAddr()), tr: newTranscript(), idle: in.opts.IdleTimeout}
		in.mu.Lock()
		in.conns[c.client] = c
		in.mu.Unlock()
		return c, nil
	}
}

// conn is an accepted connection. It records the transcript of what
// crosses it (until STARTTLS), keeps read deadlines within the idle
// timeout, and tells the instance when it is gone.
type conn struct {
	net.Conn
	in     *instance
	client string
	tr     *transcript
	idle   time.Duration

	mu        sync.Mutex
	tlsDone   bool // the STARTTLS handshake went through
	badClosed bool // closed after too many bad commands
	released  bool // the connection's slot was given back
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.tr.fromClient(b[:n])
	}
	return n, err
}

func (c *conn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.tr.fromServer(b[:n])
		// A flood of bad commands ends the connection, as the other mail
		// servers do (the library itself never gives up on a client).
		if c.tr.badResponses() >= maxBadCommands {
			c.closeForBadCommands()
		}
	}
	return n, err
}

// maxBadCommands is how many BAD responses a client gets before it is
// disconnected.
const maxBadCommands = 10

func (c *conn) closeForBadCommands() {
	c.mu.Lock()
	first := !c.badClosed
	c.badClosed = true
	c.mu.Unlock()
	if first {
		bye := "* BYE Too many bad commands; closing the connection\r\n"
		c.Conn.Write([]byte(bye))
		c.tr.fromServer([]byte(bye))
		c.Conn.Close()
	}
}

// SetReadDeadline keeps every wait for the client within the idle timeout
// (the library's own are 30 s for a command and 35 minutes between
// commands and in IDLE).
func (c *conn) SetReadDeadline(t time.Time) error {
	if limit := time.Now().Add(c.idle); t.IsZero() || t.After(limit) {
		t = limit
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// handshakeDone is called when a STARTTLS handshake went through.
func (c *conn) handshakeDone() {
	c.mu.Lock()
	first := !c.tlsDone
	c.tlsDone = true
	c.mu.Unlock()
	if first {
		c.in.publish(KindStartTLS, c.client, map[string]string{"result": "ok"}, c.tr)
	}
}

// release gives the connection's slot back, once, when its session ends.
// A STARTTLS whose handshake never completed is reported then.
func (c *conn) release() {
	c.mu.Lock()
	first := !c.released
	c.released = true
	failed := c.tr.isEncrypted() && !c.tlsDone
	c.mu.Unlock()
	if !first {
		return
	}
	if failed {
		c.in.publish(KindStartTLS, c.client, map[string]string{"result": "failed"}, c.tr)
	}
	in := c.in
	in.mu.Lock()
	if in.conns[c.client] == c {
		delete(in.conns, c.client)
	}
	in.open--
	in.mu.Unlock()
	in.running.Done()
}

// bye sends an untagged BYE and closes the connection (the library has
// flushed everything it wrote: each response line is flushed whole).
func (c *conn) bye(nc net.Conn, text string) {
	_ = nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, _ = io.WriteString(nc, "* BYE "+text+"\r\n")
	nc.Close()
}

// clientString formats an address as host:port, IPv4-mapped addresses
// unmapped.
func clientString(a net.Addr) string {
	if a == nil {
		return ""
	}
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
	}
	return a.String()
}

// clientIP is the host part of a client address.
func clientIP(client string) string {
	host, _, err := net.SplitHostPort(client)
	if err != nil {
		return client
	}
	return host
}

// libLogger sends the library's messages to the service's log: panics
// (recovered per connection) as errors, the rest (clients going away,
// timeouts, syntax errors) as debug.
type libLogger struct{ log *slog.Logger }

func (l libLogger) Printf(format string, args ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	if strings.HasPrefix(msg, "panic") {
		l.log.Error("imap: " + msg)
		return
	}
	l.log.Debug("imap: " + msg)
}
