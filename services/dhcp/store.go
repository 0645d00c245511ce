package dhcp

import (
	"database/sql"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"protolab/internal/statedb"
)

// leaseDB keeps the leases in the lab's state database (state.db), table
// dhcp_leases: one row per address, so it holds at most the pool.
//
// Writes are group-committed: the pool queues each changed lease (enqueue),
// one writer goroutine commits everything queued so far in one
// transaction, and an ACK waits for the commit of its lease (wait) — the
// lease is on stable storage before the ACK (RFC 2131 §4.3.2), and a burst
// of clients shares one commit instead of paying one each.
type leaseDB struct {
	db   *sql.DB
	wmu  *sync.Mutex // the database's writers in this process (statedb.WriteLock)
	stmt *sql.Stmt
	errs func(error) // told when a commit fails; the leases stay in memory

	mu      sync.Mutex
	cond    *sync.Cond
	pending []lease
	queued  uint64 // leases queued so far
	done    uint64 // leases committed (or given up) so far
	closed  bool
	wake    chan struct{}
	exited  chan struct{}
}

const leaseSchema = `CREATE TABLE IF NOT EXISTS dhcp_leases (
	ip       TEXT PRIMARY KEY,
	mac      TEXT NOT NULL,
	hostname TEXT NOT NULL,
	expires  INTEGER NOT NULL, -- Unix time in milliseconds
	state    TEXT NOT NULL     -- 'bound' or 'declined'
)`

// openLeaseDB opens the leases table in the state directory.
func openLeaseDB(dir string) (*leaseDB, error) {
	// NORMAL in WAL mode loses nothing when the process dies; leases change
	// at every ACK, so a full sync each time would be the bottleneck.
	db, path, err := statedb.Open(dir, statedb.Normal, 1)
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec(leaseSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("state database %s: %w", path, err)
	}
	stmt, err := db.Prepare(`INSERT INTO dhcp_leases (ip, mac, hostname, expires, state) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (ip) DO UPDATE SET mac = excluded.mac, hostname = excluded.hostname,
		expires = excluded.expires, state = excluded.state`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("state database %s: %w", path, err)
	}
	l := &leaseDB{db: db, wmu: statedb.WriteLock(path), stmt: stmt, errs: func(error) {}, wake: make(chan struct{}, 1), exited: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	go l.writer()
	return l, nil
}

// gatherTime is how long the writer lets leases gather before a commit:
// it adds at most this much to an ACK's time, and makes one commit serve a
// burst of clients.
const gatherTime = 250 * time.Microsecond

// enqueue queues a copy of a lease for the next commit and returns its
// number, for wait.
func (l *leaseDB) enqueue(x lease) uint64 {
	l.mu.Lock()
	l.pending = append(l.pending, x)
	l.queued++
	n := l.queued
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return n
}

// wait returns once lease number n is committed (or the store closed).
func (l *leaseDB) wait(n uint64) {
	l.mu.Lock()
	for l.done < n && !l.closed {
		l.cond.Wait()
	}
	l.mu.Unlock()
}

// writer commits what is queued, batch after batch, until close.
func (l *leaseDB) writer() {
	defer close(l.exited)
	for {
		l.mu.Lock()
		for len(l.pending) == 0 && !l.closed {
			l.mu.Unlock()
			<-l.wake
			time.Sleep(gatherTime)
			l.mu.Lock()
		}
		batch, upto, closed := l.pending, l.queued, l.closed
		l.pending = nil
		l.mu.Unlock()
		if len(batch) > 0 {
			if err := l.commit(batch); err != nil {
				l.errs(err)
			}
		}
		l.mu.Lock()
		l.done = upto
		l.cond.Broadcast()
		l.mu.Unlock()
		if closed && len(batch) == 0 {
			return
		}
	}
}

// commit writes a batch in one transaction (a later record of the same
// address overwrites an earlier one, in order).
func (l *leaseDB) commit(batch []lease) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	tx, err := l.db.Begin()
	if err != nil {
		return err
	}
	stmt := tx.Stmt(l.stmt)
	for i := range batch {
		x := &batch[i]
		st := "bound"
		if x.state == stateDeclined {
			st = "declined"
		}
		if _, err := stmt.Exec(u32IP(x.ip).String(), x.mac, x.hostname, x.expires.UnixMilli(), st); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

// flush waits until everything queued is committed.
func (l *leaseDB) flush() {
	l.mu.Lock()
	n := l.queued
	l.mu.Unlock()
	l.wait(n)
}

// all reads every row; rows that do not parse are skipped.
func (l *leaseDB) all() ([]*lease, error) {
	rows, err := l.db.Query(`SELECT ip, mac, hostname, expires, state FROM dhcp_leases LIMIT ?`, maxPoolSize+maxReservations)
	if err != nil {
		return nil, fmt.Errorf("read leases: %w", err)
	}
	defer rows.Close()
	var out []*lease
	for rows.Next() {
		var ip, mac, host, st string
		var exp int64
		if err := rows.Scan(&ip, &mac, &host, &exp, &st); err != nil {
			return nil, fmt.Errorf("read leases: %w", err)
		}
		a, err := netip.ParseAddr(ip)
		if err != nil || !a.Is4() {
			continue
		}
		x := &lease{ip: ipU32(a), mac: mac, hostname: host, expires: time.UnixMilli(exp)}
		switch st {
		case "bound":
			x.state = stateBound
		case "declined":
			x.state, x.mac = stateDeclined, ""
		default:
			continue
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// clear deletes every lease, after the queued writes (which would
// otherwise bring some back).
func (l *leaseDB) clear() error {
	l.flush()
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if _, err := l.db.Exec(`DELETE FROM dhcp_leases`); err != nil {
		return fmt.Errorf("reset leases: %w", err)
	}
	return nil
}

// close commits what is queued and closes the database.
func (l *leaseDB) close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	<-l.exited
	return l.db.Close()
}
