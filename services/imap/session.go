package imap

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"

	"protolab/services/mailstore"
)

var (
	_ imapserver.SessionIMAP4rev2   = (*session)(nil)
	_ imapserver.SessionSASL        = (*session)(nil)
	_ imapserver.SessionAppendLimit = (*session)(nil)
)

// session is one connection's IMAP session over the mail store. The
// library calls its methods from the connection's goroutine, one at a
// time, except Idle, which runs on a goroutine of its own while the
// connection waits for DONE (and may still be finishing when Close is
// called): mu keeps them apart.
type session struct {
	in     *instance
	conn   *imapserver.Conn
	cn     *conn
	client string
	tr     *transcript

	mu       sync.Mutex
	closed   bool
	user     string // empty until logged in
	failures int    // failed logins on this connection
	sel      *selected
}

// Close ends the session (the connection is going away).
func (s *session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	s.mu.Unlock()
	s.cn.release()
	return nil
}

// Login is the LOGIN command.
func (s *session) Login(username, password string) error {
	return s.login(username, password, "LOGIN")
}

// AuthenticateMechanisms lists the SASL mechanisms of AUTHENTICATE.
func (s *session) AuthenticateMechanisms() []string { return []string{"PLAIN"} }

// Authenticate is AUTHENTICATE PLAIN (RFC 4616).
func (s *session) Authenticate(mech string) (sasl.Server, error) {
	if !strings.EqualFold(mech, "PLAIN") {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Only AUTHENTICATE PLAIN is offered here (or use LOGIN)"}
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && s.userName(identity) != s.userName(username) {
			return &imap.Error{
				Type: imap.StatusResponseTypeNo,
				Code: imap.ResponseCodeAuthorizationFailed,
				Text: "Acting as another user is not allowed: leave the authorization identity empty",
			}
		}
		return s.login(username, password, "PLAIN")
	}), nil
}

// userName is the account a login name means: lower case, and the lab's
// domain may be given ("bob@lab.test").
func (s *session) userName(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if local, domain, ok := strings.Cut(name, "@"); ok && strings.EqualFold(domain, s.in.store.Domain()) {
		name = local
	}
	return name
}

// isTLS reports whether the connection is encrypted.
func (s *session) isTLS() bool {
	_, ok := s.conn.NetConn().(*tls.Conn)
	return ok
}

// login checks a password. Failures from one client address are slowed
// down after a few, and a connection is closed after MaxLoginFailures.
func (s *session) login(username, password, mech string) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := "LOGIN"
	if mech == "PLAIN" {
		cmd = "AUTHENTICATE PLAIN"
	}
	defer s.begin("%s %s ********", cmd, username)(&err)
	name := s.userName(username)
	attrs := map[string]string{"user": name, "mechanism": mech, "tls": strconv.FormatBool(s.isTLS())}
	ip := clientIP(s.client)
	if s.in.store.Authenticate(name, password) {
		s.user = name
		s.in.throttle.succeed(ip)
		attrs["result"] = "ok"
		s.in.publish(KindLogin, s.client, attrs, s.tr)
		return nil
	}
	s.failures++
	attrs["result"] = "failed"
	s.in.publish(KindLogin, s.client, attrs, s.tr)
	if wait := s.in.throttle.fail(ip); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.in.closing:
			t.Stop()
		}
	}
	if s.failures >= s.in.opts.MaxLoginFailures {
		s.cn.bye(s.conn.NetConn(), fmt.Sprintf("Too many failed logins (%d): connection closed", s.failures))
	}
	return &imap.Error{
		Type: imap.StatusResponseTypeNo,
		Code: imap.ResponseCodeAuthenticationFailed,
		Text: "Wrong user name or password (lab start prints the lab's accounts)",
	}
}

