package mailstore

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCanonicalMailbox(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"INBOX", "INBOX", true},
		{"inbox", "INBOX", true},
		{"iNbOx", "INBOX", true},
		{"inbox/Lists", "INBOX/Lists", true},
		{"INBOXES", "INBOXES", true},
		{"Inboxes/x", "Inboxes/x", true},
		{"Archives", "Archives", true},
		{"archives", "archives", true},
		{"Archives/2026", "Archives/2026", true},
		{"a/b/c/d", "a/b/c/d", true},
		{"Brouillons/été", "Brouillons/été", true},
		{"日本語", "日本語", true},
		{"with space", "with space", true},
		{"&-amp", "&-amp", true},
		{"[Gmail]/Sent", "[Gmail]/Sent", true},
		{strings.Repeat("é", MaxMailboxName/2), strings.Repeat("é", MaxMailboxName/2), true},
		{"", "", false},
		{"/", "", false},
		{"/a", "", false},
		{"a/", "", false},
		{"a//b", "", false},
		{"inbox/", "", false},
		{"a*", "", false},
		{"%", "", false},
		{"a\x00b", "", false},
		{"a\rb", "", false},
		{"a\x7fb", "", false},
		{"a\u0085b", "", false}, // C1 control
		{"a\xc3", "", false},    // cut UTF-8
		{strings.Repeat("é", MaxMailboxName/2+1), "", false},
	}
	for _, tt := range tests {
		got, err := CanonicalMailbox(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("CanonicalMailbox(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if !tt.ok && !errors.Is(err, ErrBadName) {
			t.Errorf("CanonicalMailbox(%q) = %q, %v; want ErrBadName", tt.in, got, err)
		}
	}
}

func TestParents(t *testing.T) {
	if got := parents("a/b/c"); !slices.Equal(got, []string{"a", "a/b"}) {
		t.Errorf("parents(a/b/c) = %v", got)
	}
	if got := parents("a"); len(got) != 0 {
		t.Errorf("parents(a) = %v", got)
	}
}

func TestCanonicalFlags(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
		err  bool
	}{
		{nil, []string{}, false},
		{[]string{`\seen`}, []string{`\Seen`}, false},
		{[]string{`\SEEN`, `\answered`, `\FlAgGeD`, `\deleted`, `\DRAFT`}, []string{`\Answered`, `\Deleted`, `\Draft`, `\Flagged`, `\Seen`}, false},
		{[]string{`\Seen`, `\seen`}, []string{`\Seen`}, false},
		{[]string{"Work", "work", "WORK"}, []string{"Work"}, false},
		{[]string{"$Forwarded", "$MDNSent", "NonJunk", `\Seen`}, []string{"$Forwarded", "$MDNSent", "NonJunk", `\Seen`}, false},
		{[]string{"a.b-c_d+e!#&'~^`|[}<>?/=@,;:"}, []string{"a.b-c_d+e!#&'~^`|[}<>?/=@,;:"}, false},
		{[]string{strings.Repeat("k", MaxKeyword)}, []string{strings.Repeat("k", MaxKeyword)}, false},
		{[]string{`\Recent`}, nil, true},
		{[]string{`\Unknown`}, nil, true},
		{[]string{`\`}, nil, true},
		{[]string{""}, nil, true},
		{[]string{"two words"}, nil, true},
		{[]string{"a(b"}, nil, true},
		{[]string{"a)b"}, nil, true},
		{[]string{"a{b"}, nil, true},
		{[]string{"a%"}, nil, true},
		{[]string{"a*"}, nil, true},
		{[]string{`a"b`}, nil, true},
		{[]string{`a\b`}, nil, true},
		{[]string{"a]b"}, nil, true},
		{[]string{"é"}, nil, true},
		{[]string{"a\x01"}, nil, true},
		{[]string{strings.Repeat("k", MaxKeyword+1)}, nil, true},
		{[]string{`\Seen`, "ok", "bad flag"}, nil, true},
	}
	for _, tt := range tests {
		got, err := CanonicalFlags(tt.in)
		if tt.err {
			if !errors.Is(err, ErrBadFlag) {
				t.Errorf("CanonicalFlags(%q) = %q, %v; want ErrBadFlag", tt.in, got, err)
			}
			continue
		}
		if err != nil || got == nil || !slices.Equal(got, tt.want) {
			t.Errorf("CanonicalFlags(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	many := make([]string, MaxFlags+1)
	for i := range many {
		many[i] = "k" + strings.Repeat("x", i)
	}
	if _, err := CanonicalFlags(many[:MaxFlags]); err != nil {
		t.Errorf("%d flags refused: %v", MaxFlags, err)
	}
	if _, err := CanonicalFlags(many); !errors.Is(err, ErrBadFlag) {
		t.Errorf("%d flags: %v, want ErrBadFlag", MaxFlags+1, err)
	}
}

func TestApplyFlags(t *testing.T) {
	cur := []string{"Work", `\Seen`}
	tests := []struct {
		op    FlagOp
		flags []string
		want  []string
	}{
		{FlagsSet, []string{`\Flagged`}, []string{`\Flagged`}},
		{FlagsSet, []string{}, []string{}},
		{FlagsAdd, []string{"work", `\Draft`}, []string{"Work", `\Draft`, `\Seen`}},
		{FlagsAdd, []string{}, []string{"Work", `\Seen`}},
		{FlagsRemove, []string{"WORK"}, []string{`\Seen`}},
		{FlagsRemove, []string{`\Deleted`}, []string{"Work", `\Seen`}},
	}
	for _, tt := range tests {
		got := applyFlags(cur, tt.op, tt.flags)
		if !slices.Equal(got, tt.want) {
			t.Errorf("applyFlags(%v, %d, %v) = %v, want %v", cur, tt.op, tt.flags, got, tt.want)
		}
	}
	if !slices.Equal(cur, []string{"Work", `\Seen`}) {
		t.Errorf("applyFlags modified its input: %v", cur)
	}
}

func TestCheckUserName(t *testing.T) {
	for in, want := range map[string]string{"alice": "alice", "Alice": "alice", "j.doe": "j.doe", "a_b-c+d": "a_b-c+d", "x1": "x1"} {
		if got, err := checkUserName(in); err != nil || got != want {
			t.Errorf("checkUserName(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", ".a", "a.", "a..b", "a b", "a@b", "é", strings.Repeat("a", 65), "a:b", `a"b`} {
		if _, err := checkUserName(in); err == nil {
			t.Errorf("checkUserName(%q) accepted", in)
		}
	}
}

func TestCheckDomain(t *testing.T) {
	for in, want := range map[string]string{"lab.test": "lab.test", "LAB.Test.": "lab.test", "a-b.c": "a-b.c", "localhost": "localhost"} {
		if got, err := checkDomain(in); err != nil || got != want {
			t.Errorf("checkDomain(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", ".", "a..b", "-a.b", "a-.b", "a_b.c", "a b", strings.Repeat("a", 64) + ".b", "é.test"} {
		if _, err := checkDomain(in); err == nil {
			t.Errorf("checkDomain(%q) accepted", in)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1", 1, true},
		{"10485760", 10485760, true},
		{"10MiB", 10 << 20, true},
		{"10 MiB", 10 << 20, true},
		{"512KiB", 512 << 10, true},
		{"2GiB", 2 << 30, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1.5MiB", 0, false},
		{"10MB", 0, false},
		{"99999999999999999999", 0, false},
		{"9999999999999GiB", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseSize(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
