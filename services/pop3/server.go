package pop3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"protolab/internal/event"
	"protolab/internal/labtls"
	"protolab/internal/service"
	"protolab/services/mailstore"
)

// Resource bounds of a running server.
const (
	maxConns        = 100              // sessions at once (config.maxConns)
	writeTimeout    = 30 * time.Second // to send each buffer of a reply
	maxAuthFailures = 5                // failed logins before the connection is closed
	authDelayBase   = time.Second      // delay before answering the second failed login
	authDelayMax    = 8 * time.Second  // the delay doubles up to this
)

var (
	_ service.Prepared = (*prepared)(nil)
	_ service.Instance = (*instance)(nil)
)

// config is what a session needs to know of the server's settings.
type config struct {
	hostname        string // in the APOP timestamp: "mail.lab.test"
	idleTimeout     time.Duration
	maxBad          int
	maxConns        int
	allowInsecure   bool
	maxAuthFailures int
	// delayBase and delayMax shape the delay after failed logins; tests
	// shorten them.
	delayBase, delayMax time.Duration
}

func newConfig(o options) config {
	return config{
		idleTimeout:     o.IdleTimeout,
		maxBad:          o.MaxBadCommands,
		maxConns:        maxConns,
		allowInsecure:   o.AllowInsecureAuth,
		maxAuthFailures: maxAuthFailures,
		delayBase:       authDelayBase,
		delayMax:        authDelayMax,
	}
}

// authDelay is how long to wait before answering the nth failed login of a
// session: nothing the first time (a typo), then 1 s, 2 s, 4 s... up to
// delayMax, so guessing passwords is slow.
func (c config) authDelay(failures int) time.Duration {
	if failures < 2 || c.delayBase <= 0 {
		return 0
	}
	d := c.delayBase
	for i := 2; i < failures && d < c.delayMax; i++ {
		d *= 2
	}
	return min(d, c.delayMax)
}

// server is what the sessions of one instance share.
type server struct {
	cfg    config
	store  backend
	tls    *tls.Config // nil: no STLS
	events event.Publisher
	log    *slog.Logger
	locks  locks
	done   chan struct{} // closed when the server stops
}

// newServer fills in the defaults of a server.
func newServer(cfg config, store backend, tlsConfig *tls.Config, pub event.Publisher, log *slog.Logger) *server {
	if pub == nil {
		pub = event.Discard{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.hostname == "" {
		cfg.hostname = "mail." + store.Domain()
	}
	return &server{cfg: cfg, store: store, tls: tlsConfig, events: pub, log: log, done: make(chan struct{})}
}

// stopping reports whether the server is shutting down.
func (srv *server) stopping() bool {
	select {
	case <-srv.done:
		return true
	default:
		return false
	}
}

// wait pauses a session for d; false when the server stopped meanwhile.
func (srv *server) wait(d time.Duration) bool {
	if d <= 0 {
		return !srv.stopping()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-srv.done:
		return false
	}
}

// prepared is a loaded, valid configuration, ready to start.
type prepared struct {
	cfg config
}

// Start listens on rt.Bind and serves the mail store found in rt.Shared
// until Shutdown.
func (p *prepared) Start(ctx context.Context, rt service.Runtime) (service.Instance, error) {
	store, err := mailstore.FromShared(rt.Shared)
	if err != nil {
		return nil, fmt.Errorf("pop3: %w", err)
	}
	log := rt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tlsConfig, err := labtls.Config(rt.Shared)
	if err != nil {
		log.Warn("pop3: no TLS certificate, STLS is not offered", "err", err)
		tlsConfig = nil
	}
	srv := newServer(p.cfg, storeBackend{store}, tlsConfig, rt.Events, log)
	addr := rt.Addr("pop3")
	ln, err := rt.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, &service.BindError{Service: "pop3", Listener: "pop3", Network: "tcp", Addr: addr, Err: err}
	}
	return serveListener(srv, ln, rt), nil
}

// serveListener serves srv on ln until Shutdown.
func serveListener(srv *server, ln net.Listener, rt service.Runtime) *instance {
	in := &instance{
		srv:   srv,
		ln:    ln,
		conns: map[*conn]struct{}{},
		eps:   service.Endpoints{rt.Endpoint("pop3", "pop3", "tcp", ln.Addr())},
	}
	in.wg.Add(1)
	go in.accept()
	return in
}

// instance is a running server.
type instance struct {
	srv *server
	ln  net.Listener
	eps service.Endpoints
	wg  sync.WaitGroup // the accept loop and the sessions

	mu    sync.Mutex
	conns map[*conn]struct{}

	once sync.Once
	err  error
}

// Endpoints returns the address listened on.
func (in *instance) Endpoints() service.Endpoints { return in.eps }

// accept runs sessions until the listener is closed. Over maxConns, a new
// connection is told to come back later and closed.
func (in *instance) accept() {
	defer in.wg.Done()
	var backoff time.Duration
	for {
		nc, err := in.ln.Accept()
		if err != nil {
			if in.srv.stopping() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait a little.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			in.srv.log.Warn("pop3: accept", "err", err)
			if !in.srv.wait(backoff) {
				return
			}
			continue
		}
		backoff = 0
		c := &conn{Conn: nc}
		in.mu.Lock()
		if in.srv.stopping() { // Shutdown has already stopped the others
			in.mu.Unlock()
			nc.Close()
			return
		}
		full := len(in.conns) >= in.srv.cfg.maxConns
		if !full {
			in.conns[c] = struct{}{}
			in.wg.Add(1)
		}
		in.mu.Unlock()
		if full {
			_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = nc.Write([]byte("-ERR [SYS/TEMP] too many connections; try again later\r\n"))
			nc.Close()
			continue
		}
		go func() {
			defer in.wg.Done()
			defer func() {
				in.mu.Lock()
				delete(in.conns, c)
				in.mu.Unlock()
			}()
			in.srv.serve(c)
		}()
	}
}

// Shutdown stops accepting, ends every session at its next read (a command
// in progress, such as a QUIT removing messages, finishes), and waits up to
// ctx; then it closes what is left. Calling it again returns the first
// result.
func (in *instance) Shutdown(ctx context.Context) error {
	in.once.Do(func() {
		close(in.srv.done)
		err := in.ln.Close()
		in.mu.Lock()
		for c := range in.conns {
			c.stop()
		}
		in.mu.Unlock()
		finished := make(chan struct{})
		go func() { in.wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-ctx.Done():
			in.mu.Lock()
			for c := range in.conns {
				c.Close()
			}
			in.mu.Unlock()
			<-finished
			err = errors.Join(err, ctx.Err())
		}
		if err != nil && !errors.Is(err, net.ErrClosed) {
			in.err = fmt.Errorf("pop3: shutdown: %w", err)
		}
	})
	return in.err
}

// conn is an accepted connection: a write deadline on each write, and a
// read deadline that stays in the past once shutdown put it there (the
// session sets a new deadline before each command and must not undo it).
type conn struct {
	net.Conn

	mu      sync.Mutex
	stopped bool
}

func (c *conn) Write(b []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return c.Conn.Write(b)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// stop makes the session's next read fail at once.
func (c *conn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	_ = c.Conn.SetReadDeadline(time.Now())
}
