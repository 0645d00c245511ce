package imap

import (
	"bufio"
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"protolab/services/mailstore"
)

// Fetch is FETCH and UID FETCH. The parts of a message are cut from the
// stored bytes by the library's helpers, as imapmemserver does. A body
// section fetched without PEEK sets \Seen (not in a mailbox opened with
// EXAMINE), and the new flags go with the response.
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, o *imap.FetchOptions) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	items := fetchItems(o)
	defer s.begin("FETCH %s (%s)", numSet, items)(&err)
	sel := s.sel
	sel.sync(s.in.store, s.user)
	ts := sel.resolve(numSet)
	content := o.Envelope || o.BodyStructure != nil || len(o.BodySection) > 0 || len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0
	if len(ts) == 0 {
		if !content {
			s.publishFetchMeta(items, 0)
		}
		return nil
	}
	list, err := s.in.store.List(s.user, sel.name)
	if err != nil {
		return s.storeError(err, "fetch")
	}
	msgs := make(map[uint32]mailstore.Message, len(list))
	for _, m := range list {
		msgs[m.UID] = m
	}

	// \Seen first, in one change for all the messages.
	seenNow := map[uint32]bool{}
	if markSeen(o) && !sel.readOnly {
		var unseen []uint32
		for _, t := range ts {
			if m, ok := msgs[t.uid]; ok && !slices.Contains(m.Flags, mailstore.FlagSeen) {
				unseen = append(unseen, t.uid)
			}
		}
		if len(unseen) > 0 {
			updated, err := s.in.store.StoreFlags(s.user, sel.name, unseen, mailstore.FlagsAdd, []string{mailstore.FlagSeen})
			if err != nil {
				return s.storeError(err, "fetch")
			}
			for _, m := range updated {
				msgs[m.UID] = m
				seenNow[m.UID] = true
			}
		}
	}

	n := 0
	for _, t := range ts {
		m, ok := msgs[t.uid]
		if !ok {
			continue // left the mailbox: nothing to send
		}
		var raw []byte
		if content {
			raw, err = s.in.store.Read(s.user, sel.name, t.uid)
			if errors.Is(err, mailstore.ErrNoMessage) {
				continue
			} else if err != nil {
				return s.storeError(err, "fetch")
			}
		}
		if err := s.fetchOne(w, t, m, raw, o, seenNow[t.uid]); err != nil {
			return err
		}
		n++
		if content {
			s.publishFetch(t.uid, items, o, raw)
		}
	}
	if !content {
		s.publishFetchMeta(items, n)
	}
	return nil
}

// fetchOne writes the FETCH response of one message.
func (s *session) fetchOne(w *imapserver.FetchWriter, t target, m mailstore.Message, raw []byte, o *imap.FetchOptions, seenNow bool) error {
	rw := w.CreateMessage(t.seq)
	rw.WriteUID(imap.UID(t.uid))
	if o.Flags || seenNow {
		rw.WriteFlags(toIMAPFlags(m.Flags))
		s.sel.flags[t.uid] = strings.Join(m.Flags, " ")
		delete(s.sel.newFlags, t.uid)
	}
	if o.InternalDate {
		rw.WriteInternalDate(m.InternalDate)
	}
	if o.RFC822Size {
		rw.WriteRFC822Size(m.Size)
	}
	if o.Envelope {
		rw.WriteEnvelope(envelope(raw))
	}
	if o.BodyStructure != nil {
		rw.WriteBodyStructure(fixBodyStructure(imapserver.ExtractBodyStructure(bytes.NewReader(raw)), raw))
	}
	for _, bs := range o.BodySection {
		buf := imapserver.ExtractBodySection(bytes.NewReader(raw), bs)
		if err := writeLiteral(rw.WriteBodySection(bs, int64(len(buf))), buf); err != nil {
			return err
		}
	}
	for _, bs := range o.BinarySection {
		buf := imapserver.ExtractBinarySection(bytes.NewReader(raw), bs)
		if err := writeLiteral(rw.WriteBinarySection(bs, int64(len(buf))), buf); err != nil {
			return err
		}
	}
	for _, bss := range o.BinarySectionSize {
		rw.WriteBinarySectionSize(bss, imapserver.ExtractBinarySectionSize(bytes.NewReader(raw), bss))
	}
	return rw.Close()
}

