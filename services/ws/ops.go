package ws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"protolab/services/mailstore"
)

// arg is one argument of an operation: a child element of the operation's
// element, with text only.
type arg struct {
	name     string
	required bool
	max      int    // bytes
	example  string // shown in faults
}

// operation is one operation of the directory.
type operation struct {
	name   string
	args   []arg
	secure bool // needs a WS-Security UsernameToken
	run    func(s *server, ctx context.Context, x *exchange, args map[string]string) (string, *fault)
}

// action is the SOAPAction (SOAP 1.1) or action parameter (SOAP 1.2) of
// an operation, as the WSDL declares it.
func (op *operation) action() string { return TargetNamespace + "/" + op.name }

// Bounds of the arguments.
const (
	maxNameLen    = 254
	maxNoteLen    = 8 << 10
	maxSubjectLen = 200
	noteTimeout   = 5 * time.Second
)

// operations are the directory's operations, in WSDL order.
var operations = []*operation{
	{name: "LookupHost", args: []arg{{name: "name", required: true, max: maxNameLen, example: "www.lab.test"}}, run: (*server).lookupHost},
	{name: "LookupHostSecure", secure: true, args: []arg{{name: "name", required: true, max: maxNameLen, example: "www.lab.test"}}, run: (*server).lookupHost},
	{name: "SendNote", args: []arg{
		{name: "to", required: true, max: maxNameLen, example: "bob@lab.test"},
		{name: "text", required: true, max: maxNoteLen, example: "Hello Bob"},
		{name: "subject", max: maxSubjectLen, example: "A note"},
	}, run: (*server).sendNote},
}

// operationNamed returns the operation with the given local name.
func operationNamed(local string) *operation {
	i := slices.IndexFunc(operations, func(op *operation) bool { return op.name == local })
	if i < 0 {
		return nil
	}
	return operations[i]
}

