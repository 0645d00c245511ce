package imap

import (
	"sync"
	"time"
)

// delays is how wrong passwords are slowed down: the first free failures
// from one client address are answered at once, each one after that waits
// base, doubled at every further failure, up to max. A success clears the
// count.
type delays struct {
	free int
	base time.Duration
	max  time.Duration
}

var defaultDelays = delays{free: 2, base: 500 * time.Millisecond, max: 8 * time.Second}

// Bounds of the failure table.
const (
	maxThrottled   = 4096             // client addresses remembered
	throttleForget = 15 * time.Minute // a quiet address is forgotten
)

// throttle counts failed logins per client address.
type throttle struct {
	d   delays
	now func() time.Time

	mu       sync.Mutex
	failures map[string]*failures
}

type failures struct {
	n    int
	last time.Time
}

func newThrottle(d delays) *throttle {
	return &throttle{d: d, now: time.Now, failures: map[string]*failures{}}
}

// fail records a failure from ip and returns how long to wait before
// answering it.
func (t *throttle) fail(ip string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	f := t.failures[ip]
	if f == nil || now.Sub(f.last) > throttleForget {
		if len(t.failures) >= maxThrottled {
			t.prune(now)
		}
		f = &failures{}
		t.failures[ip] = f
	}
	f.n++
	f.last = now
	return t.d.delay(f.n)
}

// succeed forgets the failures from ip.
func (t *throttle) succeed(ip string) {
	t.mu.Lock()
	delete(t.failures, ip)
	t.mu.Unlock()
}

// prune drops quiet addresses, or all of them if none is quiet (a flood
// from many addresses must not grow the table); the caller holds mu.
func (t *throttle) prune(now time.Time) {
	for ip, f := range t.failures {
		if now.Sub(f.last) > throttleForget {
			delete(t.failures, ip)
		}
	}
	if len(t.failures) >= maxThrottled {
		clear(t.failures)
	}
}

// delay is the wait after the n-th failure in a row.
func (d delays) delay(n int) time.Duration {
	if n <= d.free || d.base <= 0 {
		return 0
	}
	w := d.base
	for i := d.free + 1; i < n && w < d.max; i++ {
		w *= 2
	}
	return min(w, d.max)
}

// subscriptions remembers the mailboxes a user unsubscribed from (every
// mailbox is subscribed until then), for this run of the lab only.
type subscriptions struct {
	mu  sync.Mutex
	off map[string]map[string]bool // user -> mailbox -> unsubscribed
}

func newSubscriptions() *subscriptions {
	return &subscriptions{off: map[string]map[string]bool{}}
}

func (s *subscriptions) set(user, mailbox string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		delete(s.off[user], mailbox)
		return
	}
	if s.off[user] == nil {
		s.off[user] = map[string]bool{}
	}
	s.off[user][mailbox] = true
}

func (s *subscriptions) subscribed(user, mailbox string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.off[user][mailbox]
}
