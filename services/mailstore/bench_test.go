package mailstore

import (
	"sync/atomic"
	"testing"
)

// BenchmarkDeliver delivers a small message: one short transaction.
func BenchmarkDeliver(b *testing.B) {
	s := newStore(b)
	msg := mail("bench", "a small message\n")
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := s.Deliver(ctx, "alice", "INBOX", msg, nil, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// fill delivers n small messages to alice's INBOX.
func fill(b *testing.B, s *Store, n int) {
	b.Helper()
	for i := range n {
		deliver(b, s, "alice", "INBOX", testMessage(1, i%50), `\Seen`)
	}
}

// BenchmarkList lists a mailbox of 1,000 messages.
func BenchmarkList(b *testing.B) {
	s := newStore(b)
	fill(b, s, 1000)
	for b.Loop() {
		if msgs, err := s.List("alice", "INBOX"); err != nil || len(msgs) != 1000 {
			b.Fatal(len(msgs), err)
		}
	}
}

// BenchmarkFetch1000 reads every message of a mailbox of 1,000, as an IMAP
// FETCH 1:* BODY[] does.
func BenchmarkFetch1000(b *testing.B) {
	s := newStore(b)
	fill(b, s, 1000)
	for b.Loop() {
		msgs, err := s.List("alice", "INBOX")
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range msgs {
			if _, err := s.Read("alice", "INBOX", m.UID); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkMailbox reads the counts of a mailbox of 1,000 (SELECT, STATUS).
func BenchmarkMailbox(b *testing.B) {
	s := newStore(b)
	fill(b, s, 1000)
	for b.Loop() {
		if mi, err := s.Mailbox("alice", "INBOX"); err != nil || mi.Messages != 1000 {
			b.Fatal(mi, err)
		}
	}
}

// BenchmarkRead reads one message of a mailbox of 1,000.
func BenchmarkRead(b *testing.B) {
	s := newStore(b)
	fill(b, s, 1000)
	uid := uint32(1)
	for b.Loop() {
		if _, err := s.Read("alice", "INBOX", uid); err != nil {
			b.Fatal(err)
		}
		uid = uid%1000 + 1
	}
}

// BenchmarkDeliverParallel delivers small messages from many goroutines at
// once, as SMTP sessions do: 16 per CPU, to two users.
func BenchmarkDeliverParallel(b *testing.B) {
	s := newStore(b)
	msg := mail("bench", "a small message\n")
	b.SetBytes(int64(len(msg)))
	b.SetParallelism(16)
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		user := "alice"
		if n.Add(1)%2 == 0 {
			user = "bob"
		}
		for pb.Next() {
			if _, err := s.Deliver(ctx, user, "INBOX", msg, nil, t0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkWriteBatch writes batches of 16 small deliveries to one INBOX,
// as the group commit does under SMTP load; the time is per delivery.
func BenchmarkWriteBatch(b *testing.B) {
	s := newStore(b)
	msg := mail("bench", "a small message\n")
	_, userID, _ := s.user("alice")
	const size = 16
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		batch := make([]*delivery, size)
		for i := range batch {
			batch[i] = &delivery{ctx: ctx, user: "alice", userID: userID, mb: "INBOX", msg: msg, date: t0}
		}
		s.writeBatch(batch)
		for _, d := range batch {
			if d.err != nil {
				b.Fatal(d.err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/delivery")
}
