package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"protolab/internal/dialogue"
	"protolab/internal/event"
	"protolab/internal/labtls"
	"protolab/internal/service"
	"protolab/services/mailstore"
)

// Resource bounds that are not options.
const (
	maxConns         = 100              // connections at once, both listeners
	maxLine          = 2000             // bytes in a command line (go-smtp's default, twice RFC 5321's 512)
	writeTimeout     = time.Minute      // to send one reply
	handshakeTimeout = 15 * time.Second // for the TLS handshake after STARTTLS
	deliverTimeout   = 30 * time.Second // to store one message
	maxAuthFailures  = 5                // failed AUTH in a session before 421
	typedGap         = time.Second      // a pause this long before a command looks human
	typedGaps        = 2                // pauses it takes to call a session typed
)

var (
	_ service.Prepared   = (*prepared)(nil)
	_ service.Instance   = (*instance)(nil)
	_ gosmtp.Backend     = (*server)(nil)
	_ gosmtp.AuthSession = (*session)(nil)
	_ net.Listener       = (*handoff)(nil)
	_ net.Conn           = (*view)(nil)
	_ fmt.Stringer       = dialogue.Frozen{}
)

// knobs are the timings and clocks tests change; a lab always runs with
// defaultKnobs.
type knobs struct {
	now             func() time.Time
	authDelay       func(failures int) time.Duration // wait before answering the n-th failed AUTH
	sleep           func(stop <-chan struct{}, d time.Duration)
	typedGap        time.Duration
	maxAuthFailures int
	maxConns        int
	handshake       time.Duration // for the TLS handshake after STARTTLS
}

func defaultKnobs() knobs {
	return knobs{
		now:             time.Now,
		authDelay:       authDelay,
		sleep:           sleep,
		typedGap:        typedGap,
		maxAuthFailures: maxAuthFailures,
		maxConns:        maxConns,
		handshake:       handshakeTimeout,
	}
}

// authDelay is 0 for a first failure, then 1 s, 2 s, 4 s, at most 8 s.
func authDelay(failures int) time.Duration {
	if failures <= 1 {
		return 0
	}
	return time.Second << min(failures-2, 3)
}

// sleep waits d, or less if stop is closed.
func sleep(stop <-chan struct{}, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-stop:
	}
}

// prepared is a loaded, valid configuration, ready to start.
type prepared struct {
	opts  options
	knobs knobs
}

// Start listens on both listeners and serves until Shutdown. The mail
// store must be running (the lab's services list mailstore first).
func (p *prepared) Start(ctx context.Context, rt service.Runtime) (service.Instance, error) {
	store, err := mailstore.FromShared(rt.Shared)
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	tlsConfig, err := labtls.Config(rt.Shared)
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	var lns []net.Listener
	for _, name := range []string{"smtp", "submission"} {
		addr := rt.Addr(name)
		ln, err := rt.Listen(ctx, "tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, &service.BindError{Service: "smtp", Listener: name, Network: "tcp", Addr: addr, Err: err}
		}
		lns = append(lns, ln)
	}
	srv := newServer(p.opts, p.knobs, store, tlsConfig, rt.Events, rt.Log)
	if _, port, err := net.SplitHostPort(lns[1].Addr().String()); err == nil {
		srv.submissionPort = port
	}
	in := &instance{srv: srv}
	for i, name := range []string{"smtp", "submission"} {
		in.eps = append(in.eps, rt.Endpoint("smtp", name, "tcp", lns[i].Addr()))
		srv.serve(lns[i], name)
	}
	return in, nil
}

// instance is a running server.
type instance struct {
	srv *server
	eps service.Endpoints

	once sync.Once
	err  error
}

// Endpoints returns the addresses of the smtp and submission listeners.
func (in *instance) Endpoints() service.Endpoints { return in.eps }

// Shutdown stops accepting, says goodbye (421) to idle sessions, lets a
// message being sent finish, and waits for the sessions up to ctx; then it
// closes what is left. Calling it again returns the first result.
func (in *instance) Shutdown(ctx context.Context) error {
	in.once.Do(func() { in.err = in.srv.shutdown(ctx) })
	return in.err
}

// server is the state shared by the sessions of one instance.
type server struct {
	opts   options
	knobs  knobs
	store  *mailstore.Store
	domain string // the mail store's domain, lower case: "lab.test"
	tls    *tls.Config
	events event.Publisher
	log    *slog.Logger
	smtp   *gosmtp.Server
	hand   *handoff
	auth   *authThrottle
	// submissionPort is named in the MX's answer to AUTH.
	submissionPort string

	ctx    context.Context // cancelled when the server is closed
	cancel context.CancelFunc
	stop   chan struct{} // closed when shutdown begins
	slots  chan struct{} // one per connection

	mu    sync.Mutex
	lns   []net.Listener
	links map[*link]struct{}
	wg    sync.WaitGroup // accept loops and go-smtp's Serve
}

