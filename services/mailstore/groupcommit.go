package mailstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// Group commit. SMTP sessions deliver concurrently, and a transaction's
// BEGIN and COMMIT cost more than a delivery, so concurrent Deliver calls
// share one transaction. One goroutine, the writer, writes them all: it
// takes the deliveries queued (at most maxBatch, maxBatchBytes of
// messages), writes them in one transaction, commits, tells the watches,
// and wakes each caller with its own result. Before it begins, it waits
// for the deliveries still arriving (see Expect), at most maxGather: on a
// busy CPU they would otherwise miss the transaction by microseconds, and
// each commit would carry one message. A lone delivery, with nothing
// arriving, is written at once.
//
// The writer is one long-lived goroutine with a connection of its own, so
// that SQLite's deep stack is grown once (not in every SMTP session), and
// every statement of a delivery, BEGIN and COMMIT included, is prepared
// once for the store's life.
const (
	maxBatch      = 64                     // deliveries in one transaction
	maxBatchBytes = 4 << 20                // message bytes in one transaction (a bigger message goes alone)
	maxGather     = 500 * time.Microsecond // the writer's wait for arriving deliveries
)

// delivery is one Deliver call, checked, waiting for its transaction.
type delivery struct {
	ctx      context.Context
	user, mb string // canonical
	userID   int64
	msg      []byte
	flags    []string // canonical
	date     time.Time
	uid      uint32        // the result, once done is closed
	err      error         // the result, once done is closed
	done     chan struct{} // closed when uid and err are set
	taken    bool          // in a batch being written (under qmu): it can no longer leave
}

// deliverQueue holds the deliveries waiting for a transaction; under
// Store.qmu.
type deliverQueue struct {
	pending   []*delivery
	busy      bool // the writer is writing a batch
	idle      bool // the writer waits for work
	gathering bool // the writer waits for arriving deliveries
	closed    bool
	arriving  int // Arrivals not Done
}

// Arrival is a delivery on its way: an SMTP session reading a message,
// between its 354 and the final ".". While deliveries are arriving, the
// writer waits for them (at most maxGather) before it begins a
// transaction, so that they share it.
type Arrival struct {
	s    *Store
	done atomic.Bool
}

// Expect announces a delivery on its way. Call Done once its bytes are in
// (before Deliver), or when it is abandoned; Done may be called again.
func (s *Store) Expect() *Arrival {
	s.qmu.Lock()
	s.q.arriving++
	s.qmu.Unlock()
	return &Arrival{s: s}
}

// Done says the delivery has arrived (or will not).
func (a *Arrival) Done() {
	if a == nil || a.done.Swap(true) {
		return
	}
	s := a.s
	s.qmu.Lock()
	s.q.arriving--
	if s.q.arriving == 0 && s.q.gathering {
		s.kickLocked()
	}
	s.qmu.Unlock()
}

// kickLocked wakes the writer; s.qmu is held. A kick it does not need
// costs it one more look at the queue.
func (s *Store) kickLocked() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// enqueue runs d through a batch and returns when its transaction has
// committed (or failed). A caller whose ctx ends while its delivery is
// still queued leaves the queue with ctx's error; once its batch is being
// written, it waits for the commit, and gets its UID if its delivery was
// written before the cancellation was seen.
func (s *Store) enqueue(d *delivery) (uint32, error) {
	d.done = make(chan struct{})
	s.qmu.Lock()
	if s.q.closed {
		s.qmu.Unlock()
		return 0, ErrClosed
	}
	s.q.pending = append(s.q.pending, d)
	if s.q.idle || s.q.gathering && len(s.q.pending) >= maxBatch {
		s.kickLocked()
	}
	s.qmu.Unlock()
	select {
	case <-d.done:
	case <-d.ctx.Done():
		s.qmu.Lock()
		if !d.taken {
			if i := slices.Index(s.q.pending, d); i >= 0 {
				s.q.pending = slices.Delete(s.q.pending, i, i+1)
				s.qmu.Unlock()
				return 0, d.ctx.Err()
			}
		}
		s.qmu.Unlock()
		<-d.done
	}
	return d.uid, d.err
}

// writeLoop is the writer: it runs from Open until Close.
func (s *Store) writeLoop() {
	defer close(s.writerDone)
	for {
		s.qmu.Lock()
		for len(s.q.pending) == 0 && !s.q.closed {
			s.q.idle = true
			s.qmu.Unlock()
			<-s.kick
			s.qmu.Lock()
		}
		s.q.idle = false
		s.qmu.Unlock()

		s.gather()

		s.qmu.Lock()
		if s.q.closed {
			s.failQueue()
			s.qmu.Unlock()
			return
		}
		batch := s.take()
		s.q.busy = len(batch) > 0
		s.qmu.Unlock()
		if len(batch) == 0 { // every caller left while the writer gathered
			continue
		}

		s.writeBatch(batch)

		s.qmu.Lock()
		s.q.busy = false
		s.qmu.Unlock()
		for _, d := range batch {
			close(d.done)
		}
	}
}

