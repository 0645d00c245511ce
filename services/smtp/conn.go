package smtp

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The wire layer. go-smtp speaks the protocol; a link sits between it and
// the client's socket and sees every line both ways. It
//   - hands go-smtp one command line at a time, so that each reply go-smtp
//     writes belongs to the last line handed over, and ties events to the
//     reply that concludes them;
//   - answers a few commands itself: STARTTLS (it owns the TLS layer, so it
//     keeps seeing the dialogue), unknown or garbled commands (go-smtp
//     would hang up after four), BDAT (CHUNKING is not offered);
//   - keeps the transcript, secrets masked;
//   - sends each reply in one write (go-smtp writes the lines of EHLO's
//     reply one by one);
//   - reads a message typed with bare LF line ends (nc without -C) as CRLF;
//   - counts bad commands and pauses before commands (typed sessions).
//
// go-smtp reads from and writes to a view of the link, a net.Conn. After
// STARTTLS the link hands go-smtp a new view over TLS, and go-smtp starts
// a fresh session on it: the server forgets the EHLO, the login and the
// transaction, as RFC 3207 §4.2 requires.

// mode is what the client's next bytes are.
type mode int

const (
	modeCommand mode = iota
	modeSASL         // a response to a 334 challenge
	modeBody         // message content after 354, up to the final "."
)

// Errors of the wire layer.
var (
	errStopping = errors.New("smtp: the server is shutting down")
	errInternal = errors.New("smtp: internal error")
)

// knownVerbs are the commands go-smtp answers; any other is answered by
// the link (go-smtp counts unknown commands and hangs up after four).
var knownVerbs = map[string]bool{
	"HELO": true, "EHLO": true, "LHLO": true, "MAIL": true, "RCPT": true, "DATA": true,
	"RSET": true, "VRFY": true, "NOOP": true, "QUIT": true, "AUTH": true,
	"SEND": true, "SOML": true, "SAML": true, "EXPN": true, "HELP": true, "TURN": true,
}

// link is one client connection.
type link struct {
	srv      *server
	listener string
	client   string // host:port
	ip       netip.Addr
	raw      net.Conn

	mu        sync.Mutex
	transport net.Conn // raw, or TLS over raw after STARTTLS
	closed    bool
	stopping  bool // shutdown: no new command is read
	waiting   bool // blocked waiting for a command
	closeOnce sync.Once
	// The transport's deadlines as last set (see setReadDeadline).
	readDeadline, writeDeadline time.Time

	// The rest belongs to the goroutine serving the link's current view.
	br           *bufio.Reader // over transport
	in           []byte        // read for go-smtp, not handed over yet
	out          []byte        // a partial reply line from go-smtp
	wbuf         []byte        // replies to send
	midReply     bool          // the last reply line was not the last of its reply
	mode         mode
	cmd, arg     string // the command being answered ("" once answered)
	greeted      bool
	tlsOn        bool
	tlsVersion   string
	ehlo         string // "EHLO" or "HELO" once answered 250
	helo         string // the name the client gave
	authUser     string // once logged in
	saslMech     string // during AUTH
	saslPrompt   string // the last 334 challenge, decoded
	saslUser     string // the LOGIN user name, for the event
	clearAuth    bool   // credentials of this AUTH crossed in clear text
	authFailures int
	bad          int  // bad commands so far
	closeAfter   bool // hang up after the next reply
	closing      bool // hung up: the next read ends the session
	gone         bool // the client went away: nothing more is sent
	bareLF       bool // a command line ended with a bare LF
	lfFixed      bool // bare LF were read as CRLF in the current message
	gaps         int  // pauses of typedGap or more before a command
	lastReply    time.Time
	body         bodyState
	transcript   transcript
	pending      []pendingEvent // queued by the session for the next reply
	ready        []pendingEvent // concluded by the reply being sent
}

func newLink(s *server, c net.Conn, listener string) *link {
	return &link{
		srv:       s,
		listener:  listener,
		client:    clientString(c.RemoteAddr()),
		ip:        clientIP(c.RemoteAddr()),
		raw:       c,
		transport: c,
		br:        bufio.NewReaderSize(c, 4096),
	}
}

