package imap

import (
	"bytes"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"protolab/services/mailstore"
)

// Search is SEARCH and UID SEARCH, with the criteria imapmemserver
// supports: sequence and UID sets, flags, dates, sizes, header fields,
// BODY and TEXT (case-insensitive substrings, in text parts), NOT and OR.
// A message's bytes are read only when a criterion needs them.
func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, o *imap.SearchOptions) (_ *imap.SearchData, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	readable := describeCriteria(criteria)
	cmd := "SEARCH "
	if kind == imapserver.NumKindUID {
		cmd = "UID SEARCH "
	}
	defer s.begin("%s", cmd+readable)(&err)
	sel := s.sel
	sel.sync(s.in.store, s.user)
	list, err := s.in.store.List(s.user, sel.name)
	if err != nil {
		return nil, s.storeError(err, "search")
	}
	msgs := make(map[uint32]mailstore.Message, len(list))
	for _, m := range list {
		msgs[m.UID] = m
	}
	sel.staticCriteria(criteria)

	var (
		data   imap.SearchData
		seqSet imap.SeqSet
		uidSet imap.UIDSet
	)
	for i := 0; i < sel.announced; i++ {
		u := sel.uids[i]
		m, ok := msgs[u]
		if !ok || sel.left[u] {
			continue
		}
		c := &candidate{seq: uint32(i + 1), msg: m, read: func() []byte {
			raw, _ := s.in.store.Read(s.user, sel.name, u)
			return raw
		}}
		if !c.match(criteria) {
			continue
		}
		uidSet.AddNum(imap.UID(u))
		num := c.seq
		if kind == imapserver.NumKindUID {
			num = u
		} else {
			seqSet.AddNum(c.seq)
		}
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		if num > data.Max {
			data.Max = num
		}
		data.Count++
	}
	if kind == imapserver.NumKindUID {
		data.All = uidSet
	} else {
		data.All = seqSet
	}
	if o.ReturnSave {
		sel.searchRes = uidSet
	}
	s.publish(KindSearch, map[string]string{
		"user": s.user, "mailbox": sel.name, "criteria": readable, "results": strconv.FormatUint(uint64(data.Count), 10),
	})
	return &data, nil
}

// staticCriteria resolves "*" and "$" in the sets of the criteria: "*" is
// the last message the client knows, "$" the saved result.
func (sel *selected) staticCriteria(c *imap.SearchCriteria) {
	last := uint32(sel.announced)
	var lastUID uint32
	if last > 0 {
		lastUID = sel.uids[last-1]
	}
	var seqs []imap.SeqSet
	for _, set := range c.SeqNum {
		out := make(imap.SeqSet, len(set))
		for i, r := range set {
			out[i] = imap.SeqRange{Start: orLast(r.Start, last), Stop: orLast(r.Stop, last)}
		}
		seqs = append(seqs, out)
	}
	c.SeqNum = seqs
	for i, set := range c.UID {
		if imap.IsSearchRes(set) {
			c.UID[i] = sel.searchRes
			continue
		}
		out := make(imap.UIDSet, len(set))
		for j, r := range set {
			out[j] = imap.UIDRange{Start: imap.UID(orLast(uint32(r.Start), lastUID)), Stop: imap.UID(orLast(uint32(r.Stop), lastUID))}
		}
		c.UID[i] = out
	}
	for i := range c.Not {
		sel.staticCriteria(&c.Not[i])
	}
	for i := range c.Or {
		sel.staticCriteria(&c.Or[i][0])
		sel.staticCriteria(&c.Or[i][1])
	}
}

func orLast(n, last uint32) uint32 {
	if n == 0 {
		return last
	}
	return n
}

// candidate is a message being matched; its bytes and header are read at
// most once, when needed.
type candidate struct {
	seq  uint32
	msg  mailstore.Message
	read func() []byte
	raw  []byte
	done bool
}

func (c *candidate) bytes() []byte {
	if !c.done {
		c.raw, c.done = c.read(), true
	}
	return c.raw
}

func (c *candidate) entity() *gomessage.Entity {
	e, _ := gomessage.Read(bytes.NewReader(c.bytes()))
	if e == nil {
		e, _ = gomessage.New(gomessage.Header{}, bytes.NewReader(nil))
	}
	return e
}

