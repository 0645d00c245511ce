package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"strconv"
	"strings"
	"time"

	"protolab/internal/service"
)

// solveTimeout bounds a solve step when ctx has no deadline.
const solveTimeout = 20 * time.Second

// solveHELO is the name the solver gives in EHLO.
const solveHELO = "learner.lab.test"

// solve performs one step as a learner's client would. The client is a
// small one of its own rather than net/smtp or go-smtp's: it must be able
// to send a dialogue the way nc does, with bare LF line ends.
func solve(ctx context.Context, eps service.Endpoints, step service.Step) error {
	ctx, cancel, a, err := service.StartSolve(ctx, "smtp", actions, step, solveTimeout)
	defer cancel()
	if err != nil {
		return err
	}
	args := step.Args
	listener := args["listener"]
	if listener == "" {
		listener = "smtp"
	}
	if listener != "smtp" && listener != "submission" {
		return fmt.Errorf("smtp: %s: listener %q: smtp or submission", a.Name, listener)
	}
	if step.Action == "smtp.probe" {
		return probe(ctx, eps, listener, args)
	}
	return send(ctx, eps, listener, args)
}

// boolArg reads a true/false argument.
func boolArg(args map[string]string, name string) (bool, error) {
	switch args[name] {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, fmt.Errorf("smtp: argument %s: true or false, not %q", name, args[name])
}

// addresses splits a comma-separated list.
func addresses(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// send sends one message, as swaks would.
func send(ctx context.Context, eps service.Endpoints, listener string, args map[string]string) error {
	starttls, err := boolArg(args, "starttls")
	if err != nil {
		return err
	}
	typed, err := boolArg(args, "typed")
	if err != nil {
		return err
	}
	mech := strings.ToUpper(args["auth"])
	if mech == "" {
		mech = "PLAIN"
	}
	if mech != "PLAIN" && mech != "LOGIN" {
		return fmt.Errorf("smtp: smtp.send: auth %q: PLAIN or LOGIN", args["auth"])
	}
	if (args["user"] == "") != (args["password"] == "") {
		return errors.New("smtp: smtp.send: give both user and password, or neither")
	}
	to := addresses(args["to"])
	if len(to) == 0 {
		return errors.New("smtp: smtp.send: argument \"to\" names no address")
	}
	c, err := dial(ctx, eps, listener, typed)
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.hello(); err != nil {
		return err
	}
	if starttls {
		if err := c.startTLS(); err != nil {
			return err
		}
	}
	if args["user"] != "" {
		if err := c.auth(mech, args["user"], args["password"]); err != nil {
			return err
		}
	}
	if err := c.expect(250, "MAIL FROM:<"+args["from"]+">"); err != nil {
		return err
	}
	for _, a := range to {
		if err := c.expect(250, "RCPT TO:<"+a+">"); err != nil {
			return err
		}
	}
	if err := c.expect(354, "DATA"); err != nil {
		return err
	}
	if err := c.writeMessage(compose(args["from"], to, args["subject"], args["body"])); err != nil {
		return err
	}
	if code, text, err := c.readReply(); err != nil {
		return fmt.Errorf("smtp: smtp.send: after the message: %w", err)
	} else if code != 250 {
		return fmt.Errorf("smtp: smtp.send: the message was answered %d %s", code, text)
	}
	c.quit()
	return nil
}

// probe asks MAIL FROM and RCPT TO for each address, then quits.
func probe(ctx context.Context, eps service.Endpoints, listener string, args map[string]string) error {
	from := args["from"]
	if from == "" {
		from = "probe@example.net"
	}
	to := addresses(args["to"])
	if len(to) == 0 {
		return errors.New("smtp: smtp.probe: argument \"to\" names no address")
	}
	c, err := dial(ctx, eps, listener, false)
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.hello(); err != nil {
		return err
	}
	for _, line := range append([]string{"MAIL FROM:<" + from + ">"}, prefixed("RCPT TO:<", to, ">")...) {
		if _, _, err := c.cmd(line); err != nil {
			return err
		}
	}
	c.quit()
	return nil
}

func prefixed(pre string, list []string, post string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = pre + s + post
	}
	return out
}

// compose writes a small well-formed message.
func compose(from string, to []string, subject, body string) string {
	if subject == "" {
		subject = "Protolab test"
	}
	if body == "" {
		body = "Hello from the lab."
	}
	var b strings.Builder
	b.WriteString("From: <" + from + ">\n")
	b.WriteString("To: <" + strings.Join(to, ">, <") + ">\n")
	b.WriteString("Subject: " + mime.QEncoding.Encode("utf-8", subject) + "\n")
	b.WriteString("Date: " + time.Now().Format(time.RFC1123Z) + "\n")
	b.WriteString("Message-ID: <" + strings.ToLower(newID()) + "@" + solveHELO + ">\n")
	b.WriteString("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n")
	b.WriteString(strings.ReplaceAll(body, "\r\n", "\n"))
	return b.String()
}

// client is a minimal SMTP client.
type client struct {
	conn net.Conn
	r    *bufio.Reader
	eol  string // "\r\n", or "\n" as nc sends without -C
	addr string
}

func dial(ctx context.Context, eps service.Endpoints, listener string, typed bool) (*client, error) {
	addr, ok := eps.Find(listener, "tcp")
	if !ok {
		return nil, fmt.Errorf("smtp: no %s endpoint: is the smtp service running?", listener)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smtp: connecting to %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c := &client{conn: conn, r: bufio.NewReader(conn), eol: "\r\n", addr: addr}
	if typed {
		c.eol = "\n"
	}
	if code, text, err := c.readReply(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("smtp: %s: no greeting: %w", addr, err)
	} else if code != 220 {
		conn.Close()
		return nil, fmt.Errorf("smtp: %s: greeted with %d %s", addr, code, text)
	}
	return c, nil
}

func (c *client) close() { c.conn.Close() }

func (c *client) quit() { _, _, _ = c.cmd("QUIT") }

func (c *client) hello() error { return c.expect(250, "EHLO "+solveHELO) }

// cmd sends one line and reads the reply.
func (c *client) cmd(line string) (int, string, error) {
	if _, err := c.conn.Write([]byte(line + c.eol)); err != nil {
		return 0, "", fmt.Errorf("smtp: %s: sending %s: %w", c.addr, mask(line), err)
	}
	code, text, err := c.readReply()
	if err != nil {
		return 0, "", fmt.Errorf("smtp: %s: no answer to %s: %w", c.addr, mask(line), err)
	}
	return code, text, nil
}

// expect sends a line and fails unless the reply has the given code.
func (c *client) expect(want int, line string) error {
	code, text, err := c.cmd(line)
	if err != nil {
		return err
	}
	if code != want {
		return fmt.Errorf("smtp: %s: %s was answered %d %s", c.addr, mask(line), code, text)
	}
	return nil
}

// mask hides the secrets of AUTH in error messages.
func mask(line string) string {
	if strings.HasPrefix(line, "AUTH ") {
		if f := strings.Fields(line); len(f) > 2 {
			return f[0] + " " + f[1] + " ********"
		}
	}
	return line
}

// readReply reads a reply, one line or several, and returns its code and
// its text (lines joined by "; ").
func (c *client) readReply() (int, string, error) {
	var texts []string
	for i := 0; i < 100; i++ {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return 0, "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 {
			return 0, "", fmt.Errorf("malformed reply %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return 0, "", fmt.Errorf("malformed reply %q", line)
		}
		if len(line) > 4 {
			texts = append(texts, line[4:])
		}
		if len(line) == 3 || line[3] == ' ' {
			return code, strings.Join(texts, "; "), nil
		}
	}
	return 0, "", errors.New("reply of more than 100 lines")
}

// startTLS upgrades the connection and says EHLO again. The lab's
// certificate is self-signed: it is not checked, as swaks does by default.
func (c *client) startTLS() error {
	if err := c.expect(220, "STARTTLS"); err != nil {
		return err
	}
	tc := tls.Client(c.conn, &tls.Config{ServerName: "mail.lab.test", InsecureSkipVerify: true}) //nolint:gosec // the lab's self-signed certificate
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("smtp: %s: TLS handshake: %w", c.addr, err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	return c.hello()
}

// auth logs in with PLAIN or LOGIN.
func (c *client) auth(mech, user, password string) error {
	b64 := base64.StdEncoding.EncodeToString
	if mech == "PLAIN" {
		return c.expect(235, "AUTH PLAIN "+b64([]byte("\x00"+user+"\x00"+password)))
	}
	if err := c.expect(334, "AUTH LOGIN"); err != nil {
		return err
	}
	if err := c.expect(334, b64([]byte(user))); err != nil {
		return err
	}
	code, text, err := c.cmd(b64([]byte(password)))
	if err != nil {
		return err
	}
	if code != 235 {
		return fmt.Errorf("smtp: %s: AUTH LOGIN as %s was answered %d %s", c.addr, user, code, text)
	}
	return nil
}

// writeMessage sends a message after 354: dot-stuffed, ended by ".".
func (c *client) writeMessage(msg string) error {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(msg, "\n"), "\n") {
		if strings.HasPrefix(line, ".") {
			b.WriteByte('.')
		}
		b.WriteString(line)
		b.WriteString(c.eol)
	}
	b.WriteString("." + c.eol)
	if _, err := c.conn.Write([]byte(b.String())); err != nil {
		return fmt.Errorf("smtp: %s: sending the message: %w", c.addr, err)
	}
	return nil
}
