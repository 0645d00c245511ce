// Package progress keeps what a lab must not forget: which tasks are done,
// how many hints were shown, the journal of events, and a few small facts.
// Everything lives in one state directory, in one SQLite database (pure Go,
// no cgo) in WAL mode, written with synchronous=FULL so that a tick is on
// disk before anyone is told about it; a crash or kill -9 loses nothing that
// was committed.
//
// The state directory also holds the run file (running.json), which tells
// `lab status` and friends where the running lab's console API listens, and
// a lock file that allows one running lab per directory. The lock is an
// flock: it dies with the process, so a run file left by a killed lab is
// recognised as stale.
//
// The database schema, version 2 (PRAGMA user_version):
//
//	progress(lab, learner, task, done_at, hints)
//	    one row per task of a lab that a learner ticked or asked for hints
//	    for; primary key (lab, learner, task); done_at is NULL until the
//	    task is done; hints counts the hints shown. The learner is empty for
//	    the local learner of a solo run (as in events); a classroom keeps one
//	    progress per learner id. Version 1 had no learner column: its rows
//	    are the local learner's.
//	events(id, lab, seq, time, service, kind, client, learner, attrs, transcript)
//	    the event journal; id orders it; seq is the bus's number (it restarts
//	    with each run); attrs is a JSON object of strings.
//	meta(key, value)
//	    small facts: the last lab run, the lab file path...
//
// Times are TEXT in UTC, "2006-01-02T15:04:05.000000000Z", which sorts and
// reads well with the sqlite3 shell.
package progress

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"protolab/internal/statedb"
)

// DBName is the database file inside a state directory.
const DBName = statedb.FileName

// timeFormat is how times are stored: fixed width, so text order is time
// order.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

// migrations brings the schema from version i to version i+1. Never edit
// one that has shipped; append a new one.
var migrations = []string{
	`CREATE TABLE progress (
		lab     TEXT NOT NULL,
		task    TEXT NOT NULL,
		done_at TEXT,
		hints   INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (lab, task)
	);
	CREATE TABLE events (
		id         INTEGER PRIMARY KEY,
		lab        TEXT NOT NULL,
		seq        INTEGER NOT NULL,
		time       TEXT NOT NULL,
		service    TEXT NOT NULL,
		kind       TEXT NOT NULL,
		client     TEXT NOT NULL DEFAULT '',
		learner    TEXT NOT NULL DEFAULT '',
		attrs      TEXT NOT NULL DEFAULT '{}',
		transcript TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX events_lab_id ON events (lab, id);
	CREATE TABLE meta (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	);`,
	// 2: progress per learner; the rows of version 1 are the local learner's.
	`CREATE TABLE progress_v2 (
		lab     TEXT NOT NULL,
		learner TEXT NOT NULL DEFAULT '',
		task    TEXT NOT NULL,
		done_at TEXT,
		hints   INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (lab, learner, task)
	);
	INSERT INTO progress_v2 (lab, learner, task, done_at, hints)
		SELECT lab, '', task, done_at, hints FROM progress;
	DROP TABLE progress;
	ALTER TABLE progress_v2 RENAME TO progress;`,
}

// Store is the progress database of one state directory. It is safe for
// concurrent use; several labs can share it and keep separate progress.
type Store struct {
	dir string
	db  *sql.DB
	// wmu serialises this process's writers of the database, this store's
	// and the services' (statedb.WriteLock), so they queue here instead of
	// polling SQLite's busy handler; busy_timeout covers other processes.
	wmu *sync.Mutex
}

// Open opens (creating if needed) the state directory dir and its database,
// and brings the schema up to date.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("progress: empty state directory; pass --state DIR")
	}
	// Progress commits are rare and each must survive anything: FULL.
	db, path, err := statedb.Open(dir, statedb.Full, 4)
	if err != nil {
		return nil, fmt.Errorf("progress: %w", err)
	}
	abs := filepath.Dir(path)
	s := &Store{dir: abs, db: db, wmu: statedb.WriteLock(path)}
	if err := s.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("progress: state database %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) init() error {
	return s.migrate()
}

// migrate applies the missing migrations, each in its own transaction with
// the version bump, so that two processes opening a new directory at once
// do not both create the tables.
func (s *Store) migrate() error {
	for {
		done, err := s.migrateOne()
		if err != nil || done {
			return err
		}
	}
}

func (s *Store) migrateOne() (done bool, err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.Begin()
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return false, err
	}
	switch {
	case v == len(migrations):
		return true, nil
	case v > len(migrations) || v < 0:
		return false, fmt.Errorf("schema version %d is newer than this program knows (%d); upgrade lab or pass --state DIR", v, len(migrations))
	}
	if _, err := tx.Exec(migrations[v]); err != nil {
		return false, fmt.Errorf("migrate schema to version %d: %w", v+1, err)
	}
	if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
		return false, fmt.Errorf("migrate schema to version %d: %w", v+1, err)
	}
	return false, tx.Commit()
}

// Close closes the database. Everything committed is already on disk.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("progress: close: %w", err)
	}
	return nil
}

// Dir is the state directory, as an absolute path.
func (s *Store) Dir() string { return s.dir }

func checkLab(lab string) error {
	if lab == "" {
		return errors.New("progress: empty lab id")
	}
	return nil
}

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("progress: bad time %q in database: %w", s, err)
	}
	return t, nil
}

// write runs f under the process's write lock.
func (s *Store) write(f func() error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return f()
}

// tx runs f in one write transaction under the process's write lock.
func (s *Store) tx(f func(*sql.Tx) error) error {
	return s.write(func() error {
		tx, err := s.db.BeginTx(context.Background(), nil)
		if err != nil {
			return err
		}
		if err := f(tx); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// MarkDone records that task of lab was done at the given time (now when
// zero) by the local learner; see MarkDoneBy.
func (s *Store) MarkDone(lab, task string, at time.Time) (newly bool, err error) {
	return s.MarkDoneBy(lab, LocalLearner, task, at)
}

// Done lists the done tasks of lab, for the local learner, with the time
// each was done (in UTC).
func (s *Store) Done(lab string) (map[string]time.Time, error) {
	return s.DoneBy(lab, LocalLearner)
}

// NextHint counts one more hint shown for task to the local learner; see
// NextHintBy.
func (s *Store) NextHint(lab, task string, max int) (level int, err error) {
	return s.NextHintBy(lab, LocalLearner, task, max)
}

// HintsShown lists, for each task of lab that had hints shown to the local
// learner, how many.
func (s *Store) HintsShown(lab string) (map[string]int, error) {
	return s.HintsShownBy(lab, LocalLearner)
}

// Reset forgets everything about lab: every learner's progress and hints,
// and its journal. Other labs sharing the directory, and the meta facts,
// are untouched.
func (s *Store) Reset(lab string) error {
	err := s.tx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM progress WHERE lab = ?`, lab); err != nil {
			return err
		}
		_, err := tx.Exec(`DELETE FROM events WHERE lab = ?`, lab)
		return err
	})
	if err != nil {
		return fmt.Errorf("progress: reset %s: %w", lab, err)
	}
	return nil
}

// SetMeta stores a small fact under key, replacing any previous value.
func (s *Store) SetMeta(key, value string) error {
	err := s.write(func() error {
		_, err := s.db.Exec(`INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
	if err != nil {
		return fmt.Errorf("progress: set %s: %w", key, err)
	}
	return nil
}

// Meta returns the fact stored under key, and whether there is one.
func (s *Store) Meta(key string) (string, bool, error) {
	var v string
	err := s.db.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("progress: get %s: %w", key, err)
	}
	return v, true, nil
}
