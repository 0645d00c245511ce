package mailstore

import (
	"bytes"
	"slices"
	"testing"
)

func TestWatchAdded(t *testing.T) {
	s := newStore(t)
	w := s.Watch("Alice", "inbox")
	w2 := s.Watch("alice", "INBOX")
	other := s.Watch("alice", "Other")
	bob := s.Watch("bob", "INBOX")
	defer w.Close()
	defer w2.Close()
	defer other.Close()
	defer bob.Close()

	uid := deliver(t, s, "alice", "INBOX", mail("m", "x"), `\seen`, "$Work")
	for _, w := range []*Watch{w, w2} {
		c, ok := recv(t, w)
		if !ok || c.Kind != Added || c.UID != uid || !slices.Equal(c.Flags, []string{"$Work", `\Seen`}) {
			t.Errorf("got %+v, %v; want Added UID %d with its flags", c, ok, uid)
		}
	}
	for name, w := range map[string]*Watch{"other mailbox": other, "other user": bob} {
		if cs, open := pending(w); len(cs) != 0 || !open {
			t.Errorf("%s watch got %s (open %v)", name, changeString(cs), open)
		}
	}
	// A failed delivery tells nothing.
	if _, err := s.Deliver(ctx, "alice", "INBOX", []byte("x"), []string{"bad flag"}, t0); err == nil {
		t.Fatal("bad flag accepted")
	}
	if cs, _ := pending(w); len(cs) != 0 {
		t.Errorf("failed delivery notified %s", changeString(cs))
	}
	if w.Overflowed() {
		t.Error("Overflowed without cause")
	}
}

