package imap

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// The transcript of a session is read from the wire: the connection
// handed to the library copies what it reads and writes here, so the
// learner sees the exact command lines their client sent ("C: a1 LOGIN bob
// ********") and the tagged responses ("S: a1 OK ..."), with the greeting
// and any BYE. Literals are replaced by "<literal of N octets>", passwords
// and SASL responses by "********". Untagged data (FETCH results, EXISTS)
// is left out: the events say what it was.
//
// After STARTTLS the wire is encrypted and the library does the TLS itself,
// so from there the session adds one line per command it carries out, as
// the server understood it, and one for its outcome.
const (
	transcriptLines = 200  // lines kept (the last ones)
	maxShownLine    = 300  // characters shown of one line
	maxLineBuffer   = 4096 // bytes kept of a line being read
	maxParts        = 64   // pieces (text and literals) kept of one command
)

// tlsNote marks where STARTTLS took over.
const tlsNote = "-- TLS from here: the exchange is encrypted on the wire; below, each command as the server carried it out"

// clearNote warns about a password sent without TLS.
const clearNote = "!! the password crossed the network in clear text: anyone on the path can read it (STARTTLS first would encrypt it)"

// transcript is the bounded record of one connection. Views handed to
// events share its lines: lines are only appended, and the window is moved
// by copying into a new array, never by overwriting.
type transcript struct {
	mu          sync.Mutex
	lines       []string
	encrypted   bool // STARTTLS succeeded on the wire: stop reading it
	warned      bool // the clear-text password warning was given
	greeted     bool // the first server line was seen
	startTLSTag string
	authTag     string // an AUTHENTICATE exchange is going on
	bad         int    // tagged BAD responses seen (before STARTTLS)
	cli, srv    stream
}

func newTranscript() *transcript {
	return &transcript{lines: make([]string, 0, 32)}
}

// stream reassembles the lines of one direction.
type stream struct {
	buf     []byte   // the line being read
	parts   []string // the command so far, before a literal
	literal int64    // literal octets still to skip
	sync    bool     // the literal being waited for is synchronizing
}

// transcriptView is a fixed window of a transcript, rendered on demand.
type transcriptView []string

func (v transcriptView) String() string { return strings.Join(v, "\n") }

// view returns the last lines so far.
func (t *transcript) view() fmt.Stringer {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.lines)
	return transcriptView(t.lines[max(0, n-transcriptLines):n:n])
}

// add appends a line; the caller holds mu.
func (t *transcript) add(line string) {
	if len(t.lines) >= 2*transcriptLines {
		kept := make([]string, transcriptLines, 2*transcriptLines)
		copy(kept, t.lines[len(t.lines)-transcriptLines:])
		t.lines = kept
	}
	t.lines = append(t.lines, line)
}

// note adds lines written by the session (after STARTTLS).
func (t *transcript) note(lines ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range lines {
		t.add(shown(l))
	}
}

// isEncrypted reports whether STARTTLS took over the wire.
func (t *transcript) isEncrypted() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.encrypted
}

// fromClient takes bytes the server read.
func (t *transcript) fromClient(b []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.encrypted {
		return
	}
	t.cli.feed(b, t.clientLine)
}

// fromServer takes bytes the server wrote.
func (t *transcript) fromServer(b []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.encrypted {
		return
	}
	t.srv.feed(b, t.serverLine)
}

// clientLine records one command line (literals replaced).
func (t *transcript) clientLine(line string) {
	if t.authTag != "" {
		if line == "*" {
			t.add("C: *")
		} else {
			t.add("C: ********")
		}
		return
	}
	tag, rest, _ := strings.Cut(line, " ")
	cmd, args, _ := strings.Cut(rest, " ")
	switch strings.ToUpper(cmd) {
	case "LOGIN":
		user, _ := nextToken(args)
		t.add(shown("C: " + tag + " " + cmd + " " + user + " ********"))
		t.warnClear()
		return
	case "AUTHENTICATE":
		mech, ir := nextToken(args)
		masked := "C: " + tag + " " + cmd + " " + mech
		if strings.TrimSpace(ir) != "" {
			masked += " ********"
		}
		t.add(shown(masked))
		t.authTag = tag
		t.warnClear()
		return
	case "STARTTLS":
		t.startTLSTag = tag
	}
	t.add(shown("C: " + line))
}

// warnClear adds the clear-text password warning, once.
func (t *transcript) warnClear() {
	if !t.warned && !t.encrypted {
		t.warned = true
		t.add(clearNote)
	}
}

// badResponses is how many tagged BAD responses the server sent.
func (t *transcript) badResponses() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.bad
}