// gather waits, at most gatherMax (maxGather), while deliveries are arriving and the
// batch is not full.
func (s *Store) gather() {
	waiting := func() bool {
		return s.q.arriving > 0 && len(s.q.pending) < maxBatch && !s.q.closed
	}
	s.qmu.Lock()
	if !waiting() {
		s.qmu.Unlock()
		return
	}
	s.q.gathering = true
	s.qmu.Unlock()
	s.gatherTimer.Reset(s.gatherMax)
	for more := true; more; {
		select {
		case <-s.kick:
		case <-s.gatherTimer.C:
			more = false
		}
		s.qmu.Lock()
		more = more && waiting()
		s.q.gathering = more
		s.qmu.Unlock()
	}
	s.gatherTimer.Stop()
}

// take removes the next batch from the queue; s.qmu is held.
func (s *Store) take() []*delivery {
	var batch []*delivery
	var bytes int
	for len(s.q.pending) > 0 && len(batch) < maxBatch {
		d := s.q.pending[0]
		if len(batch) > 0 && bytes+len(d.msg) > maxBatchBytes {
			break
		}
		bytes += len(d.msg)
		d.taken = true
		batch = append(batch, d)
		s.q.pending = s.q.pending[1:]
	}
	if len(s.q.pending) == 0 {
		s.q.pending = nil // let the array go
	}
	return batch
}

// failQueue fails every queued delivery with ErrClosed; s.qmu is held.
func (s *Store) failQueue() {
	for _, d := range s.q.pending {
		d.err = ErrClosed
		d.taken = true
		close(d.done)
	}
	s.q.pending = nil
}

// closeQueue stops taking deliveries and waits for the writer to end: it
// finishes the batch it is writing, and fails the deliveries queued with
// ErrClosed.
func (s *Store) closeQueue() {
	s.qmu.Lock()
	s.q.closed = true
	s.kickLocked()
	s.qmu.Unlock()
	<-s.writerDone
}

// writeBatch writes a batch in one transaction under the write lock and
// sets each delivery's uid or err; after the commit, still under the lock,
// the watches get Added in commit order. The checks of each delivery (its
// mailbox, the quota, the UIDs) are made against what the batch has
// written so far and write nothing when they fail, so a delivery refused
// does not touch the others. The writes run without savepoints: when one
// fails (a full disk), the transaction is rolled back and each delivery
// of the batch is tried again in a transaction of its own, so that it
// cannot fail the others.
func (s *Store) writeBatch(batch []*delivery) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.writeTx(batch) || len(batch) == 1 {
		return
	}
	for _, d := range batch {
		d.uid, d.err = 0, nil
		s.writeTx([]*delivery{d})
	}
}

// batchBox is a mailbox a batch delivers to, as the batch has left it.
type batchBox struct {
	userID int64
	name   string
	m      mbox
	err    error  // the lookup's: the mailbox does not exist
	next   uint32 // the UID the next delivery gets
}

