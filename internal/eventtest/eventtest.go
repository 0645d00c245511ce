// Package eventtest is the event sink services' tests share: a Publisher
// that keeps every event in order, and checks that each event's kind and
// attributes are declared in the service's Spec (lab files are validated
// against those declarations, so an undeclared attribute is a bug).
package eventtest

import (
	"sync"
	"testing"
	"time"

	"protolab/internal/event"
)

// Specs is what declares a service's events; *service.Spec is one.
type Specs interface {
	Event(kind string) (event.Spec, bool)
}

// Collector is an event.Publisher for tests.
type Collector struct {
	c    chan event.Event
	spec Specs

	mu         sync.Mutex
	undeclared []string
}

// New returns a collector checking events against spec (nil: no check).
func New(spec Specs) *Collector {
	return &Collector{c: make(chan event.Event, 100000), spec: spec}
}

// Publish keeps e; it never blocks (a full collector is a broken test).
func (c *Collector) Publish(e event.Event) {
	if c.spec != nil {
		es, ok := c.spec.Event(e.Kind)
		c.mu.Lock()
		if !ok {
			c.undeclared = append(c.undeclared, e.Kind)
		}
		for k := range e.Attrs {
			if ok && !es.HasAttr(k) {
				c.undeclared = append(c.undeclared, e.Kind+" "+k)
			}
		}
		c.mu.Unlock()
	}
	select {
	case c.c <- e:
	default:
		panic("eventtest: collector full")
	}
}

// C is the queue of events, for tests that read them one by one.
func (c *Collector) C() <-chan event.Event { return c.c }

// Undeclared lists the kinds and "kind attribute" pairs published but not
// declared.
func (c *Collector) Undeclared() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.undeclared...)
}

// CheckDeclared fails t if anything undeclared was published.
func (c *Collector) CheckDeclared(t testing.TB) {
	t.Helper()
	if u := c.Undeclared(); len(u) > 0 {
		t.Errorf("events not declared in Spec.Events: %v", u)
	}
}

// Next returns the next event of the given kind, transcript rendered,
// skipping others, waiting up to 5 s.
func (c *Collector) Next(t testing.TB, kind string) event.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-c.c:
			if e.Kind == kind {
				c.CheckDeclared(t)
				e.Render()
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event within 5s", kind)
			return event.Event{}
		}
	}
}

// None fails t if an event of the kind is among those published so far
// (and consumes them).
func (c *Collector) None(t testing.TB, kind string) {
	t.Helper()
	for {
		select {
		case e := <-c.c:
			if e.Kind == kind {
				t.Fatalf("unexpected %s event: %s", kind, e.Summary())
			}
		default:
			return
		}
	}
}

// All returns (and consumes) the events published so far, rendered.
func (c *Collector) All() []event.Event {
	var out []event.Event
	for {
		select {
		case e := <-c.c:
			e.Render()
			out = append(out, e)
		default:
			return out
		}
	}
}

// Make builds an event for a test journal: service, kind, client address
// and attributes as name, value pairs.
func Make(svc, kind, client string, attrs ...string) event.Event {
	e := event.Event{Service: svc, Kind: kind, Client: client, Attrs: map[string]string{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.Attrs[attrs[i]] = attrs[i+1]
	}
	return e
}

// Journal numbers events and dates them a second apart, oldest first, as
// a lab's journal holds them.
func Journal(evs ...event.Event) []event.Event {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for i := range evs {
		evs[i].Seq = uint64(i + 1)
		evs[i].Time = t0.Add(time.Duration(i) * time.Second)
	}
	return evs
}