// operationList is "LookupHost, LookupHostSecure and SendNote".
func operationList() string {
	names := make([]string, len(operations))
	for i, op := range operations {
		names[i] = op.name
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// dispatch runs the operation in a valid envelope and returns the content
// of the response's Body.
func (s *server) dispatch(ctx context.Context, env *envelope, x *exchange) (string, *fault) {
	if f := env.checkHeaders(); f != nil {
		return "", f
	}
	body := env.body
	x.attrs["operation"] = clip(body.name.Local, 64)
	op := operationNamed(body.name.Local)
	x.op = op
	switch {
	case op == nil:
		return "", bodyFault(senderf("unknown-operation", "this service has no operation %s: it offers %s (see %s?wsdl)", clip(body.name.Local, 64), operationList(), Path))
	case body.name.Space != TargetNamespace:
		where := "has no namespace"
		if body.name.Space != "" {
			where = fmt.Sprintf("is in the namespace %q", clip(body.name.Space, 100))
		}
		return "", bodyFault(senderf("unknown-operation", "the operation element <%s> %s: write <%s xmlns=\"%s\">", op.name, where, op.name, TargetNamespace))
	case x.action != "" && x.action != op.action():
		return "", bodyFault(senderf("action-mismatch", "%s says %q, but the Body asks for %s: send %q (or no action)", x.actionFrom, clip(x.action, 100), op.name, op.action()))
	}
	tok, has, f := env.readToken()
	x.attrs["user"] = clip(tok.user, 64)
	switch {
	case tok.digest:
		x.attrs["password_type"] = "digest"
	case tok.typed:
		x.attrs["password_type"] = "text"
	}
	if f != nil {
		return "", f
	}
	switch {
	case has:
		if f := s.auth.check(tok); f != nil {
			return "", f
		}
	case op.secure:
		return "", wssef("FailedAuthentication", "no-security-header", "%s needs a WS-Security header: <wsse:Security xmlns:wsse=\"%s\"> holding a <wsse:UsernameToken> with the Username and Password of a lab account, in the envelope's Header", op.name, nsWSSE)
	}
	args, f := readArgs(op, body)
	if f != nil {
		return "", bodyFault(f)
	}
	out, f := op.run(s, ctx, x, args)
	if f != nil {
		return "", bodyFault(f)
	}
	return out, nil
}

// bodyFault marks a fault as one of the Body's processing.
func bodyFault(f *fault) *fault {
	f.detail = true
	return f
}

// readArgs reads an operation's arguments: child elements in the target
// namespace (or none), text only, each once, the required ones present.
func readArgs(op *operation, body *element) (map[string]string, *fault) {
	names := make([]string, len(op.args))
	for i, a := range op.args {
		names[i] = "<" + a.name + ">"
	}
	args := map[string]string{}
	for _, k := range body.kids {
		i := slices.IndexFunc(op.args, func(a arg) bool { return a.name == k.name.Local })
		if i < 0 || k.name.Space != TargetNamespace && k.name.Space != "" {
			return nil, senderf("bad-argument", "%s takes %s, not <%s>", op.name, strings.Join(names, ", "), clip(k.name.Local, 64))
		}
		a := op.args[i]
		if _, dup := args[a.name]; dup {
			return nil, senderf("bad-argument", "<%s> is given twice", a.name)
		}
		if len(k.kids) > 0 {
			return nil, senderf("bad-argument", "<%s> holds elements: it takes text only, e.g. <%s>%s</%s>", a.name, a.name, a.example, a.name)
		}
		v := k.text.String()
		if len(v) > a.max {
			return nil, senderf("bad-argument", "<%s> is %d bytes long: at most %d", a.name, len(v), a.max)
		}
		args[a.name] = v
	}
	if strings.TrimSpace(body.text.String()) != "" {
		return nil, senderf("bad-argument", "<%s> holds text: put the arguments in elements, e.g. <%s>%s</%s>", op.name, op.args[0].name, op.args[0].example, op.args[0].name)
	}
	for _, a := range op.args {
		if a.required && strings.TrimSpace(args[a.name]) == "" {
			return nil, senderf("bad-argument", "%s needs <%s>, e.g. <%s>%s</%s>", op.name, a.name, a.name, a.example, a.name)
		}
	}
	return args, nil
}

// lookupHost answers LookupHost and LookupHostSecure: the canonical name
// and addresses of a host of the zone (aliases followed); the secure
// operation tells the name's TXT texts too.
func (s *server) lookupHost(_ context.Context, x *exchange, args map[string]string) (string, *fault) {
	name := strings.TrimSpace(args["name"])
	x.attrs["name"] = name
	fq, ok := s.dir.normalize(name)
	if !ok {
		return "", senderf("bad-argument", "%q is not a host name: give a name such as www.lab.test", clip(name, 64))
	}
	secure := x.op.secure
	a, ok := s.dir.lookup(fq)
	if !ok || !secure && len(a.addrs) == 0 {
		return "", senderf("unknown-host", "no host %s in the lab's directory (the zone %s): try www.lab.test or mail.lab.test", strings.TrimSuffix(fq, "."), strings.TrimSuffix(s.dir.origin, "."))
	}
	var b strings.Builder
	resp := x.op.name + "Response"
	fmt.Fprintf(&b, "<%s xmlns=\"%s\">\n", resp, TargetNamespace)
	fmt.Fprintf(&b, "      <name>%s</name>\n", escape(a.name))
	addrs := make([]string, len(a.addrs))
	for i, ad := range a.addrs {
		addrs[i] = ad.String()
		fmt.Fprintf(&b, "      <address>%s</address>\n", addrs[i])
	}
	if secure {
		for _, t := range a.texts {
			fmt.Fprintf(&b, "      <text>%s</text>\n", escape(t))
		}
	}
	fmt.Fprintf(&b, "    </%s>", resp)
	x.attrs["addresses"] = strings.Join(addrs, " ")
	return b.String(), nil
}

// sendNote delivers a note to a lab mailbox, through the mail store the
// lab's mailstore service shares.
func (s *server) sendNote(ctx context.Context, x *exchange, args map[string]string) (string, *fault) {
	to := strings.TrimSpace(args["to"])
	x.attrs["to"] = to
	store, err := mailstore.FromShared(s.shared)
	if err != nil {
		return "", receiverf("mail-not-running", "the mail service is not running in this lab, so SendNote cannot deliver: it works in a lab whose services include mailstore")
	}
	local, domain, hasDomain := strings.Cut(to, "@")
	if hasDomain && !strings.EqualFold(domain, store.Domain()) || !store.UserExists(local) {
		return "", senderf("unknown-recipient", "there is no mailbox %q in this lab: write to one of %s", clip(to, 64), mailboxes(store))
	}
	addr := strings.ToLower(local) + "@" + store.Domain()
	x.attrs["to"] = addr
	subject := strings.Join(strings.Fields(args["subject"]), " ")
	if subject == "" {
		subject = "A note left with the directory service"
	}
	msg := noteMessage(x, addr, store.Domain(), subject, args["text"], time.Now())
	ctx, cancel := context.WithTimeout(ctx, noteTimeout)
	defer cancel()
	uid, err := store.Deliver(ctx, strings.ToLower(local), "INBOX", msg, nil, time.Time{})
	switch {
	case errors.Is(err, mailstore.ErrNoUser):
		return "", senderf("unknown-recipient", "there is no mailbox %q in this lab: write to one of %s", clip(to, 64), mailboxes(store))
	case errors.Is(err, mailstore.ErrQuota):
		return "", receiverf("delivery-failed", "the mailbox of %s is full: the note was not delivered", addr)
	case err != nil:
		s.log.Warn("ws: delivering a note", "to", addr, "err", err)
		return "", receiverf("delivery-failed", "the note could not be delivered to %s: %v", addr, err)
	}
	return fmt.Sprintf("<SendNoteResponse xmlns=\"%s\">\n      <mailbox>%s</mailbox>\n      <uid>%d</uid>\n    </SendNoteResponse>",
		TargetNamespace, escape(addr), uid), nil
}

// mailboxes lists the store's addresses for a fault's text.
func mailboxes(store *mailstore.Store) string {
	var out []string
	for _, u := range store.Users() {
		out = append(out, u.Name+"@"+store.Domain())
	}
	return strings.Join(out, ", ")
}

// noteMessage builds the mail a note becomes: plain text in UTF-8,
// quoted-printable so that any line length and any character travel.
func noteMessage(x *exchange, to, domain, subject, text string, now time.Time) []byte {
	var id [8]byte
	rand.Read(id[:])
	host, _, err := net.SplitHostPort(x.client)
	if err != nil {
		host = x.client
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Received: from [%s] by directory.%s (Protolab directory service, SOAP %s);\r\n\t%s\r\n", host, domain, x.version, now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: Directory service <directory@%s>\r\n", domain)
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", hex.EncodeToString(id[:]), domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b) // text mode: each line end becomes CRLF
	qp.Write([]byte(strings.TrimRight(text, "\r\n")))
	qp.Close()
	b.WriteString("\r\n")
	return []byte(b.String())
}

// clip cuts what a client sent to at most n bytes, on a rune boundary, for
// events and messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// itoa is strconv.Itoa, short.
func itoa(n int) string { return strconv.Itoa(n) }
