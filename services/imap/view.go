package imap

import (
	"slices"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"protolab/services/mailstore"
)

// selected is a session's view of its selected mailbox: the UIDs the
// client knows, in sequence-number order, kept in step with the store.
//
// The store tells every change by UID (mailstore.Watch), whoever made it:
// an SMTP delivery, a POP3 QUIT, another IMAP session. The view applies
// them at once but tells the client only when IMAP allows: a new message
// is announced (EXISTS) after any command; a message that left stays in
// the view, under its sequence number, until an EXPUNGE may be sent (not
// during FETCH, STORE or SEARCH, RFC 9051 §7.5.1), so the numbers the
// client uses keep meaning the messages it thinks they mean. The library's
// MailboxTracker does the same from server-side sequence numbers, which
// only the store could give; UIDs make each session's bookkeeping its own.
type selected struct {
	name        string
	readOnly    bool
	uidValidity uint32
	watch       *mailstore.Watch
	ended       bool // the watch ended for good (mailbox gone, store closed)
	gone        bool // the mailbox was deleted or renamed away

	uids      []uint32 // ascending; uids[i] is sequence number i+1
	announced int      // uids[:announced] are known to the client
	highest   uint32   // highest UID listed or added: older Added are repeats
	left      map[uint32]bool
	flags     map[uint32]string   // flags last sent to the client, joined
	newFlags  map[uint32][]string // flags changed elsewhere, not yet sent
	searchRes imap.UIDSet         // SEARCH RETURN (SAVE), "$"
}

func newSelected(info mailstore.MailboxInfo, msgs []mailstore.Message, w *mailstore.Watch, readOnly bool) *selected {
	sel := &selected{
		name:        info.Name,
		readOnly:    readOnly,
		uidValidity: info.UIDValidity,
		watch:       w,
		uids:        make([]uint32, len(msgs)),
		left:        map[uint32]bool{},
		flags:       map[uint32]string{},
		newFlags:    map[uint32][]string{},
	}
	for i, m := range msgs {
		sel.uids[i] = m.UID
	}
	sel.announced = len(msgs)
	if len(msgs) > 0 {
		sel.highest = msgs[len(msgs)-1].UID
	}
	return sel
}

// close ends the watch.
func (sel *selected) close() {
	if sel.watch != nil {
		sel.watch.Close()
	}
}

// index returns the position of uid in the view.
func (sel *selected) index(uid uint32) (int, bool) {
	i := sort.Search(len(sel.uids), func(i int) bool { return sel.uids[i] >= uid })
	return i, i < len(sel.uids) && sel.uids[i] == uid
}

// changes is the watch's channel, nil once it ended (a nil channel never
// delivers, for IDLE's select).
func (sel *selected) changes() <-chan mailstore.Change {
	if sel.ended || sel.watch == nil {
		return nil
	}
	return sel.watch.C
}

// sync applies the changes waiting on the watch.
func (sel *selected) sync(store *mailstore.Store, user string) {
	for !sel.ended {
		select {
		case c, ok := <-sel.watch.C:
			if !ok {
				sel.watchClosed(store, user)
				return
			}
			sel.apply(c)
		default:
			return
		}
	}
}

// apply takes one change. Changes are idempotent: the listing at SELECT
// may already hold them.
func (sel *selected) apply(c mailstore.Change) {
	switch c.Kind {
	case mailstore.Added:
		if c.UID > sel.highest {
			sel.uids = append(sel.uids, c.UID)
			sel.highest = c.UID
		}
	case mailstore.Removed:
		if _, ok := sel.index(c.UID); ok {
			sel.left[c.UID] = true
			delete(sel.newFlags, c.UID)
		}
	case mailstore.FlagsChanged:
		if _, ok := sel.index(c.UID); ok && !sel.left[c.UID] && strings.Join(c.Flags, " ") != sel.flags[c.UID] {
			sel.newFlags[c.UID] = c.Flags
		}
	case mailstore.MailboxGone:
		sel.mailboxGone()
	}
}

// mailboxGone empties the view: the mailbox was deleted or renamed.
func (sel *selected) mailboxGone() {
	sel.gone, sel.ended = true, true
	for _, u := range sel.uids {
		sel.left[u] = true
	}
	clear(sel.newFlags)
}

// watchClosed handles the end of the watch without MailboxGone: either
// the session fell behind (watch again and resynchronise from a listing)
// or the store is closing (stop watching).
func (sel *selected) watchClosed(store *mailstore.Store, user string) {
	if !sel.watch.Overflowed() {
		sel.ended = true
		return
	}
	w := store.Watch(user, sel.name)
	msgs, err := store.List(user, sel.name)
	if err != nil {
		w.Close()
		sel.mailboxGone()
		return
	}
	sel.watch = w
	present := make(map[uint32]mailstore.Message, len(msgs))
	for _, m := range msgs {
		present[m.UID] = m
	}
	for _, u := range sel.uids {
		m, ok := present[u]
		switch {
		case !ok:
			sel.left[u] = true
			delete(sel.newFlags, u)
		case strings.Join(m.Flags, " ") != sel.flags[u] && !sel.left[u]:
			sel.newFlags[u] = m.Flags
		}
	}
	for _, m := range msgs {
		if m.UID > sel.highest {
			sel.uids = append(sel.uids, m.UID)
			sel.highest = m.UID
		}
	}
}

