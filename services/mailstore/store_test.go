package mailstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"mime"
	netmail "net/mail"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"protolab/internal/progress"
	"protolab/internal/statedb"
)

func TestOpenDefaults(t *testing.T) {
	s := newStore(t)
	if s.Domain() != "lab.test" {
		t.Errorf("Domain = %q", s.Domain())
	}
	if got := s.Users(); !slices.Equal(got, DefaultUsers()) {
		t.Errorf("Users = %v", got)
	}
	for _, u := range []string{"alice", "bob"} {
		if got := mailboxNames(t, s, u); !slices.Equal(got, []string{"INBOX"}) {
			t.Errorf("%s has mailboxes %v, want INBOX", u, got)
		}
		if mi := info(t, s, u, "INBOX"); mi.Messages != 0 || mi.UIDNext != 1 || mi.UIDValidity == 0 {
			t.Errorf("%s INBOX without welcome = %+v", u, mi)
		}
	}
}

// TestWelcome checks the two welcome messages: well-formed RFC 5322 with
// CRLF line ends, one in French and one in English, unread.
func TestWelcome(t *testing.T) {
	s, _ := openStore(t, Options{Welcome: true})
	for _, user := range []string{"alice", "bob"} {
		mi := info(t, s, user, "INBOX")
		if mi.Messages != 2 || mi.Unseen != 2 || mi.UIDNext != 3 {
			t.Fatalf("%s INBOX = %+v, want 2 unseen messages, UIDNEXT 3", user, mi)
		}
		msgs, err := s.List(user, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		langs := []string{"fr", "en"}
		dec := new(mime.WordDecoder)
		for i, m := range msgs {
			if m.UID != uint32(i+1) || len(m.Flags) != 0 {
				t.Errorf("welcome %d listed as %+v", i, m)
			}
			raw, err := s.Read(user, "INBOX", m.UID)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(raw)) != m.Size {
				t.Errorf("welcome %d: size %d, listed %d", i, len(raw), m.Size)
			}
			if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) ||
				bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\r")) {
				t.Errorf("welcome %d has a bare LF or CR", i)
			}
			msg, err := netmail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("welcome %d does not parse: %v", i, err)
			}
			h := msg.Header
			if _, err := h.Date(); err != nil {
				t.Errorf("welcome %d: Date: %v", i, err)
			}
			from, err := netmail.ParseAddress(h.Get("From"))
			if err != nil || from.Address != "postmaster@lab.test" {
				t.Errorf("welcome %d: From %q (%v)", i, h.Get("From"), err)
			}
			to, err := netmail.ParseAddress(h.Get("To"))
			if err != nil || to.Address != user+"@lab.test" {
				t.Errorf("welcome %d: To %q (%v)", i, h.Get("To"), err)
			}
			subject, err := dec.DecodeHeader(h.Get("Subject"))
			if err != nil || subject == "" {
				t.Errorf("welcome %d: Subject %q (%v)", i, h.Get("Subject"), err)
			}
			for k, want := range map[string]string{
				"MIME-Version":              "1.0",
				"Content-Type":              "text/plain; charset=utf-8",
				"Content-Transfer-Encoding": "8bit",
				"Content-Language":          langs[i],
			} {
				if got := h.Get(k); got != want {
					t.Errorf("welcome %d: %s = %q, want %q", i, k, got, want)
				}
			}
			if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@lab.test>") {
				t.Errorf("welcome %d: Message-ID %q", i, id)
			}
			body, _ := io.ReadAll(msg.Body)
			if !utf8.Valid(body) || !bytes.Contains(body, []byte(user+"@lab.test")) || !bytes.Contains(body, []byte("POP3")) {
				t.Errorf("welcome %d body does not explain the mailbox:\n%s", i, body)
			}
			for _, line := range strings.Split(string(raw), "\r\n") {
				if utf8.RuneCountInString(line) > 78 {
					t.Errorf("welcome %d: line longer than 78 characters: %q", i, line)
				}
			}
		}
	}
	// The French one says so.
	raw, _ := s.Read("alice", "INBOX", 1)
	if !bytes.Contains(raw, []byte("boîte aux lettres")) {
		t.Error("the first welcome message is not the French one")
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		dir  string
		opts Options
		want string
	}{
		{"no directory", "-", Options{}, "empty state directory"},
		{"bad domain", "", Options{Domain: "lab_test"}, "domain"},
		{"empty label", "", Options{Domain: "lab..test"}, "domain"},
		{"bad user", "", Options{Users: []User{{Name: "al ice", Password: "x"}}}, "user name"},
		{"user with @", "", Options{Users: []User{{Name: "alice@lab.test", Password: "x"}}}, "user name"},
		{"dot user", "", Options{Users: []User{{Name: ".alice", Password: "x"}}}, "dot"},
		{"twice", "", Options{Users: []User{{Name: "alice", Password: "x"}, {Name: "ALICE", Password: "y"}}}, "twice"},
		{"empty password", "", Options{Users: []User{{Name: "alice"}}}, "password is empty"},
		{"control in password", "", Options{Users: []User{{Name: "alice", Password: "a\nb"}}}, "control"},
		{"no users", "", Options{Users: []User{}}, "at least one user"},
		{"negative size", "", Options{MaxMessageBytes: -1}, "max_message_bytes"},
		{"huge mailbox", "", Options{MaxMailboxBytes: 1 << 40}, "max_mailbox_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.dir == "-" {
				dir = ""
			}
			s, err := Open(dir, tt.opts)
			if err == nil {
				s.Close()
				t.Fatal("opened without error")
			}
			if !strings.HasPrefix(err.Error(), "mailstore: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want mailstore: ...%s...", err, tt.want)
			}
		})
	}
}

