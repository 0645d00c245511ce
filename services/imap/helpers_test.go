package imap

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"go.yaml.in/yaml/v3"

	"protolab/internal/event"
	"protolab/internal/service"
	"protolab/internal/servicetest"
	"protolab/services/mailstore"
)

// collector is a Publisher for tests: it keeps every event, in order, and
// checks each against the Spec (kind and attributes declared).
type collector struct {
	c chan event.Event

	mu   sync.Mutex
	bad  []string
	seen []event.Event
}

func newCollector() *collector { return &collector{c: make(chan event.Event, 100000)} }

func (c *collector) Publish(e event.Event) {
	if spec, ok := Spec.Event(e.Kind); !ok {
		c.fail("undeclared kind " + e.Kind)
	} else {
		for k := range e.Attrs {
			if !spec.HasAttr(k) {
				c.fail(e.Kind + ": undeclared attribute " + k)
			}
		}
	}
	if e.Service != "imap" {
		c.fail(e.Kind + ": service " + e.Service)
	}
	select {
	case c.c <- e:
	default:
		panic("test collector full")
	}
}

func (c *collector) fail(msg string) {
	c.mu.Lock()
	c.bad = append(c.bad, msg)
	c.mu.Unlock()
}

// next returns the next event of the given kind whose attributes include
// want, waiting up to 5 s; other events are kept for later calls.
func (c *collector) next(t testing.TB, kind string, want map[string]string) event.Event {
	t.Helper()
	match := func(e event.Event) bool {
		if e.Kind != kind {
			return false
		}
		for k, v := range want {
			if e.Attrs[k] != v {
				return false
			}
		}
		return true
	}
	c.mu.Lock()
	for i, e := range c.seen {
		if match(e) {
			c.seen = append(c.seen[:i:i], c.seen[i+1:]...)
			c.mu.Unlock()
			e.Render()
			return e
		}
	}
	c.mu.Unlock()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-c.c:
			if match(e) {
				e.Render()
				return e
			}
			c.mu.Lock()
			c.seen = append(c.seen, e)
			c.mu.Unlock()
		case <-deadline:
			c.mu.Lock()
			var kinds []string
			for _, e := range c.seen {
				kinds = append(kinds, e.Summary())
			}
			c.mu.Unlock()
			t.Fatalf("no %s event with %v within 5s; other events: %s", kind, want, strings.Join(kinds, "; "))
			return event.Event{}
		}
	}
}

// drain returns the events published so far (and not yet taken).
func (c *collector) drain() []event.Event {
	c.mu.Lock()
	out := c.seen
	c.seen = nil
	c.mu.Unlock()
	for {
		select {
		case e := <-c.c:
			out = append(out, e)
		default:
			return out
		}
	}
}

// server is a running instance on 127.0.0.1:0 over a fresh store.
type server struct {
	inst   *instance
	addr   string
	store  *mailstore.Store
	events *collector
}

// startServer starts the service with the given options over a new store
// (no welcome messages); tune may adjust the prepared configuration.
func startServer(t testing.TB, opts string, tune func(*prepared), storeOpts ...mailstore.Options) *server {
	t.Helper()
	dir := t.TempDir()
	so := mailstore.Options{}
	if len(storeOpts) > 0 {
		so = storeOpts[0]
	}
	st, err := mailstore.Open(dir, so)
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	var node *yaml.Node
	if opts != "" {
		node = servicetest.YAML(t, opts)
	}
	p, err := Spec.Load(node, nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	pp := p.(*prepared)
	pp.delays = delays{} // no slowing down unless a test asks
	if tune != nil {
		tune(pp)
	}
	shared := service.NewShared()
	shared.Put(mailstore.SharedName, st)
	col := newCollector()
	inst, err := pp.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Ports: map[string]int{}, Events: col, Shared: shared, State: dir})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := inst.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		col.mu.Lock()
		defer col.mu.Unlock()
		for _, b := range col.bad {
			t.Errorf("event not as declared in Spec.Events: %s", b)
		}
	})
	addr, ok := inst.Endpoints().Find("imap", "tcp")
	if !ok {
		t.Fatalf("endpoints: %v", inst.Endpoints())
	}
	return &server{inst: inst.(*instance), addr: addr, store: st, events: col}
}

// message builds a small RFC 5322 message.
func message(subject, body string) []byte {
	return []byte("From: Alice <alice@lab.test>\r\n" +
		"To: Bob <bob@lab.test>\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n" +
		"Message-ID: <" + strings.ReplaceAll(strings.ToLower(subject), " ", ".") + "@lab.test>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		body + "\r\n")
}

// deliver puts messages in a user's mailbox, as SMTP would, and returns
// their UIDs.
func (s *server) deliver(t testing.TB, user, mailbox string, msgs ...[]byte) []uint32 {
	t.Helper()
	var uids []uint32
	for _, m := range msgs {
		uid, err := s.store.Deliver(context.Background(), user, mailbox, m, nil, time.Time{})
		if err != nil {
			t.Fatalf("deliver: %v", err)
		}
		uids = append(uids, uid)
	}
	return uids
}

// dial connects go-imap's client; handler may be nil.
func (s *server) dial(t testing.TB, handler *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.addr, &imapclient.Options{UnilateralDataHandler: handler})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.WaitGreeting(); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	return c
}

// login dials and logs in as user (password from the default accounts).
func (s *server) login(t testing.TB, user string, handler *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	c := s.dial(t, handler)
	if err := c.Login(user, passwords[user]).Wait(); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return c
}

var passwords = map[string]string{"alice": "wonderland", "bob": "builder"}

// raw is a line-level connection for wire tests.
type raw struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func (s *server) raw(t testing.TB) *raw {
	t.Helper()
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := &raw{t: t, c: c, r: bufio.NewReader(c)}
	if l := r.line(); !strings.HasPrefix(l, "* OK") {
		t.Fatalf("greeting %q", l)
	}
	return r
}

func (r *raw) send(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

func (r *raw) line() string {
	r.t.Helper()
	l, err := r.r.ReadString('\n')
	if err != nil {
		r.t.Fatalf("read: %v (so far %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// until reads lines up to the one starting with prefix and returns them all.
func (r *raw) until(prefix string) []string {
	r.t.Helper()
	var out []string
	for {
		l := r.line()
		out = append(out, l)
		if strings.HasPrefix(l, prefix) {
			return out
		}
	}
}

// tlsConfig accepts the lab's self-signed certificate.
func tlsConfig() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, ServerName: "mail.lab.test"} //nolint:gosec // test of a self-signed lab server
}

// seqs lists sequence numbers, for imap.SeqSetNum.
func seqs(n ...uint32) imap.SeqSet { return imap.SeqSetNum(n...) }

// flagStrings converts flags for comparisons.
func flagStrings(fl []imap.Flag) string {
	s := make([]string, len(fl))
	for i, f := range fl {
		s[i] = string(f)
	}
	return strings.Join(s, " ")
}

var _ = fmt.Sprintf