// match applies the criteria (all of them must hold).
func (c *candidate) match(cr *imap.SearchCriteria) bool {
	for _, set := range cr.SeqNum {
		if !inSeqSet(set, c.seq) {
			return false
		}
	}
	for _, set := range cr.UID {
		if !set.Contains(imap.UID(c.msg.UID)) {
			return false
		}
	}
	if !matchDate(c.msg.InternalDate, cr.Since, cr.Before) {
		return false
	}
	for _, f := range cr.Flag {
		if !hasFlag(c.msg.Flags, f) {
			return false
		}
	}
	for _, f := range cr.NotFlag {
		if hasFlag(c.msg.Flags, f) {
			return false
		}
	}
	if cr.Larger != 0 && c.msg.Size <= cr.Larger {
		return false
	}
	if cr.Smaller != 0 && c.msg.Size >= cr.Smaller {
		return false
	}
	if len(cr.Header) > 0 || !cr.SentSince.IsZero() || !cr.SentBefore.IsZero() {
		h := mail.Header{Header: gomessage.Header{Header: header(c.bytes())}}
		for _, f := range cr.Header {
			if !matchFields(h.FieldsByKey(f.Key), f.Value) {
				return false
			}
		}
		if !cr.SentSince.IsZero() || !cr.SentBefore.IsZero() {
			t, err := h.Date()
			if err != nil || !matchDate(t, cr.SentSince, cr.SentBefore) {
				return false
			}
		}
	}
	for _, text := range cr.Text {
		if !matchEntity(c.entity(), text, true) {
			return false
		}
	}
	for _, body := range cr.Body {
		if !matchEntity(c.entity(), body, false) {
			return false
		}
	}
	for i := range cr.Not {
		if c.match(&cr.Not[i]) {
			return false
		}
	}
	for i := range cr.Or {
		if !c.match(&cr.Or[i][0]) && !c.match(&cr.Or[i][1]) {
			return false
		}
	}
	return true
}

// inSeqSet is SeqSet.Contains for a set already made static.
func inSeqSet(set imap.SeqSet, n uint32) bool {
	for _, r := range set {
		if inRange(r.Start, r.Stop, n, 0) {
			return true
		}
	}
	return false
}

// hasFlag compares flags without case, as IMAP does.
func hasFlag(flags []string, f imap.Flag) bool {
	return slices.ContainsFunc(flags, func(x string) bool { return strings.EqualFold(x, string(f)) })
}

// matchDate compares dates only (RFC 9051 §6.4.4: time and zone ignored).
func matchDate(t, since, before time.Time) bool {
	t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if !since.IsZero() && t.Before(since) {
		return false
	}
	if !before.IsZero() && !t.Before(before) {
		return false
	}
	return true
}

// matchFields reports whether a header field holds pattern (without case);
// an empty pattern asks for the field to be present.
func matchFields(fields gomessage.HeaderFields, pattern string) bool {
	if pattern == "" {
		return fields.Len() > 0
	}
	pattern = strings.ToLower(pattern)
	for fields.Next() {
		v, err := fields.Text()
		if err != nil {
			v = fields.Value()
		}
		if strings.Contains(strings.ToLower(v), pattern) {
			return true
		}
	}
	return false
}

// matchEntity looks for pattern in the text parts of a message (and its
// header fields for TEXT).
func matchEntity(e *gomessage.Entity, pattern string, withHeader bool) bool {
	if pattern == "" {
		return true
	}
	if withHeader && matchFields(e.Header.Fields(), pattern) {
		return true
	}
	if mr := e.MultipartReader(); mr != nil {
		for {
			part, err := mr.NextPart()
			if err != nil {
				return false
			}
			if matchEntity(part, pattern, withHeader) {
				return true
			}
		}
	}
	t, _, err := e.Header.ContentType()
	if err != nil && t == "" {
		t = "text/plain"
	}
	if t == "" {
		t = "text/plain"
	}
	if !strings.HasPrefix(t, "text/") && !strings.HasPrefix(t, "message/") {
		return false
	}
	buf, err := io.ReadAll(io.LimitReader(e.Body, 16<<20))
	if err != nil && len(buf) == 0 {
		return false
	}
	return bytes.Contains(bytes.ToLower(buf), []byte(strings.ToLower(pattern)))
}