func newServer(o options, k knobs, store *mailstore.Store, tlsConfig *tls.Config, pub event.Publisher, log *slog.Logger) *server {
	if pub == nil {
		pub = event.Discard{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{
		opts:   o,
		knobs:  k,
		store:  store,
		domain: strings.ToLower(store.Domain()),
		tls:    tlsConfig,
		events: pub,
		log:    log,
		hand:   newHandoff(),
		auth:   newAuthThrottle(k.now),
		stop:   make(chan struct{}),
		slots:  make(chan struct{}, k.maxConns),
		links:  map[*link]struct{}{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	g := gosmtp.NewServer(s)
	g.Domain = o.Hostname
	g.MaxMessageBytes = o.MaxMessageBytes
	g.MaxRecipients = o.MaxRecipients
	g.MaxLineLength = maxLine
	g.ReadTimeout = o.ReadTimeout
	g.WriteTimeout = writeTimeout
	// The wire layer does STARTTLS (so it keeps seeing the dialogue) and
	// the session decides when AUTH is offered: go-smtp itself is told
	// nothing about TLS and to allow AUTH everywhere.
	g.TLSConfig = nil
	g.AllowInsecureAuth = true
	g.ErrorLog = logAdapter{log}
	s.smtp = g
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := g.Serve(s.hand); err != nil {
			log.Error("smtp: server stopped", "err", err)
		}
	}()
	return s
}

// serve accepts connections on ln until it is closed.
func (s *server) serve(ln net.Listener, listener string) {
	s.mu.Lock()
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.acceptLoop(ln, listener)
	}()
}

func (s *server) acceptLoop(ln net.Listener, listener string) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			select {
			case <-s.stop:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait and retry.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("smtp: accept", "listener", listener, "err", err, "retry_in", delay)
			sleep(s.stop, delay)
			continue
		}
		delay = 0
		s.safeAccept(c, listener)
	}
}

// safeAccept is accept, a panic of which closes the connection, not the
// process.
func (s *server) safeAccept(c net.Conn, listener string) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("smtp: panic accepting a connection", "panic", r, "stack", string(debug.Stack()))
			c.Close()
		}
	}()
	s.accept(c, listener)
}

// accept starts a session on c, or turns it away when the server is full.
func (s *server) accept(c net.Conn, listener string) {
	select {
	case s.slots <- struct{}{}:
	default:
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write([]byte("421 4.7.0 " + s.opts.Hostname + " Too many connections (" + strconv.Itoa(cap(s.slots)) + "), try again later\r\n"))
		c.Close()
		s.log.Warn("smtp: connection refused: too many connections", "listener", listener, "client", c.RemoteAddr().String())
		return
	}
	l := newLink(s, c, listener)
	s.mu.Lock()
	select {
	case <-s.stop:
		s.mu.Unlock()
		l.close()
		return
	default:
	}
	s.links[l] = struct{}{}
	s.mu.Unlock()
	s.hand.push(&view{l: l})
}

// forget is called when a link is closed.
func (s *server) forget(l *link) {
	s.mu.Lock()
	delete(s.links, l)
	s.mu.Unlock()
	<-s.slots
}

func (s *server) shutdown(ctx context.Context) error {
	s.mu.Lock()
	close(s.stop)
	for _, ln := range s.lns {
		ln.Close()
	}
	links := make([]*link, 0, len(s.links))
	for l := range s.links {
		links = append(links, l)
	}
	s.mu.Unlock()
	for _, l := range links {
		l.stop()
	}
	err := s.smtp.Shutdown(ctx)
	s.cancel()
	if err != nil {
		// Sessions still running after ctx: cut them.
		s.mu.Lock()
		links = links[:0]
		for l := range s.links {
			links = append(links, l)
		}
		s.mu.Unlock()
		for _, l := range links {
			l.close()
		}
	}
	// go-smtp closes the listeners it has registered; if Shutdown came before
	// its Serve got as far as registering the handoff, Serve would wait in
	// Accept for ever: close the handoff ourselves (closing twice is fine).
	s.hand.Close()
	s.wg.Wait()
	s.auth.Close()
	if err != nil {
		return fmt.Errorf("smtp: shutdown: %w", err)
	}
	return nil
}

// handoff is the listener go-smtp serves: it hands over the connections
// the accept loops took, and, after STARTTLS, the same connection again
// over TLS, so that go-smtp starts a fresh session on it (RFC 3207 §4.2:
// the server forgets everything it learnt before TLS).
type handoff struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newHandoff() *handoff {
	return &handoff{ch: make(chan net.Conn), done: make(chan struct{})}
}

// push hands c to go-smtp, or closes it if the server is closing.
func (h *handoff) push(c net.Conn) {
	select {
	case h.ch <- c:
	case <-h.done:
		c.Close()
	}
}

func (h *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.ch:
		return c, nil
	case <-h.done:
		return nil, net.ErrClosed
	}
}

func (h *handoff) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

func (h *handoff) Addr() net.Addr { return handoffAddr{} }

type handoffAddr struct{}

func (handoffAddr) Network() string { return "smtp" }
func (handoffAddr) String() string  { return "smtp-sessions" }

// logAdapter gives go-smtp's log lines to slog: panics it recovered are
// errors, a client that went away is not.
type logAdapter struct{ log *slog.Logger }

func (a logAdapter) Printf(format string, v ...any) { a.print(fmt.Sprintf(format, v...)) }
func (a logAdapter) Println(v ...any)               { a.print(strings.TrimSuffix(fmt.Sprintln(v...), "\n")) }

func (a logAdapter) print(msg string) {
	if strings.HasPrefix(msg, "panic") {
		a.log.Error("smtp: "+msg, "component", "go-smtp")
		return
	}
	a.log.Debug("smtp: "+msg, "component", "go-smtp")
}
