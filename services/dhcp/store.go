package dhcp

import (
	"database/sql"
	"fmt"
	"net/netip"
	"time"

	"protolab/internal/statedb"
)

// leaseDB keeps the leases in the lab's state database (state.db), table
// dhcp_leases: one row per address, so it holds at most the pool.
type leaseDB struct {
	db  *sql.DB
	put func(*lease) error
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
	l := &leaseDB{db: db}
	l.put = func(x *lease) error {
		st := "bound"
		if x.state == stateDeclined {
			st = "declined"
		}
		_, err := stmt.Exec(u32IP(x.ip).String(), x.mac, x.hostname, x.expires.UnixMilli(), st)
		return err
	}
	return l, nil
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

// clear deletes every lease.
func (l *leaseDB) clear() error {
	if _, err := l.db.Exec(`DELETE FROM dhcp_leases`); err != nil {
		return fmt.Errorf("reset leases: %w", err)
	}
	return nil
}

// close closes the database.
func (l *leaseDB) close() error { return l.db.Close() }