// TestSharesTheProgressDatabase opens the progress store and the mail store
// on one directory: each keeps its own schema version, and user_version
// belongs to progress.
func TestSharesTheProgressDatabase(t *testing.T) {
	dir := t.TempDir()
	p, err := progress.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	userVersion := func(db *sql.DB) int {
		t.Helper()
		var uv int
		if err := db.QueryRow("PRAGMA user_version").Scan(&uv); err != nil {
			t.Fatal(err)
		}
		return uv
	}
	raw, _, err := statedb.Open(dir, statedb.Normal, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	progressVersion := userVersion(raw)
	if progressVersion < 1 {
		t.Fatalf("progress left user_version %d", progressVersion)
	}
	s, err := Open(dir, Options{Welcome: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := p.MarkDone("mail", "send", time.Time{}); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, "alice", "INBOX", mail("hi", "x"))
	if uv := userVersion(s.db); uv != progressVersion {
		t.Errorf("user_version = %d, want progress's %d", uv, progressVersion)
	}
	var sv string
	if err := s.db.QueryRow("SELECT value FROM mail_meta WHERE key = 'schema_version'").Scan(&sv); err != nil || sv != "1" {
		t.Errorf("mail schema_version = %q (%v)", sv, err)
	}
	// A second open (another process) migrates nothing and loses nothing.
	s2, err := Open(dir, Options{Welcome: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if mi := info(t, s2, "alice", "INBOX"); mi.Messages != 3 {
		t.Errorf("reopened INBOX has %d messages, want 3", mi.Messages)
	}
	if done, err := p.Done("mail"); err != nil || len(done) != 1 {
		t.Errorf("progress after the mail store: %v, %v", done, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	s, dir := openStore(t, Options{})
	if _, err := s.db.Exec("UPDATE mail_meta SET value = '99' WHERE key = 'schema_version'"); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a newer schema = %v", err)
	}
}

// TestUsersSynchronised reopens with other options: users are added,
// passwords updated, mail kept; a user left out no longer exists.
func TestUsersSynchronised(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, s, "alice", "INBOX", mail("keep", "me"))
	uv := info(t, s, "alice", "INBOX").UIDValidity
	s.Close()

	s, err = Open(dir, Options{Welcome: true, Users: []User{{Name: "Alice", Password: "new"}, {Name: "carol", Password: "c"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Authenticate("alice", "new") || s.Authenticate("alice", "wonderland") {
		t.Error("alice's password was not updated")
	}
	if mi := info(t, s, "alice", "INBOX"); mi.Messages != 1 || mi.UIDValidity != uv {
		t.Errorf("alice's INBOX after reopen = %+v, want her one message under UIDVALIDITY %d", mi, uv)
	}
	if mi := info(t, s, "carol", "INBOX"); mi.Messages != 2 {
		t.Errorf("new user carol has %d messages, want the 2 welcome messages", mi.Messages)
	}
	if s.UserExists("bob") {
		t.Error("bob, no longer in the options, still exists")
	}
	if _, err := s.List("bob", "INBOX"); !errors.Is(err, ErrNoUser) {
		t.Errorf("List of bob = %v, want ErrNoUser", err)
	}
	if got := s.Users(); len(got) != 2 || got[0].Name != "alice" || got[1].Name != "carol" {
		t.Errorf("Users = %v (names in lower case, in order)", got)
	}
}

func TestAuthenticate(t *testing.T) {
	s := newStore(t)
	tests := []struct {
		user, pass string
		want       bool
	}{
		{"alice", "wonderland", true},
		{"ALICE", "wonderland", true},
		{"bob", "builder", true},
		{"alice", "Wonderland", false},
		{"alice", "builder", false},
		{"alice", "", false},
		{"alice", "wonderland ", false},
		{"carol", "wonderland", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := s.Authenticate(tt.user, tt.pass); got != tt.want {
			t.Errorf("Authenticate(%q, %q) = %v", tt.user, tt.pass, got)
		}
	}
}

func TestUserExists(t *testing.T) {
	s := newStore(t)
	for name, want := range map[string]bool{"alice": true, "Alice": true, "BOB": true, "carol": false, "": false, "alice@lab.test": false} {
		if got := s.UserExists(name); got != want {
			t.Errorf("UserExists(%q) = %v", name, got)
		}
	}
}

func TestDeliver(t *testing.T) {
	s, _ := openStore(t, Options{MaxMessageBytes: 100, MaxMailboxBytes: 250})
	if err := s.CreateMailbox("alice", "Archives"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		user, box string
		size      int
		flags     []string
		want      error
		wantUID   uint32
		wantFlags []string
	}{
		{"first", "alice", "INBOX", 10, nil, nil, 1, []string{}},
		{"second, flags canonical", "ALICE", "inbox", 10, []string{`\seen`, "$Label1", `\SEEN`, "$label1"}, nil, 2, []string{"$Label1", `\Seen`}},
		{"other mailbox", "alice", "Archives", 10, []string{`\Draft`}, nil, 1, []string{`\Draft`}},
		{"exactly the limit", "alice", "INBOX", 100, nil, nil, 3, []string{}},
		{"too big", "alice", "INBOX", 101, nil, ErrTooBig, 0, nil},
		{"no user", "carol", "INBOX", 10, nil, ErrNoUser, 0, nil},
		{"no mailbox", "alice", "Trash", 10, nil, ErrNoMailbox, 0, nil},
		{"invalid mailbox", "alice", "a//b", 10, nil, ErrNoMailbox, 0, nil},
		{"bad flag", "alice", "INBOX", 10, []string{`\Recent`}, ErrBadFlag, 0, nil},
		{"bad keyword", "alice", "INBOX", 10, []string{"a(b"}, ErrBadFlag, 0, nil},
		{"up to the quota", "alice", "INBOX", 100, nil, nil, 4, []string{}}, // 10+10+10+100+100 = 230
		{"over the quota", "alice", "Archives", 21, nil, ErrQuota, 0, nil},
		{"quota is per user", "bob", "INBOX", 100, nil, nil, 1, []string{}},
		{"empty message", "alice", "INBOX", 0, nil, nil, 5, []string{}},
	}
	for _, tt := range tests {
		before, _ := s.Mailbox(tt.user, tt.box)
		msg := bytes.Repeat([]byte("x"), tt.size)
		uid, err := s.Deliver(ctx, tt.user, tt.box, msg, tt.flags, t0)
		wantErr(t, tt.name, err, tt.want)
		if tt.want != nil {
			if after, _ := s.Mailbox(tt.user, tt.box); after != before {
				t.Errorf("%s: failed delivery changed the mailbox: %+v -> %+v", tt.name, before, after)
			}
			continue
		}
		if uid != tt.wantUID {
			t.Errorf("%s: UID %d, want %d", tt.name, uid, tt.wantUID)
		}
		msgs, _ := s.List(tt.user, tt.box)
		last := msgs[len(msgs)-1]
		if last.UID != uid || !slices.Equal(last.Flags, tt.wantFlags) || last.Size != int64(tt.size) || !last.InternalDate.Equal(t0) {
			t.Errorf("%s: listed %+v, want UID %d flags %v size %d date %v", tt.name, last, uid, tt.wantFlags, tt.size, t0)
		}
		if _, off := last.InternalDate.Zone(); off != 7200 {
			t.Errorf("%s: internal date lost its zone: %v", tt.name, last.InternalDate)
		}
		got, err := s.Read(tt.user, tt.box, uid)
		if err != nil || !bytes.Equal(got, msg) {
			t.Errorf("%s: Read = %d bytes, %v", tt.name, len(got), err)
		}
	}
	// A zero date is now.
	before := time.Now()
	uid, err := s.Deliver(ctx, "bob", "INBOX", []byte("x"), nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := s.List("bob", "INBOX")
	if d := msgs[len(msgs)-1]; d.UID != uid || d.InternalDate.Before(before.Add(-time.Second)) || d.InternalDate.After(time.Now().Add(time.Second)) {
		t.Errorf("zero date stored as %v, want about %v", d.InternalDate, before)
	}
}

// TestDeliverContext checks that a cancelled context stores nothing.
func TestDeliverContext(t *testing.T) {
	s := newStore(t)
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Deliver(c, "alice", "INBOX", []byte("x"), nil, time.Time{}); err == nil {
		t.Fatal("Deliver with a cancelled context succeeded")
	}
	if mi := info(t, s, "alice", "INBOX"); mi.Messages != 0 || mi.UIDNext != 1 {
		t.Errorf("INBOX after a cancelled delivery = %+v", mi)
	}
}

func TestMailboxes(t *testing.T) {
	s := newStore(t)
	for _, n := range []string{"Zeta", "Archives/2026", "Archives/2025", "inbox/Lists", "été", "Beta"} {
		if err := s.CreateMailbox("alice", n); err != nil {
			t.Fatalf("create %s: %v", n, err)
		}
	}
	deliver(t, s, "alice", "INBOX", mail("a", "1"), `\Seen`)
	deliver(t, s, "alice", "INBOX", mail("b", "22"))
	deliver(t, s, "alice", "INBOX", mail("c", "333"), `\Deleted`)
	deliver(t, s, "alice", "Beta", mail("d", "4"), `\Seen`)
	want := []string{"INBOX", "Archives", "Archives/2025", "Archives/2026", "Beta", "INBOX/Lists", "Zeta", "été"}
	if got := mailboxNames(t, s, "alice"); !slices.Equal(got, want) {
		t.Errorf("Mailboxes = %v, want %v", got, want)
	}
	mbs, _ := s.Mailboxes("alice")
	in := mbs[0]
	size := int64(len(mail("a", "1")) + len(mail("b", "22")) + len(mail("c", "333")))
	if in.Messages != 3 || in.Unseen != 2 || in.Size != size || in.UIDNext != 4 {
		t.Errorf("INBOX = %+v, want 3 messages, 2 unseen, %d bytes, UIDNEXT 4", in, size)
	}
	if b := mbs[4]; b.Name != "Beta" || b.Messages != 1 || b.Unseen != 0 {
		t.Errorf("Beta = %+v", b)
	}
	seen := map[uint32]bool{}
	for _, m := range mbs {
		if m.UIDValidity == 0 || seen[m.UIDValidity] {
			t.Errorf("UIDVALIDITY %d of %s is zero or not unique", m.UIDValidity, m.Name)
		}
		seen[m.UIDValidity] = true
	}
	if got := mailboxNames(t, s, "bob"); !slices.Equal(got, []string{"INBOX"}) {
		t.Errorf("bob's mailboxes = %v", got)
	}
	if _, err := s.Mailboxes("carol"); !errors.Is(err, ErrNoUser) {
		t.Errorf("Mailboxes(carol) = %v", err)
	}
}

func TestMailbox(t *testing.T) {
	s := newStore(t)
	if err := s.CreateMailbox("alice", "Work"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, name, want string
		err              error
	}{
		{"alice", "INBOX", "INBOX", nil},
		{"alice", "inbox", "INBOX", nil},
		{"alice", "InBoX", "INBOX", nil},
		{"alice", "Work", "Work", nil},
		{"alice", "work", "", ErrNoMailbox},
		{"alice", "", "", ErrNoMailbox},
		{"alice", "Work/", "", ErrNoMailbox},
		{"bob", "Work", "", ErrNoMailbox},
		{"carol", "INBOX", "", ErrNoUser},
	}
	for _, tt := range tests {
		mi, err := s.Mailbox(tt.user, tt.name)
		wantErr(t, tt.user+"/"+tt.name, err, tt.err)
		if err == nil && mi.Name != tt.want {
			t.Errorf("Mailbox(%s, %s).Name = %q", tt.user, tt.name, mi.Name)
		}
	}
}

func TestCreateMailbox(t *testing.T) {
	s := newStore(t)
	tests := []struct {
		name string
		box  string
		want error
		has  []string // mailboxes of alice afterwards
	}{
		{"simple", "Archives", nil, []string{"INBOX", "Archives"}},
		{"again", "Archives", ErrExists, nil},
		{"INBOX", "INBOX", ErrExists, nil},
		{"inbox", "inbox", ErrExists, nil},
		{"case-sensitive", "archives", nil, []string{"INBOX", "Archives", "archives"}},
		{"parents made", "a/b/c", nil, []string{"INBOX", "Archives", "a", "a/b", "a/b/c", "archives"}},
		{"under INBOX", "inbox/Lists", nil, []string{"INBOX", "Archives", "INBOX/Lists", "a", "a/b", "a/b/c", "archives"}},
		{"parent exists", "a/b", ErrExists, nil},
		{"unicode", "Brouillons/été", nil, nil},
		{"empty", "", ErrBadName, nil},
		{"leading slash", "/x", ErrBadName, nil},
		{"trailing slash", "x/", ErrBadName, nil},
		{"double slash", "x//y", ErrBadName, nil},
		{"wildcard *", "x*", ErrBadName, nil},
		{"wildcard %", "x%", ErrBadName, nil},
		{"control", "x\ty", ErrBadName, nil},
		{"bad UTF-8", "x\xffy", ErrBadName, nil},
		{"too long", strings.Repeat("x", MaxMailboxName+1), ErrBadName, nil},
		{"longest", strings.Repeat("x", MaxMailboxName), nil, nil},
	}
	for _, tt := range tests {
		err := s.CreateMailbox("alice", tt.box)
		wantErr(t, tt.name, err, tt.want)
		if tt.has != nil {
			if got := mailboxNames(t, s, "alice"); !slices.Equal(got, tt.has) {
				t.Errorf("%s: mailboxes %v, want %v", tt.name, got, tt.has)
			}
		}
	}
	wantErr(t, "no user", s.CreateMailbox("carol", "x"), ErrNoUser)
	if got := mailboxNames(t, s, "bob"); len(got) != 1 {
		t.Errorf("bob got mailboxes: %v", got)
	}
}

func TestMailboxLimit(t *testing.T) {
	s := newStore(t)
	for i := 1; i < MaxMailboxes-1; i++ {
		if err := s.CreateMailbox("bob", "box"+string(rune('A'+i/26))+string(rune('a'+i%26))); err != nil {
			t.Fatalf("mailbox %d: %v", i+1, err)
		}
	}
	// One left: a name that needs a parent too is one too many...
	wantErr(t, "parent and child", s.CreateMailbox("bob", "p/q"), ErrTooMany)
	// ...but the last one fits.
	wantErr(t, "last", s.CreateMailbox("bob", "last"), nil)
	wantErr(t, "one too many", s.CreateMailbox("bob", "more"), ErrTooMany)
	if n := len(mailboxNames(t, s, "bob")); n != MaxMailboxes {
		t.Errorf("bob has %d mailboxes, want %d", n, MaxMailboxes)
	}
	wantErr(t, "rename creating a parent", s.RenameMailbox("bob", "last", "new/last"), ErrTooMany)
	wantErr(t, "rename INBOX", s.RenameMailbox("bob", "INBOX", "old"), ErrTooMany)
	wantErr(t, "plain rename", s.RenameMailbox("bob", "last", "final"), nil)
}

func TestDeleteMailbox(t *testing.T) {
	s := newStore(t)
	for _, n := range []string{"a/b", "Trash"} {
		if err := s.CreateMailbox("alice", n); err != nil {
			t.Fatal(err)
		}
	}
	deliver(t, s, "alice", "Trash", mail("x", "y"))
	deliver(t, s, "alice", "Trash", mail("x", "y"))
	trash := info(t, s, "alice", "Trash")
	tests := []struct {
		name, box string
		want      error
	}{
		{"INBOX", "INBOX", ErrInbox},
		{"inbox", "inbox", ErrInbox},
		{"has children", "a", ErrHasChildren},
		{"missing", "Nope", ErrNoMailbox},
		{"invalid", "a//b", ErrNoMailbox},
		{"with messages", "Trash", nil},
		{"child", "a/b", nil},
		{"then parent", "a", nil},
		{"gone", "Trash", ErrNoMailbox},
	}
	for _, tt := range tests {
		wantErr(t, tt.name, s.DeleteMailbox("alice", tt.box), tt.want)
	}
	wantErr(t, "no user", s.DeleteMailbox("carol", "x"), ErrNoUser)
	if got := mailboxNames(t, s, "alice"); !slices.Equal(got, []string{"INBOX"}) {
		t.Errorf("mailboxes left: %v", got)
	}
	var n int
	s.db.QueryRow("SELECT COUNT(*) FROM mail_bodies").Scan(&n)
	if n != 0 {
		t.Errorf("%d bodies left after deleting their mailbox", n)
	}
	// Created again: a new UIDVALIDITY, UIDs from 1.
	if err := s.CreateMailbox("alice", "Trash"); err != nil {
		t.Fatal(err)
	}
	again := info(t, s, "alice", "Trash")
	if again.UIDValidity == trash.UIDValidity || again.UIDNext != 1 || again.Messages != 0 {
		t.Errorf("Trash created again = %+v, was %+v", again, trash)
	}
}

func TestRenameMailbox(t *testing.T) {
	type state map[string]int // mailbox -> messages
	tests := []struct {
		name     string
		from, to string
		want     error
		after    state
	}{
		{"simple", "Work", "Job", nil, state{"INBOX": 2, "Job": 1, "a": 0, "a/b": 1, "a/b/c": 0}},
		{"with children", "a", "z", nil, state{"INBOX": 2, "Work": 1, "z": 0, "z/b": 1, "z/b/c": 0}},
		{"to a new parent", "a/b", "x/y/b", nil, state{"INBOX": 2, "Work": 1, "a": 0, "x": 0, "x/y": 0, "x/y/b": 1, "x/y/b/c": 0}},
		{"up a level", "a/b", "b", nil, state{"INBOX": 2, "Work": 1, "a": 0, "b": 1, "b/c": 0}},
		{"INBOX", "inbox", "Old", nil, state{"INBOX": 0, "Old": 2, "Work": 1, "a": 0, "a/b": 1, "a/b/c": 0}},
		{"INBOX below itself", "INBOX", "INBOX/old", nil, state{"INBOX": 0, "INBOX/old": 2, "Work": 1, "a": 0, "a/b": 1, "a/b/c": 0}},
		{"to INBOX", "Work", "INBOX", ErrExists, nil},
		{"to an existing", "Work", "a", ErrExists, nil},
		{"to itself", "Work", "Work", ErrExists, nil},
		{"into itself", "a", "a/b/d", ErrBadName, nil},
		{"invalid target", "Work", "W//x", ErrBadName, nil},
		{"missing", "Nope", "x", ErrNoMailbox, nil},
		{"invalid source", "", "x", ErrNoMailbox, nil},
		{"child name too long", "a", strings.Repeat("n", MaxMailboxName-2), ErrBadName, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			for _, n := range []string{"Work", "a/b/c"} {
				if err := s.CreateMailbox("alice", n); err != nil {
					t.Fatal(err)
				}
			}
			deliver(t, s, "alice", "INBOX", mail("1", "one"), `\Seen`)
			deliver(t, s, "alice", "INBOX", mail("2", "two"))
			deliver(t, s, "alice", "Work", mail("w", "work"))
			deliver(t, s, "alice", "a/b", mail("ab", "ab"))
			before, _ := s.Mailboxes("alice")
			uvs := map[string]uint32{}
			for _, m := range before {
				uvs[m.Name] = m.UIDValidity
			}

			err := s.RenameMailbox("alice", tt.from, tt.to)
			wantErr(t, "rename", err, tt.want)
			after, _ := s.Mailboxes("alice")
			if tt.want != nil {
				if !slices.Equal(before, after) {
					t.Errorf("failed rename changed the mailboxes:\n%+v\n%+v", before, after)
				}
				return
			}
			got := state{}
			for _, m := range after {
				got[m.Name] = m.Messages
			}
			if len(got) != len(tt.after) {
				t.Errorf("mailboxes %v, want %v", got, tt.after)
			}
			for n, c := range tt.after {
				if g, ok := got[n]; !ok || g != c {
					t.Errorf("mailboxes %v, want %v", got, tt.after)
					break
				}
			}
			if tt.from == "Work" {
				if mi := info(t, s, "alice", tt.to); mi.UIDValidity != uvs["Work"] || mi.UIDNext != 2 {
					t.Errorf("renamed mailbox = %+v, want UIDVALIDITY %d kept", mi, uvs["Work"])
				}
			}
		})
	}
	t.Run("INBOX messages keep UIDs", func(t *testing.T) {
		s := newStore(t)
		deliver(t, s, "alice", "INBOX", mail("1", "one"), `\Seen`)
		m2 := mail("2", "two")
		deliver(t, s, "alice", "INBOX", m2, "$Work")
		in := info(t, s, "alice", "INBOX")
		if err := s.RenameMailbox("alice", "INBOX", "Old"); err != nil {
			t.Fatal(err)
		}
		old := info(t, s, "alice", "Old")
		if old.Messages != 2 || old.Unseen != 1 || old.UIDNext != 3 || old.UIDValidity == in.UIDValidity {
			t.Errorf("Old = %+v (INBOX was %+v)", old, in)
		}
		if got, err := s.Read("alice", "Old", 2); err != nil || !bytes.Equal(got, m2) {
			t.Errorf("Read Old/2 = %q, %v", got, err)
		}
		msgs, _ := s.List("alice", "Old")
		if !slices.Equal(msgs[1].Flags, []string{"$Work"}) {
			t.Errorf("flags after rename: %v", msgs[1].Flags)
		}
		now := info(t, s, "alice", "INBOX")
		if now.Messages != 0 || now.UIDValidity != in.UIDValidity || now.UIDNext != in.UIDNext {
			t.Errorf("INBOX after rename = %+v, want empty with UIDVALIDITY and UIDNEXT kept (%+v)", now, in)
		}
		if uid := deliver(t, s, "alice", "INBOX", mail("3", "three")); uid != 3 {
			t.Errorf("next delivery to INBOX got UID %d, want 3 (UIDs never reused)", uid)
		}
	})
	s := newStore(t)
	wantErr(t, "no user", s.RenameMailbox("carol", "a", "b"), ErrNoUser)
}

func TestListAndRead(t *testing.T) {
	s := newStore(t)
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	msgs := [][]byte{mail("one", "first\n.\n..dot line\n"), binary, {}, bytes.Repeat([]byte("big line\r\n"), 100000)}
	for _, m := range msgs {
		deliver(t, s, "alice", "INBOX", m)
	}
	list, err := s.List("alice", "INBOX")
	if err != nil || len(list) != len(msgs) {
		t.Fatalf("List = %d messages, %v", len(list), err)
	}
	for i, m := range list {
		if m.UID != uint32(i+1) || m.Size != int64(len(msgs[i])) || m.Flags == nil {
			t.Errorf("message %d listed as %+v", i, m)
		}
		got, err := s.Read("alice", "inbox", m.UID)
		if err != nil || !bytes.Equal(got, msgs[i]) {
			t.Errorf("Read UID %d: %d bytes (%v), want %d exact bytes", m.UID, len(got), err, len(msgs[i]))
		}
	}
	if got, err := s.List("bob", "INBOX"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("List of an empty INBOX = %#v, %v; want an empty, non-nil list", got, err)
	}
	tests := []struct {
		user, box string
		uid       uint32
		want      error
	}{
		{"alice", "INBOX", 5, ErrNoMessage},
		{"alice", "INBOX", 0, ErrNoMessage},
		{"bob", "INBOX", 1, ErrNoMessage},
		{"alice", "Nope", 1, ErrNoMailbox},
		{"alice", "", 1, ErrNoMailbox},
		{"carol", "INBOX", 1, ErrNoUser},
	}
	for _, tt := range tests {
		_, err := s.Read(tt.user, tt.box, tt.uid)
		wantErr(t, "Read "+tt.user+"/"+tt.box, err, tt.want)
	}
	_, err = s.List("alice", "Nope")
	wantErr(t, "List of a missing mailbox", err, ErrNoMailbox)
	_, err = s.List("carol", "INBOX")
	wantErr(t, "List of a missing user", err, ErrNoUser)
}

func TestStoreFlags(t *testing.T) {
	s := newStore(t)
	for range 3 {
		deliver(t, s, "alice", "INBOX", mail("m", "x"), "Keep")
	}
	tests := []struct {
		name  string
		uids  []uint32
		op    FlagOp
		flags []string
		want  error
		after [3][]string // flags of UIDs 1..3
	}{
		{"add", []uint32{1, 2}, FlagsAdd, []string{`\seen`, `\Flagged`}, nil,
			[3][]string{{"Keep", `\Flagged`, `\Seen`}, {"Keep", `\Flagged`, `\Seen`}, {"Keep"}}},
		{"add a keyword in another case", []uint32{1}, FlagsAdd, []string{"keep", "$Forwarded"}, nil,
			[3][]string{{"$Forwarded", "Keep", `\Flagged`, `\Seen`}, {"Keep", `\Flagged`, `\Seen`}, {"Keep"}}},
		{"remove", []uint32{1, 2, 3}, FlagsRemove, []string{`\FLAGGED`, "KEEP"}, nil,
			[3][]string{{"$Forwarded", `\Seen`}, {`\Seen`}, {}}},
		{"set", []uint32{2, 3}, FlagsSet, []string{`\Deleted`, `\Answered`, `\Draft`}, nil,
			[3][]string{{"$Forwarded", `\Seen`}, {`\Answered`, `\Deleted`, `\Draft`}, {`\Answered`, `\Deleted`, `\Draft`}}},
		{"set none", []uint32{3}, FlagsSet, nil, nil,
			[3][]string{{"$Forwarded", `\Seen`}, {`\Answered`, `\Deleted`, `\Draft`}, {}}},
		{"missing UIDs ignored", []uint32{3, 9, 0}, FlagsAdd, []string{`\Seen`}, nil,
			[3][]string{{"$Forwarded", `\Seen`}, {`\Answered`, `\Deleted`, `\Draft`}, {`\Seen`}}},
		{"bad flag", []uint32{1}, FlagsAdd, []string{`\Recent`}, ErrBadFlag,
			[3][]string{{"$Forwarded", `\Seen`}, {`\Answered`, `\Deleted`, `\Draft`}, {`\Seen`}}},
		{"bad op", []uint32{1}, FlagOp(7), []string{`\Seen`}, errors.New("unknown operation"),
			[3][]string{{"$Forwarded", `\Seen`}, {`\Answered`, `\Deleted`, `\Draft`}, {`\Seen`}}},
	}
	for _, tt := range tests {
		got, err := s.StoreFlags("alice", "INBOX", tt.uids, tt.op, tt.flags)
		if tt.want != nil && tt.want.Error() == "unknown operation" {
			if err == nil || !strings.Contains(err.Error(), "unknown operation") {
				t.Errorf("%s: error %v", tt.name, err)
			}
		} else {
			wantErr(t, tt.name, err, tt.want)
		}
		list, _ := s.List("alice", "INBOX")
		for i, m := range list {
			if !slices.Equal(m.Flags, tt.after[i]) {
				t.Errorf("%s: UID %d flags %q, want %q", tt.name, m.UID, m.Flags, tt.after[i])
			}
		}
		if err != nil {
			continue
		}
		// The result is the messages asked for that exist, as they are now.
		var want []Message
		for _, m := range list {
			if slices.Contains(tt.uids, m.UID) {
				want = append(want, m)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: returned %d messages, want %d", tt.name, len(got), len(want))
			continue
		}
		for i := range got {
			if got[i].UID != want[i].UID || !slices.Equal(got[i].Flags, want[i].Flags) || got[i].Size != want[i].Size || !got[i].InternalDate.Equal(want[i].InternalDate) {
				t.Errorf("%s: returned %+v, want %+v", tt.name, got[i], want[i])
			}
		}
	}
	_, err := s.StoreFlags("alice", "Nope", []uint32{1}, FlagsAdd, nil)
	wantErr(t, "no mailbox", err, ErrNoMailbox)
	_, err = s.StoreFlags("carol", "INBOX", []uint32{1}, FlagsAdd, nil)
	wantErr(t, "no user", err, ErrNoUser)
	if mi := info(t, s, "alice", "INBOX"); mi.Unseen != 1 {
		t.Errorf("Unseen = %d, want 1 (UID 2)", mi.Unseen)
	}
}

func TestExpunge(t *testing.T) {
	tests := []struct {
		name    string
		deleted []uint32 // flagged \Deleted among 1..5
		uids    []uint32
		want    []uint32
		left    []uint32
	}{
		{"all deleted", []uint32{2, 4, 5}, nil, []uint32{2, 4, 5}, []uint32{1, 3}},
		{"among uids", []uint32{2, 4, 5}, []uint32{5, 1, 2, 9}, []uint32{2, 5}, []uint32{1, 3, 4}},
		{"empty set", []uint32{2}, []uint32{}, nil, []uint32{1, 2, 3, 4, 5}},
		{"none deleted", nil, nil, nil, []uint32{1, 2, 3, 4, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			for range 5 {
				deliver(t, s, "alice", "INBOX", mail("m", "x"))
			}
			// A keyword that looks like the flag must not count.
			if _, err := s.StoreFlags("alice", "INBOX", []uint32{1, 3}, FlagsAdd, []string{"Deleted"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.StoreFlags("alice", "INBOX", tt.deleted, FlagsAdd, []string{`\deleted`}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Expunge("alice", "inbox", tt.uids)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Expunge = %v, %v; want %v", got, err, tt.want)
			}
			if left := uids(t, s, "alice", "INBOX"); !slices.Equal(left, tt.left) {
				t.Errorf("left %v, want %v", left, tt.left)
			}
		})
	}
	s := newStore(t)
	_, err := s.Expunge("alice", "Nope", nil)
	wantErr(t, "no mailbox", err, ErrNoMailbox)
	_, err = s.Expunge("carol", "INBOX", nil)
	wantErr(t, "no user", err, ErrNoUser)
}

func TestRemove(t *testing.T) {
	s := newStore(t)
	for range 4 {
		deliver(t, s, "alice", "INBOX", mail("m", "x"))
	}
	wantErr(t, "remove", s.Remove("alice", "INBOX", []uint32{1, 3}), nil)
	if left := uids(t, s, "alice", "INBOX"); !slices.Equal(left, []uint32{2, 4}) {
		t.Errorf("left %v", left)
	}
	// Already gone (another session expunged them): ignored.
	wantErr(t, "remove again", s.Remove("alice", "INBOX", []uint32{1, 4, 77}), nil)
	if left := uids(t, s, "alice", "INBOX"); !slices.Equal(left, []uint32{2}) {
		t.Errorf("left %v", left)
	}
	wantErr(t, "none", s.Remove("alice", "INBOX", nil), nil)
	wantErr(t, "no mailbox", s.Remove("alice", "Nope", []uint32{2}), ErrNoMailbox)
	wantErr(t, "no user", s.Remove("carol", "INBOX", []uint32{2}), ErrNoUser)
	var n int
	s.db.QueryRow("SELECT COUNT(*) FROM mail_bodies").Scan(&n)
	if n != 1 {
		t.Errorf("%d bodies stored, want 1", n)
	}
}

func TestCopyMove(t *testing.T) {
	for _, move := range []bool{false, true} {
		name := map[bool]string{false: "copy", true: "move"}[move]
		t.Run(name, func(t *testing.T) {
			s, _ := openStore(t, Options{MaxMessageBytes: 100, MaxMailboxBytes: 1000})
			op := s.Copy
			if move {
				op = s.Move
			}
			if err := s.CreateMailbox("alice", "Archives"); err != nil {
				t.Fatal(err)
			}
			deliver(t, s, "alice", "Archives", mail("old", "x")) // Archives UID 1 taken
			bodies := map[uint32][]byte{}
			for i := range 4 {
				m := mail("m", strings.Repeat("x", 10*i))
				bodies[deliver(t, s, "alice", "INBOX", m, `\Seen`, "K"+string(rune('a'+i)))] = m
			}
			src, _ := s.List("alice", "INBOX")
			got, err := op("alice", "inbox", []uint32{4, 2, 9}, "Archives")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[2] != 2 || got[4] != 3 {
				t.Errorf("%s map = %v, want 2->2, 4->3", name, got)
			}
			dst, _ := s.List("alice", "Archives")
			for old, nu := range got {
				if b, err := s.Read("alice", "Archives", nu); err != nil || !bytes.Equal(b, bodies[old]) {
					t.Errorf("Archives/%d is not a copy of INBOX/%d (%v)", nu, old, err)
				}
				o, n := src[old-1], dst[nu-1]
				if !slices.Equal(o.Flags, n.Flags) || !o.InternalDate.Equal(n.InternalDate) || o.Size != n.Size {
					t.Errorf("INBOX/%d %+v became %+v", old, o, n)
				}
			}
			wantLeft := []uint32{1, 2, 3, 4}
			if move {
				wantLeft = []uint32{1, 3}
			}
			if left := uids(t, s, "alice", "INBOX"); !slices.Equal(left, wantLeft) {
				t.Errorf("INBOX left %v, want %v", left, wantLeft)
			}
			if mi := info(t, s, "alice", "Archives"); mi.UIDNext != 4 || mi.Messages != 3 {
				t.Errorf("Archives = %+v", mi)
			}
			// Within the same mailbox: new UIDs.
			got, err = op("alice", "INBOX", []uint32{1}, "INBOX")
			if err != nil || got[1] != 5 {
				t.Errorf("%s to the same mailbox = %v, %v; want 1->5", name, got, err)
			}
			// Nothing to do.
			if got, err := op("alice", "INBOX", []uint32{99}, "Archives"); err != nil || len(got) != 0 {
				t.Errorf("%s of missing UIDs = %v, %v", name, got, err)
			}
			_, err = op("alice", "INBOX", []uint32{1}, "Nope")
			wantErr(t, "no target", err, ErrNoMailbox)
			_, err = op("alice", "Nope", []uint32{1}, "INBOX")
			wantErr(t, "no source", err, ErrNoMailbox)
			_, err = op("carol", "INBOX", []uint32{1}, "INBOX")
			wantErr(t, "no user", err, ErrNoUser)
		})
	}
	t.Run("copy quota", func(t *testing.T) {
		s, _ := openStore(t, Options{MaxMessageBytes: 100, MaxMailboxBytes: 250})
		deliver(t, s, "alice", "INBOX", bytes.Repeat([]byte("x"), 100))
		deliver(t, s, "alice", "INBOX", bytes.Repeat([]byte("x"), 100))
		_, err := s.Copy("alice", "INBOX", []uint32{1, 2}, "INBOX")
		wantErr(t, "copy over quota", err, ErrQuota)
		if mi := info(t, s, "alice", "INBOX"); mi.Messages != 2 || mi.UIDNext != 3 {
			t.Errorf("failed copy changed INBOX: %+v", mi)
		}
		// Moving does not add bytes.
		if _, err := s.Move("alice", "INBOX", []uint32{1, 2}, "INBOX"); err != nil {
			t.Errorf("move within quota: %v", err)
		}
	})
}

// TestUIDsNeverReused checks that UIDs only grow, across expunges and
// restarts.
func TestUIDsNeverReused(t *testing.T) {
	s, dir := openStore(t, Options{})
	for range 3 {
		deliver(t, s, "alice", "INBOX", mail("m", "x"))
	}
	if err := s.Remove("alice", "INBOX", []uint32{2, 3}); err != nil {
		t.Fatal(err)
	}
	uv := info(t, s, "alice", "INBOX").UIDValidity
	s.Close()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if mi := info(t, s, "alice", "INBOX"); mi.UIDNext != 4 || mi.UIDValidity != uv {
		t.Errorf("after restart INBOX = %+v, want UIDNEXT 4, UIDVALIDITY %d", mi, uv)
	}
	if uid := deliver(t, s, "alice", "INBOX", mail("m", "x")); uid != 4 {
		t.Errorf("UID after restart = %d, want 4", uid)
	}
}

// TestUIDValidityUnique creates and deletes one name many times in one
// second: each creation gets a new UIDVALIDITY.
func TestUIDValidityUnique(t *testing.T) {
	s := newStore(t)
	seen := map[uint32]bool{info(t, s, "alice", "INBOX").UIDValidity: true, info(t, s, "bob", "INBOX").UIDValidity: true}
	for range 20 {
		if err := s.CreateMailbox("alice", "Tmp"); err != nil {
			t.Fatal(err)
		}
		uv := info(t, s, "alice", "Tmp").UIDValidity
		if uv == 0 || seen[uv] {
			t.Fatalf("UIDVALIDITY %d reused or zero", uv)
		}
		seen[uv] = true
		if err := s.DeleteMailbox("alice", "Tmp"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReset(t *testing.T) {
	s, _ := openStore(t, Options{Welcome: true})
	before := info(t, s, "alice", "INBOX")
	deliver(t, s, "alice", "INBOX", mail("m", "x"))
	if _, err := s.StoreFlags("alice", "INBOX", []uint32{1}, FlagsAdd, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("alice", "INBOX", []uint32{2}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMailbox("alice", "a/b"); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, "alice", "a/b", mail("m", "x"))
	w := s.Watch("alice", "INBOX")
	wb := s.Watch("bob", "INBOX")

	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"alice", "bob"} {
		if got := mailboxNames(t, s, user); !slices.Equal(got, []string{"INBOX"}) {
			t.Errorf("%s after reset: %v", user, got)
		}
		list, _ := s.List(user, "INBOX")
		if len(list) != 2 || list[0].UID != 1 || list[1].UID != 2 || len(list[0].Flags) != 0 {
			t.Errorf("%s's INBOX after reset: %+v, want the two unread welcome messages", user, list)
		}
	}
	after := info(t, s, "alice", "INBOX")
	if after.UIDValidity == before.UIDValidity || after.UIDNext != 3 {
		t.Errorf("INBOX after reset %+v, before %+v: want a new UIDVALIDITY", after, before)
	}
	for _, w := range []*Watch{w, wb} {
		if c, ok := recv(t, w); !ok || c.Kind != MailboxGone {
			t.Errorf("watch got %v %v, want MailboxGone", c, ok)
		}
		if _, ok := recv(t, w); ok {
			t.Error("watch still open after MailboxGone")
		}
	}
	var n int
	s.db.QueryRow("SELECT COUNT(*) FROM mail_bodies").Scan(&n)
	if n != 4 {
		t.Errorf("%d bodies after reset, want 4 (welcome messages)", n)
	}
}

// TestClosed checks that a closed store reports errors instead of
// panicking.
func TestClosed(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := s.Watch("alice", "INBOX")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-w.C; ok {
		t.Error("watch open after Close")
	}
	if _, err := s.Deliver(ctx, "alice", "INBOX", []byte("x"), nil, time.Time{}); err == nil {
		t.Errorf("Deliver after Close = %v", err)
	}
	if w := s.Watch("alice", "INBOX"); w == nil {
		t.Error("Watch after Close returned nil")
	} else if _, ok := <-w.C; ok {
		t.Error("Watch after Close is open")
	}
}

// TestQuotaFreed checks that the quota counts what the user's mailboxes
// hold now: deleting mail frees room, moving it does not take any.
func TestQuotaFreed(t *testing.T) {
	s, _ := openStore(t, Options{MaxMessageBytes: 100, MaxMailboxBytes: 300})
	if err := s.CreateMailbox("alice", "Old"); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 100)
	deliver(t, s, "alice", "INBOX", big)
	deliver(t, s, "alice", "INBOX", big)
	deliver(t, s, "alice", "Old", big)
	full := func(step string, want error) {
		t.Helper()
		uid, err := s.Deliver(ctx, "alice", "INBOX", []byte("y"), nil, t0)
		wantErr(t, step, err, want)
		if err == nil { // take it back: it was a probe
			if err := s.Remove("alice", "INBOX", []uint32{uid}); err != nil {
				t.Fatal(err)
			}
		}
	}
	full("full", ErrQuota)
	if _, err := s.Move("alice", "INBOX", []uint32{1}, "Old"); err != nil {
		t.Fatal(err)
	}
	full("after a move", ErrQuota)
	if err := s.Remove("alice", "INBOX", []uint32{2}); err != nil {
		t.Fatal(err)
	}
	full("after a removal", nil)
	deliver(t, s, "alice", "INBOX", big)
	if _, err := s.StoreFlags("alice", "INBOX", uids(t, s, "alice", "INBOX"), FlagsAdd, []string{`\Deleted`}); err != nil {
		t.Fatal(err)
	}
	full("flagged but not expunged", ErrQuota)
	if _, err := s.Expunge("alice", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	full("after an expunge", nil)
	deliver(t, s, "alice", "INBOX", big)
	full("full again", ErrQuota)
	if err := s.RenameMailbox("alice", "Old", "Older"); err != nil {
		t.Fatal(err)
	}
	full("after a rename", ErrQuota)
	if err := s.DeleteMailbox("alice", "Older"); err != nil {
		t.Fatal(err)
	}
	full("after deleting a mailbox", nil)
}
