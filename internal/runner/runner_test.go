package runner

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"go.yaml.in/yaml/v3"

	"protolab/internal/event"
	"protolab/internal/service"
	"protolab/labs"
)

// pingSpec is a tiny real service for these tests: a UDP socket that emits
// ping.hello with the datagram's text for every datagram it receives.
var pingSpec = service.Spec{
	Name:      "ping",
	Listeners: []service.Listener{{Name: "ping", Networks: []string{"udp"}, High: 1, Standard: 1}},
	Events:    []event.Spec{{Kind: "ping.hello", Attrs: []event.Attr{{Name: "text"}}}},
	Load: func(opts *yaml.Node, data fs.FS) (service.Prepared, error) {
		return pingPrepared{}, nil
	},
}

type pingPrepared struct{}

func (pingPrepared) Start(ctx context.Context, rt service.Runtime) (service.Instance, error) {
	pc, err := net.ListenPacket("udp", rt.Addr("ping"))
	if err != nil {
		return nil, &service.BindError{Service: "ping", Listener: "ping", Network: "udp", Addr: rt.Addr("ping"), Err: err}
	}
	p := &pingInstance{pc: pc}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			rt.Events.Publish(event.Event{Service: "ping", Kind: "ping.hello", Client: addr.String(), Attrs: map[string]string{"text": string(buf[:n])}})
		}
	}()
	return p, nil
}

type pingInstance struct {
	pc net.PacketConn
	wg sync.WaitGroup
}

func (p *pingInstance) Endpoints() service.Endpoints {
	return service.Endpoints{{Service: "ping", Listener: "ping", Network: "udp", Addr: p.pc.LocalAddr().String()}}
}

func (p *pingInstance) Shutdown(ctx context.Context) error {
	err := p.pc.Close()
	p.wg.Wait()
	return err
}

type registry struct{}

func (registry) Service(name string) (*service.Spec, bool) {
	if name == "ping" {
		return &pingSpec, true
	}
	return nil, false
}
func (registry) Names() []string { return []string{"ping"} }

const labYAML = `
id: pinglab
title: {fr: Ping, en: Ping}
services:
  ping:
tasks:
  - id: hello
    title: {en: Say hello, fr: Dire bonjour}
    hints:
      - {en: "Send a datagram."}
      - {en: "echo hello | nc -u {ping.host} {ping.port}"}
    check: {event: ping.hello, where: {text: hello}}
  - id: twice
    title: {en: Say bye twice}
    points: 3
    check: {event: ping.hello, where: {text: bye}, count: 2}
`

func loadLab(t *testing.T) *labs.Lab {
	t.Helper()
	lab, err := labs.Parse([]byte(labYAML), fstest.MapFS{}, "lab.yaml", registry{})
	if err != nil {
		t.Fatal(err)
	}
	return lab
}

func start(t *testing.T, lab *labs.Lab, dir string) *Lab {
	t.Helper()
	l, err := Start(context.Background(), Options{Lab: lab, StateDir: dir, Ports: PortsAuto, Web: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func send(t *testing.T, l *Lab, text string) {
	t.Helper()
	c, err := net.Dial("udp", l.Endpoints()[0].Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(text)); err != nil {
		t.Fatal(err)
	}
}

// waitStatus waits for the lab to signal a change until cond holds.
func waitStatus(t *testing.T, l *Lab, cond func(done map[string]bool) bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		done := map[string]bool{}
		for _, tk := range l.Status().Tasks {
			done[tk.ID] = tk.Done
		}
		if cond(done) {
			return
		}
		select {
		case <-l.Changed():
		case <-deadline:
			t.Fatalf("condition not reached; status %+v", l.Status().Tasks)
		}
	}
}

func TestRunTickPersistReset(t *testing.T) {
	lab := loadLab(t)
	dir := t.TempDir()
	l := start(t, lab, dir)

	send(t, l, "hi")
	send(t, l, "bye")
	send(t, l, "hello")
	waitStatus(t, l, func(d map[string]bool) bool { return d["hello"] })
	if st := l.Status(); st.Tasks[1].Done || st.Done != 1 || st.Points != 1 || st.MaxPoints != 4 {
		t.Fatalf("after hello: %+v", st)
	}
	send(t, l, "bye")
	waitStatus(t, l, func(d map[string]bool) bool { return d["twice"] })

	// Hints: progressive, with the real address, capped at the last one.
	h1, err := l.Hint("hello")
	if err != nil || h1.Level != 1 || h1.Of != 2 || h1.Text != "Send a datagram." {
		t.Fatalf("hint 1: %+v %v", h1, err)
	}
	h2, _ := l.Hint("hello")
	host, port, _ := net.SplitHostPort(l.Endpoints()[0].Addr)
	if want := "echo hello | nc -u " + host + " " + port; h2.Text != want || h2.Level != 2 {
		t.Fatalf("hint 2: %+v, want %q", h2, want)
	}
	if h3, _ := l.Hint("hello"); h3.Level != 2 {
		t.Fatalf("hint 3 should stay at the last: %+v", h3)
	}
	if _, err := l.Hint("nope"); err == nil || !strings.Contains(err.Error(), "hello, twice") {
		t.Fatalf("unknown task: %v", err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Progress survives a restart.
	l = start(t, lab, dir)
	st := l.Status()
	if st.Done != 2 || st.Tasks[0].HintsShown != 2 {
		t.Fatalf("after restart: %+v", st)
	}
	// Reset clears, and the checker watches from scratch.
	if st, err := l.Reset(); err != nil || st.Done != 0 {
		t.Fatalf("reset: %+v %v", st, err)
	}
	send(t, l, "hello")
	waitStatus(t, l, func(d map[string]bool) bool { return d["hello"] })
	if l.Status().Done != 1 {
		t.Fatal("after reset and hello, want 1 done")
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStartErrors(t *testing.T) {
	lab := loadLab(t)
	dir := t.TempDir()
	l := start(t, lab, dir)
	defer l.Close(context.Background())

	// The state directory is taken.
	if _, err := Start(context.Background(), Options{Lab: lab, StateDir: dir, Ports: PortsAuto, Web: "127.0.0.1:0"}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second lab on the same state: %v", err)
	}
	// The service's port is taken: a BindError, and nothing left running.
	_, port, _ := net.SplitHostPort(l.Endpoints()[0].Addr)
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	dir2 := t.TempDir()
	_, err := Start(context.Background(), Options{Lab: lab, StateDir: dir2, PortOverrides: map[string]int{"ping": p}, Web: "127.0.0.1:0"})
	if be, ok := service.AsBindError(err); !ok || be.Listener != "ping" {
		t.Fatalf("port taken: %v", err)
	}
	// The web address is taken.
	web := strings.TrimPrefix(l.WebURL(), "http://")
	_, err = Start(context.Background(), Options{Lab: lab, StateDir: dir2, Ports: PortsAuto, Web: web})
	var we *WebError
	if !errors.As(err, &we) {
		t.Fatalf("web taken: %v", err)
	}
	// After those failures the second directory is free again.
	l2, err := Start(context.Background(), Options{Lab: lab, StateDir: dir2, Ports: PortsAuto, Web: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("state directory not released after failed starts: %v", err)
	}
	l2.Close(context.Background())
}
