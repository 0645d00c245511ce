package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"protolab/internal/service"
)

// solveTimeout bounds a solve step when ctx has no deadline.
const solveTimeout = 5 * time.Second

// solve performs one step as a learner's client would.
func solve(ctx context.Context, eps service.Endpoints, step service.Step) error {
	ctx, cancel, _, err := service.StartSolve(ctx, "dns", actions, step, solveTimeout)
	defer cancel()
	if err != nil {
		return err
	}
	switch step.Action {
	case "dns.query":
		return solveQuery(ctx, eps, step.Args)
	default:
		return solveAXFR(ctx, eps, step.Args)
	}
}

// solveQuery asks one question like dig: RD set, EDNS with a 1232-byte
// buffer unless edns is "false" (or another size is given), a truncated UDP
// answer asked again over TCP.
func solveQuery(ctx context.Context, eps service.Endpoints, args map[string]string) error {
	name := dns.Fqdn(args["name"])
	if _, ok := dns.IsDomainName(name); !ok {
		return fmt.Errorf("dns: dns.query: %q is not a domain name", args["name"])
	}
	qtype, err := parseType(args["type"])
	if err != nil {
		return err
	}
	qclass := uint16(dns.ClassINET)
	if c := args["class"]; c != "" {
		v, ok := dns.StringToClass[strings.ToUpper(c)]
		if !ok {
			return fmt.Errorf("dns: dns.query: unknown class %q (IN, CH, HS, ANY)", c)
		}
		qclass = v
	}
	transport := args["transport"]
	if transport == "" {
		transport = "udp"
	}
	if transport != "udp" && transport != "tcp" {
		return fmt.Errorf("dns: dns.query: transport %q: udp or tcp", transport)
	}
	want, err := parseRcode(args["rcode"])
	if err != nil {
		return err
	}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Question[0].Qclass = qclass
	switch e := args["edns"]; e {
	case "", "true":
		m.SetEdns0(ednsSize, false)
	case "false":
	default:
		size, err := strconv.ParseUint(e, 10, 16)
		if err != nil {
			return fmt.Errorf("dns: dns.query: edns %q: true, false or a buffer size in bytes", e)
		}
		m.SetEdns0(uint16(size), false)
	}
	resp, err := exchange(ctx, eps, transport, m)
	if err == nil && resp.Truncated && transport == "udp" {
		transport = "tcp" // as dig: ";; Truncated, retrying in TCP mode."
		resp, err = exchange(ctx, eps, transport, m)
	}
	what := fmt.Sprintf("%s %s over %s", name, typeString(qtype), transport)
	if err != nil {
		return fmt.Errorf("dns: query %s: %w", what, err)
	}
	if len(resp.Question) != 1 || !strings.EqualFold(resp.Question[0].Name, name) || resp.Question[0].Qtype != qtype {
		return fmt.Errorf("dns: query %s: the answer is for another question", what)
	}
	switch {
	case want >= 0 && resp.Rcode != want:
		return fmt.Errorf("dns: query %s: got %s, expected %s", what, rcodeString(resp.Rcode), rcodeString(want))
	case want < 0 && resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError:
		return fmt.Errorf("dns: query %s: got %s, expected an answer (NOERROR or NXDOMAIN)", what, rcodeString(resp.Rcode))
	case want < 0 && !resp.Authoritative && len(resp.Ns) == 0:
		return fmt.Errorf("dns: query %s: the answer is not authoritative (no aa flag)", what)
	}
	return nil
}

func exchange(ctx context.Context, eps service.Endpoints, transport string, m *dns.Msg) (*dns.Msg, error) {
	addr, ok := eps.Find("dns", transport)
	if !ok {
		return nil, fmt.Errorf("no %s endpoint: is the dns service running?", transport)
	}
	c := &dns.Client{Net: transport, UDPSize: ednsSize}
	resp, _, err := c.ExchangeContext(ctx, m, addr)
	return resp, err
}

// solveAXFR transfers a zone and checks it is framed by its SOA.
func solveAXFR(ctx context.Context, eps service.Endpoints, args map[string]string) error {
	zone := dns.Fqdn(strings.ToLower(args["zone"]))
	want, err := parseRcode(args["rcode"])
	if err != nil {
		return err
	}
	addr, ok := eps.Find("dns", "tcp")
	if !ok {
		return errors.New("dns: dns.axfr: no tcp endpoint: is the dns service running?")
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dns: axfr %s: %w", zone, err)
	}
	conn := &dns.Conn{Conn: nc}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	m := new(dns.Msg)
	m.SetAxfr(zone)
	if err := conn.WriteMsg(m); err != nil {
		return fmt.Errorf("dns: axfr %s: %w", zone, err)
	}
	var records []dns.RR
	soas := 0
	for soas < 2 {
		r, err := conn.ReadMsg()
		if err != nil {
			if len(records) > 0 {
				return fmt.Errorf("dns: axfr %s: transfer without SOA at both ends (%d records, then: %v)", zone, len(records), err)
			}
			return fmt.Errorf("dns: axfr %s: %w", zone, err)
		}
		if r.Id != m.Id {
			return fmt.Errorf("dns: axfr %s: answer with id %d, expected %d", zone, r.Id, m.Id)
		}
		if r.Rcode != dns.RcodeSuccess || want >= 0 {
			switch {
			case want >= 0 && r.Rcode == want:
				return nil
			case want >= 0:
				return fmt.Errorf("dns: axfr %s: got %s, expected %s", zone, rcodeString(r.Rcode), rcodeString(want))
			default:
				return fmt.Errorf("dns: axfr %s: transfer refused: %s", zone, rcodeString(r.Rcode))
			}
		}
		for _, rr := range r.Answer {
			if len(records) == 0 {
				if _, ok := rr.(*dns.SOA); !ok || !strings.EqualFold(rr.Header().Name, zone) {
					return fmt.Errorf("dns: axfr %s: transfer without SOA at both ends (it starts with %s)", zone, rr)
				}
			}
			if soas == 2 {
				return fmt.Errorf("dns: axfr %s: records after the closing SOA", zone)
			}
			if _, ok := rr.(*dns.SOA); ok {
				soas++
			}
			records = append(records, rr)
		}
		if len(r.Answer) == 0 {
			return fmt.Errorf("dns: axfr %s: transfer without SOA at both ends (an empty message)", zone)
		}
	}
	return nil
}

// parseType reads a type as dig does: "A", "mx", "TYPE65534"; default A.
func parseType(s string) (uint16, error) {
	if s == "" {
		return dns.TypeA, nil
	}
	u := strings.ToUpper(s)
	if t, ok := dns.StringToType[u]; ok {
		return t, nil
	}
	if n, ok := strings.CutPrefix(u, "TYPE"); ok {
		if v, err := strconv.ParseUint(n, 10, 16); err == nil {
			return uint16(v), nil
		}
	}
	return 0, fmt.Errorf("dns: dns.query: unknown type %q (A, AAAA, MX, TXT, SRV, PTR... or TYPEnnn)", s)
}

// parseRcode reads an expected rcode name; -1 when none is given.
func parseRcode(s string) (int, error) {
	if s == "" {
		return -1, nil
	}
	u := strings.ToUpper(s)
	if u == "BADVERS" {
		return dns.RcodeBadVers, nil
	}
	if v, ok := dns.StringToRcode[u]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("dns: rcode %q: NOERROR, NXDOMAIN, REFUSED, FORMERR, NOTIMP, SERVFAIL...", s)
}
