package smtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"protolab/services/mailstore"
)

// NewSession starts a session when a client says EHLO or HELO (go-smtp's
// Backend). A session lives until QUIT, the end of the connection, or
// STARTTLS, after which go-smtp starts a new one.
func (s *server) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	v, ok := c.Conn().(*view)
	if !ok {
		return nil, errors.New("smtp: internal error: connection without a link")
	}
	return &session{srv: s, l: v.l}, nil
}

// session is one SMTP session: the envelope being built. Its methods run
// on the connection's goroutine, as do the link's reads and writes.
type session struct {
	srv   *server
	l     *link
	from  string
	rcpts []recipient
}

// recipient is an accepted RCPT TO.
type recipient struct {
	addr string // as given: "Bob@lab.test"
	user string // the mailbox: "bob"
}

// Replies of the session.
var (
	errAuthRequired = &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0},
		Message: "Authentication required: log in first (AUTH PLAIN or AUTH LOGIN), then MAIL FROM:<you@lab.test>"}
	errEncryptionRequired = &gosmtp.SMTPError{Code: 538, EnhancedCode: gosmtp.EnhancedCode{5, 7, 11},
		Message: "Encryption required: send STARTTLS first, then log in"}
	errUnknownMechanism = &gosmtp.SMTPError{Code: 504, EnhancedCode: gosmtp.EnhancedCode{5, 5, 4},
		Message: "Unrecognized authentication mechanism: use PLAIN or LOGIN"}
	errStore = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0},
		Message: "Local error: the message could not be stored; nothing was delivered, try again"}
)

// Reset forgets the envelope (RSET, a new EHLO, the end of DATA).
func (s *session) Reset() {
	s.from = ""
	s.rcpts = nil
}

// Logout ends the session. It may run on another goroutine (server close)
// and touches nothing shared.
func (s *session) Logout() error { return nil }

// AuthMechanisms is what EHLO offers: PLAIN and LOGIN on submission, over
// TLS or, with allow_insecure_auth, in clear text from a client on
// loopback; nothing on the MX.
func (s *session) AuthMechanisms() []string {
	if s.l.listener == "submission" && (s.l.tlsOn || s.clearAuthAllowed()) {
		return []string{sasl.Plain, sasl.Login}
	}
	return nil
}

// clearAuthAllowed says whether credentials may cross in clear text: only
// for the lesson (allow_insecure_auth) and only from this machine, where no
// one else is on the path. From anywhere else STARTTLS comes first.
func (s *session) clearAuthAllowed() bool {
	return s.srv.opts.AllowInsecureAuth && s.l.ip.IsLoopback()
}

// Auth starts an AUTH exchange.
func (s *session) Auth(mech string) (sasl.Server, error) {
	l := s.l
	switch {
	case l.listener != "submission":
		return nil, &gosmtp.SMTPError{Code: 502, EnhancedCode: gosmtp.EnhancedCode{5, 5, 1},
			Message: fmt.Sprintf("AUTH is not offered here: this is the MX, it takes mail for @%s without login. To log in and send, use the submission port (%s)", s.srv.domain, s.srv.submissionPort)}
	case !l.tlsOn && !s.clearAuthAllowed():
		return nil, errEncryptionRequired
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return plainServer{sasl.NewPlainServer(func(identity, user, password string) error {
			return s.login(identity, user, password)
		})}, nil
	case sasl.Login:
		return &loginServer{check: s.login}, nil
	}
	return nil, errUnknownMechanism
}

// login checks a user name and password. Failures are answered after a
// growing delay (per session, and per client address across sessions), and
// the session is closed after knobs.maxAuthFailures of them.
func (s *session) login(identity, user, password string) error {
	l := s.l
	name := s.localUser(user)
	ok := name != "" && s.srv.store.Authenticate(name, password) && (identity == "" || s.localUser(identity) == name)
	if ok {
		l.authUser = name
		s.srv.auth.success(l.ip)
		l.pend(KindAuth, l.authAttrs(name, true, ""))
		return nil
	}
	l.authFailures++
	n := max(s.srv.auth.failure(l.ip), l.authFailures)
	d := s.srv.knobs.authDelay(n)
	s.srv.knobs.sleep(s.srv.stop, d)
	a := l.authAttrs(user, false, "")
	a["delay"] = d.String()
	l.pend(KindAuth, a)
	if l.authFailures >= s.srv.knobs.maxAuthFailures {
		l.closeAfter = true
		l.pend(KindRejected, l.attrs("reason", "too-many-auth-failures"))
		return &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 7, 0},
			Message: fmt.Sprintf("%s Too many failed logins (%d), closing connection", s.srv.opts.Hostname, l.authFailures)}
	}
	return errAuthFailed
}

