package mailstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// bg is the context of the methods that take none.
var bg = context.Background()

// Message is what a mailbox listing tells about one message.
type Message struct {
	UID          uint32
	Flags        []string // canonical: \Seen \Answered \Flagged \Deleted \Draft; keywords as first given; sorted
	InternalDate time.Time
	Size         int64
}

// FlagOp is how StoreFlags changes flags.
type FlagOp int

// The flag operations, as IMAP's STORE FLAGS, +FLAGS and -FLAGS.
const (
	FlagsSet FlagOp = iota
	FlagsAdd
	FlagsRemove
)

// maxUID is the largest UID; a mailbox that reaches it takes no more mail.
const maxUID = 1<<32 - 1

// target resolves a user and a mailbox name for an operation on an
// existing mailbox: an invalid name is simply a mailbox that does not exist.
func (s *Store) target(user, mailbox string) (name string, userID int64, mb string, err error) {
	name, userID, err = s.user(user)
	if err != nil {
		return "", 0, "", err
	}
	mb, err = CanonicalMailbox(mailbox)
	if err != nil {
		return "", 0, "", fmt.Errorf("mailbox %q of %s: %w", mailbox, name, ErrNoMailbox)
	}
	return name, userID, mb, nil
}

// userSize is the total size of a user's messages.
func userSize(tx querier, userID int64) (int64, error) {
	var n int64
	err := tx.QueryRow(`SELECT COALESCE(SUM(bytes), 0) FROM mail_mailboxes WHERE user_id = ?`, userID).Scan(&n)
	return n, err
}

// Deliver stores a message (SMTP delivery, IMAP APPEND) and returns its
// UID once it is committed. The bytes are kept exactly as given (CRLF line
// ends are the caller's business). flags may be nil; a zero date means now.
// Errors: ErrNoUser, ErrNoMailbox, ErrTooBig (over MaxMessageBytes,
// checked before anything), ErrQuota (the user's mailboxes would pass
// MaxMailboxBytes), ErrBadFlag, ErrClosed. Watches get Added.
//
// Concurrent deliveries share a transaction (group commit, see
// groupcommit.go), each with its own result. When ctx ends while the
// delivery waits for its turn, Deliver returns ctx's error and writes
// nothing; once its transaction is being written, Deliver waits for the
// commit and may still return a UID.
func (s *Store) Deliver(ctx context.Context, user, mailbox string, msg []byte, flags []string, date time.Time) (uint32, error) {
	u, userID, mb, err := s.target(user, mailbox)
	if err != nil {
		return 0, fmt.Errorf("mailstore: deliver: %w", err)
	}
	if int64(len(msg)) > s.opts.MaxMessageBytes {
		return 0, fmt.Errorf("mailstore: deliver to %s: %w: %d bytes, the limit is %d", u, ErrTooBig, len(msg), s.opts.MaxMessageBytes)
	}
	fl, err := CanonicalFlags(flags)
	if err != nil {
		return 0, fmt.Errorf("mailstore: deliver to %s: %w", u, err)
	}
	if date.IsZero() {
		date = time.Now()
	}
	if ctx == nil {
		ctx = bg
	}
	uid, err := s.enqueue(&delivery{ctx: ctx, user: u, userID: userID, mb: mb, msg: msg, flags: fl, date: date})
	if err != nil {
		return 0, fmt.Errorf("mailstore: deliver to %s: %w", u, err)
	}
	return uid, nil
}

// List lists a mailbox's messages by ascending UID, in one query.
func (s *Store) List(user, mailbox string) ([]Message, error) {
	u, userID, mb, err := s.target(user, mailbox)
	if err != nil {
		return nil, fmt.Errorf("mailstore: list: %w", err)
	}
	rows, err := s.stmt.list.Query(userID, mb)
	if err != nil {
		return nil, fmt.Errorf("mailstore: list %q of %s: %w", mb, u, err)
	}
	defer rows.Close()
	found := false
	out := []Message{}
	for rows.Next() {
		found = true
		var uid, size sql.NullInt64
		var flags, date sql.NullString
		if err := rows.Scan(&uid, &flags, &date, &size); err != nil {
			return nil, fmt.Errorf("mailstore: list %q of %s: %w", mb, u, err)
		}
		if !uid.Valid {
			continue
		}
		t, err := parseTime(date.String)
		if err != nil {
			return nil, fmt.Errorf("mailstore: list %q of %s: %w", mb, u, err)
		}
		out = append(out, Message{UID: uint32(uid.Int64), Flags: splitFlags(flags.String), InternalDate: t, Size: size.Int64})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mailstore: list %q of %s: %w", mb, u, err)
	}
	if !found {
		return nil, fmt.Errorf("mailstore: list %q of %s: %w", mb, u, ErrNoMailbox)
	}
	return out, nil
}

