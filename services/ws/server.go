package ws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"protolab/internal/event"
	"protolab/internal/service"
)

var (
	_ service.Prepared     = (*prepared)(nil)
	_ service.Instance     = (*instance)(nil)
	_ service.Credentialed = (*instance)(nil)
)

// Limits of the HTTP server.
const (
	maxConns          = 64
	maxHeaderBytes    = 16 << 10
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
)

// prepared is a loaded, valid configuration; the directory is immutable and
// shared by the instances started from it.
type prepared struct {
	o   options
	dir *directory
}

// Start listens on rt.Bind over TCP and serves HTTP until Shutdown.
func (p *prepared) Start(ctx context.Context, rt service.Runtime) (service.Instance, error) {
	addr := rt.Addr("ws")
	ln, err := rt.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, &service.BindError{Service: "ws", Listener: "ws", Network: "tcp", Addr: addr, Err: err}
	}
	ep := rt.Endpoint("ws", "ws", "tcp", ln.Addr())
	s := newServer(p, rt.Events, rt.Log, rt.Shared)
	s.self = ep.Addr
	in := &instance{s: s, eps: service.Endpoints{ep}, done: make(chan struct{})}
	in.hs = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(in.done)
		if err := in.hs.Serve(newLimitListener(ln, maxConns)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("ws: serve", "err", err)
		}
	}()
	return in, nil
}

// server answers the HTTP requests.
type server struct {
	dir    *directory
	auth   *authenticator
	users  []user
	events event.Publisher
	log    *slog.Logger
	shared *service.Shared // where SendNote finds the mail store
	self   string          // the listener's address, for a request without Host
}

// newServer builds a server for p.
func newServer(p *prepared, pub event.Publisher, log *slog.Logger, shared *service.Shared) *server {
	if pub == nil {
		pub = event.Discard{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &server{dir: p.dir, auth: newAuthenticator(p.o.Users, time.Now), users: p.o.Users,
		events: pub, log: log, shared: shared, self: "localhost"}
}

// instance is a running service.
type instance struct {
	s    *server
	hs   *http.Server
	eps  service.Endpoints
	done chan struct{}

	once sync.Once
	err  error
}

// Endpoints returns the TCP address listened on.
func (in *instance) Endpoints() service.Endpoints { return in.eps }

// Credentials lists the WS-Security accounts.
func (in *instance) Credentials() []service.Credential {
	out := make([]service.Credential, len(in.s.users))
	for i, u := range in.s.users {
		out[i] = service.Credential{Kind: "ws", User: u.Name, Secret: u.Password, Note: "WS-Security UsernameToken: LookupHostSecure"}
	}
	return out
}

// Shutdown stops listening, waits for the requests in flight up to ctx,
// then closes what is left. Calling it again returns the first result.
func (in *instance) Shutdown(ctx context.Context) error {
	in.once.Do(func() {
		err := in.hs.Shutdown(ctx)
		if err != nil {
			err = errors.Join(err, in.hs.Close())
		}
		select {
		case <-in.done:
		case <-ctx.Done():
			err = errors.Join(err, ctx.Err())
		}
		if err != nil {
			in.err = fmt.Errorf("ws: shutdown: %w", err)
		}
	})
	return in.err
}

// exchange is one SOAP request and its answer, as events describe it.
type exchange struct {
	client      string
	method, uri string
	contentType string
	action      string // SOAPAction or the action parameter, unquoted
	actionFrom  string // where action was read, for a Fault's text
	hasAction   bool   // a SOAPAction header was sent
	version     version
	op          *operation // the operation asked for, once known
	request     []byte
	response    []byte
	status      int
	attrs       map[string]string
}

// ServeHTTP routes: POST /directory for SOAP, GET /directory?wsdl for the
// contract; a short help for anything else.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		help(w, http.StatusNotFound, "There is nothing at "+r.URL.Path+".\n")
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if strings.EqualFold(r.URL.RawQuery, "wsdl") {
			s.serveWSDL(w, r)
			return
		}
		help(w, http.StatusOK, "")
	case http.MethodPost:
		s.serveSOAP(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		help(w, http.StatusMethodNotAllowed, r.Method+" is not a method of this service.\n")
	}
}

// help answers what is not SOAP with a few words on how to talk to it.
func help(w http.ResponseWriter, status int, first string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%sThis is the lab's directory, a SOAP web service.\n"+
		"Its contract (WSDL) is at %s?wsdl.\n"+
		"Send SOAP envelopes with POST to %s: Content-Type text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2).\n", first, Path, Path)
}

