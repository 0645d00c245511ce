package smtp

import (
	"encoding/base64"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"protolab/internal/dialogue"
	"protolab/internal/event"
)

// transcriptLine bounds one client line in the transcript.
const transcriptLine = 200 // characters of one line shown

// clearTextWarning is shown when credentials cross the network unencrypted.
const clearTextWarning = "credentials sent in clear text: anyone on the path can read them; use STARTTLS"

// transcript is the session's dialogue (see internal/dialogue): "C: USER
// bob", "S: +OK", secrets masked and message contents replaced by their size.
type transcript struct{ dialogue.Log }

func (t *transcript) client(line string)        { t.Client(printable(line)) }
func (t *transcript) server(line string)        { t.Server(printable(line)) }
func (t *transcript) note(line string)          { t.Note(line) }
func (t *transcript) snapshot() dialogue.Frozen { return t.Snapshot() }

// printable makes a line from the network safe to show: valid UTF-8,
// control characters as "?", at most transcriptLine characters.
func printable(s string) string {
	if len(s) <= transcriptLine && plainASCII(s) {
		return s // the usual line: nothing to change
	}
	s = strings.ToValidUTF8(s, "?")
	clean := true
	for _, r := range s {
		if r != '\t' && unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if !clean {
		s = strings.Map(func(r rune) rune {
			if r != '\t' && unicode.IsControl(r) {
				return '?'
			}
			return r
		}, s)
	}
	if utf8.RuneCountInString(s) > transcriptLine {
		r := []rune(s)
		s = string(r[:transcriptLine]) + "… (" + strconv.Itoa(len(r)-transcriptLine) + " more characters)"
	}
	return s
}

// plainASCII reports whether s is printable ASCII and tabs only.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c > '~' {
			return false
		}
	}
	return true
}

// decoded shows what a base64 string of the dialogue says, when it says
// something printable: ` (base64 of "Username:")`.
func decoded(b64 string) string {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) == 0 || len(raw) > 100 || !utf8.Valid(raw) {
		return ""
	}
	for _, r := range string(raw) {
		if unicode.IsControl(r) {
			return ""
		}
	}
	return " (base64 of " + strconv.Quote(string(raw)) + ")"
}

// pendingEvent is an event waiting for the reply that concludes it: it is
// published once the reply is on its way, with the reply in its transcript
// and its code in the attributes.
type pendingEvent struct {
	kind  string
	attrs map[string]string
}

// attrs starts the attributes of an event of the link's session.
func (l *link) attrs(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2+4)
	m["listener"] = l.listener
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// pend queues an event until the next reply is sent.
func (l *link) pend(kind string, attrs map[string]string) {
	l.pending = append(l.pending, pendingEvent{kind: kind, attrs: attrs})
}

// publish emits an event now, with the dialogue so far.
func (l *link) publish(kind string, attrs map[string]string) {
	l.srv.events.Publish(event.Event{
		Service:        "smtp",
		Kind:           kind,
		Client:         l.client,
		Attrs:          attrs,
		TranscriptFrom: l.transcript.snapshot(),
	})
}

// clientString formats the client's address, IPv4-mapped addresses as
// plain IPv4.
func clientString(a net.Addr) string {
	if a == nil {
		return ""
	}
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
	}
	return a.String()
}

// clientIP is the client's IP address; the zero Addr when it has none
// (a pipe in tests).
func clientIP(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