// TestWatchChanges checks which change each operation sends, to which
// mailbox.
func TestWatchChanges(t *testing.T) {
	s := newStore(t)
	for _, n := range []string{"Archives", "a/b"} {
		if err := s.CreateMailbox("alice", n); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		deliver(t, s, "alice", "INBOX", mail("m", "x"))
	}
	watch := func(box string) *Watch {
		w := s.Watch("alice", box)
		t.Cleanup(w.Close)
		return w
	}
	in, arch, a, ab := watch("INBOX"), watch("Archives"), watch("a"), watch("a/b")
	check := func(step string, w *Watch, want string, wantOpen bool) {
		t.Helper()
		cs, open := pending(w)
		if got := changeString(cs); got != want || open != wantOpen {
			t.Errorf("%s: got %q (open %v), want %q (open %v)", step, got, open, want, wantOpen)
		}
	}

	if _, err := s.StoreFlags("alice", "INBOX", []uint32{1, 2, 3}, FlagsAdd, []string{`\Deleted`}); err != nil {
		t.Fatal(err)
	}
	check("store", in, `flags:1[\Deleted] flags:2[\Deleted] flags:3[\Deleted]`, true)
	if _, err := s.StoreFlags("alice", "INBOX", []uint32{1, 4}, FlagsAdd, []string{`\Deleted`}); err != nil {
		t.Fatal(err)
	}
	check("store, one real change", in, `flags:4[\Deleted]`, true)
	if _, err := s.Expunge("alice", "INBOX", []uint32{2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	check("expunge", in, "removed:2 removed:3 removed:4", true)
	if err := s.Remove("alice", "INBOX", []uint32{5, 99}); err != nil {
		t.Fatal(err)
	}
	check("remove", in, "removed:5", true)
	if _, err := s.Copy("alice", "INBOX", []uint32{1}, "Archives"); err != nil {
		t.Fatal(err)
	}
	check("copy: source", in, "", true)
	check("copy: target", arch, `added:1[\Deleted]`, true)
	if _, err := s.Move("alice", "Archives", []uint32{1}, "INBOX"); err != nil {
		t.Fatal(err)
	}
	check("move: source", arch, "removed:1", true)
	check("move: target", in, `added:6[\Deleted]`, true)
	deliver(t, s, "alice", "a/b", mail("m", "x"))
	check("deliver to a/b", ab, "added:1[]", true)
	if err := s.RenameMailbox("alice", "a", "z"); err != nil {
		t.Fatal(err)
	}
	check("rename: parent", a, "gone:0", false)
	check("rename: child", ab, "gone:0", false)
	if err := s.RenameMailbox("alice", "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	check("rename INBOX", in, "removed:1 removed:6", true)
	if err := s.DeleteMailbox("alice", "Archives"); err != nil {
		t.Fatal(err)
	}
	check("delete", arch, "gone:0", false)
}

// TestWatchAfterCommit checks that a change is sent only once it is
// committed: whoever receives Added can read the message at once.
func TestWatchAfterCommit(t *testing.T) {
	s := newStore(t)
	w := s.Watch("alice", "INBOX")
	defer w.Close()
	const n = 20
	done := make(chan error, 1)
	go func() {
		for i := range n {
			if _, err := s.Deliver(ctx, "alice", "INBOX", mail("m", string(rune('a'+i))), nil, t0); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := range n {
		c, ok := recv(t, w)
		if !ok || c.Kind != Added || c.UID != uint32(i+1) {
			t.Fatalf("change %d = %+v, %v", i, c, ok)
		}
		got, err := s.Read("alice", "INBOX", c.UID)
		if err != nil || !bytes.Equal(got, mail("m", string(rune('a'+i)))) {
			t.Fatalf("Read of UID %d right after Added: %q, %v", c.UID, got, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestWatchOverflow lets a watch fall behind: the writers go on, the watch
// is marked Overflowed, keeps what it holds, then closes.
func TestWatchOverflow(t *testing.T) {
	s := newStore(t)
	w := s.Watch("alice", "INBOX")
	deliver(t, s, "alice", "INBOX", mail("m", "x"))
	// Each copy doubles the mailbox: 1+1+2+...+1024 = 2048 Added.
	for range 11 {
		all := uids(t, s, "alice", "INBOX")
		if _, err := s.Copy("alice", "INBOX", all, "INBOX"); err != nil {
			t.Fatal(err)
		}
	}
	if mi := info(t, s, "alice", "INBOX"); mi.Messages != 2048 {
		t.Fatalf("INBOX has %d messages, want 2048", mi.Messages)
	}
	if !w.Overflowed() {
		t.Fatal("watch not marked Overflowed")
	}
	var got []uint32
	for c := range w.C {
		if c.Kind != Added {
			t.Fatalf("unexpected %+v", c)
		}
		got = append(got, c.UID)
	}
	if len(got) != WatchBuffer {
		t.Errorf("watch held %d changes, want %d", len(got), WatchBuffer)
	}
	for i, u := range got {
		if u != uint32(i+1) {
			t.Fatalf("change %d is UID %d, want %d (in commit order)", i, u, i+1)
		}
	}
	w.Close() // harmless after the end
	// A new watch works.
	w2 := s.Watch("alice", "INBOX")
	defer w2.Close()
	deliver(t, s, "alice", "INBOX", mail("m", "x"))
	if c, ok := recv(t, w2); !ok || c.UID != 2049 || w2.Overflowed() {
		t.Errorf("new watch got %+v, %v", c, ok)
	}
}

func TestWatchClose(t *testing.T) {
	s := newStore(t)
	w := s.Watch("alice", "INBOX")
	keep := s.Watch("alice", "INBOX")
	defer keep.Close()
	w.Close()
	w.Close()
	if _, ok := <-w.C; ok {
		t.Error("C open after Close")
	}
	deliver(t, s, "alice", "INBOX", mail("m", "x"))
	if c, ok := recv(t, keep); !ok || c.Kind != Added {
		t.Errorf("other watch got %+v, %v", c, ok)
	}
	if w.Overflowed() {
		t.Error("closed watch marked Overflowed")
	}
	s.watchMu.Lock()
	n := len(s.watches[watchKey{"alice", "INBOX"}])
	s.watchMu.Unlock()
	if n != 1 {
		t.Errorf("%d watches registered, want 1", n)
	}
}

// TestWatchNotYetCreated watches a mailbox before it exists.
func TestWatchNotYetCreated(t *testing.T) {
	s := newStore(t)
	w := s.Watch("alice", "Later")
	defer w.Close()
	if err := s.CreateMailbox("alice", "Later"); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, "alice", "Later", mail("m", "x"))
	if c, ok := recv(t, w); !ok || c.Kind != Added || c.UID != 1 {
		t.Errorf("got %+v, %v", c, ok)
	}
	// Watching nonsense is harmless.
	bad := s.Watch("nobody", "a//b")
	bad.Close()
}

func TestChangeKindString(t *testing.T) {
	for k, want := range map[ChangeKind]string{Added: "added", Removed: "removed", FlagsChanged: "flags", MailboxGone: "gone", 9: "unknown"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q", k, k.String())
		}
	}
}