// localUser turns "alice" or "alice@lab.test" into "alice"; "" for an
// address in another domain.
func (s *session) localUser(user string) string {
	local, domain := splitAddress(user)
	if strings.Contains(user, "@") && !s.srv.isLocal(domain) {
		return ""
	}
	return strings.ToLower(local)
}

// isLocal reports whether domain is the lab's mail domain.
func (s *server) isLocal(domain string) bool {
	return strings.EqualFold(strings.TrimSuffix(domain, "."), s.domain)
}

// Mail starts a transaction. On submission the client must be logged in
// and send as itself.
func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	l := s.l
	attrs := l.attrs("from", from, "auth_user", l.authUser)
	l.pend(KindMail, attrs)
	if l.listener == "submission" {
		if l.authUser == "" {
			return errAuthRequired
		}
		own := l.authUser + "@" + s.srv.domain
		if local, domain := splitAddress(from); !strings.EqualFold(local, l.authUser) || !s.srv.isLocal(domain) {
			return &gosmtp.SMTPError{Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1},
				Message: fmt.Sprintf("<%s>: Sender address rejected: not owned by user %s; you are logged in as %s, so send as MAIL FROM:<%s>", from, l.authUser, l.authUser, own)}
		}
	}
	s.from = from
	s.rcpts = nil
	return nil
}

// Rcpt accepts a recipient of the lab's domain that has a mailbox. Any
// other domain is refused: the lab never relays.
func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	l := s.l
	local, domain := splitAddress(to)
	attrs := l.attrs("to", to, "domain", strings.ToLower(domain), "local", local, "reason", "")
	l.pend(KindRcpt, attrs)
	if !s.srv.isLocal(domain) {
		attrs["reason"] = "relay-denied"
		return &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "<" + to + ">: Relay access denied"}
	}
	user := strings.ToLower(local)
	if !s.srv.store.UserExists(user) {
		attrs["reason"] = "unknown-user"
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: Recipient address rejected: User unknown"}
	}
	s.rcpts = append(s.rcpts, recipient{addr: to, user: user})
	return nil
}

// Data reads the message and stores it in the INBOX of every recipient, or
// of none.
func (s *session) Data(r io.Reader) error {
	l := s.l
	// Other sessions' deliveries wait for this one to share their
	// transaction while it is being read.
	arrival := s.srv.store.Expect()
	defer arrival.Done()
	data, err := io.ReadAll(r)
	arrival.Done()
	if err != nil {
		return s.dataFailed(err)
	}
	now := s.srv.knobs.now()
	id := newID()
	var rcpt string
	if len(s.rcpts) == 1 {
		rcpt = s.rcpts[0].addr
	}
	msg := received(receivedInfo{
		helo: l.helo, ip: l.ip, authUser: l.authUser, host: s.srv.opts.Hostname,
		proto: protocol(l.ehlo, l.tlsOn, l.authUser != ""), id: id, rcpt: rcpt, date: now,
	}, data)
	if user, err := s.deliver(msg); err != nil {
		return s.deliveryFailed(user, err)
	}
	subject, messageID := headerFields(data)
	addrs := make([]string, len(s.rcpts))
	for i, r := range s.rcpts {
		addrs[i] = r.addr
	}
	l.pend(KindDelivered, l.attrs(
		"from", s.from,
		"to", strings.Join(addrs, ","),
		"rcpt_count", strconv.Itoa(len(addrs)),
		"subject", subject,
		"message_id", messageID,
		"size", strconv.Itoa(len(data)),
		"auth_user", l.authUser,
		"tls", boolString(l.tlsOn),
		"ehlo", l.ehlo,
		"typed", boolString(l.typed()),
		"bare_lf", boolString(l.lfFixed),
	))
	// A reply of one's own is given as an error; a 2xx code is a success.
	return &gosmtp.SMTPError{Code: 250, EnhancedCode: gosmtp.EnhancedCode{2, 0, 0}, Message: "Ok: queued as " + id}
}

