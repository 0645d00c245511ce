package pop3

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// state is where a session is in RFC 1939's state machine.
type state int

const (
	stateAuthorization state = iota // greeted, not logged in
	stateTransaction                // logged in, maildrop locked
)

// handshakeTimeout bounds a TLS handshake after STLS (or the idle timeout,
// when shorter).
const handshakeTimeout = 30 * time.Second

// session is one client connection.
type session struct {
	srv    *server
	raw    net.Conn // the connection as accepted
	conn   net.Conn // raw, or TLS over it after STLS
	br     *bufio.Reader
	w      *bufio.Writer // flushed once the events of a command are out
	client string
	tls    bool
	state  state
	stamp  string // APOP timestamp of the greeting

	userArg  string // from USER, waiting for PASS
	user     string // canonical name, once logged in
	locked   bool   // the maildrop lock is held
	drop     *maildrop
	bad      int // unknown, malformed or misplaced commands
	failures int // failed logins
	tr       transcript
	end      string // why the session ends, once decided: "quit", "idle"...
}

// serve runs a session on c until it ends, then closes c. A panic ends
// only this session.
func (srv *server) serve(c net.Conn) {
	s := &session{srv: srv, raw: c, conn: c, client: clientString(c.RemoteAddr())}
	s.br = bufio.NewReader(c)
	s.w = bufio.NewWriter(c)
	defer func() { s.conn.Close() }() // over TLS, with its close_notify
	defer s.release()
	defer func() {
		if r := recover(); r != nil {
			srv.log.Error("pop3: session failed", "client", s.client, "panic", r, "stack", string(debug.Stack()))
			s.end = "error"
		}
	}()
	s.run()
}

// unlock gives the maildrop lock back, once.
func (s *session) unlock() {
	if s.locked {
		s.srv.locks.unlock(s.user)
		s.locked = false
	}
}

// release gives the maildrop back when the session ends, whatever the way.
func (s *session) release() {
	kept := 0
	if s.state == stateTransaction && s.end != "quit" {
		kept = len(s.drop.marked())
	}
	s.unlock()
	if s.end == "quit" {
		return
	}
	reason := s.end
	if reason == "" {
		reason = "closed"
	}
	if kept > 0 {
		s.tr.note(fmt.Sprintf("the session ended without QUIT: %s marked deleted kept", plural(kept, "message")))
	}
	s.publish(KindDisconnect, map[string]string{"user": s.user, "reason": reason, "kept": strconv.Itoa(kept)})
}

func (s *session) run() {
	defer s.flush()
	s.stamp = fmt.Sprintf("<%d.%d@%s>", os.Getpid(), time.Now().UnixNano(), s.srv.cfg.hostname)
	s.reply("+OK Protolab POP3 server ready " + s.stamp)
	s.publish(KindConnect, map[string]string{"tls": "false"})
	s.flush()
	for s.end == "" {
		line, err := s.readLine(maxCommandLine)
		switch {
		case errors.Is(err, errLineTooLong):
			s.tr.client("<a line over 255 octets>")
			s.reply("-ERR line too long: a command is at most 255 octets (RFC 2449)")
			s.badCommand()
		case err != nil:
			s.readFailed(err)
			return
		default:
			s.dispatch(line)
		}
		// Pipelined commands (RFC 2449 §6.6) are answered together.
		if s.br.Buffered() == 0 || s.end != "" {
			s.flush()
		}
	}
}

// readLine reads a line within the idle timeout.
func (s *session) readLine(max int) (string, error) {
	_ = s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.idleTimeout))
	return readLine(s.br, max)
}

// readFailed ends the session after a failed read: the client went away,
// was idle too long, or the server is stopping.
func (s *session) readFailed(err error) {
	var ne net.Error
	switch {
	case s.srv.stopping():
		s.end = "shutdown"
		s.reply("-ERR [SYS/TEMP] the server is shutting down; nothing was deleted")
	case errors.As(err, &ne) && ne.Timeout():
		s.end = "idle"
		s.reply(fmt.Sprintf("-ERR autologout: no command for %s; nothing was deleted", s.srv.cfg.idleTimeout))
	case errors.Is(err, errLineFlood):
		s.end = "bad-commands"
		s.tr.client("<a line of more than 64 KiB>")
		s.reply("-ERR line far too long; closing the connection")
	default:
		s.end = "closed"
	}
}

