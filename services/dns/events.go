package dns

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"protolab/internal/event"
)

// Event kinds.
const (
	KindQuery     = "dns.query"
	KindMalformed = "dns.malformed"
)

// queryAttrs builds the attributes of a dns.query event.
func (h *handler) queryAttrs(qname string, q *dns.Question, m *dns.Msg, edns bool, transfer string, answers int) map[string]string {
	attrs := make(map[string]string, 10)
	attrs["qname"] = qname
	attrs["qtype"] = typeString(q.Qtype)
	attrs["qclass"] = classString(q.Qclass)
	attrs["rcode"] = rcodeString(m.Rcode)
	attrs["transport"] = h.transport
	attrs["answers"] = strconv.Itoa(answers)
	attrs["edns"] = boolString(edns)
	attrs["truncated"] = boolString(m.Truncated)
	attrs["aa"] = boolString(m.Authoritative)
	if transfer != "" {
		attrs["transfer"] = transfer
	}
	return attrs
}

// attrCache keeps the attributes of the events of one answer (one name and
// type), one map per transport and EDNS use, built on first use. The maps
// are shared by every event with the same values: building a 9-entry map
// per query is most of what an event costs. Event attributes are read-only
// once published (the bus already hands one map to every subscriber).
type attrCache [4]atomic.Pointer[map[string]string]

// variant is the attrCache slot for this transport and EDNS use.
func (h *handler) variant(edns bool) int {
	i := 0
	if h.transport == "tcp" {
		i = 2
	}
	if edns {
		i++
	}
	return i
}

// publish emits a dns.query event. The transcript is handed over unrendered
// (the reply, or an xfrTranscript): subscribers format it, off the server's
// path. Nothing touches it after this call.
func (h *handler) publish(w dns.ResponseWriter, attrs map[string]string, t fmt.Stringer) {
	h.events.Publish(event.Event{
		Service:        "dns",
		Kind:           KindQuery,
		Client:         clientString(w.RemoteAddr()),
		Attrs:          attrs,
		TranscriptFrom: t,
	})
}

// clientString formats the client's address as net.UDPAddr.String does,
// with fewer allocations.
func clientString(a net.Addr) string {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.UDPAddr:
		ap = a.AddrPort()
	case *net.TCPAddr:
		ap = a.AddrPort()
	default:
		return a.String()
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
}

// String renders the reply the way dig prints it, for the event's
// transcript. It runs in the subscribers, after the reply was sent; the
// sections of a precomputed answer are rendered once and kept.
func (rp *reply) String() string {
	m := &rp.msg
	var sections string
	if rp.res != nil && !m.Truncated {
		sections = rp.res.text()
	} else {
		sections = renderSections(m.Answer, m.Ns, m.Extra)
	}
	var b strings.Builder
	b.Grow(256 + len(sections))
	b.WriteString(";; ->>HEADER<<- opcode: ")
	b.WriteString(opcodeString(m.Opcode))
	b.WriteString(", status: ")
	b.WriteString(rcodeString(m.Rcode))
	b.WriteString(", id: ")
	b.WriteString(strconv.Itoa(int(m.Id)))
	b.WriteString("\n;; flags:")
	for _, f := range [...]struct {
		on   bool
		name string
	}{{m.Response, " qr"}, {m.Authoritative, " aa"}, {m.Truncated, " tc"}, {m.RecursionDesired, " rd"},
		{m.RecursionAvailable, " ra"}, {m.AuthenticatedData, " ad"}, {m.CheckingDisabled, " cd"}} {
		if f.on {
			b.WriteString(f.name)
		}
	}
	for _, c := range [...]struct {
		name string
		n    int
	}{{"; QUERY: ", len(m.Question)}, {", ANSWER: ", len(m.Answer)}, {", AUTHORITY: ", len(m.Ns)}, {", ADDITIONAL: ", len(m.Extra)}} {
		b.WriteString(c.name)
		b.WriteString(strconv.Itoa(c.n))
	}
	b.WriteByte('\n')
	if opt := m.IsEdns0(); opt != nil {
		b.WriteString("\n;; OPT PSEUDOSECTION:\n; EDNS: version: ")
		b.WriteString(strconv.Itoa(int(opt.Version())))
		b.WriteString(", flags:")
		if opt.Do() {
			b.WriteString(" do")
		}
		b.WriteString("; udp: ")
		b.WriteString(strconv.Itoa(int(opt.UDPSize())))
		b.WriteByte('\n')
	}
	if len(m.Question) > 0 {
		b.WriteString("\n;; QUESTION SECTION:\n")
		for _, q := range m.Question {
			b.WriteByte(';')
			b.WriteString(q.Name)
			b.WriteString("\t\t")
			b.WriteString(classString(q.Qclass))
			b.WriteByte('\t')
			b.WriteString(typeString(q.Qtype))
			b.WriteByte('\n')
		}
	}
	b.WriteString(sections)
	return b.String()
}