// Read returns the exact bytes of a message, in one indexed query.
func (s *Store) Read(user, mailbox string, uid uint32) ([]byte, error) {
	u, userID, mb, err := s.target(user, mailbox)
	if err != nil {
		return nil, fmt.Errorf("mailstore: read: %w", err)
	}
	var data []byte
	err = s.stmt.read.QueryRow(uid, userID, mb).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		// Which is missing, the message or its mailbox?
		if _, err := lookup(s.db, userID, u, mb); err != nil {
			return nil, fmt.Errorf("mailstore: read: %w", err)
		}
		return nil, fmt.Errorf("mailstore: read UID %d in %q of %s: %w", uid, mb, u, ErrNoMessage)
	}
	if err != nil {
		return nil, fmt.Errorf("mailstore: read UID %d in %q of %s: %w", uid, mb, u, err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// uidSet is a set of UIDs as a JSON array, for `uid IN (SELECT value FROM
// json_each(?))`: one statement whatever the number of UIDs.
func uidSet(uids []uint32) string {
	var b strings.Builder
	b.Grow(len(uids)*6 + 2)
	b.WriteByte('[')
	for i, u := range uids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(u), 10))
	}
	b.WriteByte(']')
	return b.String()
}

// collectUIDs reads a one-column result of UIDs, sorted ascending.
func collectUIDs(rows *sql.Rows, err error) ([]uint32, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var u int64
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, uint32(u))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// removed builds the Removed changes for uids.
func removed(uids []uint32) []Change {
	out := make([]Change, len(uids))
	for i, u := range uids {
		out[i] = Change{Kind: Removed, UID: u}
	}
	return out
}

// row is a message row as the writers read it.
type row struct {
	id   int64
	msg  Message
	data string // internal_date as stored
}