// begin records a command in the transcript once the wire is encrypted
// (before, the wire itself is recorded) and returns what records its
// outcome: defer s.begin("SELECT %s", name)(&err).
func (s *session) begin(format string, args ...any) func(*error) {
	if !s.tr.isEncrypted() {
		return func(*error) {}
	}
	s.tr.note("C: " + fmt.Sprintf(format, args...))
	return func(err *error) {
		if *err == nil {
			s.tr.note("S: OK")
			return
		}
		var ie *imap.Error
		if errors.As(*err, &ie) {
			code := ""
			if ie.Code != "" {
				code = "[" + string(ie.Code) + "] "
			}
			s.tr.note("S: " + string(ie.Type) + " " + code + ie.Text)
			return
		}
		s.tr.note("S: NO " + (*err).Error())
	}
}

// publish emits an event of this session.
func (s *session) publish(kind string, attrs map[string]string) {
	s.in.publish(kind, s.client, attrs, s.tr)
}

// storeError turns a store error into an IMAP response; what names the
// operation for the log.
func (s *session) storeError(err error, what string) error {
	no := func(code imap.ResponseCode, text string) error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
	}
	switch {
	case errors.Is(err, mailstore.ErrNoMailbox):
		return no(imap.ResponseCodeNonExistent, "No such mailbox (LIST shows them; names are case-sensitive, except INBOX)")
	case errors.Is(err, mailstore.ErrExists):
		return no(imap.ResponseCodeAlreadyExists, "Mailbox already exists")
	case errors.Is(err, mailstore.ErrTooBig):
		return no(imap.ResponseCodeTooBig, "Message too big: "+reason(err, mailstore.ErrTooBig))
	case errors.Is(err, mailstore.ErrQuota):
		return no(imap.ResponseCodeOverQuota, "Mailbox full: "+reason(err, mailstore.ErrQuota))
	case errors.Is(err, mailstore.ErrBadName):
		return no(imap.ResponseCodeCannot, "Invalid mailbox name: "+reason(err, mailstore.ErrBadName))
	case errors.Is(err, mailstore.ErrBadFlag):
		return no(imap.ResponseCodeCannot, "Invalid flag: "+reason(err, mailstore.ErrBadFlag))
	case errors.Is(err, mailstore.ErrTooMany):
		return no(imap.ResponseCodeLimit, "Too many mailboxes: delete one first")
	case errors.Is(err, mailstore.ErrHasChildren):
		return no(imap.ResponseCodeHasChildren, "The mailbox has children: delete them first")
	case errors.Is(err, mailstore.ErrInbox):
		return no(imap.ResponseCodeCannot, "INBOX cannot be deleted (it can be emptied)")
	}
	s.in.log.Error("imap: mail store", "op", what, "user", s.user, "err", err)
	return no(imap.ResponseCodeServerBug, "The mail store failed; try again")
}

// reason is what the store said after the sentinel error's text.
func reason(err, sentinel error) string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, sentinel.Error()); ok {
		if r := strings.TrimLeft(after, ":; "); r != "" {
			return r
		}
	}
	return sentinel.Error()
}

// mailbox returns a user's mailbox by any name IMAP allows ("inbox").
func (s *session) mailbox(name string) (mailstore.MailboxInfo, error) {
	info, err := s.in.store.Mailbox(s.user, name)
	if err != nil {
		return info, s.storeError(err, "mailbox")
	}
	return info, nil
}

