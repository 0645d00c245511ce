package imap

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// client is the small IMAP client of `lab solve`: it sends tagged
// commands and reads until their tagged response, as a learner's client
// does. It is not the library's client on purpose: it shows the protocol
// as lines, and fails on NO and BAD.
type client struct {
	conn   net.Conn
	r      *bufio.Reader
	next   int
	exists uint32 // messages in the selected mailbox, from EXISTS and EXPUNGE
}

// Bounds on what the client reads from a server.
const (
	maxResponseLine = 64 << 10 // bytes of one line, literals apart
	maxLiteral      = 64 << 20 // bytes of one literal
	maxResponse     = 1 << 20  // untagged lines kept per command
)

// respLine is one response line, literals apart.
type respLine struct {
	text     string   // the line, each literal replaced by "{N}"
	literals [][]byte // the literals, in order
}

// errBye is a connection the server closed with BYE.
var errBye = errors.New("the server closed the connection (BYE)")

// dial connects and reads the greeting.
func dial(ctx context.Context, addr string) (*client, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	c := &client{conn: nc, r: bufio.NewReader(nc)}
	l, err := readResponse(c.r)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("reading the greeting: %w", err)
	}
	if !strings.HasPrefix(l.text, "* OK") && !strings.HasPrefix(l.text, "* PREAUTH") {
		nc.Close()
		return nil, fmt.Errorf("unexpected greeting %q", l.text)
	}
	return c, nil
}

func (c *client) close() { c.conn.Close() }

// startTLS upgrades the connection, accepting the lab's self-signed
// certificate (as curl -k does).
func (c *client) startTLS(ctx context.Context) error {
	if _, err := c.run("STARTTLS"); err != nil {
		return err
	}
	tc := tls.Client(c.conn, &tls.Config{ServerName: "mail.lab.test", InsecureSkipVerify: true}) //nolint:gosec // the lab's certificate is self-signed
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	return nil
}

// login sends LOGIN with quoted arguments.
func (c *client) login(user, password string) error {
	u, err := quote(user)
	if err != nil {
		return fmt.Errorf("user: %w", err)
	}
	p, err := quote(password)
	if err != nil {
		return fmt.Errorf("password: %w", err)
	}
	if _, err := c.run("LOGIN " + u + " " + p); err != nil {
		return fmt.Errorf("LOGIN %s: %w", user, err)
	}
	return nil
}

// quote writes an IMAP quoted string.
func quote(s string) (string, error) {
	if strings.ContainsAny(s, "\r\n\x00") {
		return "", errors.New("line breaks cannot be sent in a quoted string")
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`, nil
}

// send writes a tagged command and returns its tag.
func (c *client) send(cmd string) (string, error) {
	c.next++
	tag := "a" + strconv.Itoa(c.next)
	if _, err := io.WriteString(c.conn, tag+" "+cmd+"\r\n"); err != nil {
		return "", err
	}
	return tag, nil
}

// run sends a command and reads until its tagged response; it fails on NO
// and BAD. It returns the untagged lines.
func (c *client) run(cmd string) ([]respLine, error) {
	tag, err := c.send(cmd)
	if err != nil {
		return nil, err
	}
	return c.wait(tag)
}

// wait reads until the tagged response of tag.
func (c *client) wait(tag string) ([]respLine, error) {
	var untagged []respLine
	size := 0
	bye := ""
	for {
		l, err := readResponse(c.r)
		if err != nil {
			if bye != "" {
				return untagged, fmt.Errorf("%w: %q", errBye, bye)
			}
			return untagged, err
		}
		first, rest, _ := strings.Cut(l.text, " ")
		if first == tag {
			status, _, _ := strings.Cut(rest, " ")
			switch strings.ToUpper(status) {
			case "OK":
				return untagged, nil
			case "NO", "BAD":
				return untagged, fmt.Errorf("the server answered %q", rest)
			}
			return untagged, fmt.Errorf("unexpected response %q", l.text)
		}
		c.track(l.text)
		if first == "*" && strings.HasPrefix(strings.ToUpper(rest), "BYE") {
			bye = rest
		}
		if size += len(l.text); size <= maxResponse {
			untagged = append(untagged, l)
		}
	}
}

// track follows the number of messages from EXISTS and EXPUNGE.
func (c *client) track(line string) {
	f := strings.Fields(line)
	if len(f) < 3 || f[0] != "*" {
		return
	}
	n, err := strconv.ParseUint(f[1], 10, 32)
	if err != nil {
		return
	}
	switch strings.ToUpper(f[2]) {
	case "EXISTS":
		c.exists = uint32(n)
	case "EXPUNGE":
		if c.exists > 0 {
			c.exists--
		}
	}
}

// readResponse reads one response line with its literals: a line ending
// with {N} (or ~{N} for binary) is followed by N octets, then the rest of
// the line.
func readResponse(r *bufio.Reader) (respLine, error) {
	var out respLine
	var text strings.Builder
	for {
		line, err := readLine(r)
		if err != nil {
			return out, err
		}
		if text.Len()+len(line) > maxResponseLine {
			return out, fmt.Errorf("response line longer than %d bytes", maxResponseLine)
		}
		n, ok := literalAt(line)
		if !ok {
			text.WriteString(line)
			out.text = text.String()
			return out, nil
		}
		if n > maxLiteral {
			return out, fmt.Errorf("literal of %d bytes, more than the %d this client takes", n, maxLiteral)
		}
		text.WriteString(line)
		// Grown as the octets come, not allocated at the size announced.
		var lit bytes.Buffer
		if _, err := io.CopyN(&lit, r, n); err != nil {
			return out, fmt.Errorf("literal cut short: %w", err)
		}
		out.literals = append(out.literals, lit.Bytes())
	}
}

// readLine reads up to CRLF (or LF), without it, bounded.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxResponseLine {
			return "", fmt.Errorf("response line longer than %d bytes", maxResponseLine)
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(b) > 0 {
			return "", io.ErrUnexpectedEOF
		}
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), nil
}

// literalAt returns the size of the literal a line announces at its end.
func literalAt(line string) (int64, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	open := strings.LastIndexByte(line, '{')
	if open < 0 {
		return 0, false
	}
	num := line[open+1 : len(line)-1]
	if num == "" || len(num) > 12 {
		return 0, false
	}
	for i := 0; i < len(num); i++ {
		if num[i] < '0' || num[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	return n, err == nil
}

// appendMessage sends APPEND with a synchronizing literal: the command
// line, the server's "+", then the message.
func (c *client) appendMessage(mailbox string, msg []byte) error {
	mb, err := quote(mailbox)
	if err != nil {
		return err
	}
	tag, err := c.send(fmt.Sprintf("APPEND %s {%d}", mb, len(msg)))
	if err != nil {
		return err
	}
	for {
		l, err := readResponse(c.r)
		if err != nil {
			return err
		}
		if strings.HasPrefix(l.text, "+") {
			break
		}
		if first, rest, _ := strings.Cut(l.text, " "); first == tag {
			return fmt.Errorf("APPEND refused: %q", rest)
		}
	}
	if _, err := c.conn.Write(append(msg, '\r', '\n')); err != nil {
		return err
	}
	_, err = c.wait(tag)
	return err
}

// deadline sets the connection's deadline.
func (c *client) deadline(t time.Time) { _ = c.conn.SetDeadline(t) }
