package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"protolab/internal/service"
	"strings"
	"testing"
	"time"

	"protolab/internal/event"
	"protolab/internal/eventtest"
	"protolab/internal/labtls"
	"protolab/services/mailstore"
)

// testConfig is the default configuration with short login delays.
func testConfig() config {
	cfg := newConfig(options{IdleTimeout: defaultIdleTimeout, MaxBadCommands: defaultMaxBad, AllowInsecureAuth: true})
	cfg.delayBase, cfg.delayMax = time.Millisecond, 4*time.Millisecond
	return cfg
}

// openStore opens a real mail store in a temporary directory, with the
// lab's users and no welcome messages.
func openStore(t testing.TB) *mailstore.Store {
	t.Helper()
	st, err := mailstore.Open(t.TempDir(), mailstore.Options{})
	if err != nil {
		t.Fatalf("mail store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// deliver puts a message in user's INBOX and returns its UID.
func deliver(t testing.TB, st *mailstore.Store, user, msg string) uint32 {
	t.Helper()
	uid, err := st.Deliver(context.Background(), user, "INBOX", []byte(msg), nil, time.Time{})
	if err != nil {
		t.Fatalf("deliver: %v", err)
	}
	return uid
}

// newMail builds a message with CRLF line ends.
func newMail(subject, body string) string {
	return strings.ReplaceAll("From: alice@lab.test\nTo: bob@lab.test\nSubject: "+subject+
		"\nMessage-ID: <"+strings.ReplaceAll(subject, " ", "-")+"@lab.test>\n\n"+body, "\n", "\r\n")
}

// inboxUIDs lists the UIDs in user's INBOX.
func inboxUIDs(t testing.TB, st *mailstore.Store, user string) []uint32 {
	t.Helper()
	list, err := st.List(user, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var uids []uint32
	for _, m := range list {
		uids = append(uids, m.UID)
	}
	return uids
}

// collector keeps the events a test's server publishes, and checks them
// against Spec.Events.
type collector = eventtest.Collector

func newCollector() *collector { return eventtest.New(&Spec) }

// checkDeclared checks an event's kind and attributes are declared in
// Spec.Events, as lab files are validated against them.
func checkDeclared(t testing.TB, e event.Event) {
	t.Helper()
	es, ok := Spec.Event(e.Kind)
	if !ok {
		t.Errorf("event kind %s is not declared", e.Kind)
		return
	}
	for k := range e.Attrs {
		if !es.HasAttr(k) {
			t.Errorf("%s: attribute %q is not declared", e.Kind, k)
		}
	}
}

// wantAttrs checks some attributes of an event.
func wantAttrs(t testing.TB, e event.Event, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got, ok := e.Attrs[k]; !ok || got != v {
			t.Errorf("%s: %s = %q (present %v), want %q", e.Kind, k, got, ok, v)
		}
	}
}

// fixture is a server over a real mail store.
type fixture struct {
	st     *mailstore.Store
	srv    *server
	events *collector
	tls    *tls.Config
}

func newFixture(t testing.TB, cfg config) *fixture {
	t.Helper()
	st := openStore(t)
	tc, err := labtls.New(labtls.Names)
	if err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	return &fixture{st: st, events: col, tls: tc,
		srv: newServer(cfg, storeBackend{st}, tc, col, slog.New(slog.DiscardHandler))}
}

// pipe runs a session over net.Pipe and returns the client's side.
func (f *fixture) pipe(t testing.TB) *wire {
	t.Helper()
	cc, sc := net.Pipe()
	done := make(chan struct{})
	go func() { defer close(done); f.srv.serve(sc) }()
	t.Cleanup(func() {
		cc.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("the session did not end within 5s of the client closing")
		}
	})
	return newWire(t, cc)
}

// listen serves the fixture on 127.0.0.1:0 and returns the address.
func (f *fixture) listen(t testing.TB) (*instance, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in := serveListener(f.srv, ln, service.Runtime{})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := in.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return in, ln.Addr().String()
}

// dial connects to addr and returns the client's side.
func dial(t testing.TB, addr string) *wire {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return newWire(t, c)
}

// wire is a client's side of a session, driven line by line.
type wire struct {
	t        testing.TB
	c        net.Conn
	r        *bufio.Reader
	greeting string
}

func newWire(t testing.TB, c net.Conn) *wire {
	w := &wire{t: t, c: c, r: bufio.NewReader(c)}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	w.greeting = w.line()
	if !strings.HasPrefix(w.greeting, "+OK ") {
		t.Fatalf("greeting %q", w.greeting)
	}
	return w
}

// send writes one line (CRLF added).
func (w *wire) send(line string) {
	w.t.Helper()
	if _, err := io.WriteString(w.c, line+"\r\n"); err != nil {
		w.t.Fatalf("send %q: %v", line, err)
	}
}

// line reads one line, without its CRLF.
func (w *wire) line() string {
	w.t.Helper()
	l, err := w.r.ReadString('\n')
	if err != nil {
		w.t.Fatalf("read: %v (after %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		w.t.Fatalf("line %q does not end with CRLF", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// expect reads a line and checks it: exactly, or its beginning when want
// ends with "*".
func (w *wire) expect(want string) string {
	w.t.Helper()
	got := w.line()
	if p, ok := strings.CutSuffix(want, "*"); ok {
		if !strings.HasPrefix(got, p) {
			w.t.Fatalf("got %q, want %q...", got, p)
		}
	} else if got != want {
		w.t.Fatalf("got %q, want %q", got, want)
	}
	return got
}

// dotLines reads the lines of a multi-line answer up to the final dot,
// dot-stuffing undone.
func (w *wire) dotLines() []string {
	w.t.Helper()
	var out []string
	for {
		l := w.line()
		if l == "." {
			return out
		}
		out = append(out, strings.TrimPrefix(l, "."))
	}
}

// closed checks the server closed the connection.
func (w *wire) closed() {
	w.t.Helper()
	if l, err := w.r.ReadString('\n'); err == nil {
		w.t.Fatalf("connection still open: read %q", l)
	}
}

// script plays a dialogue: "C: x" sends x, "S: y" expects y (a prefix when
// it ends with "*"), "M: a|b|c" expects the lines of a multi-line answer,
// "EOF" expects the connection closed.
func (w *wire) script(lines ...string) {
	w.t.Helper()
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "C: "):
			w.send(l[3:])
		case strings.HasPrefix(l, "S: "):
			w.expect(l[3:])
		case l == "M: *":
			w.dotLines()
		case strings.HasPrefix(l, "M: "):
			want := []string{}
			if l[3:] != "" {
				want = strings.Split(l[3:], "|")
			}
			if got := w.dotLines(); fmt.Sprint(got) != fmt.Sprint(want) {
				w.t.Fatalf("multi-line answer %q, want %q", got, want)
			}
		case l == "EOF":
			w.closed()
		default:
			w.t.Fatalf("bad script line %q", l)
		}
	}
}

// login logs in with USER and PASS.
func (w *wire) login(user, password string) {
	w.t.Helper()
	w.script("C: USER "+user, "S: +OK*", "C: PASS "+password, "S: +OK*")
}

// starttls switches the client's side to TLS.
func (w *wire) starttls() {
	w.t.Helper()
	w.script("C: STLS", "S: +OK begin TLS negotiation")
	tc := tlsClient(w.c)
	if err := tc.Handshake(); err != nil {
		w.t.Fatalf("handshake: %v", err)
	}
	w.c, w.r = tc, newReader(tc)
}

// tlsClient is a TLS client that accepts the lab's self-signed certificate.
func tlsClient(c net.Conn) *tls.Conn {
	return tls.Client(c, &tls.Config{InsecureSkipVerify: true})
}

func newReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
