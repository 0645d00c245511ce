package mailstore

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Inbox is the canonical name of the INBOX.
const Inbox = "INBOX"

// Separator is the hierarchy separator of mailbox names.
const Separator = "/"

// CanonicalMailbox checks a mailbox name (UTF-8, as IMAP servers give it
// after decoding modified UTF-7) and returns its canonical form: "INBOX" in
// any case is "INBOX", also as the first level of a hierarchy
// ("inbox/Lists" is "INBOX/Lists"); every other name is case-sensitive. A
// name is refused (ErrBadName) when it is empty, longer than MaxMailboxName
// bytes, not valid UTF-8, holds a control character or a LIST wildcard
// ("*", "%"), or has an empty level ("/a", "a/", "a//b").
func CanonicalMailbox(name string) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("%w: the name is empty", ErrBadName)
	case len(name) > MaxMailboxName:
		return "", fmt.Errorf("%w: the name is longer than %d bytes", ErrBadName, MaxMailboxName)
	case !utf8.ValidString(name):
		return "", fmt.Errorf("%w: the name is not valid UTF-8", ErrBadName)
	}
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return "", fmt.Errorf("%w: %q holds a control character", ErrBadName, name)
		case r == '*' || r == '%':
			return "", fmt.Errorf("%w: %q holds %q, a LIST wildcard", ErrBadName, name, r)
		}
	}
	first, rest, nested := strings.Cut(name, Separator)
	if strings.EqualFold(first, Inbox) {
		first = Inbox
	}
	if first == "" || (nested && (rest == "" || strings.HasPrefix(rest, Separator) ||
		strings.HasSuffix(rest, Separator) || strings.Contains(rest, Separator+Separator))) {
		return "", fmt.Errorf("%w: %q has an empty level; separate levels with one %q", ErrBadName, name, Separator)
	}
	if !nested {
		return first, nil
	}
	return first + Separator + rest, nil
}

// parents lists the names above name, closest last: "a/b/c" -> "a", "a/b".
func parents(name string) []string {
	var out []string
	for i := 0; i < len(name); i++ {
		if name[i] == Separator[0] {
			out = append(out, name[:i])
		}
	}
	return out
}

// systemFlags maps the lower-case system flags to their canonical case.
var systemFlags = map[string]string{
	`\seen`:     `\Seen`,
	`\answered`: `\Answered`,
	`\flagged`:  `\Flagged`,
	`\deleted`:  `\Deleted`,
	`\draft`:    `\Draft`,
}

// Seen, Deleted and the other system flags, in their canonical case.
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDeleted  = `\Deleted`
	FlagDraft    = `\Draft`
)

// CanonicalFlags checks flags and returns them canonical: system flags in
// their usual case (\seen is \Seen), keywords as first given, duplicates
// (compared without case, as IMAP does) removed, sorted. A keyword is an
// IMAP atom of at most MaxKeyword bytes: printable ASCII without space and
// ( ) { % * " \ ]. Any other flag starting with "\" (\Recent among them,
// which a client cannot set) is refused, as are more than MaxFlags flags.
// The result is never nil.
func CanonicalFlags(flags []string) ([]string, error) {
	out := make([]string, 0, len(flags))
	seen := make(map[string]bool, len(flags))
	for _, f := range flags {
		c, err := canonicalFlag(f)
		if err != nil {
			return nil, err
		}
		k := strings.ToLower(c)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, c)
	}
	if len(out) > MaxFlags {
		return nil, fmt.Errorf("%w: %d flags, at most %d on one message", ErrBadFlag, len(out), MaxFlags)
	}
	slices.Sort(out)
	return out, nil
}

func canonicalFlag(f string) (string, error) {
	if f == "" {
		return "", fmt.Errorf("%w: empty flag", ErrBadFlag)
	}
	if f[0] == '\\' {
		if c, ok := systemFlags[strings.ToLower(f)]; ok {
			return c, nil
		}
		if len(f) > MaxKeyword {
			f = f[:MaxKeyword] + "..."
		}
		return "", fmt.Errorf(`%w: %q is not a flag that can be set (system flags: \Seen \Answered \Flagged \Deleted \Draft)`, ErrBadFlag, f)
	}
	if len(f) > MaxKeyword {
		return "", fmt.Errorf("%w: keyword longer than %d bytes", ErrBadFlag, MaxKeyword)
	}
	for i := 0; i < len(f); i++ {
		if !atomChar(f[i]) {
			return "", fmt.Errorf("%w: keyword %q holds %q; keywords are letters, digits and symbols other than ( ) { %% * \" \\ ]", ErrBadFlag, f, f[i])
		}
	}
	return f, nil
}

// atomChar reports whether c may appear in an IMAP atom (RFC 9051 ATOM-CHAR).
func atomChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

// joinFlags and splitFlags convert canonical flags to and from their
// column: space-separated (flags are atoms, which hold no space).
func joinFlags(flags []string) string { return strings.Join(flags, " ") }

func splitFlags(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, " ")
}

func hasFlag(flags []string, f string) bool { return slices.Contains(flags, f) }

// applyFlags computes the flags after op; both lists are canonical.
func applyFlags(cur []string, op FlagOp, flags []string) []string {
	switch op {
	case FlagsSet:
		return slices.Clone(flags)
	case FlagsAdd:
		out := slices.Clone(cur)
		have := make(map[string]bool, len(cur))
		for _, f := range cur {
			have[strings.ToLower(f)] = true
		}
		for _, f := range flags {
			if !have[strings.ToLower(f)] {
				out = append(out, f)
			}
		}
		slices.Sort(out)
		return out
	default: // FlagsRemove
		drop := make(map[string]bool, len(flags))
		for _, f := range flags {
			drop[strings.ToLower(f)] = true
		}
		out := make([]string, 0, len(cur))
		for _, f := range cur {
			if !drop[strings.ToLower(f)] {
				out = append(out, f)
			}
		}
		return out
	}
}

// checkUserName checks a local part and returns it in lower case: letters,
// digits and . _ - +, at most 64 bytes, no leading, trailing or double dot.
func checkUserName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("user name is empty; give a local part such as alice")
	}
	if len(name) > 64 {
		return "", fmt.Errorf("user name %.20q... is longer than 64 bytes", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-' || c == '+'
		if !ok {
			return "", fmt.Errorf("user name %q holds %q; use letters, digits and . _ - +", name, c)
		}
	}
	if name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, "..") {
		return "", fmt.Errorf("user name %q: a dot cannot start or end it, nor follow another dot", name)
	}
	return strings.ToLower(name), nil
}

// checkPassword refuses passwords no mail client can send: empty, over 200
// bytes, or with a control character.
func checkPassword(user, pw string) error {
	if pw == "" {
		return fmt.Errorf("user %s: the password is empty", user)
	}
	if len(pw) > 200 {
		return fmt.Errorf("user %s: the password is longer than 200 bytes", user)
	}
	if !utf8.ValidString(pw) {
		return fmt.Errorf("user %s: the password is not valid UTF-8", user)
	}
	for _, r := range pw {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("user %s: the password holds a control character", user)
		}
	}
	return nil
}

// checkDomain checks a mail domain and returns it in lower case.
func checkDomain(d string) (string, error) {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	if d == "" || len(d) > 253 {
		return "", fmt.Errorf("domain %q: give a domain name such as lab.test", d)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("domain %q: each label must be 1 to 63 letters, digits or inner hyphens", d)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", fmt.Errorf("domain %q holds %q; use letters, digits, hyphens and dots", d, c)
			}
		}
	}
	return d, nil
}