// Responses are written to s.w and recorded in the transcript; they reach
// the client at the next flush, after the command's event is published, so
// that whatever a client does after reading an answer comes after that
// answer's event.

// reply writes one response line.
func (s *session) reply(line string) {
	s.tr.server(line)
	s.w.WriteString(line)
	s.w.WriteString("\r\n")
}

// multiline writes a positive response followed by lines and the final
// dot.
func (s *session) multiline(first string, lines []string) {
	s.reply(first)
	for _, l := range lines {
		s.tr.server(l)
		if strings.HasPrefix(l, ".") {
			s.w.WriteByte('.')
		}
		s.w.WriteString(l)
		s.w.WriteString("\r\n")
	}
	s.reply(".")
}

// flush sends what was written; a failure ends the session.
func (s *session) flush() {
	if err := s.w.Flush(); err != nil && s.end == "" {
		s.end = "closed"
	}
}

// badCommand counts a command the server could not accept and closes the
// connection once there were too many.
func (s *session) badCommand() {
	s.bad++
	if s.bad >= s.srv.cfg.maxBad && s.end == "" {
		s.reply(fmt.Sprintf("-ERR too many bad commands (%d); closing the connection, nothing was deleted", s.bad))
		s.end = "bad-commands"
	}
}

// wrongState answers a command sent in the wrong state.
func (s *session) wrongState(verb string) {
	if s.state == stateAuthorization {
		s.reply(fmt.Sprintf("-ERR %s is only allowed after login: log in first (USER then PASS, or APOP)", verb))
	} else {
		s.reply(fmt.Sprintf("-ERR %s is only allowed before login: you are already logged in", verb))
	}
	s.badCommand()
}

// usage answers a command with missing or malformed arguments.
func (s *session) usage(syntax string) {
	s.reply("-ERR usage: " + syntax)
	s.badCommand()
}

// dispatch runs one command line.
func (s *session) dispatch(line string) {
	c := parseCommand(line)
	s.tr.client(s.masked(c, line))
	if c.argsTooLong() && c.verb != "PASS" && c.verb != "AUTH" {
		s.reply("-ERR argument too long: at most 40 octets each (RFC 2449)")
		s.badCommand()
		return
	}
	authOnly := func(f func(command)) {
		if s.state != stateAuthorization {
			s.wrongState(c.verb)
			return
		}
		f(c)
	}
	transOnly := func(f func(command)) {
		if s.state != stateTransaction {
			s.wrongState(c.verb)
			return
		}
		f(c)
	}
	switch c.verb {
	case "CAPA":
		s.capa(c)
	case "QUIT":
		s.quit(c)
	case "USER":
		authOnly(s.userCmd)
	case "PASS":
		authOnly(s.pass)
	case "APOP":
		authOnly(s.apop)
	case "AUTH":
		authOnly(s.auth)
	case "STLS":
		s.stls(c)
	case "STAT":
		transOnly(s.stat)
	case "LIST":
		transOnly(s.list)
	case "UIDL":
		transOnly(s.uidlCmd)
	case "RETR":
		transOnly(s.retr)
	case "TOP":
		transOnly(s.top)
	case "DELE":
		transOnly(s.dele)
	case "RSET":
		transOnly(s.rset)
	case "NOOP":
		transOnly(func(command) { s.reply("+OK") })
	case "":
		s.reply("-ERR empty command: try CAPA, USER, STAT, LIST, RETR, QUIT")
		s.badCommand()
	default:
		s.reply(fmt.Sprintf("-ERR unknown command \"%s\": try CAPA for what this server supports", printable(c.verb, 16)))
		s.badCommand()
	}
}

// masked is a command line as the transcript shows it: secrets hidden.
func (s *session) masked(c command, line string) string {
	switch c.verb {
	case "PASS":
		return "PASS ********"
	case "AUTH":
		if len(c.args) > 1 {
			return "AUTH " + printable(c.args[0], maxArgLength) + " ********"
		}
	}
	return printable(line, transcriptLine)
}

