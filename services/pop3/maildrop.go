package pop3

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// dropMessage is one message of a maildrop, as listed at login.
type dropMessage struct {
	uid     uint32
	size    int64
	deleted bool // marked by DELE; removed at QUIT
}

// maildrop is a user's INBOX as a session sees it: a snapshot taken at
// login, so message numbers 1..n mean the same messages for the whole
// session (RFC 1939 §5), whatever arrives meanwhile.
type maildrop struct {
	validity uint32
	msgs     []dropMessage
}

// live returns the number and total size of the messages not marked
// deleted.
func (d *maildrop) live() (int, int64) {
	n, size := 0, int64(0)
	for _, m := range d.msgs {
		if !m.deleted {
			n++
			size += m.size
		}
	}
	return n, size
}

// marked returns the UIDs of the messages marked deleted.
func (d *maildrop) marked() []uint32 {
	var uids []uint32
	for _, m := range d.msgs {
		if m.deleted {
			uids = append(uids, m.uid)
		}
	}
	return uids
}

// message returns message number arg, or the -ERR text to answer.
func (d *maildrop) message(arg string) (int, *dropMessage, string) {
	n, ok := parseNumber(arg)
	if !ok {
		return 0, nil, fmt.Sprintf("\"%s\" is not a message number: give a number from the list (LIST)", printable(arg, maxArgLength))
	}
	if n < 1 || n > len(d.msgs) {
		if len(d.msgs) == 0 {
			return 0, nil, fmt.Sprintf("no such message: %d (the maildrop is empty)", n)
		}
		return 0, nil, fmt.Sprintf("no such message: %d (messages are numbered 1 to %d)", n, len(d.msgs))
	}
	m := &d.msgs[n-1]
	if m.deleted {
		return 0, nil, fmt.Sprintf("message %d already deleted (RSET unmarks it)", n)
	}
	return n, m, ""
}

// uidl is a message's unique id (RFC 1939 §7): the mailbox's UIDVALIDITY
// and the message's UID. The UID alone would repeat after a reset of the
// mail store, and a client that leaves mail on the server would then take a
// new message for one it already has.
func (d *maildrop) uidl(m *dropMessage) string {
	return fmt.Sprintf("%d.%d", d.validity, m.uid)
}

// locks are the maildrops in use: one session per user at a time (RFC 1939
// §4: the server acquires an exclusive-access lock on the maildrop).
type locks struct {
	mu   sync.Mutex
	held map[string]bool
}

// lock takes the user's maildrop; false when another session has it.
func (l *locks) lock(user string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := strings.ToLower(user)
	if l.held[key] {
		return false
	}
	if l.held == nil {
		l.held = map[string]bool{}
	}
	l.held[key] = true
	return true
}

// unlock gives the user's maildrop back.
func (l *locks) unlock(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.held, strings.ToLower(user))
}

// top returns what TOP sends (RFC 1939 §7): the header, the blank line
// that ends it, and the first lines of the body, as bytes of msg. A message
// without a blank line is all header and is returned whole.
func top(msg []byte, lines int) []byte {
	end, ok := headerEnd(msg)
	if !ok {
		return msg
	}
	pos := end
	for i := 0; i < lines && pos < len(msg); i++ {
		nl := bytes.IndexByte(msg[pos:], '\n')
		if nl < 0 {
			return msg
		}
		pos += nl + 1
	}
	return msg[:pos]
}

// headerEnd returns the offset just past the blank line that ends the
// header; false when there is none.
func headerEnd(msg []byte) (int, bool) {
	pos := 0
	for pos < len(msg) {
		nl := bytes.IndexByte(msg[pos:], '\n')
		if nl < 0 {
			return 0, false
		}
		line := msg[pos : pos+nl]
		pos += nl + 1
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			return pos, true
		}
	}
	return 0, false
}

// maxHeaderScan bounds how much of a message is read for its subject.
const maxHeaderScan = 64 << 10

// headerInfo returns a message's Subject (RFC 2047 words decoded) and
// Message-ID (without the angle brackets), for events. It reads only the
// header, at most maxHeaderScan octets, and never fails: what it cannot
// read is empty.
func headerInfo(msg []byte) (subject, messageID string) {
	hdr := msg[:min(len(msg), maxHeaderScan)]
	if end, ok := headerEnd(hdr); ok {
		hdr = hdr[:end]
	} else if nl := bytes.LastIndexByte(hdr, '\n'); nl >= 0 {
		hdr = hdr[:nl+1] // the header is cut at its last whole line
	} else {
		hdr = nil
	}
	// The blank line added ends a header that had none.
	m, err := mail.ReadMessage(io.MultiReader(bytes.NewReader(hdr), strings.NewReader("\r\n")))
	if err != nil {
		return "", ""
	}
	subject = m.Header.Get("Subject")
	dec := mime.WordDecoder{}
	if d, err := dec.DecodeHeader(subject); err == nil {
		subject = d
	}
	messageID = strings.TrimSpace(m.Header.Get("Message-Id"))
	messageID = strings.TrimSuffix(strings.TrimPrefix(messageID, "<"), ">")
	return clean(subject, 200), clean(messageID, 200)
}

// clean makes header text safe to show: valid UTF-8, control characters
// as spaces, at most max bytes.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.TrimSpace(s)
}

// writeDotted writes a message as the body of a multi-line response (RFC
// 1939 §3): a line starting with "." gets another one in front, a bare LF
// becomes CRLF, a last line without its end gets one, and ".\r\n" closes.
// Everything else goes out byte for byte: unlike textproto's DotWriter, a
// CR inside a line ("a\r\r\n") is left alone.
func writeDotted(w *bufio.Writer, data []byte) {
	for len(data) > 0 {
		line := data
		if nl := bytes.IndexByte(data, '\n'); nl >= 0 {
			line = data[:nl+1]
		}
		data = data[len(line):]
		if line[0] == '.' {
			w.WriteByte('.')
		}
		switch {
		case line[len(line)-1] != '\n':
			w.Write(line)
			w.WriteString("\r\n")
		case len(line) == 1 || line[len(line)-2] != '\r':
			w.Write(line[:len(line)-1])
			w.WriteString("\r\n")
		default:
			w.Write(line)
		}
	}
	w.WriteString(".\r\n")
}