// typed reports whether the session looks typed by hand.
func (l *link) typed() bool { return l.bareLF || l.gaps >= typedGaps }

// view is what go-smtp sees of a link: a net.Conn.
type view struct {
	l *link
	// quiet swallows go-smtp's greeting: this view goes on with a session
	// after STARTTLS.
	quiet bool
	// handedOver is set when STARTTLS moved the session to a new view.
	handedOver atomic.Bool
}

func (v *view) Read(b []byte) (n int, err error) {
	if v.handedOver.Load() {
		return 0, io.EOF
	}
	defer v.l.recoverIO(&err)
	return v.l.read(v, b)
}

func (v *view) Write(b []byte) (n int, err error) {
	if v.handedOver.Load() {
		return 0, net.ErrClosed
	}
	defer v.l.recoverIO(&err)
	return v.l.write(v, b)
}

func (v *view) Close() error {
	if !v.handedOver.Load() {
		v.l.close()
	}
	return nil
}

func (v *view) LocalAddr() net.Addr  { return v.l.raw.LocalAddr() }
func (v *view) RemoteAddr() net.Addr { return v.l.raw.RemoteAddr() }

func (v *view) SetDeadline(t time.Time) error {
	return errors.Join(v.SetReadDeadline(t), v.SetWriteDeadline(t))
}

// SetReadDeadline is go-smtp's timeout for the next line. Once shutdown
// began, the link keeps its own deadline (in the past, to wake a reader).
func (v *view) SetReadDeadline(t time.Time) error {
	l := v.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopping || l.closed {
		return nil
	}
	return l.setReadDeadline(t)
}

func (v *view) SetWriteDeadline(t time.Time) error {
	l := v.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	return l.setWriteDeadline(t)
}

// deadlineSlack is how much earlier than asked a deadline may stay: moving
// a socket's deadline changes a timer, and go-smtp moves both before every
// command and every reply.
const deadlineSlack = time.Second

// setReadDeadline sets the transport's read deadline to t, or leaves it
// where it is when that is less than deadlineSlack before t; l.mu is held.
func (l *link) setReadDeadline(t time.Time) error {
	if slack(l.readDeadline, t) {
		return nil
	}
	l.readDeadline = t
	return l.transport.SetReadDeadline(t)
}

// setWriteDeadline is setReadDeadline for writes; l.mu is held.
func (l *link) setWriteDeadline(t time.Time) error {
	if slack(l.writeDeadline, t) {
		return nil
	}
	l.writeDeadline = t
	return l.transport.SetWriteDeadline(t)
}

// slack reports whether a deadline set at cur may stay there when t is
// asked: both set, and cur at most deadlineSlack before t.
func slack(cur, t time.Time) bool {
	return !cur.IsZero() && !t.IsZero() && !t.Before(cur) && t.Sub(cur) < deadlineSlack
}

// recoverIO turns a panic of the wire layer into the end of the session,
// never of the process: go-smtp only recovers inside command handlers.
func (l *link) recoverIO(err *error) {
	if r := recover(); r != nil {
		l.srv.log.Error("smtp: panic in the wire layer", "client", l.client, "panic", r, "stack", string(debug.Stack()))
		l.closing = true
		*err = errInternal
	}
}

// close closes the connection (once) and gives its slot back.
func (l *link) close() {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		t := l.transport
		l.mu.Unlock()
		// The slot is free before the client sees the connection close.
		l.srv.forget(l)
		_ = t.SetWriteDeadline(time.Now().Add(time.Second)) // a TLS close alert
		t.Close()
	})
}

// stop is shutdown's word to the link: a session waiting for a command is
// told goodbye (421) at once; one inside a command finishes it first.
func (l *link) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopping = true
	if l.waiting && !l.closed {
		_ = l.setReadDeadline(time.Unix(1, 0))
	}
}