// deliver stores msg for every distinct recipient, all or nothing: when one
// delivery fails (a full mailbox), those already made are removed. The
// store has no way to reserve space in several mailboxes at once, so a
// POP3 or IMAP client may glimpse the message in the meantime.
func (s *session) deliver(msg []byte) (string, error) {
	ctx, cancel := context.WithTimeout(s.srv.ctx, deliverTimeout)
	defer cancel()
	type done struct {
		user string
		uid  uint32
	}
	var made []done
	seen := map[string]bool{}
	for _, r := range s.rcpts {
		if seen[r.user] {
			continue
		}
		seen[r.user] = true
		uid, err := s.srv.store.Deliver(ctx, r.user, "INBOX", msg, nil, s.srv.knobs.now())
		if err != nil {
			for _, d := range made {
				if rerr := s.srv.store.Remove(d.user, "INBOX", []uint32{d.uid}); rerr != nil {
					s.srv.log.Error("smtp: undoing a delivery", "user", d.user, "uid", d.uid, "err", rerr)
				}
			}
			return r.addr, err
		}
		made = append(made, done{r.user, uid})
	}
	return "", nil
}

// dataFailed answers a message that could not be read whole.
func (s *session) dataFailed(err error) error {
	l := s.l
	reject := func(reason string) { l.pend(KindRejected, l.attrs("reason", reason)) }
	switch {
	case errors.Is(err, gosmtp.ErrDataTooLarge):
		reject("too-big")
		return &gosmtp.SMTPError{Code: 552, EnhancedCode: gosmtp.EnhancedCode{5, 3, 4},
			Message: fmt.Sprintf("Message too big: the limit is %d bytes (SIZE in the EHLO answer); nothing was stored", s.srv.opts.MaxMessageBytes)}
	case errors.Is(err, gosmtp.ErrTooLongLine):
		reject("line-too-long")
		return &gosmtp.SMTPError{Code: 500, EnhancedCode: gosmtp.EnhancedCode{5, 5, 2},
			Message: fmt.Sprintf("Line too long: the limit is %d bytes per line (RFC 5322 says 998); nothing was stored", maxLine)}
	case l.gone:
		// Nobody to answer: the event goes out now.
		l.publish(KindRejected, l.attrs("code", "", "reason", "disconnected"))
		return err
	case isTimeout(err):
		reject("timeout")
		l.closeAfter = true
		return &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 4, 2},
			Message: fmt.Sprintf("%s Timeout inside DATA; nothing was stored, closing connection", s.srv.opts.Hostname)}
	}
	reject("error")
	s.srv.log.Warn("smtp: reading a message", "client", l.client, "err", err)
	return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "The message could not be read; nothing was stored"}
}

// deliveryFailed answers a message the store refused.
func (s *session) deliveryFailed(addr string, err error) error {
	l := s.l
	switch {
	case errors.Is(err, mailstore.ErrQuota):
		l.pend(KindRejected, l.attrs("reason", "mailbox-full"))
		return &gosmtp.SMTPError{Code: 552, EnhancedCode: gosmtp.EnhancedCode{5, 2, 2},
			Message: fmt.Sprintf("<%s>: Mailbox full; the message was delivered to no one", addr)}
	case errors.Is(err, mailstore.ErrTooBig):
		l.pend(KindRejected, l.attrs("reason", "too-big"))
		return &gosmtp.SMTPError{Code: 552, EnhancedCode: gosmtp.EnhancedCode{5, 3, 4},
			Message: "Message too big for the mailbox; nothing was stored"}
	}
	s.srv.log.Error("smtp: storing a message", "client", l.client, "rcpt", addr, "err", err)
	l.pend(KindRejected, l.attrs("reason", "store-error"))
	return errStore
}
