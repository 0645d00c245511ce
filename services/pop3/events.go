package pop3

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"protolab/internal/event"
)

// Event kinds.
const (
	KindConnect    = "pop3.connect"
	KindLogin      = "pop3.login"
	KindStat       = "pop3.stat"
	KindList       = "pop3.list"
	KindUIDL       = "pop3.uidl"
	KindRetr       = "pop3.retr"
	KindTop        = "pop3.top"
	KindDele       = "pop3.dele"
	KindRset       = "pop3.rset"
	KindQuit       = "pop3.quit"
	KindDisconnect = "pop3.disconnect"
	KindCapa       = "pop3.capa"
	KindSTLS       = "pop3.stls"
)

// Transcript bounds: the first lines of a session (greeting, login) are
// always kept; beyond the bounds the oldest of the others are dropped.
const (
	transcriptLines = 200
	transcriptBytes = 16 << 10
	transcriptHead  = 12
	transcriptLine  = 160 // octets of one client line shown
)

// transcript is the dialogue of a session so far, as the learner would see
// it in a terminal: "C: USER bob", "S: +OK", passwords masked and message
// contents replaced by their size.
type transcript struct {
	lines   []string
	size    int
	dropped int
}

// client records a line the client sent.
func (t *transcript) client(line string) { t.add("C: " + line) }

// server records a line the server sent.
func (t *transcript) server(line string) { t.add("S: " + line) }

// note records a remark of the server's that is not on the wire.
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

// dialogue is a transcript frozen for an event; it is rendered by the
// event's subscribers, off the server's path.
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

// publish emits an event of the session with the dialogue so far.
func (s *session) publish(kind string, attrs map[string]string) {
	s.srv.events.Publish(event.Event{
		Service:        "pop3",
		Kind:           kind,
		Client:         s.client,
		Attrs:          attrs,
		TranscriptFrom: s.tr.snapshot(),
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

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