// read gives go-smtp the client's next bytes: one command line, one SASL
// response, or a piece of a message.
func (l *link) read(v *view, b []byte) (int, error) {
	for len(l.in) == 0 {
		l.mu.Lock()
		closed := l.closed
		l.mu.Unlock()
		if l.closing || l.gone || closed {
			return 0, io.EOF
		}
		if l.mode == modeBody {
			if err := l.readBody(); err != nil {
				return 0, err
			}
			continue
		}
		line, err := l.readLine()
		switch {
		case errors.Is(err, errStopping):
			l.closing = true
			_ = l.reply(fmt.Sprintf("421 4.3.2 %s Service shutting down, closing connection", l.srv.opts.Hostname))
			return 0, io.EOF
		case err != nil:
			return 0, err
		}
		if l.mode == modeSASL {
			l.saslResponse(line)
			l.in = append(append(l.in, line...), '\r', '\n')
			continue
		}
		deliver, err := l.command(v, line)
		if err != nil {
			return 0, err
		}
		if deliver {
			l.in = append(append(l.in, line...), '\r', '\n')
		}
	}
	n := copy(b, l.in)
	l.in = l.in[:copy(l.in, l.in[n:])] // keeps the buffer for the next line
	return n, nil
}

// readLine reads one line from the client, without its line end and
// leading or trailing blanks. It notes a bare LF line end, and a pause before the
// line when the client had sent nothing ahead.
func (l *link) readLine() (string, error) {
	buf, _ := l.br.Peek(l.br.Buffered())
	wait := bytes.IndexByte(buf, '\n') < 0
	if wait {
		l.mu.Lock()
		if l.stopping {
			l.mu.Unlock()
			return "", errStopping
		}
		l.waiting = true
		l.mu.Unlock()
	}
	var raw []byte
	var err error
	if len(buf) == 0 {
		_, err = l.br.Peek(1)
		if err == nil && !l.lastReply.IsZero() && l.srv.knobs.now().Sub(l.lastReply) >= l.srv.knobs.typedGap {
			l.gaps++
		}
	}
	if err == nil {
		raw, err = l.br.ReadSlice('\n')
	}
	if wait {
		l.mu.Lock()
		l.waiting = false
		if l.stopping && isTimeout(err) {
			err = errStopping
		}
		l.mu.Unlock()
	}
	switch {
	case errors.Is(err, errStopping):
		return "", err
	case err != nil && !errors.Is(err, bufio.ErrBufferFull):
		l.gone = !isTimeout(err)
		return "", err
	case err != nil || len(raw) > maxLine+2:
		l.transcript.client(fmt.Sprintf("<a line of more than %d bytes>", maxLine))
		l.cmd = ""
		l.closing = true
		_ = l.reply(fmt.Sprintf("500 5.5.2 Line too long: the limit is %d bytes, closing connection", maxLine))
		return "", io.EOF
	}
	if len(raw) < 2 || raw[len(raw)-2] != '\r' {
		l.bareLF = true
	}
	return strings.Trim(strings.TrimRight(string(raw), "\r\n"), " \t"), nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// command looks at a command line: it records it and either lets go-smtp
// answer it (true) or answers it itself.
func (l *link) command(v *view, line string) (bool, error) {
	verb, arg, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	if i := strings.IndexByte(verb, '\t'); i >= 0 {
		verb = verb[:i]
	}
	l.recordCommand(verb, line)
	l.cmd, l.arg = verb, strings.TrimSpace(arg)
	switch {
	case line == "":
		// A blank line (Enter pressed twice) is not counted as bad.
		l.cmd = ""
		return false, l.reply("500 5.5.2 Empty line: type a command, e.g. EHLO your.name")
	case verb == "STARTTLS":
		return false, l.startTLS(v, line)
	case verb == "BDAT":
		return false, l.bdat(arg)
	case !knownVerbs[verb]:
		return false, l.reply(fmt.Sprintf("500 5.5.2 Command unrecognized: %q (try EHLO, MAIL FROM:, RCPT TO:, DATA, RSET, NOOP, QUIT)", printable(first(verb, 16))))
	case len(line) != 4 && (len(line) < 6 || line[4] != ' '):
		return false, l.reply(fmt.Sprintf("501 5.5.2 Syntax error: write the command, one space, then its argument, e.g. %s", example(verb)))
	}
	return true, nil
}

// recordCommand adds a command line to the transcript, the secrets of AUTH
// masked.
func (l *link) recordCommand(verb, line string) {
	if verb != "AUTH" {
		l.transcript.client(line)
		return
	}
	l.saslUser, l.clearAuth, l.saslMech, l.saslPrompt = "", false, "", ""
	f := strings.Fields(line)
	if len(f) > 1 {
		l.saslMech = strings.ToUpper(f[1])
	}
	if len(f) < 3 {
		l.transcript.client(line)
		return
	}
	if strings.EqualFold(f[1], "LOGIN") && len(f) == 3 {
		// The initial response of LOGIN is the user name: shown.
		l.transcript.client("AUTH " + f[1] + " " + f[2] + decoded(f[2]))
		l.saslUser = userOf(f[2])
	} else {
		l.transcript.client("AUTH " + f[1] + " ********")
	}
	l.warnClear()
}

// saslResponse records a response to a 334 challenge, masked unless it is
// the user name of LOGIN.
func (l *link) saslResponse(line string) {
	switch {
	case line == "*":
		l.transcript.client(line)
		return
	case l.saslMech == "LOGIN" && l.saslPrompt == "Username:":
		l.transcript.client(line + decoded(line))
		l.saslUser = userOf(line)
	default:
		l.transcript.client("********")
	}
	l.warnClear()
}

// warnClear notes, once per AUTH, that credentials crossed in clear text.
func (l *link) warnClear() {
	if l.tlsOn || l.clearAuth {
		return
	}
	l.clearAuth = true
	l.transcript.note(clearTextWarning)
}

// userOf decodes a base64 user name for the event.
func userOf(b64 string) string {
	if d := decoded(b64); d != "" {
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(d, " (base64 of "), ")"))
		if err == nil {
			return s
		}
	}
	return ""
}

