package bus

import (
	"testing"
	"time"

	"protolab/internal/event"
)

func TestPublishStampsAndDelivers(t *testing.T) {
	b := New()
	s := b.Subscribe(4)
	b.Publish(event.Event{Kind: "a"})
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b.Publish(event.Event{Kind: "b", Time: at})
	e1, e2 := <-s.C(), <-s.C()
	if e1.Kind != "a" || e1.Seq != 1 || e1.Time.IsZero() {
		t.Fatalf("first: %+v", e1)
	}
	if e2.Kind != "b" || e2.Seq != 2 || !e2.Time.Equal(at) {
		t.Fatalf("second: %+v", e2)
	}
	if b.Published() != 2 || b.Dropped() != 0 {
		t.Fatalf("published %d dropped %d", b.Published(), b.Dropped())
	}
}

func TestSlowSubscriberLosesNeverBlocks(t *testing.T) {
	b := New()
	slow := b.Subscribe(2)
	fast := b.Subscribe(100)
	for i := 0; i < 10; i++ {
		b.Publish(event.Event{Kind: "x"}) // must return although slow never reads
	}
	if slow.Dropped() != 8 || fast.Dropped() != 0 || b.Dropped() != 8 {
		t.Fatalf("dropped: slow %d fast %d total %d", slow.Dropped(), fast.Dropped(), b.Dropped())
	}
	if len(fast.C()) != 10 || len(slow.C()) != 2 {
		t.Fatalf("queued: fast %d slow %d", len(fast.C()), len(slow.C()))
	}
}

func TestPauseAndUnsubscribe(t *testing.T) {
	b := New()
	s := b.Subscribe(1)
	s.Pause(true)
	for i := 0; i < 5; i++ {
		b.Publish(event.Event{Kind: "x"})
	}
	if len(s.C()) != 0 || s.Dropped() != 0 {
		t.Fatalf("paused subscription got %d events, %d dropped", len(s.C()), s.Dropped())
	}
	s.Pause(false)
	b.Publish(event.Event{Kind: "y"})
	if e := <-s.C(); e.Kind != "y" {
		t.Fatalf("after resume: %+v", e)
	}
	b.Unsubscribe(s)
	b.Unsubscribe(s) // twice is harmless
	if _, ok := <-s.C(); ok {
		t.Fatal("channel not closed by Unsubscribe")
	}
	b.Publish(event.Event{Kind: "z"}) // no subscriber left: nothing to do
}

func BenchmarkPublish(b *testing.B) {
	bus := New()
	s := bus.Subscribe(1024)
	done := make(chan struct{})
	go func() {
		for range s.C() {
		}
		close(done)
	}()
	e := event.Event{Kind: "dns.query", Attrs: map[string]string{"qname": "www.lab.test."}}
	b.ReportAllocs()
	for b.Loop() {
		bus.Publish(e)
	}
	bus.Unsubscribe(s)
	<-done
}