// writeTx writes deliveries in one transaction and sets their uid or err.
// It reports false when a write failed and everything was rolled back
// (each err is then set to that failure).
func (s *Store) writeTx(batch []*delivery) bool {
	w := &s.w
	// The transaction is everyone's: one caller's ctx does not end it.
	if err := w.begin(); err != nil {
		for _, d := range batch {
			d.uid, d.err = 0, err
		}
		return true // nothing was written: trying again one by one would not help
	}
	writeFailed := func(err error) bool {
		w.rollback()
		for _, d := range batch {
			d.uid, d.err = 0, err
		}
		return false
	}
	var boxes []*batchBox
	used := map[int64]int64{} // user id -> bytes, the batch's included
	var nextID int64
	ok := 0
	for _, d := range batch {
		if err := d.ctx.Err(); err != nil {
			d.err = err
			continue
		}
		var b *batchBox
		for _, x := range boxes {
			if x.userID == d.userID && x.name == d.mb {
				b = x
				break
			}
		}
		if b == nil {
			b = &batchBox{userID: d.userID, name: d.mb}
			b.m, b.err = lookup(w, d.userID, d.user, d.mb)
			if b.err == nil {
				b.next = b.m.uidnext
			} else if !errors.Is(b.err, ErrNoMailbox) {
				return writeFailed(b.err)
			}
			boxes = append(boxes, b)
		}
		if b.err != nil {
			d.err = b.err
			continue
		}
		u, known := used[d.userID]
		if !known {
			var err error
			if u, err = userSize(w, d.userID); err != nil {
				return writeFailed(err)
			}
			used[d.userID] = u
		}
		if u+int64(len(d.msg)) > s.opts.MaxMailboxBytes {
			d.err = fmt.Errorf("%w: %s uses %d bytes of %d, the message has %d; delete some mail", ErrQuota, d.user, u, s.opts.MaxMailboxBytes, len(d.msg))
			continue
		}
		if b.next == 0 || uint64(b.next) > maxUID {
			d.err = fmt.Errorf("%w: %q has used all its UIDs; create it again", ErrQuota, d.mb)
			continue
		}
		if nextID == 0 {
			if err := w.QueryRow(`SELECT COALESCE(MAX(id), 0) + 1 FROM mail_messages`).Scan(&nextID); err != nil {
				return writeFailed(err)
			}
		}
		if err := insertMessageID(w, nextID, b.m.id, b.next, joinFlags(d.flags), d.date, d.msg); err != nil {
			return writeFailed(err)
		}
		d.uid = b.next
		b.next++
		nextID++
		used[d.userID] = u + int64(len(d.msg))
		ok++
	}
	if ok == 0 {
		w.rollback()
		return true
	}
	for _, b := range boxes {
		if b.err == nil && b.next != b.m.uidnext {
			if _, err := w.Exec(`UPDATE mail_mailboxes SET uidnext = ? WHERE id = ?`, uint64(b.next), b.m.id); err != nil {
				return writeFailed(err)
			}
		}
	}
	if err := w.commit(); err != nil {
		return writeFailed(err)
	}
	s.batches.Add(1)
	for _, d := range batch {
		if d.err == nil {
			s.notify(watchKey{d.user, d.mb}, Change{Kind: Added, UID: d.uid, Flags: d.flags})
		}
	}
	return true
}

// writerConn is the writer's connection, held from its first transaction
// to Close, with its statements prepared once on it: BEGIN, COMMIT and
// ROLLBACK too, which a database/sql transaction would parse again each
// time. Only the writer uses it, under the write lock. It is a writer (see
// lookup, userSize).
type writerConn struct {
	db    *sql.DB
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

// stmt is query prepared on the connection, once; begin has taken the
// connection.
func (w *writerConn) stmt(query string) (*sql.Stmt, error) {
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	st, err := w.conn.PrepareContext(bg, query)
	if err != nil {
		return nil, err
	}
	w.stmts[query] = st
	return st, nil
}

func (w *writerConn) QueryRow(query string, args ...any) *sql.Row {
	st, err := w.stmt(query)
	if err != nil {
		return w.conn.QueryRowContext(bg, query, args...) // fails the same way, in the Row
	}
	return st.QueryRow(args...)
}

func (w *writerConn) Query(query string, args ...any) (*sql.Rows, error) {
	st, err := w.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.Query(args...)
}

func (w *writerConn) Exec(query string, args ...any) (sql.Result, error) {
	st, err := w.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.Exec(args...)
}

// begin starts a write transaction (BEGIN IMMEDIATE: the write lock is
// taken now, waiting busy_timeout for another process's).
func (w *writerConn) begin() error {
	if w.conn == nil {
		c, err := w.db.Conn(bg)
		if err != nil {
			return err
		}
		w.conn, w.stmts = c, map[string]*sql.Stmt{}
	}
	_, err := w.Exec(`BEGIN IMMEDIATE`)
	return err
}

// commit commits; when COMMIT fails, the transaction is rolled back.
func (w *writerConn) commit() error {
	if _, err := w.Exec(`COMMIT`); err != nil {
		w.rollback()
		return err
	}
	return nil
}

// rollback rolls the transaction back. When ROLLBACK itself fails, the
// connection may be left inside a transaction: it is thrown away (closing
// it rolls back), and the next transaction gets a new one.
func (w *writerConn) rollback() {
	if _, err := w.Exec(`ROLLBACK`); err != nil {
		w.discard()
	}
}

// discard closes the connection without giving it back to the pool.
func (w *writerConn) discard() {
	if w.conn == nil {
		return
	}
	for _, st := range w.stmts {
		st.Close()
	}
	_ = w.conn.Raw(func(any) error { return driver.ErrBadConn })
	w.conn.Close()
	w.conn, w.stmts = nil, nil
}

// close closes the statements and gives the connection back, for Close.
func (w *writerConn) close() {
	if w.conn == nil {
		return
	}
	for _, st := range w.stmts {
		st.Close()
	}
	w.conn.Close()
	w.conn, w.stmts = nil, nil
}
