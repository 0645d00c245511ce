// Package statedb opens the one SQLite database of a lab's state directory
// (state.db), which the progress store and the services that keep data (the
// mail store) share, each in its own tables. Every connection gets the same
// settings: WAL (readers beside the one writer), a busy timeout, foreign
// keys, and transactions that take the write lock up front.
package statedb

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go, no cgo)
)

// FileName is the database's file in the state directory.
const FileName = "state.db"

// Sync is how hard a commit waits for the disk.
type Sync string

const (
	// Full fsyncs every commit: nothing committed is lost, even on a power
	// cut. For progress, where commits are rare.
	Full Sync = "FULL"
	// Normal, in WAL mode, loses nothing on a crash or kill -9 of the
	// process; only a power cut can lose the last commits. For the mail
	// store, which commits thousands of deliveries a second.
	Normal Sync = "NORMAL"
)

// Open opens (creating if needed) dir/state.db with at most conns
// connections. It creates dir (mode 0700) and the file (0600) itself so
// that they are private, and checks that WAL is on. Errors say what to do.
func Open(dir string, sync Sync, conns int) (*sql.DB, string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, "", fmt.Errorf("state directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, "", fmt.Errorf("create state directory: %w; pass --state DIR to use another one", err)
	}
	path := filepath.Join(abs, FileName)
	// SQLite gives the -wal and -shm files the mode of this one.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("open state database: %w; pass --state DIR to use another directory", err)
	}
	f.Close()
	db, err := sql.Open("sqlite", dsn(path, sync))
	if err != nil {
		return nil, "", fmt.Errorf("open state database %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, "", fmt.Errorf("state database %s: %w", path, err)
	}
	if mode != "wal" {
		db.Close()
		return nil, "", fmt.Errorf("state database %s: journal mode is %q, not wal; put the state directory on a local disk (--state DIR)", path, mode)
	}
	return db, path, nil
}

// The write locks, one per database file of this process.
var (
	writersMu sync.Mutex
	writers   = map[string]*sync.Mutex{}
)

// WriteLock is the lock every writer of the database at path (as Open
// returns it) takes in this process around a write transaction: the
// progress store, the journal, the mail store and the DHCP leases then
// queue here, handed over at once, instead of meeting in SQLite, whose
// busy handler sleeps for up to 100 ms between tries. busy_timeout still
// covers writers of other processes.
func WriteLock(path string) *sync.Mutex {
	writersMu.Lock()
	defer writersMu.Unlock()
	mu, ok := writers[path]
	if !ok {
		mu = new(sync.Mutex)
		writers[path] = mu
	}
	return mu
}

// dsn builds the driver's URI (a file: URI, so that directories with spaces,
// '?' or '#' work).
func dsn(path string, sync Sync) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+string(sync)+")")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}
