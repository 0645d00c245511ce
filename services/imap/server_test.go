package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"protolab/services/mailstore"
)

func TestLogin(t *testing.T) {
	s := startServer(t, "", nil)
	tests := []struct {
		name, user, password string
		ok                   bool
		eventUser            string
	}{
		{"right password", "bob", "builder", true, "bob"},
		{"upper case and domain", "BOB@lab.test", "builder", true, "bob"},
		{"wrong password", "bob", "nope", false, "bob"},
		{"unknown user", "mallory", "builder", false, "mallory"},
		{"other domain", "bob@example.com", "builder", false, "bob@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := s.dial(t, nil)
			err := c.Login(tc.user, tc.password).Wait()
			if tc.ok != (err == nil) {
				t.Fatalf("login: %v, want ok=%v", err, tc.ok)
			}
			var ie *imap.Error
			if !tc.ok && (!errors.As(err, &ie) || ie.Code != imap.ResponseCodeAuthenticationFailed) {
				t.Errorf("error %v, want NO [AUTHENTICATIONFAILED]", err)
			}
			result := map[bool]string{true: "ok", false: "failed"}[tc.ok]
			e := s.events.next(t, KindLogin, map[string]string{"user": tc.eventUser, "result": result})
			if e.Attrs["mechanism"] != "LOGIN" || e.Attrs["tls"] != "false" {
				t.Errorf("event %v", e.Attrs)
			}
			if !strings.Contains(e.Transcript, "LOGIN ") || strings.Contains(e.Transcript, tc.password) {
				t.Errorf("transcript must show LOGIN without the password:\n%s", e.Transcript)
			}
			if !strings.Contains(e.Transcript, clearNote) {
				t.Errorf("transcript lacks the clear-text warning:\n%s", e.Transcript)
			}
		})
	}
	s.events.next(t, KindConnect, nil)
}

func TestAuthenticatePlain(t *testing.T) {
	s := startServer(t, "", nil)
	c := s.dial(t, nil)
	if !c.Caps().Has("AUTH=PLAIN") {
		t.Errorf("AUTH=PLAIN not advertised: %v", c.Caps())
	}
	if err := c.Authenticate(sasl.NewPlainClient("", "alice", "nope")); err == nil {
		t.Fatal("wrong password accepted")
	}
	s.events.next(t, KindLogin, map[string]string{"user": "alice", "mechanism": "PLAIN", "result": "failed"})
	if err := c.Authenticate(sasl.NewPlainClient("", "alice", "wonderland")); err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	e := s.events.next(t, KindLogin, map[string]string{"user": "alice", "mechanism": "PLAIN", "result": "ok"})
	if strings.Contains(e.Transcript, "AGFsaWNl") || !strings.Contains(e.Transcript, "AUTHENTICATE PLAIN ********") {
		t.Errorf("transcript must mask the SASL response:\n%s", e.Transcript)
	}
	// Acting as someone else is refused.
	c2 := s.dial(t, nil)
	if err := c2.Authenticate(sasl.NewPlainClient("bob", "alice", "wonderland")); err == nil {
		t.Error("authorization identity of another user accepted")
	}
}

func TestLoginSlowedDownThenClosed(t *testing.T) {
	const base = 60 * time.Millisecond
	s := startServer(t, "max_login_failures: 3", func(p *prepared) {
		p.delays = delays{free: 1, base: base, max: 2 * base}
	})
	r := s.raw(t)
	r.send("a1 LOGIN bob x\r\n")
	if l := r.line(); !strings.HasPrefix(l, "a1 NO [AUTHENTICATIONFAILED]") {
		t.Fatalf("a1: %q", l)
	}
	start := time.Now()
	r.send("a2 LOGIN bob y\r\n")
	if l := r.line(); !strings.HasPrefix(l, "a2 NO") {
		t.Fatalf("a2: %q", l)
	}
	if d := time.Since(start); d < base {
		t.Errorf("second failure answered after %v, want at least %v", d, base)
	}
	r.send("a3 LOGIN bob z\r\n")
	if l := r.line(); !strings.HasPrefix(l, "* BYE Too many failed logins") {
		t.Fatalf("a3: %q, want BYE", l)
	}
	if _, err := r.r.ReadString('\n'); !errors.Is(err, io.EOF) {
		t.Errorf("after BYE: %v, want EOF", err)
	}
	// A new connection from the same address is still slowed down, and a
	// success clears the count.
	if got := s.inst.throttle.failures["127.0.0.1"].n; got != 3 {
		t.Errorf("failures counted: %d, want 3", got)
	}
	c := s.dial(t, nil)
	if err := c.Login("bob", "builder").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.inst.throttle.failures["127.0.0.1"]; ok {
		t.Error("a success did not clear the failures")
	}
}

