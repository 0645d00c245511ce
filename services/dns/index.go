package dns

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/miekg/dns"
)

// result is a precomputed answer: what goes in the header and the three
// sections. Results are shared by concurrent queries and never modified; all
// their slices have len == cap, so appending to one (the OPT record)
// copies instead of writing into shared memory.
type result struct {
	rcode  int
	aa     bool
	answer []dns.RR
	ns     []dns.RR
	extra  []dns.RR

	rendered atomic.Pointer[string] // the sections as dig prints them (see text)
}

// refused answers names outside every zone: the server is authoritative
// only and never recurses.
var refused = &result{rcode: dns.RcodeRefused}

// typed is the result for one query type at a name, with the attributes
// of the events it produces.
type typed struct {
	qtype uint16
	res   *result
	attrs *attrCache
}

// rrset is the records of one type at one name.
type rrset struct {
	rrtype uint16
	rrs    []dns.RR
}

// node is one name of a zone, with its answers precomputed. Empty
// non-terminals are nodes without records.
type node struct {
	name     string
	zone     *zone
	rrsets   []rrset
	cname    *dns.CNAME
	cnameRes *result // the CNAME alone (queries for CNAME or ANY)

	wildcard   *node   // the node "*." + name, if any
	delegation bool    // NS below the apex: a zone cut
	referral   *result // set when the name is at or below a zone cut

	results []typed // per query type
	other   *result // any other query type
}

// index holds every loaded zone, keyed for lookup without locks.
type index struct {
	names map[string]*node // lower-case owner name -> node
	zones map[string]*zone // apex -> zone
	types []uint16         // every record type present, sorted
}

// maxChase bounds CNAME chains (and so CNAME loops).
const maxChase = 8

// newIndex builds the lookup structures of a set of zones. When zones nest
// (lab.test. and sub.lab.test.), names of the child are answered from the
// child.
func newIndex(zones []*zone) (*index, error) {
	ix := &index{names: make(map[string]*node), zones: make(map[string]*zone)}
	for _, z := range zones {
		if prev, dup := ix.zones[z.origin]; dup {
			return nil, fmt.Errorf("zone %s is loaded twice (%s and %s)", z.origin, prev.file, z.file)
		}
		ix.zones[z.origin] = z
	}
	types := make(map[uint16]struct{})
	var order []*node
	for _, z := range zones {
		for _, rr := range z.records {
			h := rr.Header()
			if ix.apexOf(h.Name) != z.origin {
				continue // occluded by a child zone that is also loaded
			}
			n := ix.names[h.Name]
			if n == nil {
				n = &node{name: h.Name, zone: z}
				ix.names[h.Name] = n
				order = append(order, n)
			}
			n.add(rr)
			types[h.Rrtype] = struct{}{}
		}
	}
	// Empty non-terminals: every ancestor of a name, down to its apex.
	for _, n := range order {
		for p, ok := parent(n.name); ok && dns.IsSubDomain(n.zone.origin, p); p, ok = parent(p) {
			if ix.names[p] == nil {
				e := &node{name: p, zone: n.zone}
				ix.names[p] = e
				order = append(order, e)
			}
		}
	}
	for t := range types {
		ix.types = append(ix.types, t)
	}
	sort.Slice(ix.types, func(i, j int) bool { return ix.types[i] < ix.types[j] })

	for _, n := range order {
		n.delegation = n.name != n.zone.origin && n.rrset(dns.TypeNS) != nil
		n.wildcard = ix.names["*."+n.name]
	}
	cuts := make(map[*node]*result)
	for _, n := range order {
		if cut := ix.cutAbove(n); cut != nil {
			if cuts[cut] == nil {
				ns := cut.rrset(dns.TypeNS)
				cuts[cut] = &result{ns: clip(ns), extra: ix.additional(ns)}
			}
			n.referral = cuts[cut]
		}
	}
	for _, n := range order {
		if n.referral == nil && n.cname == nil {
			n.precompute(ix)
		}
	}
	// CNAME chains last: they end at names whose answers are now known.
	for _, n := range order {
		if n.referral == nil && n.cname != nil {
			n.results = append(n.results, typed{dns.TypeCNAME, n.cnameRes, new(attrCache)}, typed{dns.TypeANY, n.cnameRes, new(attrCache)})
			for _, t := range ix.types {
				if t != dns.TypeCNAME {
					n.results = append(n.results, typed{t, ix.resolve(n.name, t), new(attrCache)})
				}
			}
			n.other = ix.resolve(n.name, dns.TypeNone) // no record has type 0
		}
	}
	return ix, nil
}