// selectRows reads the messages of a mailbox among uids, by UID.
func selectRows(tx *sql.Tx, mailboxID int64, uids []uint32) ([]row, error) {
	rows, err := tx.Query(`SELECT id, uid, flags, internal_date, size FROM mail_messages
		WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid`, mailboxID, uidSet(uids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		var uid int64
		var flags string
		if err := rows.Scan(&r.id, &uid, &flags, &r.data, &r.msg.Size); err != nil {
			return nil, err
		}
		t, err := parseTime(r.data)
		if err != nil {
			return nil, err
		}
		r.msg.UID, r.msg.Flags, r.msg.InternalDate = uint32(uid), splitFlags(flags), t
		out = append(out, r)
	}
	return out, rows.Err()
}

// StoreFlags changes the flags of the messages among uids (UIDs not in the
// mailbox are ignored) and returns them as they are now, by UID. Watches
// get FlagsChanged for each message whose flags really changed.
func (s *Store) StoreFlags(user, mailbox string, uids []uint32, op FlagOp, flags []string) ([]Message, error) {
	u, userID, mb, err := s.target(user, mailbox)
	if err != nil {
		return nil, fmt.Errorf("mailstore: store flags: %w", err)
	}
	if op < FlagsSet || op > FlagsRemove {
		return nil, fmt.Errorf("mailstore: store flags: unknown operation %d", op)
	}
	fl, err := CanonicalFlags(flags)
	if err != nil {
		return nil, fmt.Errorf("mailstore: store flags in %q of %s: %w", mb, u, err)
	}
	out := []Message{}
	var changes []Change
	err = s.tx(bg, func(tx *sql.Tx) error {
		m, err := lookup(tx, userID, u, mb)
		if err != nil {
			return err
		}
		rows, err := selectRows(tx, m.id, uids)
		if err != nil {
			return err
		}
		for _, r := range rows {
			nf := applyFlags(r.msg.Flags, op, fl)
			if !slices.Equal(nf, r.msg.Flags) {
				if _, err := tx.Exec(`UPDATE mail_messages SET flags = ? WHERE id = ?`, joinFlags(nf), r.id); err != nil {
					return err
				}
				changes = append(changes, Change{Kind: FlagsChanged, UID: r.msg.UID, Flags: nf})
			}
			r.msg.Flags = nf
			out = append(out, r.msg)
		}
		return nil
	}, func() { s.notify(watchKey{u, mb}, changes...) })
	if err != nil {
		return nil, fmt.Errorf("mailstore: store flags in %q of %s: %w", mb, u, err)
	}
	return out, nil
}

// Expunge removes the messages flagged \Deleted among uids (nil: all the
// messages flagged \Deleted) and returns their UIDs, ascending. Watches get
// Removed.
func (s *Store) Expunge(user, mailbox string, uids []uint32) ([]uint32, error) {
	u, userID, mb, err := s.target(user, mailbox)
	if err != nil {
		return nil, fmt.Errorf("mailstore: expunge: %w", err)
	}
	var gone []uint32
	err = s.tx(bg, func(tx *sql.Tx) error {
		m, err := lookup(tx, userID, u, mb)
		if err != nil {
			return err
		}
		q := `DELETE FROM mail_messages WHERE mailbox_id = ? AND instr(' ' || flags || ' ', ' \Deleted ') > 0`
		args := []any{m.id}
		if uids != nil {
			q += ` AND uid IN (SELECT value FROM json_each(?))`
			args = append(args, uidSet(uids))
		}
		gone, err = collectUIDs(tx.Query(q+` RETURNING uid`, args...))
		return err
	}, func() { s.notify(watchKey{u, mb}, removed(gone)...) })
	if err != nil {
		return nil, fmt.Errorf("mailstore: expunge %q of %s: %w", mb, u, err)
	}
	return gone, nil
}

// Remove removes the messages among uids at once, whatever their flags (a
// POP3 session's deletions, applied at QUIT). UIDs no longer in the mailbox
// (removed meanwhile by another session) are ignored. Watches get Removed.
func (s *Store) Remove(user, mailbox string, uids []uint32) error {
	u, userID, mb, err := s.target(user, mailbox)
	if err != nil {
		return fmt.Errorf("mailstore: remove: %w", err)
	}
	var gone []uint32
	err = s.tx(bg, func(tx *sql.Tx) error {
		m, err := lookup(tx, userID, u, mb)
		if err != nil {
			return err
		}
		gone, err = collectUIDs(tx.Query(`DELETE FROM mail_messages WHERE mailbox_id = ?
			AND uid IN (SELECT value FROM json_each(?)) RETURNING uid`, m.id, uidSet(uids)))
		return err
	}, func() { s.notify(watchKey{u, mb}, removed(gone)...) })
	if err != nil {
		return fmt.Errorf("mailstore: remove from %q of %s: %w", mb, u, err)
	}
	return nil
}

// Copy copies the messages among uids (UIDs not in the mailbox are
// ignored) from one mailbox of user to another (or the same), flags and
// internal date kept, new UIDs given in the order of the old ones; it
// returns old UID -> new UID. Errors: ErrNoMailbox (either mailbox),
// ErrQuota. Watches on `to` get Added.
func (s *Store) Copy(user, from string, uids []uint32, to string) (map[uint32]uint32, error) {
	return s.transfer(user, from, uids, to, false)
}

// Move is Copy then the removal of the originals, in one transaction
// (IMAP's MOVE). Watches on `to` get Added, then those on `from` Removed.
func (s *Store) Move(user, from string, uids []uint32, to string) (map[uint32]uint32, error) {
	return s.transfer(user, from, uids, to, true)
}

func (s *Store) transfer(user, from string, uids []uint32, to string, move bool) (map[uint32]uint32, error) {
	verb := "copy"
	if move {
		verb = "move"
	}
	u, userID, src, err := s.target(user, from)
	if err != nil {
		return nil, fmt.Errorf("mailstore: %s: %w", verb, err)
	}
	_, _, dst, err := s.target(user, to)
	if err != nil {
		return nil, fmt.Errorf("mailstore: %s: %w", verb, err)
	}
	out := map[uint32]uint32{}
	var added []Change
	var gone []uint32
	err = s.tx(bg, func(tx *sql.Tx) error {
		sm, err := lookup(tx, userID, u, src)
		if err != nil {
			return err
		}
		dm, err := lookup(tx, userID, u, dst)
		if err != nil {
			return err
		}
		rows, err := selectRows(tx, sm.id, uids)
		if err != nil || len(rows) == 0 {
			return err
		}
		if uint64(dm.uidnext)+uint64(len(rows))-1 > maxUID || dm.uidnext == 0 {
			return fmt.Errorf("%w: %q has used all its UIDs; create it again", ErrQuota, dst)
		}
		if !move {
			var size int64
			for _, r := range rows {
				size += r.msg.Size
			}
			used, err := userSize(tx, userID)
			if err != nil {
				return err
			}
			if used+size > s.opts.MaxMailboxBytes {
				return fmt.Errorf("%w: %s uses %d bytes of %d, the copies have %d; delete some mail", ErrQuota, u, used, s.opts.MaxMailboxBytes, size)
			}
		}
		next := dm.uidnext
		for _, r := range rows {
			if move {
				_, err = tx.Exec(`UPDATE mail_messages SET mailbox_id = ?, uid = ? WHERE id = ?`, dm.id, next, r.id)
				gone = append(gone, r.msg.UID)
			} else {
				err = copyRow(tx, dm.id, next, r)
			}
			if err != nil {
				return err
			}
			out[r.msg.UID] = next
			added = append(added, Change{Kind: Added, UID: next, Flags: r.msg.Flags})
			next++
		}
		_, err = tx.Exec(`UPDATE mail_mailboxes SET uidnext = ? WHERE id = ?`, uint64(next), dm.id)
		return err
	}, func() {
		s.notify(watchKey{u, dst}, added...)
		s.notify(watchKey{u, src}, removed(gone)...)
	})
	if err != nil {
		return nil, fmt.Errorf("mailstore: %s from %q to %q of %s: %w", verb, src, dst, u, err)
	}
	return out, nil
}

// copyRow copies a message and its body into a mailbox under a new UID.
func copyRow(tx *sql.Tx, mailboxID int64, uid uint32, r row) error {
	var id int64
	err := tx.QueryRow(`INSERT INTO mail_messages (mailbox_id, uid, flags, internal_date, size)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, mailboxID, uid, joinFlags(r.msg.Flags), r.data, r.msg.Size).Scan(&id)
	if err != nil {
		return err
	}
	_, err = tx.Exec(`INSERT INTO mail_bodies (id, data) SELECT ?, data FROM mail_bodies WHERE id = ?`, id, r.id)
	return err
}