// capa lists the capabilities (RFC 2449 §5). What depends on TLS changes
// after STLS (RFC 2595 §4).
func (s *session) capa(c command) {
	if len(c.args) > 0 {
		s.usage("CAPA (no arguments)")
		return
	}
	caps := []string{"TOP", "UIDL"}
	if s.plainAllowed() {
		caps = append(caps, "USER", "SASL PLAIN")
	}
	caps = append(caps, "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER", "LOGIN-DELAY 0")
	offerTLS := s.srv.tls != nil && !s.tls && s.state == stateAuthorization
	if offerTLS {
		caps = append(caps, "STLS")
	}
	caps = append(caps, "IMPLEMENTATION Protolab")
	s.multiline("+OK capability list follows", caps)
	s.publish(KindCapa, map[string]string{"user": s.user, "tls": boolString(s.tls), "stls": boolString(offerTLS)})
}

// plainAllowed reports whether passwords may be sent as they are (USER/PASS,
// AUTH PLAIN) on this connection.
func (s *session) plainAllowed() bool { return s.tls || s.srv.cfg.allowInsecure }

// refusePlain answers a clear-text login when the lab forbids it.
func (s *session) refusePlain() bool {
	if s.plainAllowed() {
		return false
	}
	if s.srv.tls != nil {
		s.reply("-ERR [AUTH] passwords in clear text are refused here: send STLS first, or use APOP")
	} else {
		s.reply("-ERR [AUTH] passwords in clear text are refused here: use APOP")
	}
	return true
}

// warnPlain notes in the transcript that a password crossed in clear.
func (s *session) warnPlain() {
	if !s.tls {
		s.tr.note("the password crossed the network in clear text: anyone on the path can read it (STLS first protects it)")
	}
}

func (s *session) userCmd(c command) {
	if len(c.args) != 1 {
		s.usage("USER name")
		return
	}
	if s.refusePlain() {
		return
	}
	s.userArg = c.args[0]
	// The same answer whether the user exists or not (RFC 1939 §13).
	s.reply("+OK send PASS")
}

func (s *session) pass(c command) {
	if s.userArg == "" {
		s.reply("-ERR send USER first, then PASS")
		s.badCommand()
		return
	}
	if c.rest == "" {
		s.usage("PASS password")
		return
	}
	name := s.userArg
	s.userArg = ""
	s.warnPlain()
	user, _, ok := s.srv.store.Lookup(name)
	s.login(name, user, ok && s.srv.store.Authenticate(user, c.rest), "USER")
}

// apop checks MD5(timestamp + password) (RFC 1939 §7).
func (s *session) apop(c command) {
	if len(c.args) != 2 {
		s.usage("APOP name digest (the MD5 of the greeting's <timestamp> and the password, in hex)")
		return
	}
	s.userArg = ""
	name, digest := c.args[0], strings.ToLower(c.args[1])
	user, password, ok := s.srv.store.Lookup(name)
	if ok {
		sum := md5.Sum([]byte(s.stamp + password))
		want := hex.EncodeToString(sum[:])
		ok = subtle.ConstantTimeCompare([]byte(want), []byte(digest)) == 1
	}
	s.login(name, user, ok, "APOP")
}

