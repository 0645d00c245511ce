package dns

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// Bounds on what a zone file may hold. Lab zones are a few dozen records;
// the bounds only keep a broken or hostile file from eating the machine
// ($GENERATE can expand one line into thousands of records).
const (
	maxZoneBytes   = 4 << 20
	maxZoneRecords = 100_000
)

// zone is one zone as read from its master file and checked: immutable once
// loaded, shared by every query without locks.
type zone struct {
	origin  string   // apex, lower-case, fully qualified
	file    string   // as named in the lab file, for messages
	soa     *dns.SOA // the apex SOA
	records []dns.RR // SOA first, then the file order, duplicates removed
	lines   []int    // line in file of each record

	nodata   *result    // NOERROR, empty answer, SOA in authority
	nxdomain *result    // NXDOMAIN, SOA in authority
	xfr      [][]dns.RR // AXFR messages: SOA first and last
	xfrCount int        // records in the transfer
}

// zoneError is a problem in a zone file, located at file:line.
type zoneError struct {
	file string
	line int
	msg  string
}

func (e *zoneError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
	}
	return e.file + ": " + e.msg
}

// lineCounter hands the zone parser one byte at a time (the parser uses an
// io.ByteReader as is, without buffering) and counts the newlines consumed,
// which tells on which line each record ended.
type lineCounter struct {
	r     *bytes.Reader
	lines int
}

func (c *lineCounter) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil && b == '\n' {
		c.lines++
	}
	return b, err
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.lines += bytes.Count(p[:n], []byte{'\n'})
	return n, err
}

// parseZone reads a zone in RFC 1035 master file format and checks it: one
// SOA at the apex, NS at the apex (with addresses when the name servers are
// inside the zone), CNAME alone at its name, every owner inside the zone,
// class IN. The origin is the first $ORIGIN of the file, else the file name
// without ".zone".
func parseZone(file string, text []byte) (*zone, error) {
	if len(text) > maxZoneBytes {
		return nil, &zoneError{file: file, msg: fmt.Sprintf("zone file is %d bytes, more than the %d a lab zone may have", len(text), maxZoneBytes)}
	}
	lines := strings.Split(string(text), "\n")
	initial := fileOrigin(file)
	origin := leadingOrigin(lines, initial)
	if origin == "" {
		return nil, &zoneError{file: file, msg: "no origin: start the file with \"$ORIGIN name.\" or name it after the zone (e.g. lab.test.zone)"}
	}
	if _, ok := dns.IsDomainName(origin); !ok {
		return nil, &zoneError{file: file, msg: fmt.Sprintf("origin %q is not a valid domain name", origin)}
	}
	origin = strings.ToLower(dns.Fqdn(origin))

	z := &zone{origin: origin, file: file}
	counter := &lineCounter{r: bytes.NewReader(text)}
	// The parser starts where leadingOrigin started, so that a relative
	// $ORIGIN means the same to both.
	zp := dns.NewZoneParser(counter, initial, "")
	seen := make(map[string]struct{})
	prevEnd := 0
	var soaLine int
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		end := counter.lines
		if counter.r.Len() == 0 && !bytes.HasSuffix(text, []byte{'\n'}) {
			end++ // the last record has no newline after it
		}
		line := startLine(lines, prevEnd, end)
		prevEnd = end

		h := rr.Header()
		h.Name = strings.ToLower(h.Name)
		if h.Class != dns.ClassINET {
			return nil, &zoneError{file, line, fmt.Sprintf("%s: class %s is not served, only IN", h.Name, dns.Class(h.Class))}
		}
		if !dns.IsSubDomain(origin, h.Name) {
			return nil, &zoneError{file, line, fmt.Sprintf("%s is outside the zone %s (every name in this file must end with %s)", h.Name, origin, origin)}
		}
		switch t := rr.(type) {
		case *dns.SOA:
			if h.Name != origin {
				return nil, &zoneError{file, line, fmt.Sprintf("SOA at %s, but a zone has its SOA at its apex %s", h.Name, origin)}
			}
			if z.soa != nil {
				return nil, &zoneError{file, line, fmt.Sprintf("second SOA record (the first is at line %d); a zone has exactly one", soaLine)}
			}
			z.soa, soaLine = t, line
		case *dns.DNAME:
			return nil, &zoneError{file, line, "DNAME records are not supported by the lab server"}
		case *dns.OPT, *dns.TSIG, *dns.TKEY, *dns.ANY:
			return nil, &zoneError{file, line, fmt.Sprintf("%s is a meta type, not zone data", dns.Type(h.Rrtype))}
		}
		key := rr.String()
		if _, dup := seen[key]; dup {
			continue // RFC 2181 §5: an RRset holds no duplicates
		}
		seen[key] = struct{}{}
		if len(z.records) == maxZoneRecords {
			return nil, &zoneError{file, line, fmt.Sprintf("more than %d records", maxZoneRecords)}
		}
		z.records = append(z.records, rr)
		z.lines = append(z.lines, line)
	}
	if err := zp.Err(); err != nil {
		return nil, parseError(file, err)
	}
	if z.soa == nil {
		return nil, &zoneError{file: file, msg: fmt.Sprintf("no SOA record for %s: a zone starts with one (\"@ IN SOA ns1 hostmaster 1 3600 600 86400 300\")", origin)}
	}
	if err := z.check(); err != nil {
		return nil, err
	}
	z.putSOAFirst()
	neg := dns.Copy(z.soa).(*dns.SOA)
	neg.Hdr.Ttl = min(neg.Hdr.Ttl, neg.Minttl) // RFC 2308 §3
	z.nodata = &result{aa: true, ns: []dns.RR{neg}}
	z.nxdomain = &result{rcode: dns.RcodeNameError, aa: true, ns: []dns.RR{neg}}
	z.buildTransfer()
	return z, nil
}

