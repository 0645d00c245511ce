// Package mailstore is the one mail store under the lab's three mail
// servers: a message delivered over SMTP is read over POP3 and IMAP, and a
// message deleted over POP3 is gone in IMAP too (that difference is a
// lesson of the lab).
//
// The store lives in the lab's state directory, in the same SQLite database
// as the progress (state.db, WAL mode, synchronous=NORMAL), in tables
// prefixed mail_ with their own schema version in mail_meta; it never
// touches PRAGMA user_version, which belongs to the progress store. Every
// change is one transaction, so a crash or kill -9 loses nothing that was
// committed and a reader never sees half of a change. (In WAL mode,
// synchronous=NORMAL is durable across a crash or kill -9 of the process;
// only a power cut can lose the last commits. FULL would fsync every
// delivery, which caps SMTP at a few hundred messages a second.)
//
// The schema, version 1:
//
//	mail_meta(key, value)
//	    schema_version, and last_uidvalidity (the last UIDVALIDITY given out,
//	    so that a new mailbox never reuses one).
//	mail_users(id, name, password)
//	    the accounts; name is the lower-case local part.
//	mail_mailboxes(id, user_id, name, uidvalidity, uidnext, bytes)
//	    one row per mailbox; name is "INBOX" or a "/"-separated path;
//	    bytes is the size of its messages, kept by triggers on
//	    mail_messages, so that the quota check reads one row per mailbox.
//	mail_messages(id, mailbox_id, uid, flags, internal_date, size)
//	    one row per message; flags are canonical, sorted, space-separated;
//	    internal_date is TEXT "2006-01-02T15:04:05.000000000Z07:00".
//	mail_bodies(id, data)
//	    the bytes of each message, keyed by its mail_messages id, apart so
//	    that listing a mailbox never reads message bodies.
//
// Deleting a user, mailbox or message cascades (foreign keys) to what it
// holds.
package mailstore

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"protolab/internal/statedb"
)

// Errors returned by the store, wrapped with context; test with errors.Is.
var (
	ErrNoUser    = errors.New("no such user")
	ErrNoMailbox = errors.New("no such mailbox")
	ErrExists    = errors.New("mailbox already exists")
	ErrTooBig    = errors.New("message too big") // over Options.MaxMessageBytes
	ErrQuota     = errors.New("mailbox full")    // the user's total would pass Options.MaxMailboxBytes
	ErrNoMessage = errors.New("no such message")
	ErrInbox     = errors.New("INBOX cannot be deleted")
	ErrClosed    = errors.New("mail store closed") // a delivery queued or made after Close

	// ErrBadName is a mailbox name that cannot be created: empty, not
	// UTF-8, too long, with a control character, "*" or "%", or an empty
	// hierarchy level ("a//b", "/a", "a/").
	ErrBadName = errors.New("invalid mailbox name")
	// ErrBadFlag is a flag that is neither a system flag (\Seen \Answered
	// \Flagged \Deleted \Draft) nor a valid keyword (an IMAP atom).
	ErrBadFlag = errors.New("invalid flag")
	// ErrTooMany is one mailbox too many for a user (MaxMailboxes).
	ErrTooMany = errors.New("too many mailboxes")
	// ErrHasChildren is the deletion of a mailbox that has children
	// ("a" while "a/b" exists): delete the children first.
	ErrHasChildren = errors.New("mailbox has children")
)

// Limits that are not options.
const (
	MaxMailboxName = 200 // bytes in a mailbox name
	MaxMailboxes   = 100 // mailboxes per user, INBOX included
	MaxKeyword     = 100 // bytes in one keyword
	MaxFlags       = 64  // flags on one message
)

// Defaults for zero fields of Options.
const (
	DefaultDomain          = "lab.test"
	DefaultMaxMessageBytes = 10 << 20
	DefaultMaxMailboxBytes = 50 << 20
)

// DefaultUsers are the lab's mail accounts when none are given.
func DefaultUsers() []User {
	return []User{{Name: "alice", Password: "wonderland"}, {Name: "bob", Password: "builder"}}
}

// DBName is the database file inside a state directory (shared with the
// progress store).
const DBName = statedb.FileName

// timeFormat is how internal dates are stored: fixed width, zone kept.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// User is a mail account. Name is the local part ("alice"), compared
// without case and kept in lower case.
type User struct{ Name, Password string }

