package mailstore

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"protolab/internal/yamlx"
)

// FuzzMailboxName checks mailbox names as an IMAP server hands them over
// (decoded from the wire): a name is refused with ErrBadName or comes back
// canonical, and a canonical name goes through the store unchanged.
func FuzzMailboxName(f *testing.F) {
	for _, s := range []string{"INBOX", "inbox", "inbox/x", "Archives/2026", "a/b/c", "été", "", "/", "a//b",
		"a/", "*", "%", "a\x00b", "\xff", "[Gmail]/All Mail", "&AOk-t&AOk-", strings.Repeat("x", 201)} {
		f.Add(s)
	}
	s, err := Open(f.TempDir(), Options{Users: []User{{Name: "fuzz", Password: "fuzz"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, name string) {
		got, err := CanonicalMailbox(name)
		if err != nil {
			if !errors.Is(err, ErrBadName) {
				t.Fatalf("CanonicalMailbox(%q): %v, not ErrBadName", name, err)
			}
			if err := s.CreateMailbox("fuzz", name); !errors.Is(err, ErrBadName) {
				t.Fatalf("CreateMailbox(%q) = %v, want ErrBadName", name, err)
			}
			if _, err := s.Mailbox("fuzz", name); !errors.Is(err, ErrNoMailbox) {
				t.Fatalf("Mailbox(%q) = %v, want ErrNoMailbox", name, err)
			}
			return
		}
		if !strings.EqualFold(got, name) || len(got) != len(name) || len(got) > MaxMailboxName || !utf8.ValidString(got) {
			t.Fatalf("CanonicalMailbox(%q) = %q", name, got)
		}
		if again, err := CanonicalMailbox(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", name, got, again, err)
		}
		for _, level := range strings.Split(got, Separator) {
			if level == "" {
				t.Fatalf("%q has an empty level", got)
			}
		}
		// Through the store: created, found under its canonical name,
		// deleted with its parents.
		err = s.CreateMailbox("fuzz", name)
		if got == Inbox {
			if !errors.Is(err, ErrExists) {
				t.Fatalf("CreateMailbox(%q) = %v, want ErrExists", name, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("CreateMailbox(%q): %v", name, err)
		}
		if mi, err := s.Mailbox("fuzz", name); err != nil || mi.Name != got {
			t.Fatalf("Mailbox(%q) = %+v, %v", name, mi, err)
		}
		chain := append(parents(got), got)
		for i := len(chain) - 1; i >= 0; i-- {
			if chain[i] == Inbox {
				continue
			}
			if err := s.DeleteMailbox("fuzz", chain[i]); err != nil {
				t.Fatalf("DeleteMailbox(%q): %v", chain[i], err)
			}
		}
		if names := mailboxNames(t, s, "fuzz"); len(names) != 1 {
			t.Fatalf("mailboxes left: %q", names)
		}
	})
}

// FuzzFlags checks flag lists (NUL-separated here) as an IMAP server hands
// them over: refused with ErrBadFlag, or canonical, sorted, without
// duplicates, stable through the database column and the flag operations.
func FuzzFlags(f *testing.F) {
	for _, s := range []string{`\Seen`, `\seen` + "\x00" + `\SEEN`, `\Recent`, "$Forwarded\x00NonJunk", "a b", "", "\x00",
		`\Answered` + "\x00" + `\Flagged` + "\x00" + `\Deleted` + "\x00" + `\Draft`, "Work\x00work", "é", `\`, "a]"} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, in string, op uint8) {
		flags := strings.Split(in, "\x00")
		got, err := CanonicalFlags(flags)
		if err != nil {
			if !errors.Is(err, ErrBadFlag) {
				t.Fatalf("CanonicalFlags(%q): %v, not ErrBadFlag", flags, err)
			}
			return
		}
		if !slices.IsSorted(got) || len(got) > MaxFlags || len(got) > len(flags) {
			t.Fatalf("CanonicalFlags(%q) = %q", flags, got)
		}
		seen := map[string]bool{}
		for _, g := range got {
			k := strings.ToLower(g)
			if seen[k] {
				t.Fatalf("duplicate %q in %q", g, got)
			}
			seen[k] = true
			if strings.HasPrefix(g, `\`) && systemFlags[k] != g {
				t.Fatalf("system flag %q not canonical", g)
			}
		}
		for _, fl := range flags {
			if !seen[strings.ToLower(fl)] {
				t.Fatalf("%q lost from %q: %q", fl, flags, got)
			}
		}
		if again, err := CanonicalFlags(got); err != nil || !slices.Equal(again, got) {
			t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
		}
		if back := splitFlags(joinFlags(got)); !slices.Equal(back, got) {
			t.Fatalf("column round trip: %q -> %q", got, back)
		}
		cur := []string{"Work", `\Seen`}
		res := applyFlags(cur, FlagOp(op%3), got)
		if !slices.IsSorted(res) {
			t.Fatalf("applyFlags result not sorted: %q", res)
		}
		if again, err := CanonicalFlags(res); err != nil || !slices.Equal(again, res) {
			t.Fatalf("applyFlags result not canonical: %q (%v)", res, err)
		}
	})
}

// FuzzOptions checks the lab file options: refused with an error naming a
// line, or accepted and valid for Open.
func FuzzOptions(f *testing.F) {
	for _, s := range []string{
		"",
		"domain: lab.test\nusers: [{name: alice, password: wonderland}, {name: bob, password: builder}]\nmax_message_bytes: 10485760\nmax_mailbox_bytes: 52428800\nwelcome: true",
		"users:\n  - name: alice\n    password: x\n  - name: ALICE\n    password: y",
		"max_message_bytes: 1GiB", "max_mailbox_bytes: 10 MiB", "welcome: maybe", "[1, 2]", "domain: &a x\nusers: *a",
		"users: [{name: a, password: b, c: d}]", "domain: ~", "users: {}", "? [a]\n: b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var doc yaml.Node
		if yaml.Unmarshal([]byte(text), &doc) != nil {
			return
		}
		o, err := decodeOptions(&doc)
		if err != nil {
			var ye *yamlx.Error
			if !errors.As(err, &ye) || ye.Msg == "" {
				t.Fatalf("error %v (%T) is not a *yamlx.Error", err, err)
			}
			return
		}
		checked, err := o.withDefaults()
		if err != nil {
			t.Fatalf("accepted options %+v refused by Open: %v", o, err)
		}
		if checked.Domain != o.Domain || !slices.Equal(checked.Users, o.Users) || checked.MaxMessageBytes != o.MaxMessageBytes ||
			checked.MaxMailboxBytes != o.MaxMailboxBytes || o.MaxMailboxBytes < o.MaxMessageBytes {
			t.Fatalf("options changed by Open's check: %+v -> %+v", o, checked)
		}
	})
}