func first(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// example shows how a command is written.
func example(verb string) string {
	switch verb {
	case "MAIL":
		return "MAIL FROM:<you@lab.test>"
	case "RCPT":
		return "RCPT TO:<bob@lab.test>"
	case "EHLO", "HELO":
		return verb + " learner.lab.test"
	case "AUTH":
		return "AUTH PLAIN"
	}
	return verb
}

// bdat refuses BDAT: CHUNKING is not offered (the lesson is DATA). The
// chunk that follows the command is skipped, when its size is sane.
func (l *link) bdat(arg string) error {
	f := strings.Fields(arg)
	var size uint64
	var err error
	if len(f) > 0 {
		size, err = strconv.ParseUint(f[0], 10, 32)
	}
	if len(f) == 0 || err != nil || int64(size) > l.srv.opts.MaxMessageBytes {
		l.closeAfter = true
		return l.reply("502 5.5.1 BDAT (CHUNKING) is not offered here: use DATA. Closing connection")
	}
	if _, err := io.CopyN(io.Discard, l.br, int64(size)); err != nil {
		l.gone = !isTimeout(err)
		return err
	}
	l.transcript.client(fmt.Sprintf("<chunk of %d bytes, skipped>", size))
	return l.reply("502 5.5.1 BDAT (CHUNKING) is not offered here: use DATA")
}

// startTLS answers STARTTLS: 220, the handshake, then the session starts
// afresh over TLS in a new view (RFC 3207).
func (l *link) startTLS(v *view, line string) error {
	switch {
	case !strings.EqualFold(line, "STARTTLS"):
		return l.reply("501 5.5.4 Syntax error: STARTTLS takes no parameter")
	case l.tlsOn:
		return l.reply("502 5.5.1 Already running in TLS")
	case l.srv.tls == nil:
		return l.reply("502 5.5.1 TLS is not available")
	}
	if err := l.reply("220 2.0.0 Ready to start TLS"); err != nil {
		return err
	}
	if n := l.br.Buffered(); n > 0 {
		// Commands sent with STARTTLS, before the handshake, would be taken
		// as if encrypted (CVE-2011-0411): they are dropped.
		l.transcript.note(fmt.Sprintf("%d bytes sent after STARTTLS, before the TLS handshake, were discarded: a client must wait for the 220", n))
	}
	tc := tls.Server(l.raw, l.srv.tls)
	_ = l.raw.SetDeadline(time.Now().Add(l.srv.knobs.handshake))
	err := tc.HandshakeContext(l.srv.ctx)
	_ = l.raw.SetDeadline(time.Time{})
	if err != nil {
		l.transcript.note("TLS handshake failed: " + err.Error())
		l.publish(KindSTARTTLS, l.attrs("result", "failed"))
		l.closing = true
		return io.EOF
	}
	st := tc.ConnectionState()
	l.mu.Lock()
	l.transport = tc
	l.readDeadline, l.writeDeadline = time.Time{}, time.Time{} // as the handshake left them
	l.mu.Unlock()
	l.br = bufio.NewReaderSize(tc, 4096)
	l.tlsOn = true
	l.tlsVersion = strings.ReplaceAll(tls.VersionName(st.Version), " ", "")
	l.transcript.note(fmt.Sprintf("TLS started (%s, %s): the rest is encrypted on the wire; the server forgets the session so far and waits for a new EHLO", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)))
	l.ehlo, l.helo, l.authUser, l.mode = "", "", "", modeCommand
	l.publish(KindSTARTTLS, l.attrs("result", "ok", "version", l.tlsVersion))
	v.handedOver.Store(true)
	l.srv.hand.push(&view{l: l, quiet: true})
	return io.EOF
}