func writeLiteral(wc interface {
	Write([]byte) (int, error)
	Close() error
}, buf []byte) error {
	_, werr := wc.Write(buf)
	cerr := wc.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

// markSeen reports whether the items fetched set \Seen.
func markSeen(o *imap.FetchOptions) bool {
	for _, bs := range o.BodySection {
		if !bs.Peek {
			return true
		}
	}
	for _, bs := range o.BinarySection {
		if !bs.Peek {
			return true
		}
	}
	return false
}

// publishFetch emits the imap.fetch event of one message.
func (s *session) publishFetch(uid uint32, items string, o *imap.FetchOptions, raw []byte) {
	subject, msgID := headerInfo(raw)
	s.publish(KindFetch, map[string]string{
		"user":       s.user,
		"mailbox":    s.sel.name,
		"uid":        strconv.FormatUint(uint64(uid), 10),
		"section":    items,
		"body":       strconv.FormatBool(sendsBody(o)),
		"subject":    subject,
		"message_id": msgID,
	})
}

// publishFetchMeta emits the one imap.fetch event of a FETCH of flags,
// dates or sizes only.
func (s *session) publishFetchMeta(items string, count int) {
	s.publish(KindFetch, map[string]string{
		"user": s.user, "mailbox": s.sel.name, "uid": "", "section": items, "body": "false", "count": strconv.Itoa(count),
	})
}

// sendsBody reports whether the message's text is sent: the whole message,
// its text, a body part or a binary part (not headers alone).
func sendsBody(o *imap.FetchOptions) bool {
	if len(o.BinarySection) > 0 {
		return true
	}
	for _, bs := range o.BodySection {
		if bs.Specifier == imap.PartSpecifierNone || bs.Specifier == imap.PartSpecifierText {
			return true
		}
	}
	return false
}

// fetchItems writes the items asked as IMAP does: "BODY[] FLAGS",
// "BODY.PEEK[HEADER.FIELDS (SUBJECT)]<0.100>", "ENVELOPE". The library
// gives them as a structure, so their order is fixed: sections first.
// UID, implied by UID FETCH, is left out.
func fetchItems(o *imap.FetchOptions) string {
	var parts []string
	for _, bs := range o.BodySection {
		var b strings.Builder
		b.WriteString("BODY")
		if bs.Peek {
			b.WriteString(".PEEK")
		}
		b.WriteByte('[')
		b.WriteString(partPath(bs.Part))
		if bs.Specifier != imap.PartSpecifierNone {
			if len(bs.Part) > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(bs.Specifier))
			switch {
			case len(bs.HeaderFields) > 0:
				b.WriteString(".FIELDS (" + strings.ToUpper(strings.Join(bs.HeaderFields, " ")) + ")")
			case len(bs.HeaderFieldsNot) > 0:
				b.WriteString(".FIELDS.NOT (" + strings.ToUpper(strings.Join(bs.HeaderFieldsNot, " ")) + ")")
			}
		}
		b.WriteByte(']')
		b.WriteString(partial(bs.Partial))
		parts = append(parts, b.String())
	}
	for _, bs := range o.BinarySection {
		name := "BINARY"
		if bs.Peek {
			name += ".PEEK"
		}
		parts = append(parts, name+"["+partPath(bs.Part)+"]"+partial(bs.Partial))
	}
	for _, bss := range o.BinarySectionSize {
		parts = append(parts, "BINARY.SIZE["+partPath(bss.Part)+"]")
	}
	if o.Envelope {
		parts = append(parts, "ENVELOPE")
	}
	if o.BodyStructure != nil {
		if o.BodyStructure.Extended {
			parts = append(parts, "BODYSTRUCTURE")
		} else {
			parts = append(parts, "BODY")
		}
	}
	if o.Flags {
		parts = append(parts, "FLAGS")
	}
	if o.InternalDate {
		parts = append(parts, "INTERNALDATE")
	}
	if o.RFC822Size {
		parts = append(parts, "RFC822.SIZE")
	}
	if len(parts) == 0 {
		return "UID"
	}
	return strings.Join(parts, " ")
}

func partPath(part []int) string {
	s := make([]string, len(part))
	for i, p := range part {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ".")
}

func partial(p *imap.SectionPartial) string {
	if p == nil {
		return ""
	}
	return "<" + strconv.FormatInt(p.Offset, 10) + "." + strconv.FormatInt(p.Size, 10) + ">"
}

// header reads a message's header; a message without a valid one has an
// empty header.
func header(raw []byte) textproto.Header {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return textproto.Header{}
	}
	return h
}

// envelope is the ENVELOPE of a message.
func envelope(raw []byte) *imap.Envelope {
	return imapserver.ExtractEnvelope(header(raw))
}

// headerInfo returns a message's decoded Subject and its Message-ID
// without < >.
func headerInfo(raw []byte) (subject, msgID string) {
	h := mail.Header{Header: gomessage.Header{Header: header(raw)}}
	subject, err := h.Subject()
	if err != nil {
		subject = h.Get("Subject")
	}
	msgID, err = h.MessageID()
	if err != nil || msgID == "" {
		msgID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	}
	return shown(subject), shown(msgID)
}

// fixBodyStructure gives parts without a Content-Type the RFC 2045
// default, text/plain; charset=us-ascii (the library leaves them empty,
// which clients cannot parse). raw is the whole message, for the line
// count of a message that is one such part (nil below the top).
func fixBodyStructure(bs imap.BodyStructure, raw []byte) imap.BodyStructure {
	switch b := bs.(type) {
	case *imap.BodyStructureSinglePart:
		if b.Type == "" {
			b.Type, b.Subtype = "text", "plain"
			if b.Params == nil {
				b.Params = map[string]string{}
			}
			if _, ok := b.Params["charset"]; !ok {
				b.Params["charset"] = "us-ascii"
			}
			if b.Text == nil {
				b.Text = &imap.BodyStructureText{NumLines: int64(bytes.Count(bodyOf(raw), []byte("\n")))}
			}
		}
		if b.Subtype == "" {
			b.Subtype = "plain"
		}
		if b.MessageRFC822 != nil {
			b.MessageRFC822.BodyStructure = fixBodyStructure(b.MessageRFC822.BodyStructure, nil)
		}
	case *imap.BodyStructureMultiPart:
		if b.Subtype == "" {
			b.Subtype = "mixed"
		}
		for i := range b.Children {
			b.Children[i] = fixBodyStructure(b.Children[i], nil)
		}
	}
	return bs
}

// bodyOf is what follows a message's header (nil when raw is nil).
func bodyOf(raw []byte) []byte {
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return raw[i+4:]
	}
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		return raw[i+2:]
	}
	return nil
}
