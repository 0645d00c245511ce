package dns

import (
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"protolab/internal/event"
)

// ednsSize is the UDP payload size the server advertises and the most it
// sends over UDP (the DNS Flag Day 2020 value, which avoids IP
// fragmentation).
const ednsSize = 1232

// handler answers queries for one transport. Its fields are set before the
// server starts and only read afterwards.
type handler struct {
	ix            *index
	variants      map[string]*index       // each learner's own zones, in a class (Runtime.Variants)
	who           func(netip.Addr) string // the learner at a client's address
	allowTransfer bool
	transport     string // "udp" or "tcp"
	events        event.Publisher
	bad           *malformed
	log           *slog.Logger
}

// ServeDNS answers one query. The library does not recover from a panic in a
// handler (it would end the process), so guard does.
func (h *handler) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	defer h.guard(w, r)
	if r.Response {
		// Never answer a response: two servers could bounce them forever.
		h.bad.report(h.transport, clientString(w.RemoteAddr()), r.Len(), "the QR bit is set: this is a response, not a query", nil)
		return
	}
	if len(r.Question) != 1 {
		h.formErr(w, r)
		return
	}
	q := &r.Question[0]
	rp := &reply{}
	m := &rp.msg
	m.Id = r.Id
	m.Response = true
	m.Opcode = r.Opcode
	if r.Opcode == dns.OpcodeQuery {
		m.RecursionDesired = r.RecursionDesired // RA stays 0: no recursion here
		m.CheckingDisabled = r.CheckingDisabled
	}
	m.Question = r.Question[:1:1]
	qname := strings.ToLower(q.Name)
	opt, badOPT := queryOPT(r)
	var cache *attrCache

	switch {
	case badOPT:
		m.Rcode = dns.RcodeFormatError
		opt = nil
	case r.Opcode != dns.OpcodeQuery:
		m.Rcode = dns.RcodeNotImplemented
	case opt != nil && opt.Version() != 0:
		m.Rcode = dns.RcodeBadVers // RFC 6891 §6.1.3
	case q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY:
		m.Rcode = dns.RcodeRefused
	default:
		switch q.Qtype {
		case dns.TypeAXFR, dns.TypeIXFR:
			h.transfer(w, rp, r, qname, opt)
			return
		case dns.TypeMAILA, dns.TypeMAILB:
			m.Rcode = dns.RcodeNotImplemented // as BIND
		case dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY:
			m.Rcode = dns.RcodeFormatError // meta types are not questions
		default:
			var res *result
			res, cache = h.index(w).lookup(qname, q.Qtype)
			rp.res = res
			m.Rcode = res.rcode
			m.Authoritative = res.aa
			m.Answer = res.answer
			m.Ns = res.ns
			m.Extra = res.extra
		}
	}
	if opt != nil {
		rp.addOPT(opt)
	}
	h.finish(w, r, rp, qname, opt, cache, "")
}

// index is the zone data of the client's learner: in a class whose zones
// hold variables, the learner's own; else the lab's.
func (h *handler) index(w dns.ResponseWriter) *index {
	if h.who == nil {
		return h.ix
	}
	var ip netip.Addr
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		ip = a.AddrPort().Addr()
	case *net.TCPAddr:
		ip = a.AddrPort().Addr()
	}
	if ix, ok := h.variants[h.who(ip.Unmap())]; ok {
		return ix
	}
	return h.ix
}

// reply is a reply and its OPT record in one allocation. It is also the
// event's transcript (see String).
type reply struct {
	msg   dns.Msg
	opt   dns.OPT
	extra [1]dns.RR
	res   *result // where the sections come from, if precomputed
}

// addOPT adds the OPT record of the reply: our UDP size, version 0, the DO
// bit echoed (RFC 3225 §3). Each reply has its own: packing writes the
// extended rcode into it.
func (rp *reply) addOPT(q *dns.OPT) {
	setOPT(&rp.opt, q)
	if len(rp.msg.Extra) == 0 {
		rp.extra[0] = &rp.opt
		rp.msg.Extra = rp.extra[:]
		return
	}
	rp.msg.Extra = append(rp.msg.Extra, &rp.opt) // a copy: results are clipped
}

// packBuffers recycles the buffers replies are packed into (the writer
// copies them to the socket before returning).
var packBuffers = sync.Pool{New: func() any { b := make([]byte, ednsSize); return &b }}

// finish truncates and packs m, publishes its event and sends it. The event
// goes out before the reply, so that events follow the order of what the
// client did: a truncated answer over UDP, then the retry over TCP.
func (h *handler) finish(w dns.ResponseWriter, r *dns.Msg, rp *reply, qname string, opt *dns.OPT, cache *attrCache, transfer string) {
	m := &rp.msg
	bp := packBuffers.Get().(*[]byte)
	defer packBuffers.Put(bp)
	b, err := h.pack(m, opt, *bp)
	if err != nil {
		h.packFailed(w, r, err)
		return
	}
	q := &m.Question[0]
	// The attributes of a plain answer from the zones are the same every
	// time: they are built once and shared (see attrCache).
	var attrs map[string]string
	if cache != nil && q.Qclass == dns.ClassINET && !m.Truncated {
		i := h.variant(opt != nil)
		if p := cache[i].Load(); p != nil {
			attrs = *p
		} else {
			a := h.queryAttrs(qname, q, m, opt != nil, transfer, len(m.Answer))
			cache[i].CompareAndSwap(nil, &a)
			attrs = a
		}
	} else {
		attrs = h.queryAttrs(qname, q, m, opt != nil, transfer, len(m.Answer))
	}
	h.publish(w, attrs, rp)
	_, _ = w.Write(b) // a client that went away is not the server's problem
}