// serverLine records the greeting, BYEs and tagged responses.
func (t *transcript) serverLine(line string) {
	tag, rest, _ := strings.Cut(line, " ")
	first := !t.greeted
	t.greeted = true
	switch {
	case tag == "+":
		return
	case tag == "*":
		if first || strings.HasPrefix(strings.ToUpper(rest), "BYE") {
			t.add(shown("S: " + line))
		}
		return
	}
	// A tagged response to the command whose synchronizing literal is
	// awaited: the literal was refused and will not come.
	if t.cli.literal > 0 && t.cli.sync && len(t.cli.parts) > 0 {
		if ptag, _, _ := strings.Cut(t.cli.parts[0], " "); ptag == tag {
			t.add(shown("C: " + strings.Join(t.cli.parts, "") + " (refused)"))
			t.cli.literal, t.cli.parts = 0, t.cli.parts[:0]
		}
	}
	t.add(shown("S: " + line))
	if strings.HasPrefix(strings.ToUpper(rest), "BAD") {
		t.bad++
	}
	if tag == t.authTag {
		t.authTag = ""
	}
	if tag == t.startTLSTag {
		t.startTLSTag = ""
		if strings.HasPrefix(strings.ToUpper(rest), "OK") {
			t.encrypted = true
			t.add(tlsNote)
		}
	}
}

// feed splits bytes into lines, skipping literals; emit gets each whole
// command or response, literals replaced by a placeholder.
func (st *stream) feed(b []byte, emit func(string)) {
	for len(b) > 0 {
		if st.literal > 0 {
			n := int64(len(b))
			if n > st.literal {
				n = st.literal
			}
			b = b[n:]
			st.literal -= n
			continue
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			st.keep(b)
			return
		}
		st.keep(b[:i])
		b = b[i+1:]
		line := strings.TrimSuffix(string(st.buf), "\r")
		st.buf = st.buf[:0]
		if head, n, sync, ok := literalSuffix(line); ok {
			if len(st.parts) < maxParts {
				st.parts = append(st.parts, head+"<literal of "+strconv.FormatInt(n, 10)+" octets>")
			}
			st.literal, st.sync = n, sync
			continue
		}
		if len(st.parts) > 0 {
			line = strings.Join(st.parts, "") + line
			st.parts = st.parts[:0]
		}
		emit(line)
	}
}

// keep appends to the line being read, keeping its start and its end
// (where a literal is announced) when it is very long.
func (st *stream) keep(b []byte) {
	st.buf = append(st.buf, b...)
	if len(st.buf) > maxLineBuffer {
		var tail [64]byte
		copy(tail[:], st.buf[len(st.buf)-64:])
		st.buf = append(st.buf[:maxShownLine], "..."...)
		st.buf = append(st.buf, tail[:]...)
	}
}

// literalSuffix recognises a line ending with a literal announcement:
// "{12}", "{12+}" (non-synchronizing) or "~{12}" (binary). It returns the
// line before it, the size, and whether the sender waits for "+".
func literalSuffix(line string) (head string, n int64, sync, ok bool) {
	if !strings.HasSuffix(line, "}") {
		return "", 0, false, false
	}
	open := strings.LastIndexByte(line, '{')
	if open < 0 {
		return "", 0, false, false
	}
	num := line[open+1 : len(line)-1]
	sync = true
	if strings.HasSuffix(num, "+") || strings.HasSuffix(num, "-") {
		num, sync = num[:len(num)-1], false
	}
	if num == "" || len(num) > 18 {
		return "", 0, false, false
	}
	for i := 0; i < len(num); i++ {
		if num[i] < '0' || num[i] > '9' {
			return "", 0, false, false
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return "", 0, false, false
	}
	head = line[:open]
	head = strings.TrimSuffix(head, "~")
	return head, n, sync, true
}

// nextToken splits the first argument off args: an atom, a quoted string
// or a literal placeholder.
func nextToken(args string) (tok, rest string) {
	args = strings.TrimLeft(args, " ")
	switch {
	case strings.HasPrefix(args, `"`):
		for i := 1; i < len(args); i++ {
			switch args[i] {
			case '\\':
				i++
			case '"':
				return args[:i+1], args[i+1:]
			}
		}
		return args, ""
	case strings.HasPrefix(args, "<literal of "):
		if i := strings.IndexByte(args, '>'); i >= 0 {
			return args[:i+1], args[i+1:]
		}
		return args, ""
	}
	if i := strings.IndexByte(args, ' '); i >= 0 {
		return args[:i], args[i:]
	}
	return args, ""
}

// shown makes a line printable and bounded.
func shown(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean && len(s) <= maxShownLine {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n >= maxShownLine {
			b.WriteString("...")
			break
		}
		switch {
		case r == utf8.RuneError, r < 0x20, r == 0x7f:
			b.WriteByte('.')
		default:
			b.WriteRune(r)
		}
		n++
	}
	return b.String()
}
