package pop3

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Line bounds (RFC 2449 §4: a command line is at most 255 octets with its
// CRLF, each argument at most 40 octets).
const (
	maxCommandLine  = 255
	maxArgLength    = 40
	maxSASLLine     = 1024     // an AUTH continuation line (base64)
	maxDiscardBytes = 64 << 10 // an overlong line is read past up to this much, then the connection is closed
)

var (
	// errLineTooLong is a line longer than allowed; it was read to its end
	// and dropped, so the next read starts with the next line.
	errLineTooLong = errors.New("line too long")
	// errLineFlood is a line so long that the connection is not worth
	// keeping.
	errLineFlood = errors.New("line far too long")
)

// readLine reads one line of at most max octets, line end included, and
// returns it without its line end (CRLF, or a bare LF as telnet users
// sometimes send).
func readLine(br *bufio.Reader, max int) (string, error) {
	var line []byte
	total := 0
	for {
		chunk, err := br.ReadSlice('\n')
		total += len(chunk)
		if total <= max {
			line = append(line, chunk...)
		}
		switch {
		case err == nil:
			if total > max {
				return "", errLineTooLong
			}
			line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
			return string(line), nil
		case errors.Is(err, bufio.ErrBufferFull):
			if total > maxDiscardBytes {
				return "", errLineFlood
			}
		default:
			return "", err
		}
	}
}

// command is one parsed command line.
type command struct {
	verb string // upper case: "RETR"
	rest string // everything after the verb and one space, as sent
	args []string
}

// parseCommand splits a line into its keyword and arguments. The keyword is
// case-insensitive (RFC 1939 §3); arguments are separated by spaces, several
// spaces being tolerated. rest keeps the arguments as sent, for PASS, whose
// argument may contain spaces.
func parseCommand(line string) command {
	verb, rest, _ := strings.Cut(line, " ")
	return command{verb: upperASCII(verb), rest: rest, args: strings.Fields(rest)}
}

// upperASCII upper-cases ASCII letters and leaves every other byte as it
// is (strings.ToUpper would turn invalid UTF-8 into U+FFFD).
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// argsTooLong reports whether an argument exceeds RFC 2449's 40 octets.
func (c command) argsTooLong() bool {
	for _, a := range c.args {
		if len(a) > maxArgLength {
			return true
		}
	}
	return false
}

// parseNumber reads a message number or a line count: decimal digits only,
// no sign, at most 9 digits (so it fits an int anywhere).
func parseNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// plainResponse decodes an AUTH PLAIN response (RFC 4616): base64 of
// authzid NUL authcid NUL password.
func plainResponse(b64 string) (authzid, authcid, password string, err error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", "", "", errors.New("the response is not valid base64")
	}
	parts := bytes.Split(raw, []byte{0})
	if len(parts) != 3 {
		return "", "", "", errors.New("a PLAIN response is authzid NUL user NUL password, in base64")
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), nil
}

// printable renders client text for a transcript or an event: control and
// non-ASCII bytes escaped, at most max octets shown.
func printable(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if b.Len() >= max {
			b.WriteString("…")
			break
		}
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
			continue
		}
		b.WriteString(`\x`)
		b.WriteString(strconv.FormatUint(uint64(c)>>4, 16))
		b.WriteString(strconv.FormatUint(uint64(c)&15, 16))
	}
	return b.String()
}
