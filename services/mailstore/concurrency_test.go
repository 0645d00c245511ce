package mailstore

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// testMessage is message i of sender g: its headers say who it is, so a
// reader can rebuild what it must be and check every byte.
func testMessage(g, i int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "X-Sender: %d\r\nX-Seq: %d\r\nSubject: test\r\n\r\n", g, i)
	n := (g*7919 + i*104729) % 20000
	for j := 0; j < n; j++ {
		b.WriteByte(byte('a' + (g+i+j)%26))
		if j%70 == 69 {
			b.WriteString("\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// whoSent reads the sender and sequence number back from a test message.
func whoSent(msg []byte) (g, i int, err error) {
	_, err = fmt.Sscanf(string(msg), "X-Sender: %d\r\nX-Seq: %d\r\n", &g, &i)
	return g, i, err
}

// TestConcurrentSessions runs 8 deliverers against a session that lists,
// reads, flags and expunges, and a watcher: UIDs strictly increase, nothing
// is lost or seen half-written, and the counts add up.
func TestConcurrentSessions(t *testing.T) {
	s := newStore(t)
	const senders, each = 8, 25
	w := s.Watch("alice", "INBOX")
	defer w.Close()

	var wg sync.WaitGroup
	delivered := make([][]uint32, senders)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				uid, err := s.Deliver(ctx, "alice", "INBOX", testMessage(g, i), nil, t0)
				if err != nil {
					t.Errorf("sender %d: %v", g, err)
					return
				}
				delivered[g] = append(delivered[g], uid)
			}
		}()
	}
	stop := make(chan struct{})
	var expunged []uint32
	var reads atomic.Int64
	var sessionErr error
	sessionDone := make(chan struct{})
	go func() {
		defer close(sessionDone)
		fail := func(format string, args ...any) { sessionErr = fmt.Errorf(format, args...) }
		for round := 0; ; round++ {
			select {
			case <-stop:
				if round > 0 {
					return
				}
			default:
			}
			list, err := s.List("alice", "INBOX")
			if err != nil {
				fail("List: %v", err)
				return
			}
			for k := 1; k < len(list); k++ {
				if list[k].UID <= list[k-1].UID {
					fail("List not by ascending UID: %d then %d", list[k-1].UID, list[k].UID)
					return
				}
			}
			var del []uint32
			for k, m := range list {
				got, err := s.Read("alice", "INBOX", m.UID)
				if err != nil {
					fail("Read UID %d: %v", m.UID, err)
					return
				}
				reads.Add(1)
				g, i, err := whoSent(got)
				if err != nil || !bytes.Equal(got, testMessage(g, i)) || int64(len(got)) != m.Size {
					fail("UID %d: %d bytes that are not a whole test message (%v)", m.UID, len(got), err)
					return
				}
				if k%3 == 0 {
					del = append(del, m.UID)
				}
			}
			if _, err := s.StoreFlags("alice", "INBOX", del, FlagsAdd, []string{`\Deleted`}); err != nil {
				fail("StoreFlags: %v", err)
				return
			}
			gone, err := s.Expunge("alice", "INBOX", del)
			if err != nil || !slices.Equal(gone, del) {
				fail("Expunge(%v) = %v, %v", del, gone, err)
				return
			}
			expunged = append(expunged, gone...)
			if _, err := s.Mailboxes("alice"); err != nil {
				fail("Mailboxes: %v", err)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-sessionDone
	if sessionErr != nil {
		t.Fatal(sessionErr)
	}

	// Every delivery got its own UID, increasing for each sender, and
	// together they are exactly 1..200.
	var all []uint32
	for g, us := range delivered {
		if len(us) != each {
			t.Fatalf("sender %d delivered %d, want %d", g, len(us), each)
		}
		for k := 1; k < len(us); k++ {
			if us[k] <= us[k-1] {
				t.Errorf("sender %d got UID %d after %d", g, us[k], us[k-1])
			}
		}
		all = append(all, us...)
	}
	slices.Sort(all)
	for k, u := range all {
		if u != uint32(k+1) {
			t.Fatalf("UIDs given out are not 1..%d: %v", senders*each, all)
		}
	}
	mi := info(t, s, "alice", "INBOX")
	if mi.UIDNext != senders*each+1 || mi.Messages+len(expunged) != senders*each {
		t.Errorf("INBOX %+v with %d expunged, want %d messages in all and UIDNEXT %d", mi, len(expunged), senders*each, senders*each+1)
	}
	left := uids(t, s, "alice", "INBOX")
	if len(left)+len(expunged) != senders*each {
		t.Errorf("%d left + %d expunged != %d", len(left), len(expunged), senders*each)
	}
	for _, u := range expunged {
		if _, err := s.Read("alice", "INBOX", u); !errors.Is(err, ErrNoMessage) {
			t.Errorf("expunged UID %d still readable: %v", u, err)
		}
	}

	// The watch saw every delivery, in commit order (ascending UIDs), and
	// every expunge.
	var added, removed int
	last := uint32(0)
	for {
		cs, open := pending(w)
		if len(cs) == 0 || !open {
			if !open {
				t.Fatalf("watch ended (overflowed %v)", w.Overflowed())
			}
			break
		}
		for _, c := range cs {
			switch c.Kind {
			case Added:
				if c.UID <= last {
					t.Errorf("Added UID %d after %d", c.UID, last)
				}
				last = c.UID
				added++
			case Removed:
				removed++
			}
		}
	}
	if added != senders*each || removed != len(expunged) {
		t.Errorf("watch saw %d added, %d removed; want %d, %d", added, removed, senders*each, len(expunged))
	}
	if reads.Load() == 0 {
		t.Error("the session read nothing")
	}
}