// serveSOAP reads an envelope, runs its operation and answers, with a
// result or a Fault, then publishes the exchange.
func (s *server) serveSOAP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{client: r.RemoteAddr, method: r.Method, uri: r.URL.RequestURI(),
		contentType: r.Header.Get("Content-Type"), attrs: map[string]string{}}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("ws: panic answering a request", "panic", p, "client", x.client)
			if x.status == 0 {
				s.reply(w, x, x.version, "", receiverf("internal", "the service failed on this request"))
			}
		}
	}()
	hint, ok := x.readContentType(r.Header)
	x.version = hint
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	x.request = body
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		f := senderf("too-large", "the request body is larger than %d bytes: this service refuses it", maxBodyBytes)
		f.status = http.StatusRequestEntityTooLarge
		w.Header().Set("Connection", "close")
		s.reply(w, x, hint, "", f)
		return
	case err != nil:
		s.log.Debug("ws: reading a request", "err", err, "client", x.client)
		return // the client went away or was too slow: nobody to answer
	case !ok:
		f := senderf("content-type", "the Content-Type %q is not SOAP's: send text/xml with a SOAPAction header (SOAP 1.1), or application/soap+xml (SOAP 1.2); with curl: -H 'Content-Type: text/xml; charset=utf-8'", clip(x.contentType, 100))
		f.status = http.StatusUnsupportedMediaType
		s.reply(w, x, hint, "", f)
		return
	}
	env, v, f := parseEnvelope(body, hint)
	x.version = v
	if f != nil {
		s.reply(w, x, v, "", f)
		return
	}
	out, f := s.dispatch(r.Context(), env, x)
	s.reply(w, x, v, out, f)
}

// readContentType tells the version the Content-Type announces, and the
// action it or the SOAPAction header names. ok is false for a media type
// that is not SOAP's, or a charset other than UTF-8.
func (x *exchange) readContentType(h http.Header) (version, bool) {
	mt, params, err := mime.ParseMediaType(x.contentType)
	if sa, has := h["Soapaction"]; has && len(sa) > 0 {
		x.hasAction = true
		x.action = strings.Trim(strings.TrimSpace(sa[0]), `"`)
		x.actionFrom = "the SOAPAction header"
	}
	if err != nil {
		return v11, false
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "utf8" && cs != "us-ascii" {
		return versionOf(mt), false
	}
	switch mt {
	case "text/xml":
		return v11, true
	case "application/soap+xml":
		x.action = strings.Trim(strings.TrimSpace(params["action"]), `"`)
		x.actionFrom = "the action parameter of the Content-Type"
		return v12, true
	}
	return v11, false
}

// versionOf guesses a version from a media type, for a Fault.
func versionOf(mt string) version {
	if mt == "application/soap+xml" {
		return v12
	}
	return v11
}

// reply writes a response envelope (a result, or f), then publishes the
// exchange.
func (s *server) reply(w http.ResponseWriter, x *exchange, v version, result string, f *fault) {
	x.version = v
	x.status = http.StatusOK
	if f != nil {
		x.response = f.envelope(v)
		x.status = f.httpStatus(v)
		x.attrs["fault"] = f.wireCode(v)
		x.attrs["subcode"] = f.subcode()
		x.attrs["reason"] = f.reason
	} else {
		p := v.prefix()
		x.response = []byte(fmt.Sprintf("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<%s:Envelope xmlns:%s=\"%s\">\n  <%s:Body>\n    %s\n  </%s:Body>\n</%s:Envelope>\n",
			p, p, v.ns(), p, result, p, p))
	}
	w.Header().Set("Content-Type", v.contentType())
	w.WriteHeader(x.status)
	if _, err := w.Write(x.response); err != nil {
		s.log.Debug("ws: writing a response", "err", err, "client", x.client)
	}
	s.events.Publish(requestEvent(x))
}

// limitListener accepts at most n connections at a time; the next waits.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func newLimitListener(ln net.Listener, n int) net.Listener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n)}
}

// Accept waits for a free slot, then for a connection.
func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

// limitConn frees its slot once, when closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