// describeCriteria writes criteria back in IMAP syntax, for the event:
// "SUBJECT \"pigeon\" UNSEEN". The library parsed them into a structure,
// so the order is fixed and ON appears as SINCE and BEFORE.
func describeCriteria(c *imap.SearchCriteria) string {
	var parts []string
	for _, set := range c.SeqNum {
		parts = append(parts, set.String())
	}
	for _, set := range c.UID {
		if imap.IsSearchRes(set) {
			parts = append(parts, "$")
		} else {
			parts = append(parts, "UID "+set.String())
		}
	}
	date := func(name string, t time.Time) {
		if !t.IsZero() {
			parts = append(parts, name+" "+t.Format("2-Jan-2006"))
		}
	}
	date("SINCE", c.Since)
	date("BEFORE", c.Before)
	date("SENTSINCE", c.SentSince)
	date("SENTBEFORE", c.SentBefore)
	for _, h := range c.Header {
		switch k := strings.ToUpper(h.Key); k {
		case "FROM", "TO", "CC", "BCC", "SUBJECT":
			parts = append(parts, k+" "+strconv.Quote(h.Value))
		default:
			parts = append(parts, "HEADER "+h.Key+" "+strconv.Quote(h.Value))
		}
	}
	for _, b := range c.Body {
		parts = append(parts, "BODY "+strconv.Quote(b))
	}
	for _, t := range c.Text {
		parts = append(parts, "TEXT "+strconv.Quote(t))
	}
	for _, f := range c.Flag {
		parts = append(parts, flagKey(f, false))
	}
	for _, f := range c.NotFlag {
		parts = append(parts, flagKey(f, true))
	}
	if c.Larger != 0 {
		parts = append(parts, "LARGER "+strconv.FormatInt(c.Larger, 10))
	}
	if c.Smaller != 0 {
		parts = append(parts, "SMALLER "+strconv.FormatInt(c.Smaller, 10))
	}
	for i := range c.Not {
		parts = append(parts, "NOT "+group(&c.Not[i]))
	}
	for i := range c.Or {
		parts = append(parts, "OR "+group(&c.Or[i][0])+" "+group(&c.Or[i][1]))
	}
	if len(parts) == 0 {
		return "ALL"
	}
	return strings.Join(parts, " ")
}

// group writes a criterion, in parentheses when it has several keys.
func group(c *imap.SearchCriteria) string {
	s := describeCriteria(c)
	if strings.Contains(s, " ") && !strings.HasPrefix(s, "NOT ") && !isSingleKey(s) {
		return "(" + s + ")"
	}
	return s
}

// isSingleKey reports whether s is one key with its argument ("SUBJECT
// \"x y\"", "UID 1:3").
func isSingleKey(s string) bool {
	key, arg, _ := strings.Cut(s, " ")
	switch key {
	case "FROM", "TO", "CC", "BCC", "SUBJECT", "BODY", "TEXT":
		q, err := strconv.Unquote(arg)
		return err == nil && strconv.Quote(q) == arg
	case "UID", "SINCE", "BEFORE", "SENTSINCE", "SENTBEFORE", "LARGER", "SMALLER", "KEYWORD", "UNKEYWORD":
		return !strings.Contains(arg, " ")
	}
	return false
}

// flagKey is the search key of a flag: SEEN, UNSEEN, KEYWORD $Junk...
func flagKey(f imap.Flag, not bool) string {
	name := strings.ToUpper(strings.TrimPrefix(string(f), `\`))
	if strings.HasPrefix(string(f), `\`) {
		switch name {
		case "SEEN", "ANSWERED", "FLAGGED", "DELETED", "DRAFT":
			if not {
				return "UN" + name
			}
			return name
		case "RECENT":
			if not {
				return "OLD"
			}
			return "RECENT"
		}
	}
	if not {
		return "UNKEYWORD " + string(f)
	}
	return "KEYWORD " + string(f)
}