// check applies the rules that need the whole zone: NS at the apex, NS
// targets inside the zone have addresses, CNAME alone at its name.
func (z *zone) check() error {
	// owners maps each name to its types, each with the line of its first
	// record.
	owners := make(map[string]map[uint16]int)
	for i, rr := range z.records {
		h := rr.Header()
		types := owners[h.Name]
		if types == nil {
			types = make(map[uint16]int)
			owners[h.Name] = types
		}
		if first, dup := types[h.Rrtype]; dup && h.Rrtype == dns.TypeCNAME {
			return &zoneError{z.file, z.lines[i], fmt.Sprintf("second CNAME at %s (the first is at line %d); a name has at most one", h.Name, first)}
		}
		if _, ok := types[h.Rrtype]; !ok {
			types[h.Rrtype] = z.lines[i]
		}
	}
	for i, rr := range z.records {
		h := rr.Header()
		if cl, ok := owners[h.Name][dns.TypeCNAME]; ok {
			switch h.Rrtype {
			case dns.TypeCNAME, dns.TypeRRSIG, dns.TypeNSEC: // RFC 4035 §2.5
			default:
				l := z.lines[i]
				return &zoneError{z.file, max(cl, l), fmt.Sprintf("%s has a CNAME (line %d) and %s data (line %d): a CNAME must be alone at its name (RFC 1034 §3.6.2)", h.Name, cl, dns.Type(h.Rrtype), l)}
			}
		}
		if ns, ok := rr.(*dns.NS); ok {
			target := strings.ToLower(ns.Ns)
			if dns.IsSubDomain(z.origin, target) {
				_, a := owners[target][dns.TypeA]
				_, aaaa := owners[target][dns.TypeAAAA]
				if !a && !aaaa {
					return &zoneError{z.file, z.lines[i], fmt.Sprintf("name server %s is inside the zone but has no A or AAAA record (add its address: resolvers need it as glue)", target)}
				}
			}
		}
	}
	if _, ok := owners[z.origin][dns.TypeNS]; !ok {
		return &zoneError{file: z.file, msg: fmt.Sprintf("no NS record at the apex %s: add one (\"@ IN NS ns1\")", z.origin)}
	}
	return nil
}

