package ws

import (
	"bytes"
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// Bounds of a zone file.
const (
	maxZoneBytes   = 1 << 20
	maxZoneRecords = 10000
	maxCNAMEChain  = 8
)

// directory is what LookupHost knows: the addresses, aliases and texts of
// the names of one DNS zone. It is read once and never changed.
type directory struct {
	origin string           // "lab.test.", lower case
	names  map[string]*host // by lower-case fully qualified name
}

// host is one name of the zone.
type host struct {
	addrs []netip.Addr // A then AAAA, in file order
	cname string       // the alias's target, fully qualified
	texts []string     // TXT strings
}

// answer is the result of a lookup.
type answer struct {
	name  string       // the canonical name, without the final dot
	addrs []netip.Addr // its addresses
	texts []string     // its TXT strings
}

// parseDirectory reads an RFC 1035 master file. $INCLUDE is refused (the
// parser's default), so only the named file is read. Errors name
// file:line.
func parseDirectory(file string, text []byte) (*directory, error) {
	if len(text) > maxZoneBytes {
		return nil, fmt.Errorf("zone file %s is %d bytes, more than the %d a lab zone may have", file, len(text), maxZoneBytes)
	}
	origin := fileOrigin(file)
	zp := dns.NewZoneParser(bytes.NewReader(text), origin, "")
	d := &directory{names: map[string]*host{}}
	n := 0
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if n++; n > maxZoneRecords {
			return nil, fmt.Errorf("zone file %s has more than %d records", file, maxZoneRecords)
		}
		h := rr.Header()
		name := strings.ToLower(h.Name)
		get := func() *host {
			x := d.names[name]
			if x == nil {
				x = &host{}
				d.names[name] = x
			}
			return x
		}
		switch r := rr.(type) {
		case *dns.SOA:
			if d.origin == "" {
				d.origin = name
			}
			get()
		case *dns.A:
			if a, ok := netip.AddrFromSlice(r.A.To4()); ok {
				get().addrs = append(get().addrs, a)
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(r.AAAA.To16()); ok {
				get().addrs = append(get().addrs, a)
			}
		case *dns.CNAME:
			get().cname = strings.ToLower(r.Target)
		case *dns.TXT:
			get().texts = append(get().texts, strings.Join(r.Txt, ""))
		default:
			get()
		}
	}
	if err := zp.Err(); err != nil {
		return nil, zoneError(file, err)
	}
	if d.origin == "" {
		return nil, fmt.Errorf("zone file %s has no SOA record: a zone starts with one (\"@ IN SOA ns1 hostmaster (...)\")", file)
	}
	for _, x := range d.names {
		// A stable order: IPv4 before IPv6, as LookupHost answers.
		v4 := x.addrs[:0:0]
		var v6 []netip.Addr
		for _, a := range x.addrs {
			if a.Is4() {
				v4 = append(v4, a)
			} else {
				v6 = append(v6, a)
			}
		}
		x.addrs = append(v4, v6...)
	}
	return d, nil
}

// fileOrigin derives an origin from a file name: "lab.test.zone" gives
// "lab.test.", so that a file without $ORIGIN still means something.
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

// zoneError turns the parser's "dns: bad A A: "1.2.3" at line: 9:11" into
// "file:9: bad A A: "1.2.3" (column 11)".
func zoneError(file string, err error) error {
	s := strings.TrimPrefix(err.Error(), "dns: ")
	const at = " at line: "
	i := strings.LastIndex(s, at)
	if i < 0 {
		return fmt.Errorf("%s: %s", file, s)
	}
	lineStr, col, _ := strings.Cut(s[i+len(at):], ":")
	line, cerr := strconv.Atoi(lineStr)
	if cerr != nil {
		return fmt.Errorf("%s: %s", file, s)
	}
	msg := s[:i]
	if col != "" && col != "0" {
		msg += " (column " + col + ")"
	}
	return fmt.Errorf("%s:%d: %s", file, line, msg)
}

// normalize turns what a learner typed into a fully qualified, lower-case
// name: "WWW.lab.test" and "www.lab.test." give "www.lab.test.", and a
// single label ("www") is taken inside the zone. ok is false for what is
// not a host name at all.
func (d *directory) normalize(name string) (string, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || len(name) > 254 || strings.ContainsAny(name, " \t\r\n\\\"()@;$") {
		return "", false
	}
	if _, ok := dns.IsDomainName(name); !ok || name == "." {
		return "", false
	}
	if !strings.Contains(strings.TrimSuffix(name, "."), ".") && !strings.HasSuffix(name, ".") {
		name += "." + d.origin
	}
	return dns.Fqdn(name), true
}

// lookup finds a name's addresses and texts, following aliases inside the
// zone. ok is false when the name has neither.
func (d *directory) lookup(fqdn string) (answer, bool) {
	name := fqdn
	for range maxCNAMEChain {
		x, found := d.names[name]
		if !found {
			return answer{}, false
		}
		if x.cname != "" {
			name = x.cname
			continue
		}
		a := answer{name: strings.TrimSuffix(name, "."), addrs: x.addrs, texts: x.texts}
		return a, len(a.addrs) > 0 || len(a.texts) > 0
	}
	return answer{}, false
}
