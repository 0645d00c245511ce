package mailstore

import (
	"strings"
	"sync/atomic"
)

// ChangeKind is what happened to a mailbox.
type ChangeKind int

// The kinds of change.
const (
	Added        ChangeKind = iota // a message arrived (delivery, APPEND, COPY, MOVE)
	Removed                        // a message left (EXPUNGE, POP3 deletion, MOVE away)
	FlagsChanged                   // a message's flags changed; Flags holds them all
	MailboxGone                    // the mailbox was deleted or renamed, or the store reset; the watch ends
)

func (k ChangeKind) String() string {
	switch k {
	case Added:
		return "added"
	case Removed:
		return "removed"
	case FlagsChanged:
		return "flags"
	case MailboxGone:
		return "gone"
	}
	return "unknown"
}

// Change is one change to a mailbox. UID is the message's (zero for
// MailboxGone); Flags, for Added and FlagsChanged, are the message's flags
// now, shared between watchers: do not modify them.
type Change struct {
	Kind  ChangeKind
	UID   uint32
	Flags []string
}

// WatchBuffer is how many changes a watch holds for its reader before it
// overflows.
const WatchBuffer = 1024

type watchKey struct{ user, mailbox string }

// Watch receives the changes to one mailbox, whoever makes them (an SMTP
// delivery, a POP3 QUIT, another IMAP session), in the order they were
// committed, each sent after its commit.
//
// C is closed when the watch ends: after Close, after a MailboxGone (the
// last change sent), when the store closes, or when the reader fell more
// than WatchBuffer changes behind: the writers never wait, so the watch is
// then marked Overflowed, stops receiving, and C is closed after the
// changes it holds. A reader must therefore check that C is open
// (`c, ok := <-w.C`), and when it closes without MailboxGone, check
// Overflowed and resynchronise with List (and Watch again).
//
// To follow a mailbox, Watch it first, then List it: a change may then be
// both in the listing and on C, so apply changes idempotently.
type Watch struct {
	C <-chan Change

	ch         chan Change
	s          *Store
	key        watchKey
	overflowed atomic.Bool
	ended      bool // under s.watchMu
}

// Watch starts following the changes of a user's mailbox ("inbox" in any
// case is INBOX). The mailbox need not exist: the watch then waits for it.
// Close it when done.
func (s *Store) Watch(user, mailbox string) *Watch {
	key := watchKey{strings.ToLower(user), mailbox}
	if mb, err := CanonicalMailbox(mailbox); err == nil {
		key.mailbox = mb
	}
	ch := make(chan Change, WatchBuffer)
	w := &Watch{C: ch, ch: ch, s: s, key: key}
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if s.closed {
		w.ended = true
		close(ch)
		return w
	}
	set := s.watches[key]
	if set == nil {
		set = map[*Watch]struct{}{}
		s.watches[key] = set
	}
	set[w] = struct{}{}
	return w
}

// Overflowed reports whether the watch lost changes because its reader
// fell behind; C is then closed.
func (w *Watch) Overflowed() bool { return w.overflowed.Load() }

// Close ends the watch and closes C. It may be called more than once.
func (w *Watch) Close() {
	w.s.watchMu.Lock()
	defer w.s.watchMu.Unlock()
	w.end()
}

// end unregisters the watch and closes its channel; s.watchMu is held.
func (w *Watch) end() {
	if w.ended {
		return
	}
	w.ended = true
	if set := w.s.watches[w.key]; set != nil {
		delete(set, w)
		if len(set) == 0 {
			delete(w.s.watches, w.key)
		}
	}
	close(w.ch)
}

// notify sends changes to the watches of key without ever waiting.
func (s *Store) notify(key watchKey, changes ...Change) {
	if len(changes) == 0 {
		return
	}
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	for w := range s.watches[key] {
		for _, c := range changes {
			if !w.send(c) {
				break
			}
		}
	}
}

// send offers c to the watch; when the buffer is full the watch overflows
// and ends. It reports whether the watch is still open.
func (w *Watch) send(c Change) bool {
	select {
	case w.ch <- c:
		return true
	default:
		w.overflowed.Store(true)
		w.end()
		return false
	}
}

// gone tells the watches of key that the mailbox is gone, and ends them.
func (s *Store) gone(key watchKey) {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	for w := range s.watches[key] {
		if w.send(Change{Kind: MailboxGone}) {
			w.end()
		}
	}
}

// goneAll tells every watch that its mailbox is gone (the store was
// reset), and ends them.
func (s *Store) goneAll() {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	for _, set := range s.watches {
		for w := range set {
			if w.send(Change{Kind: MailboxGone}) {
				w.end()
			}
		}
	}
}

// endAllWatches ends every watch, for Close.
func (s *Store) endAllWatches() {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	s.closed = true
	for _, set := range s.watches {
		for w := range set {
			w.end()
		}
	}
}
