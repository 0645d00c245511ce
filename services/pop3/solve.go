package pop3

import (
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"protolab/internal/service"
)

// solveTimeout bounds a solve step when ctx has no deadline.
const solveTimeout = 10 * time.Second

// solve performs one step as a learner's mail client would.
func solve(ctx context.Context, eps service.Endpoints, step service.Step) error {
	ctx, cancel, _, err := service.StartSolve(ctx, "pop3", actions, step, solveTimeout)
	defer cancel()
	if err != nil {
		return err
	}
	addr, ok := eps.Find("pop3", "tcp")
	if !ok {
		return errors.New("pop3: no pop3 endpoint: is the pop3 service running?")
	}
	return runSession(ctx, addr, step.Args)
}

// sessionPlan is a pop3.session step, checked before anything is sent.
type sessionPlan struct {
	user, password string
	auth           string // "user", "apop", "plain"
	stls           bool
	commands       []string
	needLast       bool
}

func planSession(args map[string]string) (sessionPlan, error) {
	p := sessionPlan{user: args["user"], password: args["password"], auth: strings.ToLower(args["auth"])}
	switch p.auth {
	case "":
		p.auth = "user"
	case "user", "apop", "plain":
	default:
		return p, fmt.Errorf("pop3: pop3.session: auth %q: user, apop or plain", args["auth"])
	}
	switch args["stls"] {
	case "", "false":
	case "true":
		p.stls = true
	default:
		return p, fmt.Errorf("pop3: pop3.session: stls %q: true or false", args["stls"])
	}
	for _, c := range strings.Split(args["commands"], ",") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if strings.ContainsAny(c, "\r\n") {
			return p, fmt.Errorf("pop3: pop3.session: command %q: one line each", c)
		}
		f := strings.Fields(c)
		for _, w := range f[1:] {
			p.needLast = p.needLast || strings.EqualFold(w, "last")
		}
		switch strings.ToUpper(f[0]) {
		case "USER", "PASS", "APOP", "AUTH", "STLS":
			return p, fmt.Errorf("pop3: pop3.session: %s: the step logs in itself (give user, password, auth and stls instead)", f[0])
		}
		p.commands = append(p.commands, c)
	}
	return p, nil
}

// runSession connects, logs in and runs the commands, failing on any -ERR.
// Without QUIT in the commands, the connection is just closed: nothing
// marked deleted is removed.
func runSession(ctx context.Context, addr string, args map[string]string) error {
	p, err := planSession(args)
	if err != nil {
		return err
	}
	c, err := dialClient(ctx, addr)
	if err != nil {
		return fmt.Errorf("pop3: %w", err)
	}
	defer c.close()
	if err := c.session(p); err != nil {
		return fmt.Errorf("pop3: %w", err)
	}
	return nil
}

// client is a small POP3 client on net/textproto, for solve steps and
// tests.
type client struct {
	nc       net.Conn
	tp       *textproto.Conn
	greeting string
}

func dialClient(ctx context.Context, addr string) (*client, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	c := &client{nc: nc, tp: textproto.NewConn(nc)}
	c.greeting, err = c.response()
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	return c, nil
}

func (c *client) close() { c.tp.Close() }

// response reads a status line: its text after "+OK", or an error with the
// server's line.
func (c *client) response() (string, error) {
	line, err := c.tp.ReadLine()
	if err != nil {
		return "", err
	}
	if rest, ok := strings.CutPrefix(line, "+OK"); ok {
		return strings.TrimSpace(rest), nil
	}
	if strings.HasPrefix(line, "+ ") || line == "+" {
		return line, nil
	}
	return "", fmt.Errorf("the server answered %q", line)
}

// cmd sends a command and reads its status line.
func (c *client) cmd(line string) (string, error) {
	if err := c.tp.PrintfLine("%s", line); err != nil {
		return "", err
	}
	text, err := c.response()
	if err != nil {
		return "", fmt.Errorf("%s: %w", maskCommand(line), err)
	}
	return text, nil
}

