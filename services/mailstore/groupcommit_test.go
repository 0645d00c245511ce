package mailstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// groupOptions: three users, a quota that takes two 4,000-byte messages.
var groupOptions = Options{
	Users:           []User{{"alice", "wonderland"}, {"bob", "builder"}, {"carol", "cheshire"}},
	MaxMessageBytes: 10000, MaxMailboxBytes: 10000,
}

// sized is message i of sender g, n bytes long.
func sized(g, i, n int) []byte {
	m := fmt.Appendf(nil, "X-Sender: %d\r\nX-Seq: %d\r\n\r\n", g, i)
	return append(m, bytes.Repeat([]byte{'x'}, n-len(m))...)
}

// result is what one Deliver call returned.
type result struct {
	g, i int
	user string
	uid  uint32
	err  error
}

// TestDeliverGroupCommit runs 32 goroutines delivering at once: to INBOXes
// that take everything, to a mailbox that does not exist, and to a user
// whose quota takes only two of the messages. Each caller gets its own
// result, the UIDs of each mailbox are dense and ascending, each UID holds
// the message its caller sent, and the watches see every delivery in UID
// order.
func TestDeliverGroupCommit(t *testing.T) {
	s, _ := openStore(t, groupOptions)
	const goroutines, each = 32, 5
	watches := map[string]*Watch{}
	for _, u := range []string{"alice", "bob", "carol"} {
		watches[u] = s.Watch(u, "INBOX")
		defer watches[u].Close()
	}
	// g%4: 0 alice (small), 1 bob (small), 2 alice's "Nope", 3 carol (4,000 bytes)
	target := func(g int) (user, mailbox string, size int) {
		switch g % 4 {
		case 0:
			return "alice", "INBOX", 200
		case 1:
			return "bob", "INBOX", 200
		case 2:
			return "alice", "Nope", 200
		}
		return "carol", "INBOX", 4000
	}
	start := make(chan struct{})
	results := make(chan result, goroutines*each)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			<-start
			user, mb, n := target(g)
			for i := range each {
				uid, err := s.Deliver(ctx, user, mb, sized(g, i, n), nil, t0)
				results <- result{g, i, user, uid, err}
			}
		})
	}
	close(start)
	wg.Wait()
	close(results)

	got := map[string][]uint32{}
	quotaRefused := 0
	for r := range results {
		switch r.g % 4 {
		case 0, 1:
			if r.err != nil {
				t.Errorf("sender %d message %d: %v", r.g, r.i, r.err)
				continue
			}
		case 2:
			wantErr(t, fmt.Sprintf("sender %d to Nope", r.g), r.err, ErrNoMailbox)
			if r.uid != 0 {
				t.Errorf("sender %d to Nope got UID %d", r.g, r.uid)
			}
			continue
		case 3:
			if errors.Is(r.err, ErrQuota) {
				quotaRefused++
				continue
			}
			if r.err != nil {
				t.Errorf("sender %d to carol: %v", r.g, r.err)
				continue
			}
		}
		got[r.user] = append(got[r.user], r.uid)
		b, err := s.Read(r.user, "INBOX", r.uid)
		if err != nil || !bytes.Equal(b, sized(r.g, r.i, len(b))) {
			t.Errorf("sender %d message %d got UID %d of %s, which holds %.30q (%v)", r.g, r.i, r.uid, r.user, b, err)
		}
	}
	carolWant := int(groupOptions.MaxMailboxBytes / 4000)
	if n := len(got["carol"]); n != carolWant || quotaRefused != goroutines/4*each-carolWant {
		t.Errorf("carol: %d delivered, %d refused for quota; want %d and %d", n, quotaRefused, carolWant, goroutines/4*each-carolWant)
	}
	for user, want := range map[string]int{"alice": goroutines / 4 * each, "bob": goroutines / 4 * each, "carol": carolWant} {
		us := slices.Sorted(slices.Values(got[user]))
		for k, u := range us {
			if u != uint32(k+1) {
				t.Fatalf("%s's UIDs are not 1..%d: %v", user, want, us)
			}
		}
		if len(us) != want {
			t.Errorf("%s got %d UIDs, want %d", user, len(us), want)
		}
		if l := uids(t, s, user, "INBOX"); !slices.Equal(l, us) {
			t.Errorf("%s's INBOX holds %v, the callers got %v", user, l, us)
		}
		if mi := info(t, s, user, "INBOX"); mi.UIDNext != uint32(want+1) {
			t.Errorf("%s's UIDNEXT = %d, want %d", user, mi.UIDNext, want+1)
		}
		cs, open := pending(watches[user])
		var seen []uint32
		for _, c := range cs {
			if c.Kind == Added {
				seen = append(seen, c.UID)
			}
		}
		if !open || !slices.Equal(seen, us) {
			t.Errorf("%s's watch saw %v (open %v), want %v in order", user, seen, open, us)
		}
	}
	t.Logf("%d deliveries written in %d transactions", len(got["alice"])+len(got["bob"])+len(got["carol"]), s.batches.Load())
}

// waitQueue waits until cond holds of the delivery queue, or fails.
func waitQueue(t *testing.T, s *Store, what string, cond func(q *deliverQueue) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.qmu.Lock()
		ok := cond(&s.q)
		s.qmu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within 10s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition, with a deadline
	}
}