// Options configure a Store. A zero field means its default: Domain
// "lab.test", Users alice/wonderland and bob/builder, MaxMessageBytes 10
// MiB, MaxMailboxBytes 50 MiB. Welcome is false when zero (the lab's
// service sets it true unless the lab file says otherwise).
type Options struct {
	Domain          string // "lab.test"
	Users           []User
	MaxMessageBytes int64 // default 10 MiB
	MaxMailboxBytes int64 // default 50 MiB (all mailboxes of a user)
	Welcome         bool  // put the welcome messages in each INBOX when created or reset
}

// withDefaults fills the zero fields and validates the result.
func (o Options) withDefaults() (Options, error) {
	if o.Domain == "" {
		o.Domain = DefaultDomain
	}
	if o.Users == nil {
		o.Users = DefaultUsers()
	}
	if o.MaxMessageBytes == 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.MaxMailboxBytes == 0 {
		o.MaxMailboxBytes = DefaultMaxMailboxBytes
	}
	d, err := checkDomain(o.Domain)
	if err != nil {
		return o, err
	}
	o.Domain = d
	if o.MaxMessageBytes < 0 || o.MaxMessageBytes > maxMessageLimit {
		return o, fmt.Errorf("max_message_bytes must be between 1 and %d", int64(maxMessageLimit))
	}
	if o.MaxMailboxBytes < 0 || o.MaxMailboxBytes > maxMailboxLimit {
		return o, fmt.Errorf("max_mailbox_bytes must be between 1 and %d", int64(maxMailboxLimit))
	}
	if len(o.Users) == 0 {
		return o, errors.New("users: give at least one user (name and password)")
	}
	if len(o.Users) > maxUsers {
		return o, fmt.Errorf("users: at most %d users", maxUsers)
	}
	users := make([]User, len(o.Users))
	seen := map[string]bool{}
	for i, u := range o.Users {
		name, err := checkUserName(u.Name)
		if err != nil {
			return o, err
		}
		if seen[name] {
			return o, fmt.Errorf("user %q is given twice (names are compared without case)", name)
		}
		seen[name] = true
		if err := checkPassword(name, u.Password); err != nil {
			return o, err
		}
		users[i] = User{Name: name, Password: u.Password}
	}
	o.Users = users
	return o, nil
}

// Bounds of the options.
const (
	maxMessageLimit = 256 << 20 // SQLite keeps a blob under 1e9 bytes; a lab needs far less
	maxMailboxLimit = 64 << 30
	maxUsers        = 1000
)

// migrations bring the mail schema from version i to i+1. Never edit one
// that has shipped; append a new one.
var migrations = []string{
	`CREATE TABLE mail_users (
		id       INTEGER PRIMARY KEY,
		name     TEXT NOT NULL UNIQUE,
		password TEXT NOT NULL
	);
	CREATE TABLE mail_mailboxes (
		id          INTEGER PRIMARY KEY,
		user_id     INTEGER NOT NULL REFERENCES mail_users (id) ON DELETE CASCADE,
		name        TEXT NOT NULL,
		uidvalidity INTEGER NOT NULL,
		uidnext     INTEGER NOT NULL,
		bytes       INTEGER NOT NULL DEFAULT 0,
		UNIQUE (user_id, name)
	);
	CREATE TABLE mail_messages (
		id            INTEGER PRIMARY KEY,
		mailbox_id    INTEGER NOT NULL REFERENCES mail_mailboxes (id) ON DELETE CASCADE,
		uid           INTEGER NOT NULL,
		flags         TEXT NOT NULL DEFAULT '',
		internal_date TEXT NOT NULL,
		size          INTEGER NOT NULL,
		UNIQUE (mailbox_id, uid)
	);
	CREATE TABLE mail_bodies (
		id   INTEGER PRIMARY KEY REFERENCES mail_messages (id) ON DELETE CASCADE,
		data BLOB NOT NULL
	);
	CREATE TRIGGER mail_messages_insert AFTER INSERT ON mail_messages BEGIN
		UPDATE mail_mailboxes SET bytes = bytes + new.size WHERE id = new.mailbox_id;
	END;
	CREATE TRIGGER mail_messages_delete AFTER DELETE ON mail_messages BEGIN
		UPDATE mail_mailboxes SET bytes = bytes - old.size WHERE id = old.mailbox_id;
	END;
	CREATE TRIGGER mail_messages_move AFTER UPDATE OF mailbox_id ON mail_messages
	WHEN old.mailbox_id <> new.mailbox_id BEGIN
		UPDATE mail_mailboxes SET bytes = bytes - old.size WHERE id = old.mailbox_id;
		UPDATE mail_mailboxes SET bytes = bytes + new.size WHERE id = new.mailbox_id;
	END;`,
}