// text returns the answer, authority and additional sections of r as dig
// prints them, rendered on first use.
func (r *result) text() string {
	if p := r.rendered.Load(); p != nil {
		return *p
	}
	s := renderSections(r.answer, r.ns, r.extra)
	r.rendered.CompareAndSwap(nil, &s)
	return s
}

// renderSections prints the three sections, without the OPT record.
func renderSections(answer, ns, extra []dns.RR) string {
	var b strings.Builder
	for _, s := range [...]struct {
		name string
		rrs  []dns.RR
	}{{"\n;; ANSWER SECTION:\n", answer}, {"\n;; AUTHORITY SECTION:\n", ns}, {"\n;; ADDITIONAL SECTION:\n", extra}} {
		header := false
		for _, rr := range s.rrs {
			if rr == nil || rr.Header().Rrtype == dns.TypeOPT {
				continue
			}
			if !header {
				b.WriteString(s.name)
				header = true
			}
			b.WriteString(rr.String())
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func opcodeString(op int) string {
	if s, ok := dns.OpcodeToString[op]; ok {
		return s
	}
	return "OPCODE" + strconv.Itoa(op)
}

func typeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

func classString(c uint16) string {
	if s, ok := dns.ClassToString[c]; ok {
		return s
	}
	return "CLASS" + strconv.Itoa(int(c))
}

func rcodeString(rc int) string {
	if rc == dns.RcodeBadVers {
		return "BADVERS" // 16 is BADSIG too; in answer to EDNS it is BADVERS
	}
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return "RCODE" + strconv.Itoa(rc)
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// Rate of dns.malformed events: a flood of garbage must not become a flood
// of events. The ones over the rate are counted and the count is carried by
// the next event that goes out (attribute "suppressed").
const (
	malformedPerSecond = 10
	malformedBurst     = 10
)

// malformed reports packets that are not acceptable queries, at a bounded
// rate. It is shared by the UDP and TCP sides of an instance.
type malformed struct {
	events event.Publisher
	now    func() time.Time

	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed uint64
}

func newMalformed(p event.Publisher) *malformed {
	return &malformed{events: p, now: time.Now, tokens: malformedBurst}
}

// report emits a dns.malformed event unless over the rate. client is empty
// when the library rejected the packet before the server saw its sender;
// size < 0 when unknown. sample is copied (it may be a reused buffer).
func (b *malformed) report(transport, client string, size int, reason string, sample []byte) {
	b.mu.Lock()
	now := b.now()
	if !b.last.IsZero() {
		b.tokens = min(malformedBurst, b.tokens+now.Sub(b.last).Seconds()*malformedPerSecond)
	}
	b.last = now
	if b.tokens < 1 {
		b.suppressed++
		b.mu.Unlock()
		return
	}
	b.tokens--
	suppressed := b.suppressed
	b.suppressed = 0
	b.mu.Unlock()

	attrs := map[string]string{"transport": transport, "reason": reason}
	if size >= 0 {
		attrs["size"] = strconv.Itoa(size)
	}
	if suppressed > 0 {
		attrs["suppressed"] = strconv.FormatUint(suppressed, 10)
	}
	var transcript string
	if len(sample) > 0 {
		transcript = hex.Dump(sample[:min(len(sample), 64)])
	}
	b.events.Publish(event.Event{
		Service:    "dns",
		Kind:       KindMalformed,
		Client:     client,
		Attrs:      attrs,
		Transcript: transcript,
	})
}

// xfrTranscript renders a zone transfer the way dig prints one.
type xfrTranscript struct {
	question dns.Question
	zone     *zone
	sent     int // records sent
	messages int
	complete bool
}

func (t *xfrTranscript) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "; <<>> %s %s <<>>\n", typeString(t.question.Qtype), t.question.Name)
	n := 0
	for _, chunk := range t.zone.xfr {
		for _, rr := range chunk {
			if n == t.sent {
				break
			}
			b.WriteString(rr.String())
			b.WriteByte('\n')
			n++
		}
	}
	if !t.complete {
		b.WriteString(";; transfer failed: the client went away\n")
	}
	fmt.Fprintf(&b, ";; XFR size: %d records (messages %d)\n", t.sent, t.messages)
	return b.String()
}
