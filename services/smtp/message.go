package smtp

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"mime"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// receivedInfo is what the Received header says.
type receivedInfo struct {
	helo     string     // the name the client gave in EHLO or HELO
	ip       netip.Addr // the client's address
	authUser string     // the logged-in user, if any
	host     string     // the server's name
	proto    string     // "ESMTPSA"...
	id       string     // the queue id given in the reply
	rcpt     string     // the recipient, when there is one only
	date     time.Time
}

// received prepends a Received header to the message (RFC 5321 §4.4), the
// way Postfix writes it; the message itself is kept byte for byte.
//
//	Received: from learner.lab.test ([127.0.0.1])
//		(Authenticated sender: alice)
//		by mail.lab.test (Protolab) with ESMTPSA id 9F2C4A1B7E03
//		for <bob@lab.test>; Tue, 25 Nov 2025 21:06:00 +0000
func received(r receivedInfo, msg []byte) []byte {
	var b bytes.Buffer
	b.Grow(256 + len(msg))
	b.WriteString("Received: from ")
	b.WriteString(headerWord(r.helo, "unknown"))
	if r.ip.IsValid() {
		b.WriteString(" (")
		b.WriteString(addressLiteral(r.ip))
		b.WriteString(")")
	}
	if r.authUser != "" {
		b.WriteString("\r\n\t(Authenticated sender: ")
		b.WriteString(headerWord(r.authUser, "unknown"))
		b.WriteString(")")
	}
	b.WriteString("\r\n\tby ")
	b.WriteString(r.host)
	b.WriteString(" (Protolab) with ")
	b.WriteString(r.proto)
	b.WriteString(" id ")
	b.WriteString(r.id)
	if r.rcpt != "" {
		b.WriteString("\r\n\tfor <")
		b.WriteString(headerWord(r.rcpt, "unknown"))
		b.WriteString(">")
	}
	b.WriteString("; ")
	b.WriteString(r.date.Format(time.RFC1123Z))
	b.WriteString("\r\n")
	b.Write(msg)
	return b.Bytes()
}

// protocol names the way the message came (RFC 3848): SMTP after HELO,
// ESMTP after EHLO, with S for TLS and A for a login.
func protocol(ehlo string, tls, auth bool) string {
	if ehlo == "HELO" {
		return "SMTP"
	}
	p := "ESMTP"
	if tls {
		p += "S"
	}
	if auth {
		p += "A"
	}
	return p
}

// addressLiteral writes an address as RFC 5321 does: [192.0.2.1],
// [IPv6:2001:db8::1].
func addressLiteral(ip netip.Addr) string {
	if ip.Is4() {
		return "[" + ip.String() + "]"
	}
	return "[IPv6:" + ip.String() + "]"
}

// headerWord makes a client-given word safe inside a header: printable
// ASCII without parentheses, backslashes or angle brackets, at most 255
// characters.
func headerWord(s, empty string) string {
	s = strings.Map(func(r rune) rune {
		if r <= ' ' || r > '~' || strings.ContainsRune(`()\<>;`, r) {
			return '?'
		}
		return r
	}, s)
	if len(s) > 255 {
		s = s[:255]
	}
	if s == "" {
		return empty
	}
	return s
}

// newID is a queue id for the reply and the Received header: 12 hex digits.
func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// Bounds of header extraction.
const (
	maxHeaderBytes = 64 << 10 // of the message read for its headers
	maxFieldRunes  = 256      // of a value in an event
)

// headerFields returns the decoded Subject and the Message-ID (without <>)
// of a message, for events. It reads the header part only, at most
// maxHeaderBytes, and never fails: a field it cannot read is empty, one it
// cannot decode is given as written.
func headerFields(msg []byte) (subject, messageID string) {
	head := msg[:min(len(msg), maxHeaderBytes)]
	if i := bytes.Index(head, []byte("\r\n\r\n")); i >= 0 {
		head = head[:i+2]
	} else if i := bytes.Index(head, []byte("\n\n")); i >= 0 {
		head = head[:i+1]
	}
	rawSubject, rawID, ok := readFields(head)
	if !ok {
		rawSubject, rawID = scanFields(head)
	}
	dec := mime.WordDecoder{}
	if s, err := dec.DecodeHeader(rawSubject); err == nil {
		subject = s
	} else {
		subject = rawSubject
	}
	messageID = strings.TrimSpace(rawID)
	messageID = strings.TrimSuffix(strings.TrimPrefix(messageID, "<"), ">")
	return clean(subject), clean(messageID)
}