func (n *node) add(rr dns.RR) {
	t := rr.Header().Rrtype
	if c, ok := rr.(*dns.CNAME); ok {
		n.cname = c
		n.cnameRes = &result{aa: true, answer: []dns.RR{c}}
	}
	for i := range n.rrsets {
		if n.rrsets[i].rrtype == t {
			n.rrsets[i].rrs = append(n.rrsets[i].rrs, rr)
			return
		}
	}
	n.rrsets = append(n.rrsets, rrset{rrtype: t, rrs: []dns.RR{rr}})
}

func (n *node) rrset(t uint16) []dns.RR {
	for _, s := range n.rrsets {
		if s.rrtype == t {
			return s.rrs
		}
	}
	return nil
}

// precompute fills the answers of an authoritative name without CNAME.
func (n *node) precompute(ix *index) {
	var all, allExtra []dns.RR
	for _, s := range n.rrsets {
		n.results = append(n.results, typed{s.rrtype, &result{aa: true, answer: clip(s.rrs), extra: ix.additional(s.rrs)}, new(attrCache)})
		all = append(all, s.rrs...)
		allExtra = append(allExtra, ix.additional(s.rrs)...)
	}
	if len(n.rrsets) > 0 {
		// ANY gets every RRset (the lab shows everything; see README).
		n.results = append(n.results, typed{dns.TypeANY, &result{aa: true, answer: clip(all), extra: clip(dedup(allExtra))}, new(attrCache)})
	}
	n.other = n.zone.nodata
}

// additional returns the addresses of the targets of MX, NS and SRV records
// found in the loaded zones, for the additional section.
func (ix *index) additional(rrs []dns.RR) []dns.RR {
	var out []dns.RR
	var seen []string
	for _, rr := range rrs {
		var target string
		switch t := rr.(type) {
		case *dns.MX:
			target = t.Mx
		case *dns.NS:
			target = t.Ns
		case *dns.SRV:
			target = t.Target
		default:
			continue
		}
		target = strings.ToLower(target)
		if slices.Contains(seen, target) {
			continue
		}
		seen = append(seen, target)
		n := ix.names[target]
		if n == nil || n.cname != nil {
			continue
		}
		out = append(out, n.rrset(dns.TypeA)...)
		out = append(out, n.rrset(dns.TypeAAAA)...)
	}
	return clip(out)
}

// apexOf returns the apex of the deepest loaded zone holding name, or "".
func (ix *index) apexOf(name string) string {
	for s, ok := name, true; ok; s, ok = parent(s) {
		if _, z := ix.zones[s]; z {
			return s
		}
	}
	return ""
}

// cutAbove returns the delegation point at or above n, below its apex.
func (ix *index) cutAbove(n *node) *node {
	for s, ok := n.name, true; ok && s != n.zone.origin; s, ok = parent(s) {
		if c := ix.names[s]; c != nil && c.delegation {
			return c
		}
	}
	return nil
}

// lookup is the read path: one map access and a short scan for the names
// of the zones; the general resolve only for names that do not exist
// (NXDOMAIN, wildcards, referrals, REFUSED). attrs is the event attribute
// cache of the answer, nil when there is none.
func (ix *index) lookup(qname string, qtype uint16) (res *result, attrs *attrCache) {
	if n := ix.names[qname]; n != nil {
		if n.referral != nil {
			return n.referral, nil
		}
		for i := range n.results {
			if n.results[i].qtype == qtype {
				return n.results[i].res, n.results[i].attrs
			}
		}
		return n.other, nil
	}
	return ix.resolve(qname, qtype), nil
}

