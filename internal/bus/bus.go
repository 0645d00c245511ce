// Package bus fans events out from the servers to their subscribers (the
// checker, the journal, the live views). Publishing never blocks a server: a
// subscriber that falls behind loses events, and the loss is counted.
package bus

import (
	"sync"
	"sync/atomic"
	"time"

	"protolab/internal/event"
)

// Bus is a non-blocking fan-out of events. The zero value is not usable;
// call New.
type Bus struct {
	mu      sync.RWMutex
	subs    []*Subscription // replaced, never changed in place, under mu
	seq     atomic.Uint64
	dropped atomic.Uint64
	now     func() time.Time
}

// New returns an empty bus.
func New() *Bus {
	return &Bus{now: time.Now}
}

// Subscription is one subscriber's queue.
type Subscription struct {
	c       chan event.Event
	dropped atomic.Uint64
	paused  atomic.Bool
}

// Pause stops (true) or resumes (false) deliveries to s. Events published
// while paused are skipped, not counted as dropped: nobody was listening.
func (s *Subscription) Pause(p bool) { s.paused.Store(p) }

// C is the subscriber's channel. It is closed by Unsubscribe.
func (s *Subscription) C() <-chan event.Event { return s.c }

// Dropped is how many events this subscriber lost because it was behind.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Subscribe adds a subscriber whose queue holds up to buffer events.
func (b *Bus) Subscribe(buffer int) *Subscription {
	if buffer < 1 {
		buffer = 1
	}
	s := &Subscription{c: make(chan event.Event, buffer)}
	b.mu.Lock()
	b.subs = append(append(make([]*Subscription, 0, len(b.subs)+1), b.subs...), s)
	b.mu.Unlock()
	return s
}

// Unsubscribe removes s and closes its channel.
func (b *Bus) Unsubscribe(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	subs := make([]*Subscription, 0, len(b.subs))
	for _, x := range b.subs {
		if x != s {
			subs = append(subs, x)
		}
	}
	if len(subs) < len(b.subs) {
		b.subs = subs
		close(s.c)
	}
}

// Publish stamps e with a sequence number and, if unset, the time, and offers
// it to every subscriber without waiting.
func (b *Bus) Publish(e event.Event) {
	e.Seq = b.seq.Add(1)
	if e.Time.IsZero() {
		e.Time = b.now()
	}
	b.mu.RLock()
	for _, s := range b.subs {
		if s.paused.Load() {
			continue
		}
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
			b.dropped.Add(1)
		}
	}
	b.mu.RUnlock()
}

// Published is how many events were published.
func (b *Bus) Published() uint64 { return b.seq.Load() }

// Dropped is how many deliveries were lost, over all subscribers.
func (b *Bus) Dropped() uint64 { return b.dropped.Load() }