// reply sends lines of the link's own (not go-smtp's).
func (l *link) reply(lines ...string) error {
	for _, s := range lines {
		l.wbuf = l.replyLine(s, l.wbuf)
	}
	l.mu.Lock()
	_ = l.setWriteDeadline(time.Now().Add(writeTimeout))
	l.mu.Unlock()
	return l.send()
}

// write takes go-smtp's replies. The lines of a multi-line reply (EHLO's)
// go out together, in one write with the last line: go-smtp writes and
// flushes them one by one.
func (l *link) write(v *view, b []byte) (int, error) {
	l.out = append(l.out, b...)
	rest := l.out
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(rest[:i]), "\r")
		rest = rest[i+1:]
		if v.quiet && strings.HasPrefix(line, "220") {
			v.quiet = false // the greeting of the session after STARTTLS
			continue
		}
		l.wbuf = l.replyLine(line, l.wbuf)
	}
	l.out = l.out[:copy(l.out, rest)]
	if l.midReply {
		return len(b), nil
	}
	if err := l.send(); err != nil {
		return 0, err
	}
	return len(b), nil
}

// send writes the replies waiting in wbuf to the client, then publishes
// the events they concluded.
func (l *link) send() error {
	var err error
	if len(l.wbuf) > 0 && !l.gone {
		if _, err = l.transport.Write(l.wbuf); err != nil {
			l.gone = true
		}
	}
	l.wbuf = l.wbuf[:0]
	for _, p := range l.ready {
		l.publish(p.kind, p.attrs)
	}
	clear(l.ready)
	l.ready = l.ready[:0]
	return err
}

// replyLine looks at one reply line on its way to the client and appends
// to out what is sent instead (most often the line itself).
func (l *link) replyLine(line string, out []byte) []byte {
	l.midReply = len(line) > 3 && line[3] == '-'
	if l.cmd == "EHLO" && line == "250-CHUNKING" {
		// go-smtp always offers CHUNKING and, not doing TLS, never
		// STARTTLS: one takes the other's place.
		if l.srv.tls == nil || l.tlsOn {
			return out
		}
		line = "250-STARTTLS"
	}
	if !l.gone {
		l.transcript.server(line)
	}
	out = append(append(out, line...), '\r', '\n')
	if l.midReply {
		return out
	}
	code, _ := strconv.Atoi(line[:min(3, len(line))])
	switch code {
	case 354:
		l.mode = modeBody
		l.body = bodyState{}
		l.lfFixed = false
		return out
	case 334:
		l.mode = modeSASL
		if len(line) > 4 {
			if d := decoded(line[4:]); d != "" {
				if !l.gone {
					l.transcript.Extend(d)
				}
				l.saslPrompt, _ = strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(d, " (base64 of "), ")"))
			}
		}
		return out
	}
	l.mode = modeCommand
	if code == 220 && !l.greeted {
		l.greeted = true
		l.ready = append(l.ready, pendingEvent{KindConnect, l.attrs()})
	}
	l.conclude(code)
	if code >= 500 && code <= 504 && l.cmd != "" {
		l.bad++
		if l.bad >= l.srv.opts.MaxBadCommands && !l.closing {
			bye := fmt.Sprintf("421 4.7.0 %s Error: too many errors (%d bad commands), closing connection", l.srv.opts.Hostname, l.bad)
			l.transcript.server(bye)
			out = append(append(out, bye...), '\r', '\n')
			l.closing = true
			l.ready = append(l.ready, pendingEvent{KindRejected, l.attrs("code", "421", "reason", "too-many-errors")})
		}
	}
	if l.closeAfter {
		l.closing = true
	}
	l.cmd, l.arg = "", ""
	l.lastReply = l.srv.knobs.now()
	return out
}