// resolve answers any name, chasing CNAMEs inside the loaded zones
// (RFC 1034 §4.3.2). It allocates; lookup avoids it for existing names.
func (ix *index) resolve(qname string, qtype uint16) *result {
	res, cname, ok := ix.resolveOne(qname, qtype)
	if !ok {
		return refused
	}
	if cname == nil {
		return res
	}
	chain := []dns.RR{cname}
	seen := []string{qname}
	name := strings.ToLower(cname.Target)
	for {
		if len(chain) >= maxChase || slices.Contains(seen, name) {
			return &result{aa: true, answer: clip(chain)} // loop or too long: stop here
		}
		seen = append(seen, name)
		r, c, ok := ix.resolveOne(name, qtype)
		switch {
		case !ok: // the chain leaves our zones: the resolver takes it from here
			return &result{aa: true, answer: clip(chain)}
		case c != nil:
			chain = append(chain, c)
			name = strings.ToLower(c.Target)
			continue
		case !r.aa && r.rcode == dns.RcodeSuccess: // into a delegation
			return &result{aa: true, answer: clip(chain), ns: r.ns, extra: r.extra}
		}
		return &result{rcode: r.rcode, aa: true, answer: clip(append(chain, r.answer...)), ns: r.ns, extra: r.extra}
	}
}

// resolveOne answers one name without chasing: a result, or the CNAME to
// follow; ok is false outside every zone.
func (ix *index) resolveOne(name string, qtype uint16) (res *result, cname *dns.CNAME, ok bool) {
	if n := ix.names[name]; n != nil {
		if n.referral != nil {
			return n.referral, nil, true
		}
		if n.cname != nil {
			if qtype == dns.TypeCNAME || qtype == dns.TypeANY {
				return n.cnameRes, nil, true
			}
			return nil, n.cname, true
		}
		for i := range n.results {
			if n.results[i].qtype == qtype {
				return n.results[i].res, nil, true
			}
		}
		return n.other, nil, true
	}
	// The closest encloser: the nearest existing ancestor (RFC 4592 §3.3.1).
	for s, ok := parent(name); ok; s, ok = parent(s) {
		n := ix.names[s]
		if n == nil {
			continue
		}
		if n.referral != nil {
			return n.referral, nil, true
		}
		if w := n.wildcard; w != nil && w.referral == nil {
			return synthesize(w, name, qtype)
		}
		return n.zone.nxdomain, nil, true
	}
	return nil, nil, false
}

// synthesize answers name from the wildcard w (RFC 4592 §4.3.3): the
// records of the wildcard, owned by the name asked.
func synthesize(w *node, name string, qtype uint16) (*result, *dns.CNAME, bool) {
	if w.cname != nil {
		c := dns.Copy(w.cname).(*dns.CNAME)
		c.Hdr.Name = name
		if qtype == dns.TypeCNAME || qtype == dns.TypeANY {
			return &result{aa: true, answer: []dns.RR{c}}, nil, true
		}
		return nil, c, true
	}
	r := w.other
	for i := range w.results {
		if w.results[i].qtype == qtype {
			r = w.results[i].res
		}
	}
	if len(r.answer) == 0 {
		return r, nil, true
	}
	answer := make([]dns.RR, len(r.answer))
	for i, rr := range r.answer {
		answer[i] = dns.Copy(rr)
		answer[i].Header().Name = name
	}
	return &result{rcode: r.rcode, aa: true, answer: answer, ns: r.ns, extra: r.extra}, nil, true
}

// inZone reports whether name is at or below the apex of a loaded zone.
func (ix *index) inZone(name string) bool { return ix.apexOf(name) != "" }

// parent returns the name one label up: "www.lab.test." -> "lab.test.",
// "test." -> "."; ok is false for the root.
func parent(name string) (string, bool) {
	if name == "." || name == "" {
		return "", false
	}
	off, end := dns.NextLabel(name, 0)
	if end || off >= len(name) {
		return ".", true
	}
	return name[off:], true
}

// clip returns s with len == cap, so that appending copies (see result).
func clip(s []dns.RR) []dns.RR {
	if len(s) == 0 {
		return nil
	}
	return s[:len(s):len(s)]
}

// dedup removes repeated records (the same pointer) from s, in place.
func dedup(s []dns.RR) []dns.RR {
	out := s[:0]
	for _, rr := range s {
		if !slices.Contains(out, rr) {
			out = append(out, rr)
		}
	}
	return out
}