// auth runs AUTH (RFC 5034) with the PLAIN mechanism (RFC 4616).
func (s *session) auth(c command) {
	s.userArg = ""
	if len(c.args) == 0 {
		// Not in RFC 5034, but older clients ask this way (RFC 1734 era).
		if s.plainAllowed() {
			s.multiline("+OK SASL mechanisms follow", []string{"PLAIN"})
		} else {
			s.multiline("+OK SASL mechanisms follow", nil)
		}
		return
	}
	if len(c.args) > 2 {
		s.usage("AUTH PLAIN [initial-response]")
		return
	}
	if !strings.EqualFold(c.args[0], "PLAIN") {
		s.reply(fmt.Sprintf("-ERR mechanism \"%s\" is not supported: use AUTH PLAIN", printable(c.args[0], maxArgLength)))
		return
	}
	if s.refusePlain() {
		return
	}
	var resp string
	if len(c.args) == 2 {
		resp = c.args[1]
		if resp == "=" { // an empty initial response (RFC 5034 §4)
			resp = ""
		}
	} else {
		s.reply("+ ")
		s.flush()
		line, err := s.readLine(maxSASLLine)
		switch {
		case errors.Is(err, errLineTooLong):
			s.tr.client("<a line over 1024 octets>")
			s.reply("-ERR the response is too long")
			s.badCommand()
			return
		case err != nil:
			s.readFailed(err)
			return
		}
		if line == "*" {
			s.tr.client("*")
			s.reply("-ERR authentication cancelled")
			return
		}
		s.tr.client("********")
		resp = line
	}
	authzid, name, password, err := plainResponse(resp)
	if err != nil {
		s.reply("-ERR " + err.Error())
		s.badCommand()
		return
	}
	s.warnPlain()
	user, _, ok := s.srv.store.Lookup(name)
	ok = ok && s.srv.store.Authenticate(user, password)
	if authzid != "" && authzid != name {
		ok = false // logging in as someone else is not offered
	}
	s.login(name, user, ok, "PLAIN")
}

// login finishes an authentication: on success it locks the maildrop and
// takes its snapshot; on failure it answers the same for a wrong user and
// a wrong password, slower and slower.
func (s *session) login(typed, user string, ok bool, mech string) {
	attrs := map[string]string{"user": printable(typed, maxArgLength), "mechanism": mech, "tls": boolString(s.tls)}
	if !ok {
		s.failures++
		if !s.srv.wait(s.srv.cfg.authDelay(s.failures)) {
			s.end = "shutdown"
			return
		}
		attrs["result"] = "failed"
		if s.failures >= s.srv.cfg.maxAuthFailures {
			s.reply("-ERR [AUTH] invalid user name or password; too many failures, closing the connection")
			s.end = "auth-failures"
		} else {
			s.reply("-ERR [AUTH] invalid user name or password")
		}
		s.publish(KindLogin, attrs)
		return
	}
	attrs["user"] = user
	if !s.srv.locks.lock(user) {
		attrs["result"] = "in-use"
		s.reply("-ERR [IN-USE] maildrop already locked: another POP3 session of " + user + " is open; end it with QUIT first")
		s.publish(KindLogin, attrs)
		return
	}
	validity, msgs, err := s.srv.store.Snapshot(user)
	if err != nil {
		s.srv.locks.unlock(user)
		s.srv.log.Error("pop3: cannot open a maildrop", "user", user, "err", err)
		s.reply("-ERR [SYS/TEMP] cannot open the maildrop; try again")
		return
	}
	s.user, s.drop, s.state, s.locked = user, &maildrop{validity: validity, msgs: msgs}, stateTransaction, true
	n, size := s.drop.live()
	s.reply(fmt.Sprintf("+OK %s's maildrop has %s (%d octets)", user, plural(n, "message"), size))
	attrs["result"] = "ok"
	attrs["messages"] = strconv.Itoa(n)
	attrs["size"] = strconv.FormatInt(size, 10)
	s.publish(KindLogin, attrs)
}

