package imap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"protolab/internal/service"
)

// Solve timeouts when ctx has no deadline.
const (
	solveTimeout = 15 * time.Second
	idleWait     = 10 * time.Second // for the EXISTS an APPEND causes
)

// solve performs one step as a learner's client would.
func solve(ctx context.Context, eps service.Endpoints, step service.Step) error {
	ctx, cancel, _, err := service.StartSolve(ctx, "imap", actions, step, solveTimeout)
	defer cancel()
	if err != nil {
		return err
	}
	addr, ok := eps.Find("imap", "tcp")
	if !ok {
		return errors.New("imap: no imap endpoint: is the imap service running?")
	}
	switch step.Action {
	case "imap.session":
		return solveSession(ctx, addr, step.Args)
	default:
		return solveIdle(ctx, addr, step.Args)
	}
}

// solveSession logs in (after STARTTLS if asked) and runs the commands.
func solveSession(ctx context.Context, addr string, args map[string]string) error {
	useTLS := false
	switch args["starttls"] {
	case "", "false":
	case "true":
		useTLS = true
	default:
		return fmt.Errorf("imap: imap.session: starttls %q: true or false", args["starttls"])
	}
	cmds, err := splitCommands(args["commands"])
	if err != nil {
		return fmt.Errorf("imap: imap.session: %w", err)
	}
	c, err := dial(ctx, addr)
	if err != nil {
		return fmt.Errorf("imap: connecting to %s: %w", addr, err)
	}
	defer c.close()
	if useTLS {
		if err := c.startTLS(ctx); err != nil {
			return fmt.Errorf("imap: STARTTLS: %w", err)
		}
	}
	if err := c.login(args["user"], args["password"]); err != nil {
		return fmt.Errorf("imap: %w", err)
	}
	loggedOut := false
	for _, cmd := range cmds {
		cmd, err := c.substituteLast(cmd)
		if err != nil {
			return fmt.Errorf("imap: %w", err)
		}
		if _, err := c.run(cmd); err != nil {
			return fmt.Errorf("imap: %s: %w", cmd, err)
		}
		if strings.EqualFold(cmd, "LOGOUT") {
			loggedOut = true
			break
		}
	}
	if !loggedOut {
		if _, err := c.run("LOGOUT"); err != nil {
			return fmt.Errorf("imap: LOGOUT: %w", err)
		}
	}
	return nil
}

// splitCommands splits commands at ";" outside quoted strings.
func splitCommands(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\r' || ch == '\n':
			return nil, errors.New(`commands: line breaks are not allowed; separate commands with ";"`)
		case quoted && ch == '\\' && i+1 < len(s):
			cur.WriteByte(ch)
			i++
			ch = s[i]
		case ch == '"':
			quoted = !quoted
		case ch == ';' && !quoted:
			if c := strings.TrimSpace(cur.String()); c != "" {
				out = append(out, c)
			}
			cur.Reset()
			continue
		}
		cur.WriteByte(ch)
	}
	if quoted {
		return nil, errors.New("commands: a quoted string is not closed")
	}
	if c := strings.TrimSpace(cur.String()); c != "" {
		out = append(out, c)
	}
	return out, nil
}

// substituteLast replaces "last" in the message set of FETCH, STORE, COPY
// and MOVE with the number of the last message (from the EXISTS seen).
func (c *client) substituteLast(cmd string) (string, error) {
	name, rest, ok := strings.Cut(cmd, " ")
	if !ok {
		return cmd, nil
	}
	switch strings.ToUpper(name) {
	case "FETCH", "STORE", "COPY", "MOVE":
	default:
		return cmd, nil
	}
	set, args, _ := strings.Cut(rest, " ")
	parts := strings.FieldsFunc(set, func(r rune) bool { return r == ',' || r == ':' })
	if !slices.ContainsFunc(parts, func(p string) bool { return strings.EqualFold(p, "last") }) {
		return cmd, nil
	}
	if c.exists == 0 {
		return "", fmt.Errorf("%s: no message is \"last\": the mailbox is empty (or none is selected)", cmd)
	}
	n := strconv.FormatUint(uint64(c.exists), 10)
	var b strings.Builder
	start := 0
	for i := 0; i <= len(set); i++ {
		if i == len(set) || set[i] == ',' || set[i] == ':' {
			p := set[start:i]
			if strings.EqualFold(p, "last") {
				p = n
			}
			b.WriteString(p)
			if i < len(set) {
				b.WriteByte(set[i])
			}
			start = i + 1
		}
	}
	return name + " " + b.String() + " " + args, nil
}

// solveIdle checks that an idling session hears of new mail: it selects the
// mailbox, idles, appends a message over a second connection, and waits
// for the EXISTS.
func solveIdle(ctx context.Context, addr string, args map[string]string) error {
	mailbox := args["mailbox"]
	if mailbox == "" {
		mailbox = "INBOX"
	}
	c, err := dial(ctx, addr)
	if err != nil {
		return fmt.Errorf("imap: connecting to %s: %w", addr, err)
	}
	defer c.close()
	if err := c.login(args["user"], args["password"]); err != nil {
		return fmt.Errorf("imap: %w", err)
	}
	mb, err := quote(mailbox)
	if err != nil {
		return fmt.Errorf("imap: mailbox: %w", err)
	}
	if _, err := c.run("SELECT " + mb); err != nil {
		return fmt.Errorf("imap: SELECT %s: %w", mailbox, err)
	}
	before := c.exists
	tag, err := c.send("IDLE")
	if err != nil {
		return fmt.Errorf("imap: IDLE: %w", err)
	}
	l, err := readResponse(c.r)
	if err != nil {
		return fmt.Errorf("imap: IDLE: %w", err)
	}
	if !strings.HasPrefix(l.text, "+") {
		return fmt.Errorf("imap: IDLE: the server answered %q instead of +", l.text)
	}

	if err := appendOther(ctx, addr, args["user"], args["password"], mailbox); err != nil {
		return fmt.Errorf("imap: appending over a second connection: %w", err)
	}

	wait := time.Now().Add(idleWait)
	if dl, ok := ctx.Deadline(); ok && dl.Before(wait) {
		wait = dl
	}
	c.deadline(wait)
	for c.exists <= before {
		l, err := readResponse(c.r)
		if err != nil {
			return fmt.Errorf("imap: IDLE: no EXISTS after the APPEND (%d messages before): %w", before, err)
		}
		c.track(l.text)
	}
	if dl, ok := ctx.Deadline(); ok {
		c.deadline(dl)
	} else {
		c.deadline(time.Time{})
	}
	if _, err := c.conn.Write([]byte("DONE\r\n")); err != nil {
		return fmt.Errorf("imap: DONE: %w", err)
	}
	if _, err := c.wait(tag); err != nil {
		return fmt.Errorf("imap: IDLE: %w", err)
	}
	if _, err := c.run("LOGOUT"); err != nil {
		return fmt.Errorf("imap: LOGOUT: %w", err)
	}
	return nil
}

// appendOther appends a small message over its own connection.
func appendOther(ctx context.Context, addr, user, password, mailbox string) error {
	c, err := dial(ctx, addr)
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.login(user, password); err != nil {
		return err
	}
	msg := "From: solver@lab.test\r\nTo: " + user + "@lab.test\r\nSubject: IDLE check\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\n\r\nThis message was appended to wake an idling session.\r\n"
	if err := c.appendMessage(mailbox, []byte(msg)); err != nil {
		return err
	}
	_, err = c.run("LOGOUT")
	return err
}