// pack truncates m to what the client can take (RFC 1035 §4.2.1, RFC 6891
// §6.2.5; the library's WriteMsg does not truncate) and packs it into buf
// if it fits.
func (h *handler) pack(m *dns.Msg, opt *dns.OPT, buf []byte) ([]byte, error) {
	limit := dns.MaxMsgSize
	if h.transport == "udp" {
		limit = dns.MinMsgSize
		if opt != nil {
			limit = min(max(int(opt.UDPSize()), dns.MinMsgSize), ednsSize)
		}
	}
	m.Truncate(limit)
	return m.PackBuffer(buf[:cap(buf)])
}

// packFailed answers SERVFAIL when a reply cannot be packed, which only a
// bug in the server can cause.
func (h *handler) packFailed(w dns.ResponseWriter, r *dns.Msg, err error) {
	h.log.Error("dns: cannot pack a reply", "err", err, "question", r.Question)
	m := &dns.Msg{}
	m.SetRcode(r, dns.RcodeServerFailure)
	_ = w.WriteMsg(m)
}

// formErr answers a message without exactly one question.
func (h *handler) formErr(w dns.ResponseWriter, r *dns.Msg) {
	m := &dns.Msg{}
	m.Id = r.Id
	m.Response = true
	m.Opcode = r.Opcode
	m.Rcode = dns.RcodeFormatError
	if r.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
	}
	reason := "no question: a query carries exactly one"
	if len(r.Question) > 1 {
		reason = "more than one question: a query carries exactly one"
	}
	h.bad.report(h.transport, clientString(w.RemoteAddr()), r.Len(), reason, nil)
	bp := packBuffers.Get().(*[]byte)
	defer packBuffers.Put(bp)
	if b, err := h.pack(m, nil, *bp); err == nil {
		_, _ = w.Write(b)
	}
}

// queryOPT returns the query's OPT record; bad is true for more than one OPT
// or one not owned by the root (RFC 6891 §6.1.1), which gets FORMERR.
func queryOPT(r *dns.Msg) (opt *dns.OPT, bad bool) {
	for _, rr := range r.Extra {
		if o, ok := rr.(*dns.OPT); ok {
			if opt != nil || o.Hdr.Name != "." {
				return nil, true
			}
			opt = o
		}
	}
	return opt, false
}

// setOPT makes o the OPT record of a reply to a query with the OPT q.
func setOPT(o, q *dns.OPT) {
	o.Hdr = dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: ednsSize}
	if q.Do() {
		o.SetDo()
	}
}

// transfer answers AXFR and IXFR (RFC 5936, RFC 1995). AXFR goes over TCP
// only. The server keeps no history, so IXFR gets the whole zone, which
// RFC 1995 §4 allows, or only the SOA when the client is up to date or asked
// over UDP (RFC 1995 §2: the client then retries over TCP).
func (h *handler) transfer(w dns.ResponseWriter, rp *reply, r *dns.Msg, qname string, opt *dns.OPT) {
	m := &rp.msg
	q := &r.Question[0]
	ix := h.index(w)
	z := ix.zones[qname]
	status := "failed"
	switch {
	case !h.allowTransfer:
		m.Rcode = dns.RcodeRefused
	case z == nil && ix.inZone(qname):
		m.Rcode = dns.RcodeNotAuth // a name inside a zone, not a zone
	case z == nil:
		m.Rcode = dns.RcodeRefused
	case q.Qtype == dns.TypeAXFR && h.transport == "udp":
		m.Rcode = dns.RcodeRefused // see README: AXFR over UDP
	case q.Qtype == dns.TypeIXFR && (h.transport == "udp" || upToDate(r, z)):
		m.Authoritative = true
		m.Answer = []dns.RR{z.soa}
		if upToDate(r, z) {
			status = "complete"
		}
	default:
		h.stream(w, m, r, z, opt)
		return
	}
	if opt != nil {
		rp.addOPT(opt)
	}
	h.finish(w, r, rp, qname, opt, nil, status)
}

// stream sends the precomputed AXFR messages of z: SOA first and last.
func (h *handler) stream(w dns.ResponseWriter, m, r *dns.Msg, z *zone, opt *dns.OPT) {
	q := &r.Question[0]
	sent, msgs := 0, 0
	status := "complete"
	for i, chunk := range z.xfr {
		x := &dns.Msg{MsgHdr: m.MsgHdr, Question: m.Question, Answer: chunk, Compress: true}
		x.Authoritative = true
		if i == 0 && opt != nil {
			o := new(dns.OPT)
			setOPT(o, opt)
			x.Extra = []dns.RR{o}
		}
		if err := w.WriteMsg(x); err != nil {
			status = "failed"
			break
		}
		sent += len(chunk)
		msgs++
	}
	m.Authoritative = true
	t := &xfrTranscript{question: *q, zone: z, sent: sent, messages: msgs, complete: status == "complete"}
	h.publish(w, h.queryAttrs(strings.ToLower(q.Name), q, m, opt != nil, status, sent), t)
}

// upToDate reports whether an IXFR query carries a serial at least as new
// as the zone's (RFC 1982 serial arithmetic).
func upToDate(r *dns.Msg, z *zone) bool {
	for _, rr := range r.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			d := int32(soa.Serial - z.soa.Serial)
			return d >= 0
		}
	}
	return false
}

// guard turns a panic into SERVFAIL and a log line instead of a dead server.
func (h *handler) guard(w dns.ResponseWriter, r *dns.Msg) {
	v := recover()
	if v == nil {
		return
	}
	h.log.Error("dns: panic while answering a query", "panic", v, "stack", string(debug.Stack()))
	defer func() { _ = recover() }() // the writer itself may be what failed
	m := &dns.Msg{}
	m.SetRcode(r, dns.RcodeServerFailure)
	_ = w.WriteMsg(m)
}