// Store is the mail store of one state directory. It is safe for
// concurrent use by many sessions: writes are serialised, each in one
// transaction, and reads see only whole changes.
type Store struct {
	db     *sql.DB
	opts   Options
	users  map[string]int64 // lower-case name -> mail_users.id
	passwd map[string][32]byte

	// wmu serialises this process's writers of the database, the
	// store's and the others' (statedb.WriteLock), and orders the
	// notifications as the commits; busy_timeout covers other processes.
	wmu *sync.Mutex

	// qmu guards q, the deliveries waiting to share a transaction (see
	// groupcommit.go); it is never held while waiting for wmu.
	qmu sync.Mutex
	q   deliverQueue
	// The writer's (see groupcommit.go): its connection, what wakes it
	// (new work, the end of the arrivals, Close), the bound of its wait for
	// arrivals (maxGather; tests change it), and its end.
	w           writerConn
	kick        chan struct{}
	gatherMax   time.Duration
	gatherTimer *time.Timer
	writerDone  chan struct{}
	// batches counts the delivery transactions committed (for tests).
	batches atomic.Int64

	// stmt are the readers' statements, prepared once: parsing a join
	// costs more than running it.
	stmt statements

	watchMu sync.Mutex
	watches map[watchKey]map[*Watch]struct{}
	closed  bool
}

// Open opens (creating if needed) the mail store in stateDir: its tables,
// the users of opts (added, passwords updated) and their INBOXes, with the
// welcome messages when opts.Welcome. Users in the database that are not in
// opts keep their mail on disk but do not exist for the store.
func Open(stateDir string, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("mailstore: %w", err)
	}
	if stateDir == "" {
		return nil, errors.New("mailstore: empty state directory; pass --state DIR")
	}
	// WAL lets the sessions' readers run beside the one writer; NORMAL is
	// durable across a crash of the process (see the package comment).
	db, path, err := statedb.Open(stateDir, statedb.Normal, 8)
	if err != nil {
		return nil, fmt.Errorf("mailstore: %w", err)
	}
	s := &Store{db: db, wmu: statedb.WriteLock(path), opts: opts, users: map[string]int64{}, passwd: map[string][32]byte{},
		watches: map[watchKey]map[*Watch]struct{}{}, w: writerConn{db: db},
		kick: make(chan struct{}, 1), gatherMax: maxGather, gatherTimer: time.NewTimer(time.Hour),
		writerDone: make(chan struct{})}
	s.gatherTimer.Stop()
	for _, u := range opts.Users {
		s.passwd[u.Name] = sha256.Sum256([]byte(u.Password))
	}
	if err := s.init(); err != nil {
		s.stmt.close()
		db.Close()
		return nil, fmt.Errorf("mailstore: state database %s: %w", path, err)
	}
	go s.writeLoop()
	return s, nil
}

func (s *Store) init() error {
	for {
		done, err := s.migrateOne()
		if err != nil {
			return err
		}
		if done {
			break
		}
	}
	if err := s.stmt.prepare(s.db); err != nil {
		return err
	}
	return s.tx(context.Background(), func(tx *sql.Tx) error {
		now := time.Now()
		for _, u := range s.opts.Users {
			var id int64
			err := tx.QueryRow(`INSERT INTO mail_users (name, password) VALUES (?, ?)
				ON CONFLICT (name) DO UPDATE SET password = excluded.password
				RETURNING id`, u.Name, u.Password).Scan(&id)
			if err != nil {
				return fmt.Errorf("add user %s: %w", u.Name, err)
			}
			s.users[u.Name] = id
			var n int
			if err := tx.QueryRow(`SELECT COUNT(*) FROM mail_mailboxes WHERE user_id = ? AND name = 'INBOX'`, id).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				if err := s.createInbox(tx, u.Name, id, now); err != nil {
					return err
				}
			}
		}
		return nil
	}, nil)
}