// Select is SELECT and EXAMINE.
func (s *session) Select(name string, o *imap.SelectOptions) (_ *imap.SelectData, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := "SELECT"
	if o.ReadOnly {
		cmd = "EXAMINE"
	}
	defer s.begin("%s %s", cmd, name)(&err)
	if s.sel != nil { // the library unselects first; be safe
		s.sel.close()
		s.sel = nil
	}
	info, err := s.mailbox(name)
	if err != nil {
		return nil, err
	}
	w := s.in.store.Watch(s.user, info.Name)
	msgs, err := s.in.store.List(s.user, info.Name)
	if err != nil {
		w.Close()
		return nil, s.storeError(err, "select")
	}
	sel := newSelected(info, msgs, w, o.ReadOnly)
	s.sel = sel
	uidNext := info.UIDNext
	if uidNext <= sel.highest {
		uidNext = sel.highest + 1
	}
	flags := mailboxFlags(msgs)
	var permanent []imap.Flag
	if !o.ReadOnly {
		permanent = append(slices.Clone(flags), imap.FlagWildcard)
	}
	var firstUnseen uint32
	for i, m := range msgs {
		if !slices.Contains(m.Flags, mailstore.FlagSeen) {
			firstUnseen = uint32(i + 1)
			break
		}
	}
	s.publish(KindSelect, map[string]string{
		"user": s.user, "mailbox": info.Name, "readonly": strconv.FormatBool(o.ReadOnly), "messages": strconv.Itoa(len(msgs)),
	})
	return &imap.SelectData{
		Flags:             flags,
		PermanentFlags:    permanent,
		NumMessages:       uint32(len(msgs)),
		FirstUnseenSeqNum: firstUnseen,
		UIDNext:           imap.UID(uidNext),
		UIDValidity:       info.UIDValidity,
	}, nil
}

// systemFlags are the flags every mailbox offers.
var systemFlags = []imap.Flag{imap.FlagAnswered, imap.FlagDeleted, imap.FlagDraft, imap.FlagFlagged, imap.FlagSeen}

