package imap

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"protolab/internal/event"
	"protolab/internal/service"
	"protolab/services/mailstore"
)

// counter is a Publisher that counts events (a bus subscriber's cost is
// not the server's).
type counter struct{ n atomic.Int64 }

func (c *counter) Publish(event.Event) { c.n.Add(1) }

// BenchmarkFetch1000 fetches BODY[] of 1,000 small messages with go-imap's
// client, as a mail client syncing a mailbox would.
func BenchmarkFetch1000(b *testing.B) {
	const n = 1000
	dir := b.TempDir()
	st, err := mailstore.Open(dir, mailstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	for i := range n {
		msg := message(fmt.Sprintf("Message %d", i), "A small message body, as most are.")
		if _, err := st.Deliver(context.Background(), "bob", "INBOX", msg, nil, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	p, err := Spec.Load(nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	shared := service.NewShared()
	shared.Put(mailstore.SharedName, st)
	events := &counter{}
	inst, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Ports: map[string]int{}, Events: events, Shared: shared, State: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer inst.Shutdown(context.Background())
	addr, _ := inst.Endpoints().Find("imap", "tcp")
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("bob", "builder").Wait(); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	opts := &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}
	all := imap.SeqSet{{Start: 1, Stop: 0}}
	b.ResetTimer()
	for b.Loop() {
		cmd := c.Fetch(all, opts)
		got := 0
		for m := cmd.Next(); m != nil; m = cmd.Next() {
			for item := m.Next(); item != nil; item = m.Next() {
				if body, ok := item.(imapclient.FetchItemDataBodySection); ok && body.Literal != nil {
					got++
				}
			}
		}
		if err := cmd.Close(); err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("%d bodies, want %d", got, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/message")
	if events.n.Load() < int64(n) {
		b.Errorf("%d events", events.n.Load())
	}
}