// migrateOne applies the next missing migration with its version bump, in
// one transaction, so that two processes opening a new directory at once do
// not both create the tables.
func (s *Store) migrateOne() (done bool, err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.Begin()
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`CREATE TABLE IF NOT EXISTS mail_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`); err != nil {
		return false, err
	}
	v, err := metaInt(tx, "schema_version")
	if err != nil {
		return false, err
	}
	switch {
	case v == int64(len(migrations)):
		return true, tx.Commit()
	case v > int64(len(migrations)) || v < 0:
		return false, fmt.Errorf("mail schema version %d is newer than this program knows (%d); upgrade lab or pass --state DIR", v, len(migrations))
	}
	if _, err := tx.Exec(migrations[v]); err != nil {
		return false, fmt.Errorf("migrate mail schema to version %d: %w", v+1, err)
	}
	if err := setMeta(tx, "schema_version", v+1); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

func metaInt(tx *sql.Tx, key string) (int64, error) {
	var s string
	err := tx.QueryRow(`SELECT value FROM mail_meta WHERE key = ?`, key).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad %s %q in mail_meta", key, s)
	}
	return v, nil
}

func setMeta(tx *sql.Tx, key string, v int64) error {
	_, err := tx.Exec(`INSERT INTO mail_meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, strconv.FormatInt(v, 10))
	return err
}

// newUIDValidity gives out a UIDVALIDITY never given out before in this
// database: the current Unix time, or one more than the last when that is
// not smaller (several mailboxes created in one second).
func newUIDValidity(tx *sql.Tx, now time.Time) (uint32, error) {
	last, err := metaInt(tx, "last_uidvalidity")
	if err != nil {
		return 0, err
	}
	v := max(last+1, now.Unix())
	if v <= 0 || v > 0xFFFFFFFF {
		v = 1 // after 2106, or a clock before 1970
	}
	if err := setMeta(tx, "last_uidvalidity", v); err != nil {
		return 0, err
	}
	return uint32(v), nil
}

// Close ends every watch and closes the database, after the write running
// (if any) ends. Deliveries still queued fail with ErrClosed. Everything
// committed is already on disk.
func (s *Store) Close() error {
	s.closeQueue()
	s.endAllWatches()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.w.close()
	s.stmt.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("mailstore: close: %w", err)
	}
	return nil
}

// statements are the prepared queries of the readers.
type statements struct {
	read, list, info, infoAll *sql.Stmt
}

func (st *statements) prepare(db *sql.DB) error {
	for _, p := range []struct {
		dst *(*sql.Stmt)
		sql string
	}{
		{&st.read, `SELECT b.data FROM mail_mailboxes x
			JOIN mail_messages m ON m.mailbox_id = x.id AND m.uid = ?
			JOIN mail_bodies b ON b.id = m.id
			WHERE x.user_id = ? AND x.name = ?`},
		// A LEFT JOIN tells an empty mailbox (one row of NULLs) from none
		// (no row), in the same snapshot.
		{&st.list, `SELECT m.uid, m.flags, m.internal_date, m.size
			FROM mail_mailboxes x LEFT JOIN mail_messages m ON m.mailbox_id = x.id
			WHERE x.user_id = ? AND x.name = ? ORDER BY m.uid`},
		{&st.info, fmt.Sprintf(infoQuery, " AND x.name = ?")},
		{&st.infoAll, fmt.Sprintf(infoQuery, "")},
	} {
		var err error
		if *p.dst, err = db.Prepare(p.sql); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
	}
	return nil
}

func (st *statements) close() {
	for _, s := range []*sql.Stmt{st.read, st.list, st.info, st.infoAll} {
		if s != nil {
			s.Close()
		}
	}
}

// Domain is the mail domain, "lab.test".
func (s *Store) Domain() string { return s.opts.Domain }

// MaxMessageBytes is the largest message the store takes (servers advertise
// it: SMTP SIZE, IMAP APPENDLIMIT).
func (s *Store) MaxMessageBytes() int64 { return s.opts.MaxMessageBytes }

// Users lists the accounts, names in lower case, in the order of the
// options.
func (s *Store) Users() []User { return append([]User(nil), s.opts.Users...) }

// UserExists reports whether name (a local part, any case) is an account.
func (s *Store) UserExists(name string) bool {
	_, ok := s.users[strings.ToLower(name)]
	return ok
}

// Authenticate reports whether password is name's password. The
// comparison takes the same time whatever the password and whether or not
// the user exists.
func (s *Store) Authenticate(name, password string) bool {
	want, ok := s.passwd[strings.ToLower(name)]
	got := sha256.Sum256([]byte(password))
	eq := subtle.ConstantTimeCompare(want[:], got[:]) == 1
	return ok && eq
}

// user resolves a user name to its canonical name and id.
func (s *Store) user(name string) (string, int64, error) {
	n := strings.ToLower(name)
	id, ok := s.users[n]
	if !ok {
		return "", 0, fmt.Errorf("user %q: %w", name, ErrNoUser)
	}
	return n, id, nil
}

// tx runs f in one write transaction under the write lock; after the
// commit, and still under the lock so that watchers see changes in commit
// order, it calls after (which may be nil).
func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error, after func()) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if after != nil {
		after()
	}
	return nil
}

func formatTime(t time.Time) string { return t.Format(timeFormat) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad internal date %q in database: %w", s, err)
	}
	return t, nil
}

// createInbox creates the INBOX of a user, with the welcome messages when
// the options ask for them.
func (s *Store) createInbox(tx *sql.Tx, user string, userID int64, now time.Time) error {
	id, uv, err := insertMailbox(tx, userID, "INBOX", now)
	if err != nil {
		return fmt.Errorf("create INBOX of %s: %w", user, err)
	}
	if !s.opts.Welcome {
		return nil
	}
	for i, msg := range welcomeMessages(user, s.opts.Domain, now, uv) {
		if _, err := insertMessage(tx, id, uint32(i+1), "", now, msg); err != nil {
			return fmt.Errorf("welcome message for %s: %w", user, err)
		}
	}
	_, err = tx.Exec(`UPDATE mail_mailboxes SET uidnext = ? WHERE id = ?`, len(welcomeLangs)+1, id)
	return err
}

// insertMailbox adds an empty mailbox with a new UIDVALIDITY.
func insertMailbox(tx *sql.Tx, userID int64, name string, now time.Time) (id int64, uidvalidity uint32, err error) {
	uv, err := newUIDValidity(tx, now)
	if err != nil {
		return 0, 0, err
	}
	err = tx.QueryRow(`INSERT INTO mail_mailboxes (user_id, name, uidvalidity, uidnext) VALUES (?, ?, ?, 1)
		RETURNING id`, userID, name, uv).Scan(&id)
	return id, uv, err
}

// insertMessage adds a message and its body; the caller moves uidnext.
func insertMessage(tx writer, mailboxID int64, uid uint32, flags string, date time.Time, msg []byte) (int64, error) {
	var id int64
	err := tx.QueryRow(`INSERT INTO mail_messages (mailbox_id, uid, flags, internal_date, size)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, mailboxID, uid, flags, formatTime(date), len(msg)).Scan(&id)
	if err != nil {
		return 0, err
	}
	if msg == nil {
		msg = []byte{}
	}
	if _, err := tx.Exec(`INSERT INTO mail_bodies (id, data) VALUES (?, ?)`, id, msg); err != nil {
		return 0, err
	}
	return id, nil
}