// putSOAFirst moves the SOA to the front, where a transfer starts.
func (z *zone) putSOAFirst() {
	for i, rr := range z.records {
		if rr == dns.RR(z.soa) {
			copy(z.records[1:i+1], z.records[:i])
			z.records[0] = rr
			l := z.lines[i]
			copy(z.lines[1:i+1], z.lines[:i])
			z.lines[0] = l
			return
		}
	}
}

// maxXFRMessage keeps each AXFR message well under the 64 KiB a TCP DNS
// message can carry.
const maxXFRMessage = 16 << 10

// buildTransfer cuts SOA, records..., SOA into AXFR messages once, at load.
func (z *zone) buildTransfer() {
	all := make([]dns.RR, 0, len(z.records)+1)
	all = append(all, z.records...)
	all = append(all, z.soa)
	z.xfrCount = len(all)
	size := 0
	start := 0
	for i, rr := range all {
		l := dns.Len(rr)
		if size+l > maxXFRMessage && i > start {
			z.xfr = append(z.xfr, all[start:i:i])
			start, size = i, 0
		}
		size += l
	}
	z.xfr = append(z.xfr, all[start:len(all):len(all)])
}

// leadingOrigin returns the first $ORIGIN found before any record, else
// fallback.
func leadingOrigin(lines []string, fallback string) string {
	for _, l := range lines {
		l = stripComment(l)
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if !strings.HasPrefix(l, "$") {
			break // a record: the origin can no longer change before it
		}
		switch strings.ToUpper(f[0]) {
		case "$ORIGIN":
			if len(f) < 2 {
				return fallback
			}
			o := f[1]
			if !strings.HasSuffix(o, ".") && fallback != "" {
				o += "." + fallback
			}
			return o
		case "$TTL":
			continue
		default:
			return fallback
		}
	}
	return fallback
}

// fileOrigin derives an origin from a file name: "zones/lab.test.zone" gives
// "lab.test.".
func fileOrigin(file string) string {
	base := strings.TrimSuffix(path.Base(file), ".zone")
	if base == "" || base == "." || base == "/" {
		return ""
	}
	if _, ok := dns.IsDomainName(base); !ok {
		return ""
	}
	return dns.Fqdn(base)
}

// stripComment removes a ';' comment (outside quotes) and leading space.
func stripComment(l string) string {
	quoted := false
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				return strings.TrimSpace(l[:i])
			}
		}
	}
	return strings.TrimSpace(l)
}

// startLine finds the line (1-based) where the record that ended on line end
// began: the first line after the previous record with data on it.
func startLine(lines []string, prevEnd, end int) int {
	for n := prevEnd + 1; n <= end && n <= len(lines); n++ {
		l := stripComment(lines[n-1])
		if l != "" && !strings.HasPrefix(l, "$") && !strings.HasPrefix(l, ")") {
			return n
		}
	}
	return max(end, 1)
}

// parseError turns the parser's "dns: bad A A: "1.2.3" at line: 9:11" into
// "file:9:11: bad A A: "1.2.3"".
func parseError(file string, err error) error {
	s := strings.TrimPrefix(err.Error(), "dns: ")
	const at = " at line: "
	i := strings.LastIndex(s, at)
	if i < 0 {
		return &zoneError{file: file, msg: s}
	}
	pos := s[i+len(at):]
	lineStr, col, _ := strings.Cut(pos, ":")
	line, convErr := strconv.Atoi(lineStr)
	if convErr != nil {
		return &zoneError{file: file, msg: s}
	}
	msg := s[:i]
	if col != "" && col != "0" {
		msg += " (column " + col + ")"
	}
	return &zoneError{file: file, line: line, msg: msg}
}
