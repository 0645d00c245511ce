package mailstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Group commit. SMTP sessions deliver concurrently, and BEGIN + COMMIT
// cost as much as the delivery itself, so concurrent Deliver calls share
// one transaction: the first caller to find no batch running becomes the
// leader, takes every delivery queued so far (at most maxBatch, maxBatchBytes
// of messages), runs them in one transaction, each under its own savepoint
// so that one failing does not fail the others, commits, tells the
// watches, wakes each caller with its own result, and hands the lead to
// the first delivery queued meanwhile. A lone delivery is a batch of one,
// run at once: nothing waits to gather more.
const (
	maxBatch      = 64      // deliveries in one transaction
	maxBatchBytes = 4 << 20 // message bytes in one transaction (a bigger message goes alone)
)

// delivery is one Deliver call, checked, waiting for its transaction.
type delivery struct {
	ctx          context.Context
	user, mb     string // canonical
	userID       int64
	msg          []byte
	flags        []string // canonical
	date         time.Time
	uid          uint32 // the result, once woken
	err          error
	wake         chan bool // one send: true to lead the next batch, false when uid/err are set
	state        deliveryState
	followerWake bool // whether wake gets the result (false for the leader's own)
}

// deliveryState is where a delivery is; under deliverQueue.mu.
type deliveryState int

const (
	queued  deliveryState = iota // in pending, may still leave it
	leading                      // told to lead the next batch
	taken                        // in a batch being written
)

// deliverQueue holds the deliveries waiting for a transaction.
type deliverQueue struct {
	pending []*delivery
	busy    bool // a leader runs a batch (or has been told to); pending is empty when false
	closed  bool
}

// enqueue runs d through a batch and returns when its transaction has
// committed (or failed). A caller whose ctx ends while its delivery is
// still queued leaves the queue with ctx's error; once its batch is being
// written, it waits for the commit, and gets its UID if its delivery was
// written before the cancellation was seen.
func (s *Store) enqueue(d *delivery) (uint32, error) {
	d.wake = make(chan bool, 1)
	s.qmu.Lock()
	if s.q.closed {
		s.qmu.Unlock()
		return 0, ErrClosed
	}
	s.q.pending = append(s.q.pending, d)
	lead := !s.q.busy
	if lead {
		s.q.busy = true
		d.state = leading
	}
	s.qmu.Unlock()
	if !lead {
		select {
		case lead = <-d.wake:
		case <-d.ctx.Done():
			s.qmu.Lock()
			if d.state == queued {
				if i := slices.Index(s.q.pending, d); i >= 0 {
					s.q.pending = slices.Delete(s.q.pending, i, i+1)
					s.qmu.Unlock()
					return 0, d.ctx.Err()
				}
			}
			s.qmu.Unlock()
			lead = <-d.wake
		}
		if !lead {
			return d.uid, d.err
		}
	}
	s.lead(d)
	return d.uid, d.err
}

// lead runs one batch, starting with self, then passes the lead on to the
// first delivery queued meanwhile (or fails the queue if the store closed).
func (s *Store) lead(self *delivery) {
	s.qmu.Lock()
	if s.q.closed {
		s.failQueue()
		s.qmu.Unlock()
		return
	}
	// self is pending[0]: it was queued when nothing ran, or was first
	// in the queue when the lead was passed to it, and a leader never
	// leaves the queue.
	var batch []*delivery
	var bytes int
	for len(s.q.pending) > 0 && len(batch) < maxBatch {
		d := s.q.pending[0]
		if len(batch) > 0 && bytes+len(d.msg) > maxBatchBytes {
			break
		}
		bytes += len(d.msg)
		d.state = taken
		d.followerWake = d != self
		batch = append(batch, d)
		s.q.pending = s.q.pending[1:]
	}
	if len(s.q.pending) == 0 {
		s.q.pending = nil // let the array go
	}
	s.qmu.Unlock()

	s.writeBatch(batch)
	for _, d := range batch {
		if d.followerWake {
			d.wake <- false
		}
	}

	s.qmu.Lock()
	switch {
	case s.q.closed:
		s.failQueue()
	case len(s.q.pending) > 0:
		next := s.q.pending[0]
		next.state = leading
		next.wake <- true
	default:
		s.q.busy = false
	}
	s.qmu.Unlock()
}

