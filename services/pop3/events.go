package pop3

import (
	"net"
	"net/netip"

	"protolab/internal/dialogue"
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

// transcriptLine bounds one client line in the transcript.
const transcriptLine = 160 // octets of one client line shown

// transcript is the session's dialogue (see internal/dialogue): "C: USER
// bob", "S: +OK", secrets masked and message contents replaced by their size.
type transcript struct{ dialogue.Log }

func (t *transcript) client(line string)        { t.Client(line) }
func (t *transcript) server(line string)        { t.Server(line) }
func (t *transcript) note(line string)          { t.Note(line) }
func (t *transcript) snapshot() dialogue.Frozen { return t.Snapshot() }

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
