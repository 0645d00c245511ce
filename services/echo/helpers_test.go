package echo

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"protolab/internal/event"
	"protolab/internal/eventtest"
	"protolab/internal/service"
)

// withTransport declares the echo events and the transport events the
// runner adds in the tcpip lab.
type withTransport struct{}

func (withTransport) Event(kind string) (event.Spec, bool) {
	if e, ok := Spec.Event(kind); ok {
		return e, true
	}
	for _, e := range service.TransportEvents {
		if e.Kind == kind {
			return e, true
		}
	}
	return event.Spec{}, false
}

// running is an echo server on 127.0.0.1:0 with its events, the transport
// events on as in the tcpip lab.
type running struct {
	inst   *instance
	tcp    string
	udp    string
	events *eventtest.Collector
}

// start runs an echo server with the options (zero fields: defaults).
func start(t testing.TB, o options) *running {
	t.Helper()
	def := defaultOptions()
	if o.MaxConns == 0 {
		o.MaxConns = def.MaxConns
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = def.IdleTimeout
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = def.MaxBytes
	}
	if o.MaxDatagram == 0 {
		o.MaxDatagram = def.MaxDatagram
	}
	if o.UDPRate == 0 {
		o.UDPRate = def.UDPRate
	}
	col := eventtest.New(withTransport{})
	p := &prepared{o: o}
	inst, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Events: col, Transport: true, Service: "echo"})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	r := &running{inst: inst.(*instance), events: col}
	r.tcp, _ = inst.Endpoints().Find("echo", "tcp")
	r.udp, _ = inst.Endpoints().Find("echo", "udp")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := inst.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		col.CheckDeclared(t)
	})
	return r
}

// tool finds a client program, skipping the test when it is absent
// (unless LAB_REQUIRE_CLIENTS=1).
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("LAB_REQUIRE_CLIENTS") == "1" {
			t.Fatalf("%s is required: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}