// failQueue fails every queued delivery with ErrClosed; s.qmu is held.
func (s *Store) failQueue() {
	for _, d := range s.q.pending {
		d.err = ErrClosed
		d.wake <- false
	}
	s.q.pending = nil
	s.q.busy = false
}

// closeQueue stops taking deliveries, for Close; the deliveries queued
// fail with ErrClosed when the batch running ends.
func (s *Store) closeQueue() {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	s.q.closed = true
	if !s.q.busy {
		s.failQueue()
	}
}

// writeBatch writes a batch in one transaction under the write lock and
// sets each delivery's uid or err; after the commit, still under the lock,
// the watches get Added in commit order.
func (s *Store) writeBatch(batch []*delivery) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	fail := func(err error) {
		for _, d := range batch {
			if d.err == nil {
				d.uid, d.err = 0, err
			}
		}
	}
	s.qmu.Lock()
	closed := s.q.closed
	s.qmu.Unlock()
	if closed { // Close came first and closed the database
		fail(ErrClosed)
		return
	}
	// The transaction is everyone's: one caller's ctx does not end it.
	sqltx, err := s.db.BeginTx(bg, nil)
	if err != nil {
		fail(err)
		return
	}
	tx := s.cached(sqltx) // SMTP delivers thousands a second: parse the SQL once
	alone := len(batch) == 1
	ok := 0
	for _, d := range batch {
		if err := d.ctx.Err(); err != nil {
			d.err = err
			continue
		}
		uid, err := s.writeOne(tx, d, alone)
		var own deliveryError
		switch {
		case err == nil:
			d.uid = uid
			ok++
		case errors.As(err, &own):
			d.err = own.err
		default:
			// A savepoint failed: nothing of the batch can be trusted.
			sqltx.Rollback()
			fail(err)
			return
		}
	}
	if ok == 0 {
		sqltx.Rollback()
		return
	}
	if err := sqltx.Commit(); err != nil {
		fail(err)
		return
	}
	s.batches.Add(1)
	for _, d := range batch {
		if d.err == nil {
			s.notify(watchKey{d.user, d.mb}, Change{Kind: Added, UID: d.uid, Flags: d.flags})
		}
	}
}

// deliveryError is a delivery that failed on its own, its savepoint rolled
// back: the rest of the batch goes on.
type deliveryError struct{ err error }

func (e deliveryError) Error() string { return e.err.Error() }
func (e deliveryError) Unwrap() error { return e.err }

// writeOne writes one delivery of a batch. The checks come first and
// write nothing; the writes run under a savepoint unless the delivery is
// alone in its transaction (which is then rolled back whole). An error the
// delivery's own (its writes undone) is a deliveryError.
func (s *Store) writeOne(tx cachedTx, d *delivery, alone bool) (uint32, error) {
	m, err := lookup(tx, d.userID, d.user, d.mb)
	if err != nil {
		return 0, deliveryError{err}
	}
	used, err := userSize(tx, d.userID)
	if err != nil {
		return 0, deliveryError{err}
	}
	if used+int64(len(d.msg)) > s.opts.MaxMailboxBytes {
		return 0, deliveryError{fmt.Errorf("%w: %s uses %d bytes of %d, the message has %d; delete some mail", ErrQuota, d.user, used, s.opts.MaxMailboxBytes, len(d.msg))}
	}
	if m.uidnext == 0 || uint64(m.uidnext) > maxUID {
		return 0, deliveryError{fmt.Errorf("%w: %q has used all its UIDs; create it again", ErrQuota, d.mb)}
	}
	uid := m.uidnext
	write := func() error {
		if _, err := insertMessage(tx, m.id, uid, joinFlags(d.flags), d.date, d.msg); err != nil {
			return err
		}
		_, err := tx.Exec(`UPDATE mail_mailboxes SET uidnext = ? WHERE id = ?`, uint64(uid)+1, m.id)
		return err
	}
	if alone {
		if err := write(); err != nil {
			return 0, deliveryError{err}
		}
		return uid, nil
	}
	if _, err := tx.Exec(`SAVEPOINT delivery`); err != nil {
		return 0, err
	}
	if err := write(); err != nil {
		if _, rerr := tx.Exec(`ROLLBACK TO delivery`); rerr != nil {
			return 0, err
		}
		if _, rerr := tx.Exec(`RELEASE delivery`); rerr != nil {
			return 0, err
		}
		return 0, deliveryError{err}
	}
	if _, err := tx.Exec(`RELEASE delivery`); err != nil {
		return 0, err
	}
	return uid, nil
}
