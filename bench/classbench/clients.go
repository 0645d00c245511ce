package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// mailDomain is the mail lab's domain; bob is one of its own users.
const (
	mailDomain = "lab.test"
	bobAddr    = "bob@" + mailDomain
	newFolder  = "Archives"
)

// The steps of a learner, in order, and the task each one is for. Steps 4
// and 5 together tick "compare".
const (
	stepSend    = "smtp send"
	stepRetr    = "pop3 retr"
	stepFetch   = "imap fetch"
	stepDele    = "pop3 dele"
	stepCompare = "imap select+create"
)

// steps lists the steps in the order a learner runs them.
var steps = []string{stepSend, stepRetr, stepFetch, stepDele, stepCompare}

// labTasks are the mail lab's tasks the steps are written for.
var labTasks = []string{"smtp-send", "pop3-retr", "imap-fetch", "compare"}

// endpoints are the lab's mail servers.
type endpoints struct{ smtp, pop3, imap string }

// account is a learner's own mail account on the classroom server.
type account struct{ user, pass string }

// learnerRun is what one learner did.
type learnerRun struct {
	id      string
	elapsed time.Duration
	failed  string // the step that failed, "" when all ran
	err     error
}

// runLearner runs the mail lab's tasks as learner l, from l's own address,
// with l's own account: it sends a message to bob and to l (SMTP, the
// lab's MX), reads it back with POP3 (RETR) and with IMAP (FETCH BODY[]),
// deletes it with POP3 (DELE, QUIT), then selects INBOX and creates a
// folder with IMAP. Every connection ends by ctx's deadline.
func runLearner(ctx context.Context, l learner, a account, ep endpoints) learnerRun {
	begin := time.Now()
	run := learnerRun{id: l.ID}
	c := &mailClient{ctx: ctx, from: l.Addr.String(), acct: a}
	msgID := newMessageID(l.ID)
	do := []func() error{
		func() error { return c.send(ep.smtp, msgID) },
		func() error { return c.pop3(ep.pop3, msgID, false) },
		func() error { return c.fetch(ep.imap, msgID) },
		func() error { return c.pop3(ep.pop3, msgID, true) },
		func() error { return c.compare(ep.imap) },
	}
	for i, f := range do {
		if err := f(); err != nil {
			run.failed, run.err = steps[i], err
			break
		}
	}
	run.elapsed = time.Since(begin)
	return run
}

// newMessageID is a unique Message-ID (without <>) for learner's message.
func newMessageID(learner string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "classbench-" + learner + "-" + hex.EncodeToString(b) + "@" + mailDomain
}

// mailClient connects from one learner's address with the learner's
// account.
type mailClient struct {
	ctx  context.Context
	from string // the local address every connection binds
	acct account
}