// insertMessageID adds a message and its body under a given id (one
// above the largest, which the caller keeps track of during a
// transaction): two statements that return no rows. The caller moves
// uidnext.
func insertMessageID(tx writer, id, mailboxID int64, uid uint32, flags string, date time.Time, msg []byte) error {
	if _, err := tx.Exec(`INSERT INTO mail_messages (id, mailbox_id, uid, flags, internal_date, size)
		VALUES (?, ?, ?, ?, ?, ?)`, id, mailboxID, uid, flags, formatTime(date), len(msg)); err != nil {
		return err
	}
	if msg == nil {
		msg = []byte{}
	}
	_, err := tx.Exec(`INSERT INTO mail_bodies (id, data) VALUES (?, ?)`, id, msg)
	return err
}

// Reset brings the store back to its initial state: every mailbox of every
// user removed, then each INBOX created again, empty or with the welcome
// messages, under a new UIDVALIDITY (so IMAP clients resynchronise). Users
// no longer in the options are forgotten. Every watch gets MailboxGone and
// ends.
func (s *Store) Reset(ctx context.Context) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM mail_mailboxes`); err != nil {
			return err
		}
		var keep []any
		var marks []string
		for _, u := range s.opts.Users {
			keep = append(keep, s.users[u.Name])
			marks = append(marks, "?")
		}
		if _, err := tx.Exec(`DELETE FROM mail_users WHERE id NOT IN (`+strings.Join(marks, ",")+`)`, keep...); err != nil {
			return err
		}
		now := time.Now()
		for _, u := range s.opts.Users {
			if err := s.createInbox(tx, u.Name, s.users[u.Name], now); err != nil {
				return err
			}
		}
		return nil
	}, s.goneAll)
	if err != nil {
		return fmt.Errorf("mailstore: reset: %w", err)
	}
	return nil
}
