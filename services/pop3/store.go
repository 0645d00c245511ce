package pop3

import (
	"errors"
	"fmt"
	"strings"

	"protolab/services/mailstore"
)

// backend is what a session needs of the mail store. The protocol engine
// works on this interface and storeBackend puts the shared mail store
// behind it, so the engine knows nothing of how mail is kept.
type backend interface {
	// Domain is the mail domain: "lab.test".
	Domain() string
	// Lookup returns the canonical name and the password of a user, given
	// a local part in any case or a full address in the mail domain.
	Lookup(name string) (user, password string, ok bool)
	// Authenticate checks a canonical user's password.
	Authenticate(user, password string) bool
	// Snapshot lists the user's INBOX: its UIDVALIDITY and its messages by
	// ascending UID.
	Snapshot(user string) (uint32, []dropMessage, error)
	// Read returns the bytes of a message as delivered; errGone when it
	// was removed since the snapshot.
	Read(user string, uid uint32) ([]byte, error)
	// Remove removes messages from the INBOX at once and returns how many
	// were still there to remove.
	Remove(user string, uids []uint32) (int, error)
}

// errGone is a message listed at login and removed since (by IMAP).
var errGone = errors.New("message removed by another client")

// inbox is the only mailbox POP3 sees.
const inbox = "INBOX"

// storeBackend is the shared mail store as a backend.
type storeBackend struct{ s *mailstore.Store }

var _ backend = storeBackend{}

func (b storeBackend) Domain() string { return b.s.Domain() }

func (b storeBackend) Lookup(name string) (string, string, bool) {
	local, domain, hasDomain := strings.Cut(name, "@")
	if hasDomain && !strings.EqualFold(domain, b.s.Domain()) {
		return "", "", false
	}
	for _, u := range b.s.Users() {
		if strings.EqualFold(u.Name, local) {
			return u.Name, u.Password, true
		}
	}
	return "", "", false
}

func (b storeBackend) Authenticate(user, password string) bool {
	return b.s.Authenticate(user, password)
}

func (b storeBackend) Snapshot(user string) (uint32, []dropMessage, error) {
	info, err := b.s.Mailbox(user, inbox)
	if err != nil {
		return 0, nil, fmt.Errorf("pop3: INBOX of %s: %w", user, err)
	}
	list, err := b.s.List(user, inbox)
	if err != nil {
		return 0, nil, fmt.Errorf("pop3: INBOX of %s: %w", user, err)
	}
	msgs := make([]dropMessage, len(list))
	for i, m := range list {
		msgs[i] = dropMessage{uid: m.UID, size: m.Size}
	}
	return info.UIDValidity, msgs, nil
}

func (b storeBackend) Read(user string, uid uint32) ([]byte, error) {
	data, err := b.s.Read(user, inbox, uid)
	if errors.Is(err, mailstore.ErrNoMessage) {
		return nil, errGone
	}
	return data, err
}

func (b storeBackend) Remove(user string, uids []uint32) (int, error) {
	// The store ignores UIDs already gone (removed over IMAP meanwhile);
	// the count is of those still there just before.
	list, err := b.s.List(user, inbox)
	if err != nil {
		return 0, err
	}
	want := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		want[u] = true
	}
	n := 0
	for _, m := range list {
		if want[m.UID] {
			n++
		}
	}
	if err := b.s.Remove(user, inbox, uids); err != nil {
		return 0, err
	}
	return n, nil
}