// conclude readies the events of the command a final reply answers: those
// the session queued, with the reply's code, or else one made from the
// command line (for replies go-smtp gives without asking the session).
func (l *link) conclude(code int) {
	c := strconv.Itoa(code)
	ok := code >= 200 && code < 300
	result := "rejected"
	if ok {
		result = "accepted"
	}
	if (l.cmd == "EHLO" || l.cmd == "HELO") && code == 250 {
		l.ehlo = l.cmd
		l.helo, _, _ = strings.Cut(l.arg, " ")
		l.ready = append(l.ready, pendingEvent{KindEHLO, l.attrs("verb", l.cmd, "hostname", l.helo, "tls", boolString(l.tlsOn))})
	}
	concluded := false
	for _, p := range l.pending {
		if _, set := p.attrs["code"]; !set && p.kind != KindDelivered {
			p.attrs["code"] = c
		}
		if _, set := p.attrs["result"]; !set && (p.kind == KindMail || p.kind == KindRcpt) {
			p.attrs["result"] = result
		}
		l.ready = append(l.ready, p)
		concluded = true
	}
	l.pending = l.pending[:0]
	if concluded {
		return
	}
	switch l.cmd {
	case "MAIL":
		l.ready = append(l.ready, pendingEvent{KindMail, l.attrs("from", pathOf(l.arg, "FROM:"), "auth_user", l.authUser, "result", result, "code", c)})
	case "RCPT":
		to := pathOf(l.arg, "TO:")
		local, domain := splitAddress(to)
		reason := ""
		switch {
		case ok:
		case code == 452:
			reason = "too-many-recipients"
		case code == 502 || code == 503:
			reason = "no-mail-from"
			if l.listener == "submission" && l.authUser == "" {
				reason = "auth-required"
			}
		case code == 501:
			reason = "syntax"
		}
		l.ready = append(l.ready, pendingEvent{KindRcpt, l.attrs("to", to, "domain", strings.ToLower(domain), "local", local, "result", result, "code", c, "reason", reason)})
	case "DATA":
		if !ok && code != 354 {
			reason := ""
			if code == 502 || code == 503 || code == 554 {
				reason = "no-recipients"
			}
			l.ready = append(l.ready, pendingEvent{KindRejected, l.attrs("code", c, "reason", reason)})
		}
	case "AUTH":
		l.ready = append(l.ready, pendingEvent{KindAuth, l.authAttrs(l.saslUser, code < 300, c)})
	}
}

// authAttrs are the attributes of a smtp.auth event.
func (l *link) authAttrs(user string, ok bool, code string) map[string]string {
	result := "failed"
	if ok {
		result = "ok"
	}
	a := l.attrs("mechanism", l.saslMech, "user", user, "result", result, "tls", boolString(l.tlsOn))
	if code != "" {
		a["code"] = code
	}
	if l.clearAuth {
		a["warning"] = clearTextWarning
	}
	return a
}

// pathOf pulls the address out of a MAIL or RCPT argument, leniently (for
// events about commands go-smtp refused).
func pathOf(arg, prefix string) string {
	if len(arg) >= len(prefix) && strings.EqualFold(arg[:len(prefix)], prefix) {
		arg = arg[len(prefix):]
	}
	arg = strings.TrimSpace(arg)
	if i := strings.IndexByte(arg, '<'); i >= 0 {
		if j := strings.IndexByte(arg[i:], '>'); j >= 0 {
			return printable(arg[i+1 : i+j])
		}
	}
	p, _, _ := strings.Cut(arg, " ")
	return printable(p)
}

// splitAddress splits an address at its last "@".
func splitAddress(addr string) (local, domain string) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, ""
	}
	return addr[:i], addr[i+1:]
}

