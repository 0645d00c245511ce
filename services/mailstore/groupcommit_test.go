package mailstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// holdWrites takes the write lock, so that deliveries queue behind the
// batch the writer holds, and returns its release (also run at the end of
// the test).
func holdWrites(t *testing.T, s *Store) func() {
	s.wmu.Lock()
	var once sync.Once
	release := func() { once.Do(s.wmu.Unlock) }
	t.Cleanup(release)
	return release
}

// TestDeliverOneBatch queues deliveries behind a batch held at the write
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
	// The writer has taken a batch of one, and waits for the lock.
	waitQueue(t, s, "the first batch", func(q *deliverQueue) bool { return q.busy && len(q.pending) == 0 })
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
		t.Fatalf("first delivery: %d, %v", r.uid, r.err)
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
		t.Errorf("%d transactions, want 2 (the first delivery's, then the queue's)", n)
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
		if i == 0 { // the writer takes a batch of one and waits for the lock
			waitQueue(t, s, "the first batch", func(q *deliverQueue) bool { return q.busy && len(q.pending) == 0 })
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

// deliverAsync delivers in a goroutine; the result comes on the channel.
func deliverAsync(s *Store, user string, msg []byte) <-chan result {
	out := make(chan result, 1)
	go func() {
		uid, err := s.Deliver(ctx, user, "INBOX", msg, nil, t0)
		out <- result{user: user, uid: uid, err: err}
	}()
	return out
}

// TestDeliverWaitsForArrivals: while a delivery is arriving (Expect), the
// writer holds the batch open, and what comes meanwhile shares its
// transaction; once nothing arrives, a delivery is written at once.
func TestDeliverWaitsForArrivals(t *testing.T) {
	s, _ := openStore(t, groupOptions)
	s.gatherMax = time.Hour // only the arrivals end the wait

	// Nothing arriving: no wait (it would last an hour).
	if r := <-deliverAsync(s, "alice", sized(0, 0, 100)); r.err != nil || r.uid != 1 {
		t.Fatalf("lone delivery: %d, %v", r.uid, r.err)
	}

	a1, a2 := s.Expect(), s.Expect()
	before := s.batches.Load()
	first := deliverAsync(s, "alice", sized(0, 1, 100))
	waitQueue(t, s, "the writer gathering", func(q *deliverQueue) bool { return q.gathering && len(q.pending) == 1 })
	a1.Done()
	a1.Done() // again: counted once
	second := deliverAsync(s, "bob", sized(1, 0, 100))
	waitQueued(t, s, 2)
	third := deliverAsync(s, "alice", sized(0, 2, 100))
	waitQueued(t, s, 3)
	select {
	case r := <-first:
		t.Fatalf("written while a delivery was still arriving: %d, %v", r.uid, r.err)
	default:
	}
	a2.Done()
	for name, c := range map[string]struct {
		ch  <-chan result
		uid uint32
	}{"first": {first, 2}, "second": {second, 1}, "third": {third, 3}} {
		if r := <-c.ch; r.err != nil || r.uid != c.uid {
			t.Errorf("%s delivery: UID %d, %v; want UID %d", name, r.uid, r.err, c.uid)
		}
	}
	if n := s.batches.Load() - before; n != 1 {
		t.Errorf("%d transactions, want 1", n)
	}
	s.qmu.Lock()
	left := s.q.arriving
	s.qmu.Unlock()
	if left != 0 {
		t.Errorf("%d arrivals left, want 0", left)
	}
}

// TestDeliverArrivalNeverComes: a delivery announced that never comes (a
// client gone quiet inside DATA) holds the others back gatherMax at most.
func TestDeliverArrivalNeverComes(t *testing.T) {
	s, _ := openStore(t, groupOptions)
	s.gatherMax = 50 * time.Millisecond
	a := s.Expect()
	defer a.Done()
	start := time.Now()
	r := <-deliverAsync(s, "alice", sized(0, 0, 100))
	if r.err != nil || r.uid != 1 {
		t.Fatalf("delivery: %d, %v", r.uid, r.err)
	}
	if d := time.Since(start); d < s.gatherMax {
		t.Errorf("written after %v, before the wait of %v ended", d, s.gatherMax)
	}
}

// TestDeliverWriteFails makes one delivery of a batch fail as it is
// written (a trigger stands for a full disk): the batch is rolled back and
// each delivery written again alone, so only that one fails, and nothing
// of it is left behind.
func TestDeliverWriteFails(t *testing.T) {
	s, _ := openStore(t, groupOptions)
	// A TEMP trigger belongs to one connection: the writer's.
	s.wmu.Lock()
	err := s.w.begin()
	if err == nil {
		_, err = s.w.Exec(`CREATE TEMP TRIGGER fail_777 BEFORE INSERT ON mail_bodies
			WHEN length(new.data) = 777 BEGIN SELECT RAISE(ABORT, 'injected write failure'); END`)
	}
	if err == nil {
		err = s.w.commit()
	}
	s.wmu.Unlock()
	if err != nil {
		t.Fatal(err)
	}

	release := holdWrites(t, s)
	first := deliverAsync(s, "alice", sized(0, 0, 100))
	waitQueue(t, s, "the first batch", func(q *deliverQueue) bool { return q.busy && len(q.pending) == 0 })
	sizes := []int{100, 777, 100, 777}
	out := make([]<-chan result, len(sizes))
	for k, n := range sizes {
		out[k] = deliverAsync(s, "alice", sized(1, k, n))
		waitQueued(t, s, k+1)
	}
	release()
	if r := <-first; r.err != nil || r.uid != 1 {
		t.Fatalf("first delivery: %d, %v", r.uid, r.err)
	}
	var got []uint32
	for k, n := range sizes {
		r := <-out[k]
		switch {
		case n == 777 && (r.err == nil || !strings.Contains(r.err.Error(), "injected write failure")):
			t.Errorf("delivery %d (%d bytes): UID %d, %v; want the injected failure", k, n, r.uid, r.err)
		case n != 777 && r.err != nil:
			t.Errorf("delivery %d (%d bytes): %v", k, n, r.err)
		case n != 777:
			got = append(got, r.uid)
		}
	}
	if !slices.Equal(got, []uint32{2, 3}) {
		t.Errorf("UIDs %v, want [2 3]", got)
	}
	if l := uids(t, s, "alice", "INBOX"); !slices.Equal(l, []uint32{1, 2, 3}) {
		t.Errorf("alice's INBOX holds %v, want [1 2 3]", l)
	}
	if mi := info(t, s, "alice", "INBOX"); mi.UIDNext != 4 || mi.Size != 300 {
		t.Errorf("INBOX: UIDNEXT %d, size %d; want 4 and 300", mi.UIDNext, mi.Size)
	}
}