// readFields reads a header the way net/mail's ReadMessage does, given the
// header followed by a blank line, and returns what its Header.Get gives
// for Subject and Message-Id (the first of each); ok is false where
// ReadMessage fails. It is ReadMessage without its buffers and map, for
// the thousands of messages a second SMTP may take: net/mail reads the
// header with textproto's ReadContinuedLine (lines end at LF, one CR before
// it dropped; continuation lines joined with one space, each trimmed of
// spaces and tabs), cuts each at its first colon, and keeps the value
// without its leading spaces and tabs under the canonical key.
func readFields(h []byte) (subject, messageID string, ok bool) {
	if len(h) > 0 && (h[0] == ' ' || h[0] == '\t') {
		return "", "", false // a first line cannot be a continuation
	}
	// The blank line that follows h ends the header, unless h does not
	// end its last line: that blank line ends the line instead, and
	// ReadMessage then fails unless it read a key.
	terminated := len(h) == 0 || h[len(h)-1] == '\n'
	var haveSubject, haveID, read bool
	for {
		line, rest, more := cutLine(h)
		if !more {
			return subject, messageID, terminated || read
		}
		h = rest
		if len(line) == 0 {
			return subject, messageID, true
		}
		kv := trimBlank(line)
		if len(h) > 0 && (h[0] == ' ' || h[0] == '\t') {
			kv = append([]byte(nil), kv...)
			for len(h) > 0 && (h[0] == ' ' || h[0] == '\t') {
				h = bytes.TrimLeft(h, " \t")
				kv = append(kv, ' ')
				cont, rest, more := cutLine(h)
				if !more {
					break
				}
				h = rest
				kv = append(kv, trimBlank(cont)...)
			}
		}
		if len(kv) == 0 {
			return subject, messageID, true
		}
		k, v, found := bytes.Cut(kv, []byte(":"))
		if !found {
			return "", "", false
		}
		if len(k) == 0 {
			continue
		}
		read = true
		switch {
		case !haveSubject && asciiFold(k, "Subject"):
			subject, haveSubject = string(bytes.TrimLeft(v, " \t")), true
		case !haveID && asciiFold(k, "Message-Id"):
			messageID, haveID = string(bytes.TrimLeft(v, " \t")), true
		}
	}
}

// cutLine cuts the first line off h, as bufio's ReadLine reads it (without
// its LF, and the CR before it); more is false when h is empty.
func cutLine(h []byte) (line, rest []byte, more bool) {
	if len(h) == 0 {
		return nil, nil, false
	}
	i := bytes.IndexByte(h, '\n')
	if i < 0 {
		return h, nil, true
	}
	line = h[:i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, h[i+1:], true
}

// trimBlank trims spaces and tabs at both ends.
func trimBlank(b []byte) []byte { return bytes.Trim(b, " \t") }

// asciiFold reports whether k is name, ASCII letters in any case: the keys
// textproto's canonical form turns into name (name is ASCII letters and
// hyphens).
func asciiFold(k []byte, name string) bool {
	if len(k) != len(name) {
		return false
	}
	for i := range len(k) {
		a, b := k[i], name[i]
		if a|0x20 != b|0x20 || (a|0x20 < 'a' || a|0x20 > 'z') && a != b {
			return false
		}
	}
	return true
}

// scanFields finds Subject and Message-ID in a header the strict parser
// refused, line by line, unfolding continuation lines.
func scanFields(head []byte) (subject, messageID string) {
	var cur *string
	var haveSubject, haveID bool
	for _, line := range strings.Split(string(head), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line != "" && (line[0] == ' ' || line[0] == '\t') {
			if cur != nil {
				*cur += " " + strings.TrimSpace(line)
			}
			continue
		}
		cur = nil
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "subject":
			if !haveSubject {
				subject, haveSubject = strings.TrimSpace(value), true
				cur = &subject
			}
		case "message-id":
			if !haveID {
				messageID, haveID = strings.TrimSpace(value), true
				cur = &messageID
			}
		}
	}
	return subject, messageID
}

// clean makes a header value fit for an event: valid UTF-8, control
// characters as spaces, at most maxFieldRunes characters.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxFieldRunes {
		s = string([]rune(s)[:maxFieldRunes])
	}
	return s
}
