package mailstore

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// MailboxInfo is the state of one mailbox, as IMAP's SELECT and STATUS
// report it.
type MailboxInfo struct {
	Name        string // "INBOX", "Archives", "Archives/2026" (hierarchy separator "/")
	UIDValidity uint32
	UIDNext     uint32
	Messages    int
	Unseen      int // messages without \Seen
	Size        int64
}

// querier is what *sql.DB and *sql.Tx have in common here.
type querier interface {
	QueryRow(query string, args ...any) *sql.Row
	Query(query string, args ...any) (*sql.Rows, error)
}

// writer is a querier that also executes: a *sql.Tx, or the group
// commit's writerConn.
type writer interface {
	querier
	Exec(query string, args ...any) (sql.Result, error)
}

// infoQuery reads mailboxes with their counts in one statement (one
// snapshot); %s adds conditions.
const infoQuery = `SELECT x.name, x.uidvalidity, x.uidnext, COUNT(m.id), COALESCE(SUM(m.size), 0),
	COALESCE(SUM(instr(' ' || m.flags || ' ', ' \Seen ') = 0), 0)
	FROM mail_mailboxes x LEFT JOIN mail_messages m ON m.mailbox_id = x.id
	WHERE x.user_id = ?%s GROUP BY x.id`

func scanInfo(sc interface{ Scan(...any) error }) (MailboxInfo, error) {
	var mi MailboxInfo
	var uv, un int64
	err := sc.Scan(&mi.Name, &uv, &un, &mi.Messages, &mi.Size, &mi.Unseen)
	mi.UIDValidity, mi.UIDNext = uint32(uv), uint32(un)
	return mi, err
}

// Mailboxes lists the user's mailboxes, INBOX first, then by name (byte
// order).
func (s *Store) Mailboxes(user string) ([]MailboxInfo, error) {
	_, uid, err := s.user(user)
	if err != nil {
		return nil, fmt.Errorf("mailstore: %w", err)
	}
	rows, err := s.stmt.infoAll.Query(uid)
	if err != nil {
		return nil, fmt.Errorf("mailstore: list mailboxes of %s: %w", user, err)
	}
	defer rows.Close()
	var out []MailboxInfo
	for rows.Next() {
		mi, err := scanInfo(rows)
		if err != nil {
			return nil, fmt.Errorf("mailstore: list mailboxes of %s: %w", user, err)
		}
		out = append(out, mi)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mailstore: list mailboxes of %s: %w", user, err)
	}
	slices.SortFunc(out, func(a, b MailboxInfo) int { return compareNames(a.Name, b.Name) })
	return out, nil
}

// compareNames orders mailbox names: INBOX first, then byte order.
func compareNames(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == Inbox:
		return -1
	case b == Inbox:
		return 1
	}
	return strings.Compare(a, b)
}

// Mailbox returns the state of one mailbox; "inbox" in any case is INBOX.
func (s *Store) Mailbox(user, name string) (MailboxInfo, error) {
	_, uid, err := s.user(user)
	if err != nil {
		return MailboxInfo{}, fmt.Errorf("mailstore: %w", err)
	}
	mb, err := CanonicalMailbox(name)
	if err != nil {
		return MailboxInfo{}, fmt.Errorf("mailstore: mailbox %q of %s: %w", name, user, ErrNoMailbox)
	}
	mi, err := scanInfo(s.stmt.info.QueryRow(uid, mb))
	if errors.Is(err, sql.ErrNoRows) {
		return MailboxInfo{}, fmt.Errorf("mailstore: mailbox %q of %s: %w", mb, user, ErrNoMailbox)
	}
	if err != nil {
		return MailboxInfo{}, fmt.Errorf("mailstore: mailbox %q of %s: %w", mb, user, err)
	}
	return mi, nil
}

// mbox is a mailbox row as writers need it.
type mbox struct {
	id          int64
	name        string
	uidvalidity uint32
	uidnext     uint32
}

