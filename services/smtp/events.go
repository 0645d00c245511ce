package smtp

import (
	"encoding/base64"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"protolab/internal/event"
)

// Transcript bounds: the first lines of a session (greeting, EHLO) are
// always kept; beyond the bounds the oldest of the others are dropped.
const (
	transcriptLines = 200
	transcriptBytes = 16 << 10
	transcriptHead  = 12
	transcriptLine  = 200 // characters of one line shown
)

// clearTextWarning is shown when credentials cross the network unencrypted.
const clearTextWarning = "credentials sent in clear text: anyone on the path can read them; use STARTTLS"

// transcript is the dialogue of a session so far, as the learner would see
// it in a terminal: "C: EHLO learner.lab.test", "S: 250 ...", secrets
// masked and message contents replaced by their size. Lines starting with
// "!!" are the server's remarks, not on the wire.
type transcript struct {
	lines   []string
	size    int
	dropped int
}

// client records a line the client sent.
func (t *transcript) client(line string) { t.add("C: " + printable(line)) }

// server records a line the server sent.
func (t *transcript) server(line string) { t.add("S: " + printable(line)) }

// note records a remark of the server's.
func (t *transcript) note(line string) { t.add("!! " + line) }

func (t *transcript) add(line string) {
	t.lines = append(t.lines, line)
	t.size += len(line) + 1
	for len(t.lines) > transcriptHead+1 && (len(t.lines) > transcriptLines || t.size > transcriptBytes) {
		t.size -= len(t.lines[transcriptHead]) + 1
		t.lines = append(t.lines[:transcriptHead], t.lines[transcriptHead+1:]...)
		t.dropped++
	}
}

// snapshot returns the dialogue so far; it does not change afterwards.
func (t *transcript) snapshot() dialogue {
	return dialogue{lines: append([]string(nil), t.lines...), dropped: t.dropped}
}

// dialogue is a transcript frozen for an event; subscribers render it, off
// the server's path.
type dialogue struct {
	lines   []string
	dropped int
}

func (d dialogue) String() string {
	var b strings.Builder
	for i, l := range d.lines {
		if i == transcriptHead && d.dropped > 0 {
			b.WriteString("   … ")
			b.WriteString(strconv.Itoa(d.dropped))
			b.WriteString(" lines not shown\n")
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// printable makes a line from the network safe to show: valid UTF-8,
// control characters as "?", at most transcriptLine characters.
func printable(s string) string {
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
