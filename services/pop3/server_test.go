package pop3

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"protolab/internal/service"
	"protolab/internal/servicetest"
	"protolab/services/mailstore"
)

// startSpec starts the service as the runner does: options loaded by
// Spec.Load, the mail store shared under its name.
func startSpec(t testing.TB, opts string, st *mailstore.Store, col *collector) service.Instance {
	t.Helper()
	p, err := Spec.Load(servicetest.YAML(t, opts), nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	sh := service.NewShared()
	sh.Put(mailstore.SharedName, st)
	inst, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Ports: map[string]int{}, Events: col, Shared: sh})
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
	return inst
}

// TestStart checks the service starts from its Spec over the shared store
// (welcome messages included), with the lab's certificate for STLS.
func TestStart(t *testing.T) {
	// The mail store comes up through its own Spec, as the runner does it.
	msp, err := mailstore.Spec.Load(servicetest.YAML(t, "users: [{name: alice, password: wonderland}, {name: carol, password: secret}]"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sh := service.NewShared()
	msi, err := msp.Start(context.Background(), service.Runtime{State: t.TempDir(), Shared: sh})
	if err != nil {
		t.Fatal(err)
	}
	defer msi.Shutdown(context.Background())
	p, err := Spec.Load(servicetest.YAML(t, "max_bad_commands: 5"), nil)
	if err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	inst, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Ports: map[string]int{"pop3": 0}, Events: col, Shared: sh})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Shutdown(context.Background())
	addr, ok := inst.Endpoints().Find("pop3", "tcp")
	if !ok || len(inst.Endpoints()) != 1 || inst.Endpoints()[0].Service != "pop3" {
		t.Fatalf("endpoints %v", inst.Endpoints())
	}
	w := dial(t, addr)
	w.starttls()
	w.script("C: USER carol", "S: +OK*", "C: PASS secret", "S: +OK carol's maildrop has 2 messages*",
		"C: STAT", "S: +OK 2 *", "C: TOP 1 0", "S: +OK*", "M: *", "C: RETR 2", "S: +OK*", "M: *", "C: QUIT", "S: +OK*")
	e := col.Next(t, KindConnect)
	if host, _, _ := net.SplitHostPort(e.Client); host != "127.0.0.1" {
		t.Errorf("client %q", e.Client)
	}
	wantAttrs(t, col.Next(t, KindTop), map[string]string{"subject": "Bienvenue dans votre boîte aux lettres du labo"})
	e = col.Next(t, KindRetr)
	if e.Attrs["subject"] == "" || e.Attrs["message_id"] == "" || strings.ContainsAny(e.Attrs["message_id"], "<>") {
		t.Errorf("retr attrs %v", e.Attrs)
	}
}

func TestStartErrors(t *testing.T) {
	p, err := Spec.Load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Ports: map[string]int{}, Shared: service.NewShared()})
	if err == nil || !strings.Contains(err.Error(), "add mailstore:") || !strings.HasPrefix(err.Error(), "pop3: ") {
		t.Errorf("start without a mail store: %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	sh := service.NewShared()
	sh.Put(mailstore.SharedName, openStore(t))
	_, err = p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Ports: map[string]int{"pop3": port}, Shared: sh})
	be, ok := service.AsBindError(err)
	if !ok || be.Listener != "pop3" || be.Network != "tcp" || be.Addr != "127.0.0.1:"+strconv.Itoa(port) {
		t.Errorf("port taken: %v", err)
	}
}

// TestShutdown checks Shutdown ends open sessions (telling them, deleting
// nothing) and returns.
func TestShutdown(t *testing.T) {
	f := newFixture(t, testConfig())
	deliver(t, f.st, "bob", msg1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in := serveListener(f.srv, ln, service.Runtime{})
	w := dial(t, ln.Addr().String())
	w.login("bob", "builder")
	w.script("C: DELE 1", "S: +OK*")
	idle := dial(t, ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := in.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	w.script("S: -ERR [SYS/TEMP] the server is shutting down; nothing was deleted", "EOF")
	idle.script("S: -ERR [SYS/TEMP] the server is shutting down*", "EOF")
	if got := inboxUIDs(t, f.st, "bob"); len(got) != 1 {
		t.Errorf("INBOX after shutdown: %v", got)
	}
	wantAttrs(t, f.events.Next(t, KindDisconnect), map[string]string{"reason": "shutdown"})
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still accepting after shutdown")
	}
	if err := in.Shutdown(ctx); err != nil {
		t.Errorf("second shutdown: %v", err)
	}
}

// TestShutdownStopsDelay checks Shutdown does not wait for the delay of a
// failed login.
func TestShutdownStopsDelay(t *testing.T) {
	cfg := testConfig()
	cfg.delayBase, cfg.delayMax = time.Hour, time.Hour
	f := newFixture(t, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in := serveListener(f.srv, ln, service.Runtime{})
	w := dial(t, ln.Addr().String())
	w.script("C: USER bob", "S: +OK*", "C: PASS x", "S: -ERR [AUTH]*", "C: USER bob", "S: +OK*", "C: PASS y")
	f.events.Next(t, KindLogin) // the first failure; the second waits an hour
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := in.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	// Whether the session was still reading PASS (it is then told) or
	// already waiting, it ends at once.
	if l, err := w.r.ReadString('\n'); err == nil && !strings.HasPrefix(l, "-ERR [SYS/TEMP] the server is shutting down") {
		t.Errorf("after shutdown: %q", l)
	}
	w.closed()
	wantAttrs(t, f.events.Next(t, KindDisconnect), map[string]string{"reason": "shutdown"})
}

// TestMaxConns checks connections over the limit are told to come back.
func TestMaxConns(t *testing.T) {
	cfg := testConfig()
	cfg.maxConns = 2
	f := newFixture(t, cfg)
	_, addr := f.listen(t)
	a, b := dial(t, addr), dial(t, addr)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	over := &wire{t: t, c: c, r: newReader(c)}
	over.script("S: -ERR [SYS/TEMP] too many connections; try again later", "EOF")
	// A slot comes back when a session ends.
	a.script("C: QUIT", "S: +OK bye", "EOF")
	f.events.Next(t, KindQuit)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		line, err := newReader(c).ReadString('\n')
		c.Close()
		if strings.HasPrefix(line, "+OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot after a session ended: %q %v", line, err)
		}
	}
	b.script("C: NOOP", "S: -ERR*")
}