// multi sends a command answered with several lines and reads them all.
func (c *client) multi(line string) ([]byte, error) {
	if _, err := c.cmd(line); err != nil {
		return nil, err
	}
	body, err := c.tp.ReadDotBytes()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", line, err)
	}
	return body, nil
}

func maskCommand(line string) string {
	if f := strings.Fields(line); len(f) > 0 && (strings.EqualFold(f[0], "PASS") || strings.EqualFold(f[0], "AUTH")) {
		return f[0] + " ********"
	}
	return line
}

// starttls switches to TLS. The lab's certificate is self-signed, so it is
// not verified (as curl -k).
func (c *client) starttls() error {
	if _, err := c.cmd("STLS"); err != nil {
		return err
	}
	tc := tls.Client(c.nc, &tls.Config{ServerName: "mail.lab.test", InsecureSkipVerify: true}) //nolint:gosec // the lab's self-signed certificate
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("STLS: TLS handshake: %w", err)
	}
	c.nc, c.tp = tc, textproto.NewConn(tc)
	return nil
}

// login authenticates with the given mechanism.
func (c *client) login(auth, user, password string) error {
	switch auth {
	case "apop":
		start, end := strings.IndexByte(c.greeting, '<'), strings.LastIndexByte(c.greeting, '>')
		if start < 0 || end < start {
			return fmt.Errorf("APOP: the greeting %q has no <timestamp>", c.greeting)
		}
		sum := md5.Sum([]byte(c.greeting[start:end+1] + password))
		_, err := c.cmd("APOP " + user + " " + hex.EncodeToString(sum[:]))
		return err
	case "plain":
		_, err := c.cmd("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+password)))
		return err
	default:
		if _, err := c.cmd("USER " + user); err != nil {
			return err
		}
		_, err := c.cmd("PASS " + password)
		return err
	}
}

// Waiting for the maildrop lock: a previous step that ended without QUIT
// closed its connection, and the server releases the lock when it notices.
const (
	lockWait  = 3 * time.Second
	lockRetry = 20 * time.Millisecond
)

// loginWait logs in, trying again for a while when the maildrop is locked.
func (c *client) loginWait(auth, user, password string) error {
	deadline := time.Now().Add(lockWait)
	for {
		err := c.login(auth, user, password)
		if err == nil || !strings.Contains(err.Error(), "[IN-USE]") || time.Now().After(deadline) {
			return err
		}
		time.Sleep(lockRetry)
	}
}

// multiLine reports whether a command is answered with several lines.
func multiLine(verb string, args int) bool {
	switch verb {
	case "CAPA", "RETR", "TOP":
		return true
	case "LIST", "UIDL", "AUTH":
		return args == 0
	}
	return false
}

func (c *client) session(p sessionPlan) error {
	if p.stls {
		if err := c.starttls(); err != nil {
			return err
		}
	}
	if err := c.loginWait(p.auth, p.user, p.password); err != nil {
		return err
	}
	last := 0
	if p.needLast {
		text, err := c.cmd("STAT")
		if err != nil {
			return err
		}
		f := strings.Fields(text)
		if len(f) < 1 {
			return fmt.Errorf("STAT: unexpected answer %q", text)
		}
		if last, err = strconv.Atoi(f[0]); err != nil {
			return fmt.Errorf("STAT: unexpected answer %q", text)
		}
	}
	for _, line := range p.commands {
		f := strings.Fields(line)
		verb := strings.ToUpper(f[0])
		for i := 1; i < len(f); i++ {
			if strings.EqualFold(f[i], "last") {
				if last == 0 {
					return fmt.Errorf("%s: \"last\" stands for the last message, and the maildrop is empty", line)
				}
				f[i] = strconv.Itoa(last)
			}
		}
		line = strings.Join(f, " ")
		var err error
		if multiLine(verb, len(f)-1) {
			_, err = c.multi(line)
		} else {
			_, err = c.cmd(line)
		}
		if err != nil {
			return err
		}
		if verb == "QUIT" {
			return nil
		}
	}
	return nil
}
