package benchzone

import (
	"net"
	"strings"

	"github.com/miekg/dns"
)

// Handler answers queries from a Zone, authoritatively, and does nothing
// else: no events, no logs. It is the bare baseline the lab's DNS server is
// compared with, so it does the same per-query work a careful authoritative
// server does (panic guard, EDNS echo, truncation) and no more.
type Handler struct {
	origin string
	soa    []dns.RR
	names  map[string]map[uint16][]dns.RR
}

// NewHandler indexes the zone's records by owner name and type.
func NewHandler(z *Zone) *Handler {
	h := &Handler{origin: z.Origin, names: make(map[string]map[uint16][]dns.RR)}
	if z.SOA != nil {
		h.soa = []dns.RR{z.SOA}
	}
	for _, r := range z.Records {
		byType := h.names[r.Name]
		if byType == nil {
			byType = make(map[uint16][]dns.RR)
			h.names[r.Name] = byType
		}
		byType[r.Type()] = append(byType[r.Type()], r.RR())
	}
	return h
}

// ServeDNS answers one query: the records of the name and type asked, NODATA
// or NXDOMAIN (with the SOA) inside the zone, REFUSED outside it.
func (h *Handler) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	defer func() { _ = recover() }() // miekg/dns does not recover handler panics
	m := new(dns.Msg)
	m.SetReply(r)
	q := r.Question[0] // dns.DefaultMsgAcceptFunc lets only one question through
	name := strings.ToLower(q.Name)
	byType, ok := h.names[name]
	switch {
	case !dns.IsSubDomain(h.origin, name) || q.Qclass != dns.ClassINET:
		m.Rcode = dns.RcodeRefused
	case name == h.origin && q.Qtype == dns.TypeSOA:
		m.Authoritative = true
		m.Answer = h.soa
	case !ok && name != h.origin:
		m.Authoritative = true
		m.Rcode = dns.RcodeNameError
		m.Ns = h.soa
	default:
		m.Authoritative = true
		m.Answer = byType[q.Qtype]
		if len(m.Answer) == 0 {
			m.Ns = h.soa
		}
	}
	size := dns.MinMsgSize
	if o := r.IsEdns0(); o != nil {
		m.SetEdns0(o.UDPSize(), false)
		size = max(int(o.UDPSize()), dns.MinMsgSize)
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}