// mailboxFlags are the system flags and the keywords in use.
func mailboxFlags(msgs []mailstore.Message) []imap.Flag {
	out := slices.Clone(systemFlags)
	seen := map[string]bool{}
	var keywords []string
	for _, m := range msgs {
		for _, f := range m.Flags {
			if !strings.HasPrefix(f, `\`) && !seen[strings.ToLower(f)] {
				seen[strings.ToLower(f)] = true
				keywords = append(keywords, f)
			}
		}
	}
	sort.Strings(keywords)
	for _, k := range keywords {
		out = append(out, imap.Flag(k))
	}
	return out
}

// Unselect is CLOSE (after its expunge), UNSELECT, and SELECT of another
// mailbox.
func (s *session) Unselect() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	return nil
}

// Poll tells the client about changes after each command.
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sel == nil {
		return nil
	}
	s.sel.sync(s.in.store, s.user)
	_, err := s.sel.flush(w, allowExpunge)
	return err
}

// Idle pushes changes while the client idles, until stop is closed.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	mailbox, ok := s.idleStart()
	if !ok {
		return nil
	}
	defer s.in.running.Done()
	updates := 0
	for {
		changes, pushed, err := s.idlePush(w)
		if err != nil || changes == nil && s.isClosed() {
			return err
		}
		if pushed {
			updates++
			s.publishIdle(mailbox, "update", updates)
		}
		select {
		case <-stop:
			s.publishIdle(mailbox, "done", updates)
			return nil
		case <-s.in.closing:
			return nil
		case c, ok := <-changes:
			s.idleApply(c, ok)
		}
	}
}

// idleStart counts the IDLE goroutine, so that Shutdown waits for it too
// (the connection is still counted here, so the count is not zero), and
// reports the start.
func (s *session) idleStart() (mailbox string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", false
	}
	s.in.running.Add(1)
	if s.sel != nil {
		mailbox = s.sel.name
	}
	s.publishIdle(mailbox, "start", 0)
	return mailbox, true
}

func (s *session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// idlePush sends what changed and returns the channel to wait on (nil
// when there is nothing to watch) and whether EXISTS or EXPUNGE went out.
func (s *session) idlePush(w *imapserver.UpdateWriter) (<-chan mailstore.Change, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.sel == nil {
		return nil, false, nil
	}
	s.sel.sync(s.in.store, s.user)
	pushed, err := s.sel.flush(w, true)
	return s.sel.changes(), pushed > 0, err
}

// idleApply takes a change received while idling.
func (s *session) idleApply(c mailstore.Change, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sel == nil || s.closed {
		return
	}
	if ok {
		s.sel.apply(c)
	} else {
		s.sel.watchClosed(s.in.store, s.user)
	}
}

func (s *session) publishIdle(mailbox, phase string, updates int) {
	a := map[string]string{"user": s.user, "mailbox": mailbox, "phase": phase}
	if phase != "start" {
		a["updates"] = strconv.Itoa(updates)
	}
	s.publish(KindIdle, a)
}

// Create is CREATE; a trailing "/" is allowed (RFC 9051 §6.3.4) and missing
// parents are created too.
func (s *session) Create(name string, _ *imap.CreateOptions) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.begin("CREATE %s", name)(&err)
	name = strings.TrimSuffix(name, mailstore.Separator)
	canonical, err := mailstore.CanonicalMailbox(name)
	if err != nil {
		return s.storeError(err, "create")
	}
	if err := s.in.store.CreateMailbox(s.user, canonical); err != nil {
		return s.storeError(err, "create")
	}
	s.publish(KindCreate, map[string]string{"user": s.user, "mailbox": canonical})
	return nil
}

// Delete is DELETE.
func (s *session) Delete(name string) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.begin("DELETE %s", name)(&err)
	info, err := s.mailbox(name)
	if err != nil {
		return err
	}
	if err := s.in.store.DeleteMailbox(s.user, info.Name); err != nil {
		return s.storeError(err, "delete")
	}
	s.in.subs.set(s.user, info.Name, true)
	s.publish(KindDelete, map[string]string{"user": s.user, "mailbox": info.Name})
	return nil
}

// Rename is RENAME. A session that renames its own selected mailbox keeps
// it selected under the new name.
func (s *session) Rename(from, to string, _ *imap.RenameOptions) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.begin("RENAME %s %s", from, to)(&err)
	info, err := s.mailbox(from)
	if err != nil {
		return err
	}
	to = strings.TrimSuffix(to, mailstore.Separator)
	newName, err := mailstore.CanonicalMailbox(to)
	if err != nil {
		return s.storeError(err, "rename")
	}
	follow := s.sel != nil && s.sel.name == info.Name && info.Name != mailstore.Inbox
	var w *mailstore.Watch
	if follow {
		w = s.in.store.Watch(s.user, newName)
	}
	if err := s.in.store.RenameMailbox(s.user, info.Name, newName); err != nil {
		if w != nil {
			w.Close()
		}
		return s.storeError(err, "rename")
	}
	if follow {
		s.sel.close()
		s.sel.watch, s.sel.name = w, newName
	}
	s.publish(KindRename, map[string]string{"user": s.user, "from": info.Name, "to": newName})
	return nil
}

// Subscribe is SUBSCRIBE: every mailbox is subscribed until unsubscribed.
func (s *session) Subscribe(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := s.mailbox(name)
	if err != nil {
		return err
	}
	s.in.subs.set(s.user, info.Name, true)
	return nil
}

// Unsubscribe is UNSUBSCRIBE (remembered for this run of the lab).
func (s *session) Unsubscribe(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if info, err := s.in.store.Mailbox(s.user, name); err == nil {
		s.in.subs.set(s.user, info.Name, false)
	}
	return nil
}

// Namespace is NAMESPACE: one personal namespace, "/" as separator.
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: '/'}}}, nil
}

// AppendLimit is the APPENDLIMIT advertised and enforced before a literal
// is read.
func (s *session) AppendLimit() uint32 {
	return uint32(min(s.in.appendLimit, 1<<32-1))
}

// List is LIST and LSUB.
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, o *imap.ListOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(patterns) == 0 {
		// LIST "" "": the hierarchy separator.
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: '/'})
	}
	boxes, err := s.in.store.Mailboxes(s.user)
	if err != nil {
		return s.storeError(err, "list")
	}
	exists := map[string]mailstore.MailboxInfo{}
	all := map[string]bool{}
	for _, b := range boxes {
		exists[b.Name] = b
		all[b.Name] = true
		for i := 0; i < len(b.Name); i++ {
			if b.Name[i] == '/' {
				all[b.Name[:i]] = true // a parent that does not exist: \Noselect
			}
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == mailstore.Inbox) != (names[j] == mailstore.Inbox) {
			return names[i] == mailstore.Inbox
		}
		return names[i] < names[j]
	})
	ref = inboxCase(ref)
	for _, name := range names {
		match := false
		for _, p := range patterns {
			if imapserver.MatchList(name, '/', ref, inboxCase(p)) {
				match = true
				break
			}
		}
		if !match {
			continue
		}
		info, real := exists[name]
		subscribed := real && s.in.subs.subscribed(s.user, name)
		if o.SelectSubscribed && !subscribed {
			continue
		}
		data := imap.ListData{Mailbox: name, Delim: '/'}
		if !real {
			data.Attrs = append(data.Attrs, imap.MailboxAttrNoSelect)
		}
		children := false
		for _, other := range names {
			if strings.HasPrefix(other, name+"/") {
				children = true
				break
			}
		}
		if children {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
		} else {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if subscribed {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
		if o.ReturnStatus != nil && real {
			st, err := s.status(info, o.ReturnStatus)
			if err != nil {
				return err
			}
			data.Status = st
		}
		if err := w.WriteList(&data); err != nil {
			return err
		}
	}
	return nil
}

// inboxCase writes a leading "inbox" level of a pattern as INBOX, which
// matches without case.
func inboxCase(p string) string {
	if len(p) >= 5 && strings.EqualFold(p[:5], mailstore.Inbox) && (len(p) == 5 || p[5] == '/') {
		return mailstore.Inbox + p[5:]
	}
	return p
}

// Status is STATUS.
func (s *session) Status(name string, o *imap.StatusOptions) (_ *imap.StatusData, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.begin("STATUS %s", name)(&err)
	info, err := s.mailbox(name)
	if err != nil {
		return nil, err
	}
	return s.status(info, o)
}

func (s *session) status(info mailstore.MailboxInfo, o *imap.StatusOptions) (*imap.StatusData, error) {
	data := &imap.StatusData{Mailbox: info.Name}
	if o.NumMessages {
		n := uint32(info.Messages)
		data.NumMessages = &n
	}
	if o.UIDNext {
		data.UIDNext = imap.UID(info.UIDNext)
	}
	if o.UIDValidity {
		data.UIDValidity = info.UIDValidity
	}
	if o.NumUnseen {
		n := uint32(info.Unseen)
		data.NumUnseen = &n
	}
	if o.NumRecent {
		n := uint32(0)
		data.NumRecent = &n
	}
	if o.Size {
		n := info.Size
		data.Size = &n
	}
	if o.NumDeleted {
		msgs, err := s.in.store.List(s.user, info.Name)
		if err != nil {
			return nil, s.storeError(err, "status")
		}
		n := uint32(0)
		for _, m := range msgs {
			if slices.Contains(m.Flags, mailstore.FlagDeleted) {
				n++
			}
		}
		data.NumDeleted = &n
	}
	return data, nil
}

// Append is APPEND.
func (s *session) Append(mailbox string, r imap.LiteralReader, o *imap.AppendOptions) (_ *imap.AppendData, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.begin("APPEND %s <literal of %d octets>", mailbox, r.Size())(&err)
	info, err := s.in.store.Mailbox(s.user, mailbox)
	if errors.Is(err, mailstore.ErrNoMailbox) {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox: CREATE it first"}
	} else if err != nil {
		return nil, s.storeError(err, "append")
	}
	if r.Size() > s.in.appendLimit {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig,
			Text: fmt.Sprintf("Message too big: %d bytes, the limit is %d", r.Size(), s.in.appendLimit)}
	}
	msg, err := io.ReadAll(io.LimitReader(r, s.in.appendLimit+1))
	if err != nil {
		return nil, fmt.Errorf("imap: reading the message: %w", err)
	}
	flags := storeFlags(o.Flags)
	uid, err := s.in.store.Deliver(s.in.ctx, s.user, info.Name, msg, flags, o.Time)
	if err != nil {
		return nil, s.storeError(err, "append")
	}
	s.publish(KindAppend, map[string]string{
		"user": s.user, "mailbox": info.Name, "uid": strconv.FormatUint(uint64(uid), 10), "size": strconv.Itoa(len(msg)),
	})
	return &imap.AppendData{UIDValidity: info.UIDValidity, UID: imap.UID(uid)}, nil
}

// storeFlags converts flags for the store, \Recent left out (no client may
// set it).
func storeFlags(flags []imap.Flag) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if !strings.EqualFold(string(f), `\Recent`) {
			out = append(out, string(f))
		}
	}
	return out
}

// readOnly is the answer to a change in a mailbox opened with EXAMINE.
var errReadOnly = &imap.Error{Type: imap.StatusResponseTypeNo, Code: "READ-ONLY", Text: "The mailbox was opened with EXAMINE (read-only): SELECT it to change it"}

// Expunge is EXPUNGE, UID EXPUNGE, and the expunge of CLOSE (w is then
// the zero writer, which writes nothing).
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	closing := *w == imapserver.ExpungeWriter{}
	cmd := "EXPUNGE"
	switch {
	case closing:
		cmd = "CLOSE"
	case uids != nil:
		cmd = "UID EXPUNGE " + uids.String()
	}
	defer s.begin("%s", cmd)(&err)
	sel := s.sel
	if sel.readOnly {
		if closing {
			return nil // CLOSE of an examined mailbox removes nothing
		}
		return errReadOnly
	}
	sel.sync(s.in.store, s.user)
	var ts []target
	if uids != nil {
		ts = sel.resolve(*uids)
	} else {
		ts = sel.resolve(imap.SeqSet{{Start: 1, Stop: 0}})
	}
	var removed []uint32
	if len(ts) > 0 {
		removed, err = s.in.store.Expunge(s.user, sel.name, uidsOf(ts))
		if err != nil {
			return s.storeError(err, "expunge")
		}
	}
	if _, err := sel.expunged(removed, w.WriteExpunge); err != nil {
		return err
	}
	s.publish(KindExpunge, map[string]string{"user": s.user, "mailbox": sel.name, "count": strconv.Itoa(len(removed))})
	return nil
}

// Store is STORE and UID STORE.
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, _ *imap.StoreOptions) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	op, opName := mailstore.FlagsSet, "set"
	item := "FLAGS"
	switch flags.Op {
	case imap.StoreFlagsAdd:
		op, opName, item = mailstore.FlagsAdd, "add", "+FLAGS"
	case imap.StoreFlagsDel:
		op, opName, item = mailstore.FlagsRemove, "remove", "-FLAGS"
	}
	if flags.Silent {
		item += ".SILENT"
	}
	defer s.begin("STORE %s %s (%s)", numSet, item, joinFlags(flags.Flags))(&err)
	sel := s.sel
	if sel.readOnly {
		return errReadOnly
	}
	sel.sync(s.in.store, s.user)
	fl, err := mailstore.CanonicalFlags(storeFlags(flags.Flags))
	if err != nil {
		return s.storeError(err, "store")
	}
	ts := sel.resolve(numSet)
	var updated []mailstore.Message
	if len(ts) > 0 {
		updated, err = s.in.store.StoreFlags(s.user, sel.name, uidsOf(ts), op, fl)
		if err != nil {
			return s.storeError(err, "store")
		}
	}
	now := make(map[uint32][]string, len(updated))
	for _, m := range updated {
		now[m.UID] = m.Flags
	}
	var changed imap.UIDSet
	for _, t := range ts {
		f, ok := now[t.uid]
		if !ok {
			continue // left the mailbox meanwhile
		}
		changed.AddNum(imap.UID(t.uid))
		sel.flags[t.uid] = strings.Join(f, " ")
		delete(sel.newFlags, t.uid)
		if flags.Silent {
			continue
		}
		rw := w.CreateMessage(t.seq)
		rw.WriteUID(imap.UID(t.uid))
		rw.WriteFlags(toIMAPFlags(f))
		if err := rw.Close(); err != nil {
			return err
		}
	}
	s.publish(KindStore, map[string]string{
		"user": s.user, "mailbox": sel.name, "uids": changed.String(), "op": opName, "flags": strings.Join(fl, " "),
	})
	return nil
}

// joinFlags writes flags as IMAP does.
func joinFlags(flags []imap.Flag) string {
	parts := make([]string, len(flags))
	for i, f := range flags {
		parts[i] = string(f)
	}
	return strings.Join(parts, " ")
}

// Copy is COPY and UID COPY.
func (s *session) Copy(numSet imap.NumSet, dest string) (_ *imap.CopyData, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.begin("COPY %s %s", numSet, dest)(&err)
	data, n, err := s.transfer(numSet, dest, false, nil)
	if err != nil {
		return nil, err
	}
	s.publish(KindCopy, map[string]string{"user": s.user, "from": s.sel.name, "to": data.dest, "count": strconv.Itoa(n)})
	if n == 0 {
		return nil, nil
	}
	return data.CopyData, nil
}

// Move is MOVE and UID MOVE.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.begin("MOVE %s %s", numSet, dest)(&err)
	if s.sel.readOnly {
		return errReadOnly
	}
	data, n, err := s.transfer(numSet, dest, true, w)
	if err != nil {
		return err
	}
	s.publish(KindMove, map[string]string{"user": s.user, "from": s.sel.name, "to": data.dest, "count": strconv.Itoa(n)})
	return nil
}

// copied is the result of a copy or move.
type copied struct {
	*imap.CopyData
	dest string
}

// transfer copies or moves messages; a move also writes the COPYUID and
// the EXPUNGE responses through w.
func (s *session) transfer(numSet imap.NumSet, dest string, move bool, w *imapserver.MoveWriter) (copied, int, error) {
	sel := s.sel
	info, err := s.in.store.Mailbox(s.user, dest)
	if errors.Is(err, mailstore.ErrNoMailbox) {
		return copied{}, 0, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox: CREATE it first"}
	} else if err != nil {
		return copied{}, 0, s.storeError(err, "copy")
	}
	if move && info.Name == sel.name {
		return copied{}, 0, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "The message is already in that mailbox"}
	}
	sel.sync(s.in.store, s.user)
	ts := sel.resolve(numSet)
	out := copied{CopyData: &imap.CopyData{UIDValidity: info.UIDValidity}, dest: info.Name}
	if len(ts) == 0 {
		return out, 0, nil
	}
	uids := uidsOf(ts)
	var m map[uint32]uint32
	if move {
		m, err = s.in.store.Move(s.user, sel.name, uids, info.Name)
	} else {
		m, err = s.in.store.Copy(s.user, sel.name, uids, info.Name)
	}
	if err != nil {
		return copied{}, 0, s.storeError(err, "copy")
	}
	var done []uint32
	for _, u := range uids { // ascending, as the new UIDs
		if nu, ok := m[u]; ok {
			out.SourceUIDs.AddNum(imap.UID(u))
			out.DestUIDs.AddNum(imap.UID(nu))
			done = append(done, u)
		}
	}
	if move && len(done) > 0 {
		if err := w.WriteCopyData(out.CopyData); err != nil {
			return copied{}, 0, err
		}
		if _, err := sel.expunged(done, w.WriteExpunge); err != nil {
			return copied{}, 0, err
		}
	}
	return out, len(done), nil
}
