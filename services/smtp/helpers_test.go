package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"protolab/internal/event"
	"protolab/internal/eventtest"
	"protolab/internal/service"
	"protolab/internal/servicetest"
	"protolab/services/mailstore"
)

// newStore opens a mail store with alice/wonderland and bob/builder in a
// temporary directory.
func newStore(t testing.TB, opts mailstore.Options) *mailstore.Store {
	t.Helper()
	st, err := mailstore.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("mail store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// collector keeps the events a test's server publishes, and checks them
// against Spec.Events.
type collector = eventtest.Collector

func newCollector() *collector { return eventtest.New(&Spec) }

// clock is a settable clock for the knobs.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// sleepRecs records the waits the server asked for instead of waiting.
type sleepRecs struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleepRecs) sleep(_ <-chan struct{}, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ds = append(s.ds, d)
}

func (s *sleepRecs) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.ds...)
}

// lab is a running smtp service over a real store, with its events.
type lab struct {
	inst   service.Instance
	srv    *server
	store  *mailstore.Store
	events *collector
	mx     string // address of the smtp listener
	sub    string // address of the submission listener
	clock  *clock
	sleeps *sleepRecs
}

// setup tunes a test lab before it starts.
type setup struct {
	options string // YAML options of the service
	store   mailstore.Options
	knobs   func(*knobs)
}

// startLab starts the service on 127.0.0.1 port 0. Its clock is a fake
// one and AUTH delays are recorded, not waited.
func startLab(t testing.TB, su setup) *lab {
	t.Helper()
	st := newStore(t, su.store)
	p, err := Spec.Load(servicetest.YAML(t, su.options), nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	pr := p.(*prepared)
	lb := &lab{store: st, events: newCollector(), clock: newClock(), sleeps: &sleepRecs{}}
	pr.knobs.now = lb.clock.now
	pr.knobs.sleep = lb.sleeps.sleep
	if su.knobs != nil {
		su.knobs(&pr.knobs)
	}
	shared := service.NewShared()
	shared.Put(mailstore.SharedName, st)
	inst, err := pr.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Ports: map[string]int{}, Events: lb.events, Shared: shared})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := inst.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	lb.inst = inst
	lb.srv = inst.(*instance).srv
	var ok1, ok2 bool
	lb.mx, ok1 = inst.Endpoints().Find("smtp", "tcp")
	lb.sub, ok2 = inst.Endpoints().Find("submission", "tcp")
	if !ok1 || !ok2 {
		t.Fatalf("endpoints: %v", inst.Endpoints())
	}
	return lb
}

// wire is a test client speaking raw SMTP.
type wire struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	eol  string
}

// dial connects and reads the greeting.
func (lb *lab) dial(t testing.TB, addr string) *wire {
	t.Helper()
	w := lb.dialRaw(t, addr)
	w.expect(220)
	return w
}

// dialRaw connects; the greeting is left to read.
func (lb *lab) dialRaw(t testing.TB, addr string) *wire {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &wire{t: t, conn: c, r: bufio.NewReader(c), eol: "\r\n"}
}

// send writes one line.
func (w *wire) send(line string) {
	w.t.Helper()
	if _, err := w.conn.Write([]byte(line + w.eol)); err != nil {
		w.t.Fatalf("send %q: %v", line, err)
	}
}

// raw writes bytes as they are.
func (w *wire) raw(s string) {
	w.t.Helper()
	if _, err := w.conn.Write([]byte(s)); err != nil {
		w.t.Fatalf("send: %v", err)
	}
}

// reply reads one reply: its code and its lines.
func (w *wire) reply() (int, []string) {
	w.t.Helper()
	var lines []string
	for {
		line, err := w.r.ReadString('\n')
		if err != nil {
			w.t.Fatalf("reading a reply (after %q): %v", lines, err)
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] == ' ' {
			code, _ := strconv.Atoi(line[:min(3, len(line))])
			return code, lines
		}
	}
}

// expect reads a reply and checks its code; it returns its last line.
func (w *wire) expect(code int) string {
	w.t.Helper()
	got, lines := w.reply()
	if got != code {
		w.t.Fatalf("reply %q: want code %d", lines, code)
	}
	return lines[len(lines)-1]
}

// do sends a line and expects a code.
func (w *wire) do(line string, code int) string {
	w.t.Helper()
	w.send(line)
	return w.expect(code)
}

// closed checks that the server closed the connection.
func (w *wire) closed() {
	w.t.Helper()
	if line, err := w.r.ReadString('\n'); err == nil {
		w.t.Fatalf("the connection is still open: read %q", line)
	}
}

// startTLS does STARTTLS and the handshake.
func (w *wire) startTLS() {
	w.t.Helper()
	w.do("STARTTLS", 220)
	w.startTLSHandshake()
}

// startTLSHandshake does the client's side of the TLS handshake.
func (w *wire) startTLSHandshake() {
	w.t.Helper()
	tc := tls.Client(w.conn, &tls.Config{InsecureSkipVerify: true, ServerName: "mail.lab.test"}) //nolint:gosec // the lab's self-signed certificate
	if err := tc.Handshake(); err != nil {
		w.t.Fatalf("handshake: %v", err)
	}
	w.conn, w.r = tc, bufio.NewReader(tc)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// plain is the base64 of an AUTH PLAIN response.
func plain(user, password string) string {
	return b64("\x00" + user + "\x00" + password)
}

// inbox returns the messages of a user's INBOX, oldest first.
func (lb *lab) inbox(t testing.TB, user string) [][]byte {
	t.Helper()
	list, err := lb.store.List(user, "INBOX")
	if err != nil {
		t.Fatalf("list %s: %v", user, err)
	}
	var out [][]byte
	for _, m := range list {
		b, err := lb.store.Read(user, "INBOX", m.UID)
		if err != nil {
			t.Fatalf("read %s %d: %v", user, m.UID, err)
		}
		out = append(out, b)
	}
	return out
}

// afterReceived returns a stored message without the Received header the
// server put first.
func afterReceived(t testing.TB, msg []byte) string {
	t.Helper()
	s := string(msg)
	if !strings.HasPrefix(s, "Received: ") {
		t.Fatalf("message does not start with Received: %q", first(s, 80))
	}
	i := strings.Index(s, "\r\n")
	for i >= 0 && i+2 < len(s) && s[i+2] == '\t' {
		j := strings.Index(s[i+2:], "\r\n")
		if j < 0 {
			break
		}
		i += 2 + j
	}
	return s[i+2:]
}

func attrsString(e event.Event) string { return fmt.Sprintf("%s %v", e.Kind, e.Attrs) }

// wantAttrs checks some attributes of an event.
func wantAttrs(t testing.TB, e event.Event, want map[string]string) {
	t.Helper()
	for k, v := range want {
		got, ok := e.Attrs[k]
		if !ok || got != v {
			t.Errorf("%s: %s = %q (present %v), want %q", attrsString(e), k, got, ok, v)
		}
	}
	if e.Client == "" {
		t.Errorf("%s: no client address", e.Kind)
	}
}