// stls switches the connection to TLS (RFC 2595 §4).
func (s *session) stls(c command) {
	refuse := func(why string) {
		s.reply("-ERR " + why)
		s.publish(KindSTLS, map[string]string{"result": "refused"})
	}
	switch {
	case len(c.args) > 0:
		s.usage("STLS (no arguments)")
		return
	case s.tls:
		refuse("TLS is already on")
		return
	case s.state != stateAuthorization:
		refuse("STLS is only allowed before login")
		return
	case s.srv.tls == nil:
		refuse("TLS is not available on this server")
		return
	}
	s.reply("+OK begin TLS negotiation")
	s.flush()
	if s.end != "" {
		return
	}
	if n := s.br.Buffered(); n > 0 {
		// Anything sent before the handshake must not count as sent over
		// TLS (the STARTTLS command injection attack).
		_, _ = s.br.Discard(n)
		s.tr.note(fmt.Sprintf("%d octets sent after STLS and before the handshake were discarded", n))
	}
	tc := tls.Server(s.raw, s.srv.tls)
	limit := min(handshakeTimeout, s.srv.cfg.idleTimeout)
	_ = s.raw.SetDeadline(time.Now().Add(limit))
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	err := tc.HandshakeContext(ctx)
	cancel()
	_ = s.raw.SetDeadline(time.Time{})
	if err != nil {
		s.tr.note("TLS handshake failed: " + printable(err.Error(), transcriptLine))
		s.publish(KindSTLS, map[string]string{"result": "failed"})
		s.end = "tls"
		return
	}
	s.conn, s.tls, s.userArg = tc, true, ""
	s.br = bufio.NewReader(tc)
	s.w = bufio.NewWriter(tc)
	s.tr.note("TLS is on: " + tls.VersionName(tc.ConnectionState().Version) + ", " + tls.CipherSuiteName(tc.ConnectionState().CipherSuite))
	s.publish(KindSTLS, map[string]string{"result": "ok"})
}

// quit ends the session; after a login, in the UPDATE state, the messages
// marked deleted are removed (RFC 1939 §6).
func (s *session) quit(c command) {
	if len(c.args) > 0 {
		s.usage("QUIT (no arguments)")
		return
	}
	if s.state == stateAuthorization {
		s.reply("+OK bye")
		s.end = "quit"
		s.publish(KindQuit, map[string]string{"user": "", "deleted": "0", "state": "authorization", "result": "ok"})
		return
	}
	s.end = "quit"
	uids := s.drop.marked()
	attrs := map[string]string{"user": s.user, "deleted": "0", "state": "update", "result": "ok"}
	removed := 0
	if len(uids) > 0 {
		var err error
		if removed, err = s.srv.store.Remove(s.user, uids); err != nil {
			s.srv.log.Error("pop3: cannot remove messages", "user", s.user, "err", err)
			attrs["result"] = "failed"
			s.unlock()
			s.reply("-ERR [SYS/TEMP] some deleted messages not removed; try again")
			s.publish(KindQuit, attrs)
			return
		}
	}
	// Unlocked before the answer: a client may log in again as soon as it
	// reads it.
	s.unlock()
	n, _ := s.drop.live()
	attrs["deleted"] = strconv.Itoa(removed)
	if removed < len(uids) {
		s.tr.note(fmt.Sprintf("%s marked deleted had already been removed by another client", plural(len(uids)-removed, "message")))
	}
	s.reply(fmt.Sprintf("+OK bye (%s deleted, %d left)", plural(removed, "message"), n))
	s.publish(KindQuit, attrs)
}

func (s *session) stat(c command) {
	if len(c.args) > 0 {
		s.usage("STAT (no arguments)")
		return
	}
	n, size := s.drop.live()
	s.reply(fmt.Sprintf("+OK %d %d", n, size))
	s.publish(KindStat, map[string]string{"user": s.user, "messages": strconv.Itoa(n), "size": strconv.FormatInt(size, 10)})
}

// scanListing answers LIST and UIDL, for one message or all of them.
func (s *session) scanListing(c command, name, kind string, value func(*dropMessage) string) {
	switch len(c.args) {
	case 0:
		var lines []string
		for i := range s.drop.msgs {
			if m := &s.drop.msgs[i]; !m.deleted {
				lines = append(lines, strconv.Itoa(i+1)+" "+value(m))
			}
		}
		n, size := s.drop.live()
		s.multiline(fmt.Sprintf("+OK %s (%d octets)", plural(n, "message"), size), lines)
		s.publish(kind, map[string]string{"user": s.user, "msg": "", "count": strconv.Itoa(len(lines))})
	case 1:
		n, m, why := s.drop.message(c.args[0])
		if m == nil {
			s.reply("-ERR " + why)
			return
		}
		s.reply(fmt.Sprintf("+OK %d %s", n, value(m)))
		s.publish(kind, map[string]string{"user": s.user, "msg": strconv.Itoa(n), "count": "1"})
	default:
		s.usage(name + " [msg]")
	}
}