// lookup finds a mailbox of a user by canonical name.
func lookup(q querier, userID int64, user, name string) (mbox, error) {
	m := mbox{name: name}
	var uv, un int64
	err := q.QueryRow(`SELECT id, uidvalidity, uidnext FROM mail_mailboxes WHERE user_id = ? AND name = ?`,
		userID, name).Scan(&m.id, &uv, &un)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("mailbox %q of %s: %w", name, user, ErrNoMailbox)
	}
	m.uidvalidity, m.uidnext = uint32(uv), uint32(un)
	return m, err
}

// names reads the names of all mailboxes of a user (at most MaxMailboxes).
func names(q querier, userID int64) (map[string]int64, error) {
	rows, err := q.Query(`SELECT name, id FROM mail_mailboxes WHERE user_id = ?`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var n string
		var id int64
		if err := rows.Scan(&n, &id); err != nil {
			return nil, err
		}
		out[n] = id
	}
	return out, rows.Err()
}

// missing returns name's parents that do not exist yet, then name.
func missing(have map[string]int64, name string) []string {
	var out []string
	for _, p := range parents(name) {
		if _, ok := have[p]; !ok {
			out = append(out, p)
		}
	}
	return append(out, name)
}

// CreateMailbox creates a mailbox, and its missing parents ("a/b" creates
// "a" too), each empty with a new UIDVALIDITY. It fails with ErrExists if
// the name exists (INBOX always does), ErrBadName if it is not a valid name
// (see CanonicalMailbox), ErrTooMany past MaxMailboxes.
func (s *Store) CreateMailbox(user, name string) error {
	_, uid, err := s.user(user)
	if err != nil {
		return fmt.Errorf("mailstore: %w", err)
	}
	mb, err := CanonicalMailbox(name)
	if err != nil {
		return fmt.Errorf("mailstore: create mailbox: %w", err)
	}
	err = s.tx(bg, func(tx *sql.Tx) error {
		have, err := names(tx, uid)
		if err != nil {
			return err
		}
		if _, ok := have[mb]; ok {
			return fmt.Errorf("%q: %w", mb, ErrExists)
		}
		add := missing(have, mb)
		if len(have)+len(add) > MaxMailboxes {
			return fmt.Errorf("%w: %s has %d, at most %d; delete one first", ErrTooMany, user, len(have), MaxMailboxes)
		}
		now := time.Now()
		for _, n := range add {
			if _, _, err := insertMailbox(tx, uid, n, now); err != nil {
				return err
			}
		}
		return nil
	}, nil)
	if err != nil {
		return fmt.Errorf("mailstore: create mailbox of %s: %w", user, err)
	}
	return nil
}

// DeleteMailbox deletes a mailbox and its messages. INBOX cannot be
// deleted (ErrInbox); nor can a mailbox with children (ErrHasChildren):
// delete them first. Watches on the mailbox get MailboxGone and end.
func (s *Store) DeleteMailbox(user, name string) error {
	u, uid, err := s.user(user)
	if err != nil {
		return fmt.Errorf("mailstore: %w", err)
	}
	mb, err := CanonicalMailbox(name)
	if err != nil {
		return fmt.Errorf("mailstore: delete mailbox %q of %s: %w", name, user, ErrNoMailbox)
	}
	if mb == Inbox {
		return fmt.Errorf("mailstore: delete mailbox of %s: %w (it can be emptied)", user, ErrInbox)
	}
	err = s.tx(bg, func(tx *sql.Tx) error {
		have, err := names(tx, uid)
		if err != nil {
			return err
		}
		id, ok := have[mb]
		if !ok {
			return fmt.Errorf("%q: %w", mb, ErrNoMailbox)
		}
		for n := range have {
			if strings.HasPrefix(n, mb+Separator) {
				return fmt.Errorf("%q: %w such as %q; delete them first", mb, ErrHasChildren, n)
			}
		}
		_, err = tx.Exec(`DELETE FROM mail_mailboxes WHERE id = ?`, id)
		return err
	}, func() { s.gone(watchKey{u, mb}) })
	if err != nil {
		return fmt.Errorf("mailstore: delete mailbox of %s: %w", user, err)
	}
	return nil
}