func TestDelays(t *testing.T) {
	d := delays{free: 2, base: 100 * time.Millisecond, max: 350 * time.Millisecond}
	want := []time.Duration{0, 0, 100, 200, 350, 350}
	for i, w := range want {
		if got := d.delay(i + 1); got != w*time.Millisecond {
			t.Errorf("failure %d: %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	th := newThrottle(d)
	now := time.Unix(1000, 0)
	th.now = func() time.Time { return now }
	for range 3 {
		th.fail("192.0.2.1")
	}
	if w := th.fail("192.0.2.1"); w != 200*time.Millisecond {
		t.Errorf("4th failure: %v", w)
	}
	if w := th.fail("192.0.2.2"); w != 0 {
		t.Errorf("another address: %v", w)
	}
	now = now.Add(throttleForget + time.Second)
	if w := th.fail("192.0.2.1"); w != 0 {
		t.Errorf("after a quiet while: %v", w)
	}
}

func TestListCreateRenameDelete(t *testing.T) {
	s := startServer(t, "", nil)
	c := s.login(t, "bob", nil)
	for _, name := range []string{"Archives", "Work/2026/"} {
		if err := c.Create(name, nil).Wait(); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	s.events.next(t, KindCreate, map[string]string{"user": "bob", "mailbox": "Archives"})
	s.events.next(t, KindCreate, map[string]string{"mailbox": "Work/2026"})
	var ie *imap.Error
	if err := c.Create("archives", nil).Wait(); err != nil {
		t.Errorf("names are case-sensitive: %v", err)
	}
	if err := c.Create("Archives", nil).Wait(); !errors.As(err, &ie) || ie.Code != imap.ResponseCodeAlreadyExists {
		t.Errorf("create again: %v", err)
	}
	if err := c.Create("a*b", nil).Wait(); err == nil {
		t.Error("a wildcard in a name was accepted")
	}
	list := func(pattern string) []string {
		t.Helper()
		l, err := c.List("", pattern, nil).Collect()
		if err != nil {
			t.Fatalf("list %q: %v", pattern, err)
		}
		var out []string
		for _, d := range l {
			if d.Delim != '/' {
				t.Errorf("%s: delimiter %q", d.Mailbox, d.Delim)
			}
			out = append(out, d.Mailbox)
		}
		return out
	}
	if got, want := list("*"), []string{"INBOX", "Archives", "Work", "Work/2026", "archives"}; !slices.Equal(got, want) {
		t.Errorf("LIST *: %v, want %v", got, want)
	}
	if got, want := list("%"), []string{"INBOX", "Archives", "Work", "archives"}; !slices.Equal(got, want) {
		t.Errorf("LIST %%: %v, want %v", got, want)
	}
	if got := list("inbox"); !slices.Equal(got, []string{"INBOX"}) {
		t.Errorf("LIST inbox: %v", got)
	}
	l, _ := c.List("", "Work", nil).Collect()
	if len(l) != 1 || !slices.Contains(l[0].Attrs, imap.MailboxAttrHasChildren) {
		t.Errorf("Work: %+v, want \\HasChildren", l)
	}
	if err := c.Rename("Archives", "Old/Archives", nil).Wait(); err != nil {
		t.Fatalf("rename: %v", err)
	}
	s.events.next(t, KindRename, map[string]string{"user": "bob", "from": "Archives", "to": "Old/Archives"})
	if err := c.Delete("Work").Wait(); !errors.As(err, &ie) || ie.Code != imap.ResponseCodeHasChildren {
		t.Errorf("delete a parent: %v", err)
	}
	if err := c.Delete("INBOX").Wait(); err == nil {
		t.Error("INBOX deleted")
	}
	if err := c.Delete("Nothing").Wait(); !errors.As(err, &ie) || ie.Code != imap.ResponseCodeNonExistent {
		t.Errorf("delete a missing mailbox: %v", err)
	}
	if err := c.Delete("Old/Archives").Wait(); err != nil {
		t.Fatalf("delete: %v", err)
	}
	s.events.next(t, KindDelete, map[string]string{"user": "bob", "mailbox": "Old/Archives"})
	if got, want := list("*"), []string{"INBOX", "Old", "Work", "Work/2026", "archives"}; !slices.Equal(got, want) {
		t.Errorf("LIST * after: %v, want %v", got, want)
	}
	// LSUB: all subscribed until unsubscribed.
	if err := c.Unsubscribe("archives").Wait(); err != nil {
		t.Fatal(err)
	}
	subs, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range subs {
		if d.Mailbox == "archives" {
			t.Error("unsubscribed mailbox listed as subscribed")
		}
	}
	if len(subs) != 4 {
		t.Errorf("subscribed: %d, want 4", len(subs))
	}
}

func TestSelectExamineStatus(t *testing.T) {
	s := startServer(t, "", nil)
	s.deliver(t, "bob", "INBOX", message("one", "a"), message("two", "b"))
	if _, err := s.store.StoreFlags("bob", "INBOX", []uint32{1}, mailstore.FlagsAdd, []string{`\Seen`, "$Work"}); err != nil {
		t.Fatal(err)
	}
	c := s.login(t, "bob", nil)
	data, err := c.Select("inbox", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if data.NumMessages != 2 || data.UIDNext != 3 || data.UIDValidity == 0 {
		t.Errorf("select: %+v", data)
	}
	if got := flagStrings(data.Flags); got != `\Answered \Deleted \Draft \Flagged \Seen $Work` {
		t.Errorf("FLAGS: %s", got)
	}
	if !slices.Contains(data.PermanentFlags, imap.FlagWildcard) {
		t.Errorf("PERMANENTFLAGS: %v", data.PermanentFlags)
	}
	s.events.next(t, KindSelect, map[string]string{"user": "bob", "mailbox": "INBOX", "readonly": "false", "messages": "2"})
	r := s.raw(t)
	r.send("a LOGIN bob builder\r\nb SELECT INBOX\r\n")
	r.until("a OK")
	if lines := strings.Join(r.until("b OK"), "\n"); !strings.Contains(lines, "* OK [UNSEEN 2]") || !strings.Contains(lines, "* 2 EXISTS") {
		t.Errorf("SELECT:\n%s", lines)
	}
	data, err = c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(data.PermanentFlags) != 0 {
		t.Errorf("EXAMINE: PERMANENTFLAGS %v", data.PermanentFlags)
	}
	s.events.next(t, KindSelect, map[string]string{"readonly": "true"})
	var ie *imap.Error
	if _, err := c.Select("Nope", nil).Wait(); !errors.As(err, &ie) || ie.Code != imap.ResponseCodeNonExistent {
		t.Errorf("select missing: %v", err)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true, NumUnseen: true, UIDNext: true, UIDValidity: true, Size: true, NumDeleted: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != 2 || *st.NumUnseen != 1 || st.UIDNext != 3 || *st.NumDeleted != 0 || *st.Size != int64(len(message("one", "a"))+len(message("two", "b"))) {
		t.Errorf("status: msgs %d unseen %d next %d deleted %d size %d", *st.NumMessages, *st.NumUnseen, st.UIDNext, *st.NumDeleted, *st.Size)
	}
}

func TestFetch(t *testing.T) {
	s := startServer(t, "", nil)
	body := "Hello Bob,\r\nthe pigeon has landed.\r\n"
	msg := message("Carrier pigeon", body)
	s.deliver(t, "bob", "INBOX", msg, message("Second", "x"))
	c := s.login(t, "bob", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	// Envelope, flags, date, size: nothing marks \Seen.
	msgs, err := c.Fetch(seqs(1), &imap.FetchOptions{Envelope: true, Flags: true, InternalDate: true, RFC822Size: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %v %v", msgs, err)
	}
	m := msgs[0]
	if m.Envelope == nil || m.Envelope.Subject != "Carrier pigeon" || m.Envelope.MessageID != "carrier.pigeon@lab.test" || len(m.Envelope.From) != 1 || m.Envelope.From[0].Addr() != "alice@lab.test" {
		t.Errorf("envelope: %+v", m.Envelope)
	}
	if m.RFC822Size != int64(len(msg)) || m.UID != 1 || len(m.Flags) != 0 || m.InternalDate.IsZero() {
		t.Errorf("size %d uid %d flags %v date %v", m.RFC822Size, m.UID, m.Flags, m.InternalDate)
	}
	if bs, ok := m.BodyStructure.(*imap.BodyStructureSinglePart); !ok || bs.MediaType() != "text/plain" || bs.Params["charset"] != "utf-8" {
		t.Errorf("body structure: %#v", m.BodyStructure)
	}
	e := s.events.next(t, KindFetch, map[string]string{"uid": "1"})
	if e.Attrs["section"] != "ENVELOPE BODYSTRUCTURE FLAGS INTERNALDATE RFC822.SIZE" || e.Attrs["body"] != "false" ||
		e.Attrs["subject"] != "Carrier pigeon" || e.Attrs["message_id"] != "carrier.pigeon@lab.test" {
		t.Errorf("event: %v", e.Attrs)
	}

	// Header with PEEK, and a partial body: still unseen.
	hdr := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	part := &imap.FetchItemBodySection{Peek: true, Specifier: imap.PartSpecifierText, Partial: &imap.SectionPartial{Offset: 6, Size: 3}}
	msgs, err = c.Fetch(seqs(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{hdr, part}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	wantHdr := string(msg[:bytes.Index(msg, []byte("\r\n\r\n"))+4])
	if got := string(msgs[0].FindBodySection(hdr)); got != wantHdr {
		t.Errorf("HEADER: %q, want %q", got, wantHdr)
	}
	if got := string(msgs[0].FindBodySection(part)); got != "Bob" {
		t.Errorf("partial: %q", got)
	}
	e = s.events.next(t, KindFetch, map[string]string{"uid": "1", "section": "BODY.PEEK[HEADER] BODY.PEEK[TEXT]<6.3>"})
	if e.Attrs["body"] != "true" {
		t.Errorf("a part of the text was sent: %v", e.Attrs)
	}
	if fl := flagsOf(t, c, 1); fl != "" {
		t.Errorf("PEEK set flags: %q", fl)
	}

	// BODY[]: the exact bytes, and \Seen set (the FLAGS come along).
	whole := &imap.FetchItemBodySection{}
	msgs, err = c.Fetch(seqs(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{whole}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if got := msgs[0].FindBodySection(whole); !bytes.Equal(got, msg) {
		t.Errorf("BODY[]: %q", got)
	}
	if got := flagStrings(msgs[0].Flags); got != `\Seen` {
		t.Errorf("flags sent with BODY[]: %q, want \\Seen", got)
	}
	e = s.events.next(t, KindFetch, map[string]string{"uid": "1", "section": "BODY[]"})
	if e.Attrs["body"] != "true" || !strings.Contains(e.Transcript, "FETCH 1 (BODY[])") {
		t.Errorf("event %v\n%s", e.Attrs, e.Transcript)
	}
	if fl := flagsOf(t, c, 1); fl != `\Seen` {
		t.Errorf("after BODY[]: %q", fl)
	}

	// Flags only: one event for all the messages.
	if _, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true}).Collect(); err != nil {
		t.Fatal(err)
	}
	s.events.next(t, KindFetch, map[string]string{"uid": "", "section": "FLAGS", "count": "2"})

	// UID FETCH of a UID range.
	msgs, err = c.Fetch(imap.UIDSetNum(2), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].SeqNum != 2 || msgs[0].Envelope.Subject != "Second" {
		t.Errorf("UID FETCH 2: %+v %v", msgs, err)
	}
}

// flagsOf fetches one message's flags.
func flagsOf(t *testing.T, c *imapclient.Client, seq uint32) string {
	t.Helper()
	msgs, err := c.Fetch(seqs(seq), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch flags: %v %v", msgs, err)
	}
	return flagStrings(msgs[0].Flags)
}

func TestStoreFlags(t *testing.T) {
	s := startServer(t, "", nil)
	s.deliver(t, "bob", "INBOX", message("a", "a"), message("b", "b"), message("c", "c"))
	c := s.login(t, "bob", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		set   imap.NumSet
		store imap.StoreFlags
		want  map[uint32]string // seq -> flags after
		event map[string]string
	}{
		{seqs(1, 3), imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{`\flagged`}},
			map[uint32]string{1: `\Flagged`, 2: "", 3: `\Flagged`},
			map[string]string{"uids": "1,3", "op": "add", "flags": `\Flagged`}},
		{imap.UIDSetNum(2), imap.StoreFlags{Op: imap.StoreFlagsSet, Flags: []imap.Flag{`\SEEN`, "$Important"}},
			map[uint32]string{2: `$Important \Seen`},
			map[string]string{"uids": "2", "op": "set", "flags": `$Important \Seen`}},
		{imap.SeqSet{{Start: 1, Stop: 0}}, imap.StoreFlags{Op: imap.StoreFlagsDel, Flags: []imap.Flag{`\Flagged`}},
			map[uint32]string{1: "", 2: `$Important \Seen`, 3: ""},
			map[string]string{"uids": "1:3", "op": "remove", "flags": `\Flagged`}},
	}
	for _, tc := range tests {
		msgs, err := c.Store(tc.set, &tc.store, nil).Collect()
		if err != nil {
			t.Fatalf("store %v: %v", tc.set, err)
		}
		got := map[uint32]string{}
		for _, m := range msgs {
			got[m.SeqNum] = flagStrings(m.Flags)
		}
		for seq, want := range tc.want {
			if got[seq] != want {
				t.Errorf("store %v %v: message %d has %q, want %q (canonical case)", tc.set, tc.store.Flags, seq, got[seq], want)
			}
		}
		s.events.next(t, KindStore, tc.event)
	}
	// .SILENT sends no FETCH.
	msgs, err := c.Store(seqs(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect()
	if err != nil || len(msgs) != 0 {
		t.Errorf("silent store: %v %v", msgs, err)
	}
	if fl := flagsOf(t, c, 1); fl != `\Deleted` {
		t.Errorf("after silent store: %q", fl)
	}
	// A flag that cannot be set.
	if _, err := c.Store(seqs(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{`\Bogus`}}, nil).Collect(); err == nil {
		t.Error(`\Bogus accepted`)
	}
	// EXAMINE: read-only.
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Store(seqs(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect(); err == nil {
		t.Error("STORE in an examined mailbox succeeded")
	}
	whole := &imap.FetchItemBodySection{}
	if _, err := c.Fetch(seqs(3), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{whole}}).Collect(); err != nil {
		t.Fatal(err)
	}
	if fl := flagsOf(t, c, 3); fl != "" {
		t.Errorf("BODY[] in an examined mailbox set %q", fl)
	}
}

func TestSearch(t *testing.T) {
	s := startServer(t, "", nil)
	s.deliver(t, "bob", "INBOX", message("Carrier pigeon", "coo"), message("Meeting", "the PIGEON again"), message("Lunch", "soup"), message("pigeon post", "x"))
	if _, err := s.store.StoreFlags("bob", "INBOX", []uint32{1, 3}, mailstore.FlagsAdd, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	c := s.login(t, "bob", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		criteria imap.SearchCriteria
		uid      bool
		want     []uint32
		readable string
	}{
		{"subject", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "pigeon"}}}, false, []uint32{1, 4}, `SUBJECT "pigeon"`},
		{"unseen", imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, false, []uint32{2, 4}, "UNSEEN"},
		{"body", imap.SearchCriteria{Body: []string{"pigeon"}}, false, []uint32{2}, `BODY "pigeon"`},
		{"text", imap.SearchCriteria{Text: []string{"pigeon"}}, false, []uint32{1, 2, 4}, `TEXT "pigeon"`},
		{"uid range", imap.SearchCriteria{UID: []imap.UIDSet{{{Start: 2, Stop: 3}}}}, true, []uint32{2, 3}, "UID 2:3"},
		{"uid to the end", imap.SearchCriteria{UID: []imap.UIDSet{{{Start: 3, Stop: 0}}}}, true, []uint32{3, 4}, "UID 3:*"},
		{"not seen and subject", imap.SearchCriteria{
			Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "pigeon"}},
			Not:    []imap.SearchCriteria{{Flag: []imap.Flag{imap.FlagSeen}}},
		}, false, []uint32{4}, `SUBJECT "pigeon" NOT SEEN`},
		{"or", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{
			{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "lunch"}}},
			{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "meeting"}}},
		}}}, false, []uint32{2, 3}, `OR SUBJECT "lunch" SUBJECT "meeting"`},
		{"nothing", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "nobody"}}}, false, nil, `FROM "nobody"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := c.Search(&tc.criteria, nil)
			if tc.uid {
				cmd = c.UIDSearch(&tc.criteria, nil)
			}
			data, err := cmd.Wait()
			if err != nil {
				t.Fatal(err)
			}
			var got []uint32
			if tc.uid {
				uids := data.AllUIDs()
				for _, u := range uids {
					got = append(got, uint32(u))
				}
			} else {
				got = data.AllSeqNums()
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			s.events.next(t, KindSearch, map[string]string{"criteria": tc.readable, "results": itoa(len(tc.want))})
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestCopyMoveExpungeAppend(t *testing.T) {
	s := startServer(t, "", nil)
	s.deliver(t, "bob", "INBOX", message("one", "1"), message("two", "2"), message("three", "3"))
	c := s.login(t, "bob", nil)
	if err := c.Create("Archives", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	cd, err := c.Copy(seqs(1, 2), "Archives").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if cd.SourceUIDs.String() != "1:2" || cd.DestUIDs.String() != "1:2" || cd.UIDValidity == 0 {
		t.Errorf("COPYUID: %+v", cd)
	}
	s.events.next(t, KindCopy, map[string]string{"user": "bob", "from": "INBOX", "to": "Archives", "count": "2"})
	var ie *imap.Error
	if _, err := c.Copy(seqs(1), "Nowhere").Wait(); !errors.As(err, &ie) || ie.Code != imap.ResponseCodeTryCreate {
		t.Errorf("copy to a missing mailbox: %v", err)
	}

	md, err := c.Move(seqs(2), "Archives").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if md.SourceUIDs.String() != "2" || md.DestUIDs.String() != "3" {
		t.Errorf("MOVE COPYUID: %+v", md)
	}
	s.events.next(t, KindMove, map[string]string{"from": "INBOX", "to": "Archives", "count": "1"})
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 2 || msgs[1].UID != 3 {
		t.Fatalf("after MOVE: %+v %v", msgs, err)
	}

	if _, err := c.Store(seqs(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	exp, err := c.Expunge().Collect()
	if err != nil || !slices.Equal(exp, []uint32{1}) {
		t.Errorf("expunge: %v %v", exp, err)
	}
	s.events.next(t, KindExpunge, map[string]string{"mailbox": "INBOX", "count": "1"})
	if got, _ := s.store.List("bob", "INBOX"); len(got) != 1 || got[0].UID != 3 {
		t.Errorf("INBOX now: %+v", got)
	}

	// APPEND returns the UID; the selected session hears of it.
	msg := message("Appended", "hello")
	cmd := c.Append("INBOX", int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{`\seen`}})
	cmd.Write(msg)
	cmd.Close()
	ad, err := cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if ad.UID != 4 || ad.UIDValidity == 0 {
		t.Errorf("APPENDUID: %+v", ad)
	}
	s.events.next(t, KindAppend, map[string]string{"user": "bob", "mailbox": "INBOX", "uid": "4", "size": itoa(len(msg))})
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if n := c.Mailbox().NumMessages; n != 2 {
		t.Errorf("messages after APPEND: %d", n)
	}
	if fl := flagsOf(t, c, 2); fl != `\Seen` {
		t.Errorf("appended flags %q", fl)
	}
	got, _ := s.store.Read("bob", "INBOX", 4)
	if !bytes.Equal(got, msg) {
		t.Errorf("stored %q", got)
	}
	cmd = c.Append("Missing", int64(len(msg)), nil)
	cmd.Write(msg)
	cmd.Close()
	if _, err := cmd.Wait(); !errors.As(err, &ie) || ie.Code != imap.ResponseCodeTryCreate {
		t.Errorf("append to a missing mailbox: %v", err)
	}
	// CLOSE expunges too.
	if _, err := c.Store(seqs(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	if err := c.UnselectAndExpunge().Wait(); err != nil {
		t.Fatal(err)
	}
	s.events.next(t, KindExpunge, map[string]string{"mailbox": "INBOX", "count": "1"})
	if got, _ := s.store.List("bob", "INBOX"); len(got) != 1 || got[0].UID != 4 {
		t.Errorf("INBOX after CLOSE: %+v", got)
	}
}

func TestAppendTooBig(t *testing.T) {
	s := startServer(t, "", nil, mailstore.Options{MaxMessageBytes: 1000})
	c := s.login(t, "bob", nil)
	big := message("big", strings.Repeat("x", 2000))
	cmd := c.Append("INBOX", int64(len(big)), nil)
	cmd.Write(big)
	cmd.Close()
	var ie *imap.Error
	if _, err := cmd.Wait(); !errors.As(err, &ie) || ie.Code != imap.ResponseCodeTooBig {
		t.Errorf("append too big: %v, want NO [TOOBIG]", err)
	}
	if l, _ := s.store.List("bob", "INBOX"); len(l) != 0 {
		t.Errorf("stored anyway: %v", l)
	}
}

func TestIdleSeesDelivery(t *testing.T) {
	s := startServer(t, "", nil)
	s.deliver(t, "bob", "INBOX", message("first", "1"))
	exists := make(chan uint32, 10)
	c := s.login(t, "bob", &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
	})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	s.events.next(t, KindIdle, map[string]string{"user": "bob", "mailbox": "INBOX", "phase": "start"})
	// Delivered as SMTP would, from another goroutine.
	go s.store.Deliver(context.Background(), "bob", "INBOX", message("second", "2"), nil, time.Time{})
	select {
	case n := <-exists:
		if n != 2 {
			t.Errorf("EXISTS %d, want 2", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no EXISTS while idling")
	}
	s.events.next(t, KindIdle, map[string]string{"phase": "update", "updates": "1"})
	// An expunge by POP3 while idling.
	if err := s.store.Remove("bob", "INBOX", []uint32{1}); err != nil {
		t.Fatal(err)
	}
	s.events.next(t, KindIdle, map[string]string{"phase": "update", "updates": "2"})
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	s.events.next(t, KindIdle, map[string]string{"phase": "done", "updates": "2"})
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].SeqNum != 1 || msgs[0].Envelope.Subject != "second" {
		t.Errorf("after IDLE: %+v %v", msgs, err)
	}
}

func TestExpungeFromElsewhere(t *testing.T) {
	s := startServer(t, "", nil)
	s.deliver(t, "bob", "INBOX", message("m1", "1"), message("m2", "2"), message("m3", "3"), message("m4", "4"))
	var expunged []uint32
	c := s.login(t, "bob", &imapclient.UnilateralDataHandler{Expunge: func(seq uint32) { expunged = append(expunged, seq) }})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	// POP3 deletes message 2 (UID 2).
	if err := s.store.Remove("bob", "INBOX", []uint32{2}); err != nil {
		t.Fatal(err)
	}
	// During FETCH no EXPUNGE may be sent: the numbers stay, message 2
	// is just missing.
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint32]imap.UID{}
	for _, m := range msgs {
		got[m.SeqNum] = m.UID
	}
	if len(got) != 3 || got[1] != 1 || got[3] != 3 || got[4] != 4 {
		t.Errorf("FETCH during a pending expunge: %v", got)
	}
	if len(expunged) != 0 {
		t.Errorf("EXPUNGE sent during FETCH: %v", expunged)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(expunged, []uint32{2}) {
		t.Errorf("EXPUNGE after NOOP: %v, want [2]", expunged)
	}
	// The numbers now follow: 2 is UID 3.
	msgs, err = c.Fetch(seqs(2, 3), &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 2 || msgs[0].UID != 3 || msgs[1].UID != 4 {
		t.Errorf("after the expunge: %+v %v", msgs, err)
	}
	// Several at once, and a delivery: EXPUNGE highest first, then EXISTS.
	expunged = nil
	if err := s.store.Remove("bob", "INBOX", []uint32{1, 4}); err != nil {
		t.Fatal(err)
	}
	s.deliver(t, "bob", "INBOX", message("m5", "5"))
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(expunged, []uint32{3, 1}) || c.Mailbox().NumMessages != 2 {
		t.Errorf("expunged %v, messages %d", expunged, c.Mailbox().NumMessages)
	}
	msgs, err = c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 2 || msgs[0].UID != 3 || msgs[1].UID != 5 {
		t.Errorf("final: %+v %v", msgs, err)
	}
	// Another IMAP session's STORE shows up as FETCH FLAGS.
	other := s.login(t, "bob", nil)
	if _, err := other.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Store(seqs(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	if fl := flagsOf(t, c, 1); fl != `\Flagged` {
		t.Errorf("flags from the other session: %q", fl)
	}
}

func TestSelectedMailboxDeleted(t *testing.T) {
	s := startServer(t, "", nil)
	if err := s.store.CreateMailbox("bob", "Temp"); err != nil {
		t.Fatal(err)
	}
	s.deliver(t, "bob", "Temp", message("a", "a"), message("b", "b"))
	var expunged []uint32
	c := s.login(t, "bob", &imapclient.UnilateralDataHandler{Expunge: func(seq uint32) { expunged = append(expunged, seq) }})
	if _, err := c.Select("Temp", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	other := s.login(t, "bob", nil)
	if err := other.Delete("Temp").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(expunged, []uint32{2, 1}) {
		t.Errorf("expunged %v", expunged)
	}
	// Renaming the selected mailbox keeps it selected.
	if err := c.Create("Keep", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	s.deliver(t, "bob", "Keep", message("k", "k"))
	if _, err := c.Select("Keep", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Rename("Keep", "Kept", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	s.deliver(t, "bob", "Kept", message("k2", "k2"))
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if n := c.Mailbox().NumMessages; n != 2 {
		t.Errorf("messages in the renamed mailbox: %d", n)
	}
}

func TestStartTLS(t *testing.T) {
	s := startServer(t, "allow_insecure_auth: false", nil)
	plain := s.dial(t, nil)
	if !plain.Caps().Has(imap.CapLoginDisabled) || !plain.Caps().Has(imap.CapStartTLS) {
		t.Errorf("caps without TLS: %v", plain.Caps())
	}
	if err := plain.Login("bob", "builder").Wait(); err == nil {
		t.Error("LOGIN in clear accepted with allow_insecure_auth: false")
	}
	c, err := imapclient.DialStartTLS(s.addr, &imapclient.Options{TLSConfig: tlsConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("bob", "builder").Wait(); err != nil {
		t.Fatalf("login after STARTTLS: %v", err)
	}
	s.events.next(t, KindStartTLS, map[string]string{"result": "ok"})
	e := s.events.next(t, KindLogin, map[string]string{"user": "bob", "result": "ok", "tls": "true"})
	for _, want := range []string{" STARTTLS", "OK Begin TLS negotiation now", tlsNote, "C: LOGIN bob ********"} {
		if !strings.Contains(e.Transcript, want) {
			t.Errorf("transcript lacks %q:\n%s", want, e.Transcript)
		}
	}
	if strings.Contains(e.Transcript, clearNote) || strings.Contains(e.Transcript, "builder") {
		t.Errorf("transcript:\n%s", e.Transcript)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	e = s.events.next(t, KindSelect, nil)
	if !strings.Contains(e.Transcript, "C: SELECT INBOX") {
		t.Errorf("transcript after TLS:\n%s", e.Transcript)
	}
	// A handshake that fails is reported.
	r := s.raw(t)
	r.send("t1 STARTTLS\r\n")
	if l := r.line(); !strings.HasPrefix(l, "t1 OK") {
		t.Fatalf("STARTTLS: %q", l)
	}
	r.send("this is not TLS\r\n")
	s.events.next(t, KindStartTLS, map[string]string{"result": "failed"})
}

func TestTranscript(t *testing.T) {
	s := startServer(t, "", nil)
	r := s.raw(t)
	r.send("a1 LOGIN {3}\r\n")
	if l := r.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("continuation: %q", l)
	}
	r.send("bob {7+}\r\nbuilder\r\n")
	r.until("a1 OK")
	r.send("a2 SELECT INBOX\r\n")
	r.until("a2 OK")
	r.send("a3 APPEND INBOX {999999999}\r\n")
	r.until("a3 NO")
	msg := message("Hi", "there")
	r.send("a4 APPEND INBOX {" + itoa(len(msg)) + "+}\r\n" + string(msg) + "\r\n")
	r.until("a4 OK")
	e := s.events.next(t, KindAppend, nil)
	want := []string{
		"S: * OK [CAPABILITY",
		"C: a1 LOGIN <literal of 3 octets> ********",
		clearNote,
		"S: a1 OK",
		"C: a2 SELECT INBOX",
		"S: a2 OK [READ-WRITE] SELECT completed",
		"C: a3 APPEND INBOX <literal of 999999999 octets> (refused)",
		"S: a3 NO [TOOBIG]",
		"C: a4 APPEND INBOX <literal of " + itoa(len(msg)) + " octets>",
	}
	lines := strings.Split(e.Transcript, "\n")
	if len(lines) != len(want) {
		t.Fatalf("transcript:\n%s", e.Transcript)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want %q", i, lines[i], w)
		}
	}
	if strings.Contains(e.Transcript, "builder") || strings.Contains(e.Transcript, "there") {
		t.Error("transcript shows a password or a literal")
	}
	// Bounded.
	for range transcriptLines {
		r.send("n NOOP\r\n")
		r.until("n OK")
	}
	r.send("z SEARCH ALL\r\n")
	r.until("z OK")
	e = s.events.next(t, KindSearch, nil)
	if n := strings.Count(e.Transcript, "\n") + 1; n != transcriptLines {
		t.Errorf("transcript of %d lines, want %d", n, transcriptLines)
	}
}

func TestConnectionLimit(t *testing.T) {
	s := startServer(t, "max_connections: 1", nil)
	first := s.raw(t)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "* BYE Too many connections") {
		t.Errorf("second connection got %q", b)
	}
	first.send("a LOGOUT\r\n")
	first.until("a OK")
	// The slot comes back.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c2, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c2.SetDeadline(time.Now().Add(5 * time.Second))
		l := make([]byte, 4)
		io.ReadFull(c2, l)
		c2.Close()
		if string(l) == "* OK" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the connection slot was not given back")
		}
	}
}

func TestIdleTimeout(t *testing.T) {
	s := startServer(t, "idle_timeout: 1s", nil)
	r := s.raw(t)
	r.send("a LOGIN bob builder\r\n")
	r.until("a OK")
	start := time.Now()
	if _, err := r.r.ReadString('\n'); err == nil {
		t.Fatal("the idle connection got a line instead of being closed")
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("closed after %v, before the idle timeout", d)
	}
}

func TestShutdownLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("serve", func(t *testing.T) {
		s := startServer(t, "", nil)
		c := s.login(t, "bob", nil)
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Idle(); err != nil {
			t.Fatal(err)
		}
		s.events.next(t, KindIdle, map[string]string{"phase": "start"})
		s.raw(t) // one more, not logged in
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.inst.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-c.Closed():
		case <-time.After(5 * time.Second):
			t.Error("the client's connection is still open after Shutdown")
		}
		if err := s.inst.Shutdown(ctx); err != nil {
			t.Errorf("second shutdown: %v", err)
		}
	})
	// The store and the clients close in the subtest's cleanup.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left (before: %d):\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWire(t *testing.T) {
	s := startServer(t, "", nil)
	s.deliver(t, "bob", "INBOX", message("one", "1"), message("two", "2"))
	r := s.raw(t)
	r.send("a0 CAPABILITY\r\n")
	caps := strings.Join(r.until("a0 OK"), "\n")
	for _, c := range []string{"IMAP4rev1", "IMAP4rev2", "STARTTLS", "AUTH=PLAIN", "SASL-IR"} {
		if !strings.Contains(caps, " "+c) {
			t.Errorf("CAPABILITY lacks %s: %s", c, caps)
		}
	}
	r.send("a1 LOGIN bob builder\r\n")
	r.until("a1 OK")
	tests := []struct {
		cmd  string
		want []string
	}{
		{"CAPABILITY", []string{"IDLE", "MOVE", "NAMESPACE", "UIDPLUS", "UNSELECT", "CHILDREN", "LITERAL+", "APPENDLIMIT=10485760"}},
		{`LIST "" ""`, []string{`* LIST (\Noselect) "/" ""`}},
		{`LSUB "" "*"`, []string{`* LSUB (\HasNoChildren \Subscribed) "/" INBOX`}},
		{"NAMESPACE", []string{`* NAMESPACE (("" "/")) NIL NIL`}},
		{"STATUS INBOX (MESSAGES UNSEEN SIZE)", []string{"* STATUS INBOX (MESSAGES 2 UNSEEN 2 SIZE "}},
		{"SELECT INBOX", []string{"* 2 EXISTS", "[UIDVALIDITY ", "[UIDNEXT 3]", "[READ-WRITE]"}},
		{"FETCH 1:* (UID RFC822.SIZE)", []string{"* 1 FETCH (UID 1 RFC822.SIZE ", "* 2 FETCH (UID 2 RFC822.SIZE "}},
		{"FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])", []string{`BODY[HEADER.FIELDS ("SUBJECT")] {16}`, "Subject: two"}},
		{"FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])", []string{"BINARY[1] ~{3}", "BINARY.SIZE[1] 3"}},
		{"UID SEARCH UNSEEN", []string{"* SEARCH 1 2"}},
		{"SEARCH RETURN (SAVE) SUBJECT two", []string{"OK"}},
		{"FETCH $ (UID)", []string{"* 2 FETCH (UID 2)"}},
		{"ENABLE IMAP4rev2", []string{"* ENABLED IMAP4rev2"}},
		{"SEARCH ALL", []string{"* ESEARCH (TAG \"t\") ALL 1:2"}},
		{"STORE 1 +FLAGS (\\seen $Work)", []string{"* 1 FETCH (UID 1 FLAGS ($Work \\Seen))"}},
		{"UID STORE 2 FLAGS.SILENT (\\Answered)", []string{"t OK"}},
		{"COPY 1:2 INBOX", []string{"* 4 EXISTS", "[COPYUID ", " 1:2 3:4]"}},
		{"UNSELECT", []string{"t OK"}},
		{"EXAMINE INBOX", []string{"[READ-ONLY]"}},
		{"EXPUNGE", []string{"t NO [READ-ONLY]"}},
		{"CLOSE", []string{"t OK"}},
	}
	for _, tc := range tests {
		r.send("t " + tc.cmd + "\r\n")
		got := strings.Join(r.until("t "), "\n")
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: lacks %q:\n%s", tc.cmd, w, got)
			}
		}
	}
}

func TestGarbage(t *testing.T) {
	s := startServer(t, "", nil)
	r := s.raw(t)
	r.send("\x00\x01\x02 what\r\n")
	if b, err := io.ReadAll(r.r); err != nil || len(b) > 0 && !strings.Contains(string(b), "BAD") {
		t.Errorf("garbage before login: %q %v", b, err)
	}
	r = s.raw(t)
	r.send("a1 HELLO\r\n")
	if l := strings.Join(r.until("* BYE"), "\n"); !strings.Contains(l, "a1 BAD") {
		t.Errorf("unknown command before login: %s", l)
	}
	r2 := s.raw(t)
	r2.send("a LOGIN bob builder\r\nb FETCH 1 (BODY[])\r\nc SELECT\r\nd FETCH x (FLAGS)\r\ne BOGUS\r\n")
	out := strings.Join(r2.until("e "), "\n")
	for _, w := range []string{"a OK", "b BAD", "c BAD", "\nd ", "e BAD"} { // d: the library answers NO [SERVERBUG] to a bad set
		if !strings.Contains(out, w) {
			t.Errorf("lacks %q:\n%s", w, out)
		}
	}
	c := s.login(t, "alice", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Errorf("the server no longer serves: %v", err)
	}
}

func TestMailboxLimit(t *testing.T) {
	s := startServer(t, "", nil)
	for i := 1; i < mailstore.MaxMailboxes; i++ {
		if err := s.store.CreateMailbox("bob", "Box"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	c := s.login(t, "bob", nil)
	var ie *imap.Error
	if err := c.Create("OneTooMany", nil).Wait(); !errors.As(err, &ie) || ie.Code != imap.ResponseCodeLimit {
		t.Errorf("create past the limit: %v, want NO [LIMIT]", err)
	}
}

// A flood of bad commands ends with BYE and a closed connection.
func TestBadCommandFlood(t *testing.T) {
	s := startServer(t, "", nil)
	r := s.raw(t)
	for i := 1; i <= maxBadCommands; i++ {
		r.send(fmt.Sprintf("b%d SELECT\r\n", i)) // a known command without its argument
		if l := r.line(); !strings.HasPrefix(l, fmt.Sprintf("b%d BAD", i)) {
			t.Fatalf("bad command %d: %q", i, l)
		}
	}
	if l := r.line(); !strings.HasPrefix(l, "* BYE Too many bad commands") {
		t.Fatalf("after %d bad commands: %q", maxBadCommands, l)
	}
	if _, err := r.r.ReadString('\n'); err == nil {
		t.Fatal("the connection is still open")
	}
}