// bodyState follows a message on the wire to find its end, the way
// go-smtp's reader does (it must agree with it byte for byte: the link
// hands go-smtp nothing past the end).
type bodyState struct {
	state  int
	prevCR bool  // the previous byte read was CR
	bytes  int64 // handed over so far, the final "." line included
}

const (
	bodyBeginLine = iota
	bodyDot
	bodyDotCR
	bodyCR
	bodyData
)

// step takes the next byte; it reports the end of the message (the "\n" of
// the final ".\r\n").
func (s *bodyState) step(c byte) bool {
	s.bytes++
	switch s.state {
	case bodyBeginLine:
		switch c {
		case '.':
			s.state = bodyDot
		case '\r':
			s.state = bodyCR
		default:
			s.state = bodyData
		}
	case bodyDot:
		if c == '\r' {
			s.state = bodyDotCR
		} else {
			s.state = bodyData
		}
	case bodyDotCR:
		if c == '\n' {
			return true
		}
		s.state = bodyData
	case bodyCR:
		if c == '\n' {
			s.state = bodyBeginLine
		} else {
			s.state = bodyData
		}
	case bodyData:
		if c == '\r' {
			s.state = bodyCR
		}
	}
	return false
}

// bodyChunk bounds what readBody hands over at once.
const bodyChunk = 4096

// readBody reads the next piece of a message into l.in, up to the final
// "." line and never past it. When the client ends its lines with a bare
// LF (nc without -C), each bare LF is read as CRLF, so that a message typed
// by hand can end with "." alone on a line.
func (l *link) readBody() error {
	l.mu.Lock()
	if !l.closed && !l.stopping {
		_ = l.setReadDeadline(time.Now().Add(l.srv.opts.ReadTimeout))
	}
	l.mu.Unlock()
	for len(l.in) < bodyChunk {
		if l.br.Buffered() == 0 {
			if len(l.in) > 0 {
				return nil
			}
			if _, err := l.br.Peek(1); err != nil {
				l.bodyCut(err)
				return err
			}
		}
		buf, _ := l.br.Peek(l.br.Buffered())
		n, end := l.scanBody(buf)
		_, _ = l.br.Discard(n)
		if end {
			l.transcript.client(fmt.Sprintf("<message, %d bytes>", l.body.bytes-3))
			if l.lfFixed {
				l.transcript.note("bare LF line ends (nc without -C) were read as CRLF")
			}
			l.transcript.client(".")
			l.mode = modeCommand
			return nil
		}
	}
	return nil
}

// scanBody takes bytes of buf into l.in, up to the end of the message or
// a full chunk, and returns how many it took and whether the message
// ended. Each byte goes through l.body's steps; inside a line, where only
// a CR (or, with bare LF line ends, an LF) can change anything, a run of
// other bytes is taken at once.
func (l *link) scanBody(buf []byte) (int, bool) {
	i := 0
	for i < len(buf) && len(l.in) < bodyChunk {
		if l.body.state == bodyData && !l.bareLF {
			run := buf[i:min(len(buf), i+bodyChunk-len(l.in))]
			if j := bytes.IndexByte(run, '\r'); j >= 0 {
				run = run[:j]
			}
			if len(run) > 0 {
				l.in = append(l.in, run...)
				l.body.bytes += int64(len(run))
				l.body.prevCR = false
				i += len(run)
				continue
			}
		}
		c := buf[i]
		i++
		if c == '\n' && !l.body.prevCR && l.bareLF {
			l.lfFixed = true
			l.in = append(l.in, '\r')
			l.body.step('\r')
		}
		l.in = append(l.in, c)
		l.body.prevCR = c == '\r'
		if l.body.step(c) {
			return i, true
		}
	}
	return i, false
}

// bodyCut notes a message cut short by the client.
func (l *link) bodyCut(err error) {
	if isTimeout(err) {
		l.transcript.note(fmt.Sprintf("no data for %s inside DATA, after %d bytes: nothing is stored", l.srv.opts.ReadTimeout, l.body.bytes))
	} else {
		l.gone = true
		l.transcript.note(fmt.Sprintf("the client went away inside DATA, after %d bytes, before the final \".\" line: nothing is stored", l.body.bytes))
	}
	l.mode = modeCommand
	l.closeAfter = true
}