// flush tells the client what changed: EXPUNGE for messages that left
// (when allowed), EXISTS for new ones, FETCH FLAGS for flags changed
// elsewhere. It returns how many EXISTS and EXPUNGE responses it sent.
func (sel *selected) flush(w *imapserver.UpdateWriter, allowExpunge bool) (int, error) {
	pushed := 0
	if len(sel.left) > 0 {
		// Messages that left before the client heard of them just go.
		kept := sel.uids[:sel.announced]
		for _, u := range sel.uids[sel.announced:] {
			if sel.left[u] {
				delete(sel.left, u)
			} else {
				kept = append(kept, u)
			}
		}
		sel.uids = kept
		if allowExpunge && len(sel.left) > 0 {
			// Highest first: each number stays right for the client.
			for i := sel.announced - 1; i >= 0; i-- {
				if sel.left[sel.uids[i]] {
					if err := w.WriteExpunge(uint32(i + 1)); err != nil {
						return pushed, err
					}
					pushed++
				}
			}
			sel.removeLeft()
		}
	}
	if len(sel.uids) > sel.announced {
		if err := w.WriteNumMessages(uint32(len(sel.uids))); err != nil {
			return pushed, err
		}
		sel.announced = len(sel.uids)
		pushed++
	}
	if len(sel.newFlags) > 0 {
		uids := make([]uint32, 0, len(sel.newFlags))
		for u := range sel.newFlags {
			uids = append(uids, u)
		}
		slices.Sort(uids)
		for _, u := range uids {
			i, ok := sel.index(u)
			if !ok || i >= sel.announced {
				continue
			}
			fl := sel.newFlags[u]
			if err := w.WriteMessageFlags(uint32(i+1), imap.UID(u), toIMAPFlags(fl)); err != nil {
				return pushed, err
			}
			sel.flags[u] = strings.Join(fl, " ")
		}
		clear(sel.newFlags)
	}
	return pushed, nil
}

// removeLeft drops the messages that left from the view, once the client
// was told (or is being told) with EXPUNGE responses.
func (sel *selected) removeLeft() {
	kept := sel.uids[:0]
	announced := 0
	for i, u := range sel.uids {
		if sel.left[u] {
			delete(sel.flags, u)
			continue
		}
		kept = append(kept, u)
		if i < sel.announced {
			announced++
		}
	}
	sel.uids, sel.announced = kept, announced
	clear(sel.left)
}

// expunged removes messages this session removed itself (EXPUNGE, MOVE),
// writing one EXPUNGE response per message through write (highest first).
func (sel *selected) expunged(uids []uint32, write func(seq uint32) error) (int, error) {
	drop := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		drop[u] = true
	}
	n := 0
	for i := sel.announced - 1; i >= 0; i-- {
		if drop[sel.uids[i]] {
			if err := write(uint32(i + 1)); err != nil {
				return n, err
			}
			n++
		}
	}
	kept := sel.uids[:0]
	announced := 0
	for i, u := range sel.uids {
		if drop[u] {
			delete(sel.flags, u)
			delete(sel.left, u)
			delete(sel.newFlags, u)
			continue
		}
		kept = append(kept, u)
		if i < sel.announced {
			announced++
		}
	}
	sel.uids, sel.announced = kept, announced
	return n, nil
}

// target is one message a command applies to.
type target struct {
	seq uint32
	uid uint32
}

// resolve returns the messages of a sequence or UID set among those the
// client knows, in sequence order, leaving out those that left the mailbox.
// "*" is the last message (its UID for a UID set); "$" is the last saved
// search result.
func (sel *selected) resolve(numSet imap.NumSet) []target {
	if imap.IsSearchRes(numSet) {
		numSet = sel.searchRes
	}
	n := sel.announced
	var out []target
	switch set := numSet.(type) {
	case imap.SeqSet:
		for i := 0; i < n; i++ {
			seq := uint32(i + 1)
			for _, r := range set {
				if inRange(r.Start, r.Stop, seq, uint32(n)) {
					if u := sel.uids[i]; !sel.left[u] {
						out = append(out, target{seq, u})
					}
					break
				}
			}
		}
	case imap.UIDSet:
		var last uint32
		if n > 0 {
			last = sel.uids[n-1]
		}
		for i := 0; i < n; i++ {
			u := sel.uids[i]
			for _, r := range set {
				if inRange(uint32(r.Start), uint32(r.Stop), u, last) {
					if !sel.left[u] {
						out = append(out, target{uint32(i + 1), u})
					}
					break
				}
			}
		}
	}
	return out
}

// inRange reports whether v is in start:stop, where 0 stands for "*" (the
// largest number in use, last) and the bounds may come in either order.
func inRange(start, stop, v, last uint32) bool {
	if start == 0 {
		start = last
	}
	if stop == 0 {
		stop = last
	}
	if start > stop {
		start, stop = stop, start
	}
	return start <= v && v <= stop
}

// uidsOf lists the UIDs of targets.
func uidsOf(ts []target) []uint32 {
	out := make([]uint32, len(ts))
	for i, t := range ts {
		out[i] = t.uid
	}
	return out
}

// toIMAPFlags converts store flags.
func toIMAPFlags(fl []string) []imap.Flag {
	out := make([]imap.Flag, len(fl))
	for i, f := range fl {
		out[i] = imap.Flag(f)
	}
	return out
}
