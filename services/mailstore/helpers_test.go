package mailstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var ctx = context.Background()

// t0 is a fixed internal date with a zone, to check that dates round-trip.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("", 2*3600))

// openStore opens a store in a new directory; welcome is off unless the
// options say otherwise, so mailboxes start empty.
func openStore(t testing.TB, opts Options) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	t.Cleanup(func() { consistent(t, s) }) // runs first
	return s, dir
}

// consistent checks the invariants of the tables, unless the store was
// closed: each message has its body, of its size; each mailbox's bytes
// are the sum of its messages' sizes; UIDs are below UIDNEXT.
func consistent(t testing.TB, s *Store) {
	t.Helper()
	s.watchMu.Lock()
	closed := s.closed
	s.watchMu.Unlock()
	if closed {
		return
	}
	for _, c := range []struct{ what, query string }{
		{"messages without a body of their size", `SELECT COUNT(*) FROM mail_messages m
			LEFT JOIN mail_bodies b ON b.id = m.id WHERE b.id IS NULL OR length(b.data) <> m.size`},
		{"bodies without a message", `SELECT COUNT(*) FROM mail_bodies b
			LEFT JOIN mail_messages m ON m.id = b.id WHERE m.id IS NULL`},
		{"mailboxes whose bytes are wrong", `SELECT COUNT(*) FROM mail_mailboxes x
			WHERE x.bytes <> (SELECT COALESCE(SUM(size), 0) FROM mail_messages WHERE mailbox_id = x.id)`},
		{"UIDs not below UIDNEXT", `SELECT COUNT(*) FROM mail_messages m
			JOIN mail_mailboxes x ON x.id = m.mailbox_id WHERE m.uid >= x.uidnext OR m.uid < 1`},
		{"mailboxes whose parent is missing", `SELECT COUNT(*) FROM mail_mailboxes c WHERE instr(c.name, '/') > 0
			AND NOT EXISTS (SELECT 1 FROM mail_mailboxes p WHERE p.user_id = c.user_id
				AND c.name LIKE p.name || '/%' AND instr(substr(c.name, length(p.name) + 2), '/') = 0)`},
	} {
		var n int
		if err := s.db.QueryRow(c.query).Scan(&n); err != nil {
			t.Errorf("consistency check: %v", err)
		} else if n != 0 {
			t.Errorf("%d %s", n, c.what)
		}
	}
}

// newStore is openStore with default options and no welcome messages.
func newStore(t testing.TB) *Store {
	t.Helper()
	s, _ := openStore(t, Options{})
	return s
}

// mail builds a small message with CRLF line ends.
func mail(subject string, body string) []byte {
	return []byte("From: bob@lab.test\r\nTo: alice@lab.test\r\nSubject: " + subject + "\r\n\r\n" +
		strings.ReplaceAll(body, "\n", "\r\n"))
}

// deliver delivers a message or fails the test.
func deliver(t testing.TB, s *Store, user, mailbox string, msg []byte, flags ...string) uint32 {
	t.Helper()
	uid, err := s.Deliver(ctx, user, mailbox, msg, flags, t0)
	if err != nil {
		t.Fatalf("Deliver(%s, %s): %v", user, mailbox, err)
	}
	return uid
}

// uids lists the UIDs of a mailbox.
func uids(t testing.TB, s *Store, user, mailbox string) []uint32 {
	t.Helper()
	msgs, err := s.List(user, mailbox)
	if err != nil {
		t.Fatalf("List(%s, %s): %v", user, mailbox, err)
	}
	out := []uint32{}
	for _, m := range msgs {
		out = append(out, m.UID)
	}
	return out
}

// info returns a mailbox's state or fails the test.
func info(t testing.TB, s *Store, user, mailbox string) MailboxInfo {
	t.Helper()
	mi, err := s.Mailbox(user, mailbox)
	if err != nil {
		t.Fatalf("Mailbox(%s, %s): %v", user, mailbox, err)
	}
	return mi
}

// mailboxNames lists a user's mailbox names in the order Mailboxes gives.
func mailboxNames(t testing.TB, s *Store, user string) []string {
	t.Helper()
	mbs, err := s.Mailboxes(user)
	if err != nil {
		t.Fatalf("Mailboxes(%s): %v", user, err)
	}
	var out []string
	for _, m := range mbs {
		out = append(out, m.Name)
	}
	return out
}

// wantErr checks that err is want (nil for no error).
func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: error %v, want %v", what, err, want)
	case err != nil && !strings.HasPrefix(err.Error(), "mailstore: "):
		t.Errorf("%s: error %q does not start with \"mailstore: \"", what, err)
	}
}

// recv waits for the next change on a watch, failing after a deadline.
func recv(t testing.TB, w *Watch) (Change, bool) {
	t.Helper()
	select {
	case c, ok := <-w.C:
		return c, ok
	case <-time.After(5 * time.Second):
		t.Fatal("no change within 5s")
		return Change{}, false
	}
}

// pending drains what a watch holds now, without waiting, and reports
// whether C is still open.
func pending(w *Watch) ([]Change, bool) {
	var out []Change
	for {
		select {
		case c, ok := <-w.C:
			if !ok {
				return out, false
			}
			out = append(out, c)
		default:
			return out, true
		}
	}
}

func changeString(cs []Change) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d", c.Kind, c.UID)
		if c.Flags != nil {
			fmt.Fprintf(&b, "%v", c.Flags)
		}
	}
	return b.String()
}