func (s *session) list(c command) {
	s.scanListing(c, "LIST", KindList, func(m *dropMessage) string { return strconv.FormatInt(m.size, 10) })
}

func (s *session) uidlCmd(c command) {
	s.scanListing(c, "UIDL", KindUIDL, s.drop.uidl)
}

// read fetches a message's bytes, or answers why not.
func (s *session) read(n int, m *dropMessage) ([]byte, bool) {
	data, err := s.srv.store.Read(s.user, m.uid)
	switch {
	case errors.Is(err, errGone):
		s.reply(fmt.Sprintf("-ERR message %d is gone: another client removed it", n))
		return nil, false
	case err != nil:
		s.srv.log.Error("pop3: cannot read a message", "user", s.user, "uid", m.uid, "err", err)
		s.reply(fmt.Sprintf("-ERR [SYS/TEMP] cannot read message %d; try again", n))
		return nil, false
	}
	return data, true
}

// sendMessage sends a positive response then data, byte-stuffed, and the
// final dot. The transcript shows the size, not the content.
func (s *session) sendMessage(first string, data []byte, what string) {
	s.tr.server(first)
	s.tr.server(what)
	s.tr.server(".")
	s.w.WriteString(first)
	s.w.WriteString("\r\n")
	writeDotted(s.w, data)
}

func (s *session) retr(c command) {
	if len(c.args) != 1 {
		s.usage("RETR msg")
		return
	}
	n, m, why := s.drop.message(c.args[0])
	if m == nil {
		s.reply("-ERR " + why)
		return
	}
	data, ok := s.read(n, m)
	if !ok {
		return
	}
	s.sendMessage(fmt.Sprintf("+OK %d octets", len(data)), data, fmt.Sprintf("<message of %d octets>", len(data)))
	subject, id := headerInfo(data)
	s.publish(KindRetr, map[string]string{
		"user": s.user, "msg": strconv.Itoa(n), "uid": strconv.FormatUint(uint64(m.uid), 10),
		"size": strconv.Itoa(len(data)), "subject": subject, "message_id": id,
	})
}

func (s *session) top(c command) {
	if len(c.args) != 2 {
		s.usage("TOP msg lines")
		return
	}
	n, m, why := s.drop.message(c.args[0])
	if m == nil {
		s.reply("-ERR " + why)
		return
	}
	lines, ok := parseNumber(c.args[1])
	if !ok {
		s.usage("TOP msg lines (lines: how many body lines, 0 for the header only)")
		return
	}
	data, ok := s.read(n, m)
	if !ok {
		return
	}
	part := top(data, lines)
	s.sendMessage("+OK top of message follows", part, fmt.Sprintf("<header and %d body lines: %d octets>", lines, len(part)))
	subject, _ := headerInfo(data)
	s.publish(KindTop, map[string]string{
		"user": s.user, "msg": strconv.Itoa(n), "uid": strconv.FormatUint(uint64(m.uid), 10),
		"lines": strconv.Itoa(lines), "subject": subject,
	})
}

func (s *session) dele(c command) {
	if len(c.args) != 1 {
		s.usage("DELE msg")
		return
	}
	n, m, why := s.drop.message(c.args[0])
	if m == nil {
		s.reply("-ERR " + why)
		return
	}
	m.deleted = true
	s.reply(fmt.Sprintf("+OK message %d deleted (removed at QUIT)", n))
	s.publish(KindDele, map[string]string{"user": s.user, "msg": strconv.Itoa(n), "uid": strconv.FormatUint(uint64(m.uid), 10)})
}

func (s *session) rset(c command) {
	if len(c.args) > 0 {
		s.usage("RSET (no arguments)")
		return
	}
	undeleted := 0
	for i := range s.drop.msgs {
		if s.drop.msgs[i].deleted {
			s.drop.msgs[i].deleted = false
			undeleted++
		}
	}
	n, size := s.drop.live()
	s.reply(fmt.Sprintf("+OK maildrop has %s (%d octets)", plural(n, "message"), size))
	s.publish(KindRset, map[string]string{"user": s.user, "undeleted": strconv.Itoa(undeleted)})
}

// plural writes a count and a noun: "1 message", "2 messages".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
