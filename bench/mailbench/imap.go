package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// The lab's mail account whose INBOX the loads fill.
const (
	imapUser = "bob"
	imapPass = "builder"
	inbox    = "INBOX"
)

// imapLogin connects to addr and logs in as bob. Every command on the
// connection must be done by deadline. A server that refuses LOGIN in
// clear text (LOGINDISABLED) is asked for STARTTLS first; its certificate
// is the lab's own, on loopback, so it is not verified.
func imapLogin(addr string, deadline time.Time) (*imapclient.Client, error) {
	dial := func() (net.Conn, error) {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return nil, fmt.Errorf("imap: %w", err)
		}
		return conn, conn.SetDeadline(deadline)
	}
	conn, err := dial()
	if err != nil {
		return nil, err
	}
	c := imapclient.New(conn, nil)
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imap greeting: %w", err)
	}
	if caps := c.Caps(); caps.Has(imap.CapLoginDisabled) && caps.Has(imap.CapStartTLS) {
		c.Close()
		if conn, err = dial(); err != nil {
			return nil, err
		}
		opts := &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}}
		if c, err = imapclient.NewStartTLS(conn, opts); err != nil {
			return nil, fmt.Errorf("imap starttls: %w", err)
		}
	}
	if err := c.Login(imapUser, imapPass).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imap login as %s: %w", imapUser, err)
	}
	return c, nil
}

// inboxCount asks STATUS INBOX (MESSAGES): what the store holds, without
// selecting the mailbox.
func inboxCount(c *imapclient.Client) (int64, error) {
	st, err := c.Status(inbox, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return 0, fmt.Errorf("imap status: %w", err)
	}
	if st.NumMessages == nil {
		return 0, errors.New("imap status: no MESSAGES in the answer")
	}
	return int64(*st.NumMessages), nil
}

// countInbox logs in, counts bob's INBOX and logs out.
func countInbox(addr string) (int64, error) {
	c, err := imapLogin(addr, time.Now().Add(10*time.Second))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	n, err := inboxCount(c)
	_ = c.Logout().Wait()
	return n, err
}

// settledCount counts bob's INBOX until it holds want messages or, when it
// does not, until limit passes (a store that commits after answering the
// SMTP client gets that long to catch up). It returns the last count.
func settledCount(addr string, want int64, limit time.Duration) (int64, error) {
	end := time.Now().Add(limit)
	c, err := imapLogin(addr, end.Add(10*time.Second))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	for {
		n, err := inboxCount(c)
		if err != nil || n >= want || time.Now().After(end) {
			_ = c.Logout().Wait()
			return n, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fetchResult is the timed FETCH.
type fetchResult struct {
	Messages int           // message bodies received
	Bytes    int64         // their total size
	Elapsed  time.Duration // from sending FETCH to its tagged OK
	Appended int           // messages APPENDed first, because INBOX held fewer than asked
}

// rate is messages per second.
func (f fetchResult) rate() float64 {
	if f.Elapsed <= 0 {
		return 0
	}
	return float64(f.Messages) / f.Elapsed.Seconds()
}

// timeFetch selects bob's INBOX, tops it up with APPEND to n messages if it
// holds fewer, and times one FETCH of the last n messages' BODY[] (which
// marks them \Seen, as a mail client reading them would), reading every
// body to the end.
func timeFetch(addr string, n int, limit time.Duration) (fetchResult, error) {
	var res fetchResult
	c, err := imapLogin(addr, time.Now().Add(limit))
	if err != nil {
		return res, err
	}
	defer c.Close()
	sel, err := c.Select(inbox, nil).Wait()
	if err != nil {
		return res, fmt.Errorf("imap select: %w", err)
	}
	exists := int(sel.NumMessages)
	for exists < n {
		if err := appendMessage(c, exists+1); err != nil {
			return res, err
		}
		exists++
		res.Appended++
	}
	if res.Appended > 0 { // let the server tell the selected session about them
		if err := c.Noop().Wait(); err != nil {
			return res, fmt.Errorf("imap noop: %w", err)
		}
	}

	var set imap.SeqSet
	set.AddRange(uint32(exists-n+1), uint32(exists))
	start := time.Now()
	cmd := c.Fetch(set, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}})
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		for item := msg.Next(); item != nil; item = msg.Next() {
			body, ok := item.(imapclient.FetchItemDataBodySection)
			if !ok || body.Literal == nil {
				continue
			}
			size, err := io.Copy(io.Discard, body.Literal)
			if err != nil {
				cmd.Close()
				return res, fmt.Errorf("imap fetch: message %d: %w", msg.SeqNum, err)
			}
			res.Bytes += size
			res.Messages++
		}
	}
	if err := cmd.Close(); err != nil {
		return res, fmt.Errorf("imap fetch: %w", err)
	}
	res.Elapsed = time.Since(start)
	_ = c.Logout().Wait()
	if res.Messages != n {
		return res, fmt.Errorf("imap fetch: %d bodies came back for %d messages", res.Messages, n)
	}
	return res, nil
}

// appendMessage adds one small message, like those smtp-source sends, to
// bob's INBOX.
func appendMessage(c *imapclient.Client, i int) error {
	msg := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: mailbench %d\r\nDate: %s\r\n"+
		"Message-Id: <mailbench.%d@%s>\r\n\r\n%s\r\n", sender, recipient, i,
		time.Now().Format(time.RFC1123Z), i, heloName, strings.Repeat("X", bodySize))
	cmd := c.Append(inbox, int64(len(msg)), nil)
	if _, err := io.WriteString(cmd, msg); err != nil {
		cmd.Close()
		return fmt.Errorf("imap append: %w", err)
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("imap append: %w", err)
	}
	if _, err := cmd.Wait(); err != nil {
		return fmt.Errorf("imap append: %w", err)
	}
	return nil
}