// RenameMailbox renames a mailbox and its children ("a" to "b" also renames
// "a/x" to "b/x"), creating the missing parents of the new name; the
// mailboxes keep their UIDVALIDITY and messages. Renaming INBOX, as RFC
// 9051 says, moves its messages (UIDs and flags kept) into a new mailbox
// `to`, with a new UIDVALIDITY, and leaves INBOX empty; INBOX's children
// stay where they are. Errors: ErrNoMailbox (from), ErrExists (to, or one
// of the children's new names), ErrBadName (to invalid, or inside from),
// ErrTooMany. Watches on renamed mailboxes get MailboxGone and end; those
// on INBOX, when it is renamed, get Removed for each message.
func (s *Store) RenameMailbox(user, from, to string) error {
	u, uid, err := s.user(user)
	if err != nil {
		return fmt.Errorf("mailstore: %w", err)
	}
	src, err := CanonicalMailbox(from)
	if err != nil {
		return fmt.Errorf("mailstore: rename mailbox %q of %s: %w", from, user, ErrNoMailbox)
	}
	dst, err := CanonicalMailbox(to)
	if err != nil {
		return fmt.Errorf("mailstore: rename mailbox %q of %s: %w", src, user, err)
	}
	var after func()
	err = s.tx(bg, func(tx *sql.Tx) error {
		have, err := names(tx, uid)
		if err != nil {
			return err
		}
		srcID, ok := have[src]
		if !ok {
			return fmt.Errorf("%q: %w", src, ErrNoMailbox)
		}
		if _, ok := have[dst]; ok {
			return fmt.Errorf("%q: %w", dst, ErrExists)
		}
		if src != Inbox && strings.HasPrefix(dst, src+Separator) {
			return fmt.Errorf("%w: cannot rename %q into itself (%q)", ErrBadName, src, dst)
		}
		add := missing(have, dst)
		extra := len(add) - 1 // the parents; dst replaces src...
		if src == Inbox {
			extra++ // ...except INBOX, which stays
		}
		if len(have)+extra > MaxMailboxes {
			return fmt.Errorf("%w: %s has %d, at most %d; delete one first", ErrTooMany, user, len(have), MaxMailboxes)
		}
		now := time.Now()
		for _, n := range add[:len(add)-1] {
			if _, _, err := insertMailbox(tx, uid, n, now); err != nil {
				return err
			}
		}
		if src == Inbox {
			uids, err := renameInbox(tx, uid, u, dst, now)
			after = func() { s.notify(watchKey{u, Inbox}, removed(uids)...) }
			return err
		}
		// The mailbox and its children, by their new names.
		renamed := map[int64]string{srcID: dst}
		var gone []string
		for n, id := range have {
			if n == src || strings.HasPrefix(n, src+Separator) {
				nn := dst + n[len(src):]
				if _, ok := have[nn]; ok {
					return fmt.Errorf("%q (the new name of %q): %w", nn, n, ErrExists)
				}
				if len(nn) > MaxMailboxName {
					return fmt.Errorf("%w: %q (the new name of %q) is longer than %d bytes", ErrBadName, nn, n, MaxMailboxName)
				}
				renamed[id] = nn
				gone = append(gone, n)
			}
		}
		for id, nn := range renamed {
			if _, err := tx.Exec(`UPDATE mail_mailboxes SET name = ? WHERE id = ?`, nn, id); err != nil {
				return err
			}
		}
		after = func() {
			for _, n := range gone {
				s.gone(watchKey{u, n})
			}
		}
		return nil
	}, func() { after() })
	if err != nil {
		return fmt.Errorf("mailstore: rename mailbox of %s: %w", user, err)
	}
	return nil
}

// renameInbox moves INBOX's messages into a new mailbox dst (its parents
// exist), which takes over INBOX's UIDNEXT so that the UIDs stay valid; it
// returns the UIDs moved.
func renameInbox(tx *sql.Tx, userID int64, user, dst string, now time.Time) ([]uint32, error) {
	in, err := lookup(tx, userID, user, Inbox)
	if err != nil {
		return nil, err
	}
	id, _, err := insertMailbox(tx, userID, dst, now)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`UPDATE mail_mailboxes SET uidnext = ? WHERE id = ?`, in.uidnext, id); err != nil {
		return nil, err
	}
	return collectUIDs(tx.Query(`UPDATE mail_messages SET mailbox_id = ? WHERE mailbox_id = ? RETURNING uid`, id, in.id))
}