// waitQueued waits until n deliveries are queued.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	waitQueue(t, s, fmt.Sprintf("%d queued deliveries", n), func(q *deliverQueue) bool { return len(q.pending) == n })
}

// holdWrites takes the write lock, so that deliveries queue behind a
// leader, and returns its release (also run at the end of the test).
func holdWrites(t *testing.T, s *Store) func() {
	s.wmu.Lock()
	var once sync.Once
	release := func() { once.Do(s.wmu.Unlock) }
	t.Cleanup(release)
	return release
}

// TestDeliverOneBatch queues deliveries behind a leader held at the write
// lock: they are then written in one transaction, and the ones that fail
// (no mailbox, over quota, cancelled) do not fail the others, nor leave
// anything behind.
func TestDeliverOneBatch(t *testing.T) {
	s, _ := openStore(t, groupOptions)
	release := holdWrites(t, s)
	first := make(chan result, 1)
	go func() {
		uid, err := s.Deliver(ctx, "bob", "INBOX", sized(0, 0, 100), nil, t0)
		first <- result{uid: uid, err: err}
	}()
	// The leader has taken its batch of one, and waits for the lock.
	waitQueue(t, s, "the leader", func(q *deliverQueue) bool { return q.busy && len(q.pending) == 0 })
	cases := []struct {
		user, mailbox string
		size          int
		want          error
		uid           uint32
	}{
		{"carol", "INBOX", 4000, nil, 1},
		{"alice", "Nope", 100, ErrNoMailbox, 0},
		{"carol", "INBOX", 4000, nil, 2},
		{"alice", "INBOX", 100, nil, 1},
		{"carol", "INBOX", 4000, ErrQuota, 0}, // the batch's first two count
		{"alice", "INBOX", 100, context.Canceled, 0},
		{"alice", "INBOX", 100, nil, 2},
		{"bob", "INBOX", 100, nil, 2},
	}
	cancelled, cancel := context.WithCancel(ctx)
	out := make([]chan result, len(cases))
	for k, c := range cases {
		out[k] = make(chan result, 1)
		dctx := ctx
		if c.want == context.Canceled {
			dctx = cancelled
		}
		go func() {
			uid, err := s.Deliver(dctx, c.user, c.mailbox, sized(1, k, c.size), nil, t0)
			out[k] <- result{uid: uid, err: err}
		}()
		waitQueued(t, s, k+1) // in this order
	}
	cancel()
	// The cancelled caller leaves the queue at once.
	for k, c := range cases {
		if c.want == context.Canceled {
			if r := <-out[k]; !errors.Is(r.err, context.Canceled) {
				t.Errorf("cancelled delivery: %d, %v", r.uid, r.err)
			}
		}
	}
	waitQueued(t, s, len(cases)-1)
	before := s.batches.Load()
	release()
	if r := <-first; r.err != nil || r.uid != 1 {
		t.Fatalf("leader: %d, %v", r.uid, r.err)
	}
	for k, c := range cases {
		if c.want == context.Canceled {
			continue
		}
		r := <-out[k]
		wantErr(t, fmt.Sprintf("case %d (%s %s)", k, c.user, c.mailbox), r.err, c.want)
		if r.uid != c.uid {
			t.Errorf("case %d (%s %s): UID %d, want %d", k, c.user, c.mailbox, r.uid, c.uid)
		}
	}
	if n := s.batches.Load() - before; n != 2 {
		t.Errorf("%d transactions, want 2 (the leader's, then the queue's)", n)
	}
	for user, want := range map[string][]uint32{"alice": {1, 2}, "bob": {1, 2}, "carol": {1, 2}} {
		if got := uids(t, s, user, "INBOX"); !slices.Equal(got, want) {
			t.Errorf("%s's INBOX: %v, want %v", user, got, want)
		}
	}
}

// TestDeliverClose closes the store while deliveries are queued: they fail
// with ErrClosed, every caller returns, and later deliveries fail too.
func TestDeliverClose(t *testing.T) {
	s, _ := openStore(t, groupOptions)
	release := holdWrites(t, s)
	const n = 5
	out := make(chan result, n)
	for i := range n {
		go func() {
			uid, err := s.Deliver(ctx, "alice", "INBOX", sized(0, i, 100), nil, t0)
			out <- result{i: i, uid: uid, err: err}
		}()
		if i == 0 { // the leader takes its batch of one and waits for the lock
			waitQueue(t, s, "the leader", func(q *deliverQueue) bool { return q.busy && len(q.pending) == 0 })
		}
	}
	waitQueued(t, s, n-1)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	waitQueue(t, s, "Close", func(q *deliverQueue) bool { return q.closed })
	release()
	failed := 0
	for range n {
		select {
		case r := <-out:
			if r.err != nil {
				wantErr(t, "delivery queued at Close", r.err, ErrClosed)
				failed++
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a delivery queued at Close never returned")
		}
	}
	if failed < n-1 {
		t.Errorf("%d of %d deliveries queued at Close failed, want at least %d", failed, n, n-1)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, err := s.Deliver(ctx, "alice", "INBOX", sized(0, 0, 100), nil, t0)
	wantErr(t, "delivery after Close", err, ErrClosed)
}