// dial opens a TCP connection from the learner's address, with the
// context's deadline on every read and write.
func (c *mailClient) dial(addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(c.from)}, Timeout: 5 * time.Second}
	conn, err := d.DialContext(c.ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := c.ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Cancelling the context (SIGINT) ends the connection at once.
	stop := context.AfterFunc(c.ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return &stopConn{Conn: conn, stop: stop}, nil
}

// stopConn is a connection whose Close also forgets the context's hook.
type stopConn struct {
	net.Conn
	stop func() bool
}

func (s *stopConn) Close() error {
	s.stop()
	return s.Conn.Close()
}

// message is the text of the learner's message.
func (c *mailClient) message(msgID string) string {
	me := c.acct.user + "@" + mailDomain
	return "From: " + me + "\r\n" +
		"To: " + bobAddr + ", " + me + "\r\n" +
		"Subject: classbench " + c.acct.user + "\r\n" +
		"Message-ID: <" + msgID + ">\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"Hello bob, this is " + c.acct.user + " checking the mail chain.\r\n"
}

// send hands one message to the MX (no login) for bob and the learner.
func (c *mailClient) send(addr, msgID string) error {
	conn, err := c.dial(addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer conn.Close()
	sc, err := smtp.NewClient(conn, mailDomain)
	if err != nil {
		return fmt.Errorf("smtp greeting: %w", err)
	}
	me := c.acct.user + "@" + mailDomain
	if err := sc.Hello(c.acct.user + "." + mailDomain); err != nil {
		return fmt.Errorf("smtp ehlo: %w", err)
	}
	if err := sc.Mail(me); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	for _, to := range []string{bobAddr, me} {
		if err := sc.Rcpt(to); err != nil {
			return fmt.Errorf("smtp rcpt to %s: %w", to, err)
		}
	}
	w, err := sc.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := io.WriteString(w, c.message(msgID)); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := sc.Quit(); err != nil {
		return fmt.Errorf("smtp quit: %w", err)
	}
	return nil
}

// pop3 logs in with USER and PASS, finds the newest message (STAT) and
// either reads it (RETR), checking that it is msgID's, or deletes it
// (DELE), then ends with QUIT.
func (c *mailClient) pop3(addr, msgID string, dele bool) error {
	conn, err := c.dial(addr)
	if err != nil {
		return fmt.Errorf("pop3: %w", err)
	}
	defer conn.Close()
	t := textproto.NewConn(conn)
	cmd := func(format string, args ...any) (string, error) {
		if format != "" {
			if err := t.PrintfLine(format, args...); err != nil {
				return "", err
			}
		}
		line, err := t.ReadLine()
		if err != nil {
			return "", err
		}
		return pop3Reply(line)
	}
	if _, err := cmd(""); err != nil {
		return fmt.Errorf("pop3 greeting: %w", err)
	}
	if _, err := cmd("USER %s", c.acct.user); err != nil {
		return fmt.Errorf("pop3 user: %w", err)
	}
	if _, err := cmd("PASS %s", c.acct.pass); err != nil {
		return fmt.Errorf("pop3 pass: %w", err)
	}
	rest, err := cmd("STAT")
	if err != nil {
		return fmt.Errorf("pop3 stat: %w", err)
	}
	n, err := parseStat(rest)
	if err != nil {
		return err
	}
	if n == 0 {
		return errors.New("pop3: the maildrop is empty: the message did not arrive")
	}
	if dele {
		if _, err := cmd("DELE %d", n); err != nil {
			return fmt.Errorf("pop3 dele: %w", err)
		}
	} else {
		if _, err := cmd("RETR %d", n); err != nil {
			return fmt.Errorf("pop3 retr: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(t.DotReader(), 1<<20))
		if err != nil {
			return fmt.Errorf("pop3 retr: %w", err)
		}
		if !strings.Contains(string(body), "<"+msgID+">") {
			return fmt.Errorf("pop3 retr %d: not the message just sent (%s)", n, msgID)
		}
	}
	if _, err := cmd("QUIT"); err != nil {
		return fmt.Errorf("pop3 quit: %w", err)
	}
	return nil
}

// pop3Reply reads a POP3 status line: the text after "+OK", or an error
// for "-ERR" or anything else.
func pop3Reply(line string) (string, error) {
	if rest, ok := strings.CutPrefix(line, "+OK"); ok && (rest == "" || rest[0] == ' ') {
		return strings.TrimSpace(rest), nil
	}
	if strings.HasPrefix(line, "-ERR") {
		return "", fmt.Errorf("server said %q", trimLine(line))
	}
	return "", fmt.Errorf("not a POP3 reply: %q", trimLine(line))
}

// parseStat reads the text after "+OK" of STAT: "COUNT SIZE".
func parseStat(rest string) (int, error) {
	f := strings.Fields(rest)
	if len(f) < 2 {
		return 0, fmt.Errorf("pop3 stat: odd reply %q", trimLine(rest))
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 0 || n > 1<<24 {
		return 0, fmt.Errorf("pop3 stat: odd count %q", trimLine(f[0]))
	}
	if size, err := strconv.ParseInt(f[1], 10, 64); err != nil || size < 0 {
		return 0, fmt.Errorf("pop3 stat: odd size %q", trimLine(f[1]))
	}
	return n, nil
}

// trimLine shortens a server's line for an error message.
func trimLine(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// imapLogin connects and logs in with the learner's account.
func (c *mailClient) imapLogin(addr string) (*imapclient.Client, error) {
	conn, err := c.dial(addr)
	if err != nil {
		return nil, fmt.Errorf("imap: %w", err)
	}
	ic := imapclient.New(conn, nil)
	if err := ic.WaitGreeting(); err != nil {
		ic.Close()
		return nil, fmt.Errorf("imap greeting: %w", err)
	}
	if err := ic.Login(c.acct.user, c.acct.pass).Wait(); err != nil {
		ic.Close()
		return nil, fmt.Errorf("imap login as %s: %w", c.acct.user, err)
	}
	return ic, nil
}

// fetch selects INBOX and fetches the newest message's BODY[], checking
// that it is msgID's.
func (c *mailClient) fetch(addr, msgID string) error {
	ic, err := c.imapLogin(addr)
	if err != nil {
		return err
	}
	defer ic.Close()
	sel, err := ic.Select("INBOX", nil).Wait()
	if err != nil {
		return fmt.Errorf("imap select: %w", err)
	}
	if sel.NumMessages == 0 {
		return errors.New("imap: INBOX is empty: the message did not arrive")
	}
	msgs, err := ic.Fetch(imap.SeqSetNum(sel.NumMessages),
		&imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil {
		return fmt.Errorf("imap fetch: %w", err)
	}
	found := false
	for _, m := range msgs {
		for _, b := range m.BodySection {
			found = found || strings.Contains(string(b.Bytes), "<"+msgID+">")
		}
	}
	if !found {
		return fmt.Errorf("imap fetch %d: not the message just sent (%s)", sel.NumMessages, msgID)
	}
	if err := ic.Logout().Wait(); err != nil {
		return fmt.Errorf("imap logout: %w", err)
	}
	return nil
}

// compare selects INBOX (after the POP3 deletion) and creates a folder.
func (c *mailClient) compare(addr string) error {
	ic, err := c.imapLogin(addr)
	if err != nil {
		return err
	}
	defer ic.Close()
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		return fmt.Errorf("imap select: %w", err)
	}
	if err := ic.Create(newFolder, nil).Wait(); err != nil {
		return fmt.Errorf("imap create %s: %w", newFolder, err)
	}
	if err := ic.Logout().Wait(); err != nil {
		return fmt.Errorf("imap logout: %w", err)
	}
	return nil
}
