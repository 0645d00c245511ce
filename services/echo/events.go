package echo

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"protolab/internal/event"
	"protolab/internal/service"
)

const (
	// maxText bounds the text attribute, in bytes.
	maxText = 64
	// maxShown bounds the payload shown in a transcript, in bytes.
	maxShown = 256
)

// tcpEvent describes the first data echoed on a connection.
func tcpEvent(c net.Conn, data []byte) event.Event {
	local, remote := c.LocalAddr(), c.RemoteAddr()
	return event.Event{
		Service: "echo", Kind: KindTCP, Client: remote.String(),
		Attrs: map[string]string{
			"server": local.String(), "port": strconv.Itoa(service.PortOf(local)),
			"family": family(remote), "bytes": strconv.Itoa(len(data)), "text": textOf(data),
			"transport": "tcp",
		},
		TranscriptFrom: transcript{proto: "TCP", client: remote.String(), server: local.String(),
			size: len(data), shown: shownCopy(data), echoed: true, first: true},
	}
}

// datagramEvent describes a datagram; reason is why it is not sent back
// ("" when it is), dropped how many were dropped before it.
func datagramEvent(payload []byte, from net.Addr, server, reason string, dropped, limit int) event.Event {
	port := ""
	if _, p, err := net.SplitHostPort(server); err == nil {
		port = p
	}
	attrs := map[string]string{
		"service": "echo", "server": server, "port": port, "family": family(from),
		"bytes": strconv.Itoa(len(payload)), "echoed": strconv.FormatBool(reason == ""),
		"text": textOf(payload), "transport": "udp",
	}
	if reason != "" {
		attrs["reason"] = reason
	}
	if dropped > 0 {
		attrs["dropped"] = strconv.Itoa(dropped)
	}
	return event.Event{
		Service: "echo", Kind: KindDatagram, Client: from.String(), Attrs: attrs,
		TranscriptFrom: transcript{proto: "UDP", client: from.String(), server: server,
			size: len(payload), shown: shownCopy(payload), echoed: reason == "", reason: reason, limit: limit},
	}
}

// family is "ipv6" for an IPv6 peer, else "ipv4" (an IPv4 client of a
// dual-stack socket counts as ipv4).
func family(a net.Addr) string {
	var ip net.IP
	switch x := a.(type) {
	case *net.TCPAddr:
		ip = x.IP
	case *net.UDPAddr:
		ip = x.IP
	}
	if ip != nil && ip.To4() == nil {
		return "ipv6"
	}
	return "ipv4"
}

// shownCopy copies the part of a payload a transcript shows (the read
// buffer is reused).
func shownCopy(b []byte) []byte {
	return append([]byte(nil), b[:min(len(b), maxShown)]...)
}

// textOf returns the first line of b, without its line ending, at most
// maxText bytes, with control characters and invalid UTF-8 shown as '.'.
func textOf(b []byte) string {
	if i := bytes.IndexByte(b[:min(len(b), 4*maxText)], '\n'); i >= 0 {
		b = b[:i]
	}
	b = bytes.TrimSuffix(b, []byte("\r"))
	var out strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if r == utf8.RuneError && size <= 1 || !unicode.IsPrint(r) {
			r = '.'
		}
		if out.Len()+utf8.RuneLen(r) > maxText {
			break
		}
		out.WriteRune(r)
	}
	return out.String()
}

// quote shows bytes as a Go string literal: printable text as is, the rest
// escaped (\n, \r, \t, \x00), so that nothing a client sends can disturb a
// terminal or a page.
func quote(b []byte, size int) string {
	q := strconv.Quote(string(b))
	if size > len(b) {
		q += fmt.Sprintf(" … (%d more bytes)", size-len(b))
	}
	return q
}

// transcript shows an exchange: what came in, what went back.
type transcript struct {
	proto          string // "TCP" or "UDP"
	client, server string
	size           int    // bytes received
	shown          []byte // the first of them
	echoed, first  bool
	reason         string
	limit          int
}

// String renders the transcript.
func (t transcript) String() string {
	var b strings.Builder
	server := t.server
	if server == "" {
		server = "(this server)"
	}
	what := fmt.Sprintf("%d bytes", t.size)
	if t.first {
		what = "first data, " + what
	}
	fmt.Fprintf(&b, "%s %s → %s, %s\n", t.proto, t.client, server, what)
	in := quote(t.shown, t.size)
	fmt.Fprintf(&b, "C: %s\n", in)
	switch {
	case t.echoed:
		fmt.Fprintf(&b, "S: %s\n", in)
	case t.reason == "too-large":
		fmt.Fprintf(&b, "S: (nothing sent back: larger than %d bytes)\n", t.limit)
	default:
		b.WriteString("S: (nothing sent back: the source port is one of the small services', which could loop)\n")
	}
	return b.String()
}
