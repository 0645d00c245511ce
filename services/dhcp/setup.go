package dhcp

import (
	"fmt"
	"io/fs"
	"math/bits"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"protolab/internal/service"
	"protolab/internal/yamlx"
)

// Defaults: the lab network of the design (RFC 5737's 192.0.2.0/24).
var (
	defaultServer    = netip.MustParseAddr("192.0.2.1")
	defaultPoolStart = netip.MustParseAddr("192.0.2.100")
	defaultPoolEnd   = netip.MustParseAddr("192.0.2.199")
)

const (
	defaultPrefix    = 24
	defaultDomain    = "lab.test"
	defaultLeaseTime = 120 * time.Second // short, so that renewal (T1 = 60 s) can be watched
	minLeaseTime     = 10 * time.Second
	maxLeaseTime     = 7 * 24 * time.Hour
	maxPoolSize      = 1 << 16
	maxReservations  = 1024
	maxDNS           = 8
)

// options are the settings of the dhcp service in a lab file.
type options struct {
	Server       netip.Addr // our address, sent as the server identifier (option 54)
	Prefix       netip.Prefix
	Start, End   netip.Addr // the dynamic pool, inclusive
	Router       netip.Addr // option 3; invalid: none
	DNS          []netip.Addr
	Domain       string
	LeaseTime    time.Duration
	Reservations []reservation
	// Extra are options sent only to clients that ask for them (option 55).
	Extra map[uint8][]byte
}

// reservation is a fixed address for one client.
type reservation struct {
	MAC      string // canonical form: "02:00:00:00:00:42"
	IP       netip.Addr
	Hostname string
}

// optionNames are the options a lab file may give.
var optionNames = []string{"server", "pool", "netmask", "router", "dns", "domain", "lease_time", "reservations", "options"}

// extraNames are the optional DHCP options a lab may offer, by lab-file name.
var extraNames = map[string]uint8{
	"ntp": 42, "broadcast": 28, "mtu": 26, "time_offset": 2, "tftp_server": 66, "bootfile": 67, "domain_search": 119,
}

// load reads and checks the options.
func load(opts *yaml.Node, _ fs.FS) (service.Prepared, error) {
	o, err := decodeOptions(opts)
	if err != nil {
		return nil, err
	}
	return &prepared{o: o}, nil
}

// defaultOptions are the lab network's settings.
func defaultOptions() options {
	return options{
		Server:    defaultServer,
		Prefix:    netip.PrefixFrom(defaultServer, defaultPrefix).Masked(),
		Start:     defaultPoolStart,
		End:       defaultPoolEnd,
		Router:    defaultServer,
		DNS:       []netip.Addr{defaultServer},
		Domain:    defaultDomain,
		LeaseTime: defaultLeaseTime,
		Extra:     map[uint8][]byte{},
	}
}

// decodeOptions reads the options strictly: an unknown option, a value of
// the wrong type, an address outside the network, all are errors naming
// their line. Absent options take the lab network's defaults.
func decodeOptions(n *yaml.Node) (options, error) {
	o := defaultOptions()
	n = yamlx.Resolve(n)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return o, o.check(nil)
	}
	fields, _, err := yamlx.Mapping(n, "dhcp options", optionNames...)
	if err != nil {
		return o, err
	}
	str := func(name string) (string, *yaml.Node, bool, error) {
		f, ok := fields[name]
		if !ok {
			return "", nil, false, nil
		}
		s, err := yamlx.String(f.Value, name)
		return strings.TrimSpace(s), f.Value, true, err
	}
	if s, at, ok, err := str("server"); err != nil {
		return o, err
	} else if ok {
		if o.Server, err = parseIPv4(s); err != nil {
			return o, yamlx.Errorf(at, "server: %v", err)
		}
	}
	bitsLen := defaultPrefix
	if s, at, ok, err := str("netmask"); err != nil {
		return o, err
	} else if ok {
		if bitsLen, err = parseNetmask(s); err != nil {
			return o, yamlx.Errorf(at, "netmask: %v", err)
		}
	}
	o.Prefix = netip.PrefixFrom(o.Server, bitsLen).Masked()
	if _, ok := fields["server"]; ok {
		// A lab on another network: defaults follow the server.
		o.Router, o.DNS = o.Server, []netip.Addr{o.Server}
	}
	if s, at, ok, err := str("pool"); err != nil {
		return o, err
	} else if ok {
		first, last, found := strings.Cut(s, "-")
		if !found {
			return o, yamlx.Errorf(at, "pool: %q: give the first and last addresses, e.g. 192.0.2.100-192.0.2.199", s)
		}
		if o.Start, err = parseIPv4(strings.TrimSpace(first)); err == nil {
			o.End, err = parseIPv4(strings.TrimSpace(last))
		}
		if err != nil {
			return o, yamlx.Errorf(at, "pool: %v", err)
		}
	}
	if f, ok := fields["router"]; ok {
		s, err := yamlx.String(f.Value, "router")
		if err != nil {
			return o, err
		}
		if s == "none" || s == "" {
			o.Router = netip.Addr{}
		} else if o.Router, err = parseIPv4(s); err != nil {
			return o, yamlx.Errorf(f.Value, "router: %v (or none)", err)
		}
	}
	if f, ok := fields["dns"]; ok {
		list, err := yamlx.Strings(f.Value, "dns")
		if err != nil {
			return o, err
		}
		if len(list) > maxDNS {
			return o, yamlx.Errorf(f.Value, "dns: at most %d servers", maxDNS)
		}
		o.DNS = nil
		for _, s := range list {
			a, err := parseIPv4(s)
			if err != nil {
				return o, yamlx.Errorf(f.Value, "dns: %v", err)
			}
			o.DNS = append(o.DNS, a)
		}
	}
	if s, at, ok, err := str("domain"); err != nil {
		return o, err
	} else if ok {
		if !validDomain(s) {
			return o, yamlx.Errorf(at, "domain: %q is not a domain name such as lab.test", s)
		}
		o.Domain = strings.TrimSuffix(s, ".")
	}
	if s, at, ok, err := str("lease_time"); err != nil {
		return o, err
	} else if ok {
		d, err := parseDuration(s)
		if err != nil || d < minLeaseTime || d > maxLeaseTime {
			return o, yamlx.Errorf(at, "lease_time: %q: give a duration from %s to %s, such as 120s or 1h", s, minLeaseTime, "168h")
		}
		o.LeaseTime = d
	}
	if f, ok := fields["reservations"]; ok {
		if o.Reservations, err = decodeReservations(f.Value); err != nil {
			return o, err
		}
	}
	if f, ok := fields["options"]; ok {
		if o.Extra, err = decodeExtra(f.Value); err != nil {
			return o, err
		}
	}
	return o, o.check(fields)
}

// check verifies that the addresses fit together: pool, server, router and
// reservations inside the network and apart from each other.
func (o *options) check(fields map[string]yamlx.Field) error {
	at := func(name string) *yaml.Node {
		if f, ok := fields[name]; ok {
			return f.Value
		}
		return nil
	}
	p := o.Prefix
	if p.Bits() > 30 {
		return yamlx.Errorf(at("netmask"), "netmask: /%d leaves no room for clients; use /30 or shorter", p.Bits())
	}
	bcast := broadcastOf(p)
	usable := func(a netip.Addr) bool { return p.Contains(a) && a != p.Addr() && a != bcast }
	if !usable(o.Server) {
		return yamlx.Errorf(at("server"), "server: %s is not a host address of its network %s", o.Server, p)
	}
	if !usable(o.Start) || !usable(o.End) {
		return yamlx.Errorf(at("pool"), "pool: %s-%s must be host addresses inside the network %s (server and netmask)", o.Start, o.End, p)
	}
	if o.End.Less(o.Start) {
		return yamlx.Errorf(at("pool"), "pool: the first address %s comes after the last %s", o.Start, o.End)
	}
	if size := ipU32(o.End) - ipU32(o.Start) + 1; size > maxPoolSize {
		return yamlx.Errorf(at("pool"), "pool: %d addresses; at most %d", size, maxPoolSize)
	}
	if !o.Server.Less(o.Start) && !o.End.Less(o.Server) {
		return yamlx.Errorf(at("pool"), "pool: %s-%s contains the server's own address %s; leave it out", o.Start, o.End, o.Server)
	}
	if o.Router.IsValid() && !usable(o.Router) {
		return yamlx.Errorf(at("router"), "router: %s is not a host address of the network %s: clients could not reach it", o.Router, p)
	}
	seen := map[netip.Addr]bool{}
	for _, r := range o.Reservations {
		if !usable(r.IP) || r.IP == o.Server {
			return yamlx.Errorf(at("reservations"), "reservations: %s (for %s) is not a free host address of the network %s", r.IP, r.MAC, p)
		}
		if seen[r.IP] {
			return yamlx.Errorf(at("reservations"), "reservations: %s is reserved twice", r.IP)
		}
		seen[r.IP] = true
	}
	return nil
}

// decodeReservations reads [{mac: 02:00:00:00:00:42, ip: 192.0.2.42, hostname: pc42}].
func decodeReservations(n *yaml.Node) ([]reservation, error) {
	items, err := yamlx.Sequence(n, "reservations")
	if err != nil {
		return nil, err
	}
	if len(items) > maxReservations {
		return nil, yamlx.Errorf(n, "reservations: at most %d", maxReservations)
	}
	var out []reservation
	macs := map[string]int{}
	for _, it := range items {
		fields, _, err := yamlx.Mapping(it, "reservation", "mac", "ip", "hostname")
		if err != nil {
			return nil, err
		}
		var r reservation
		for _, k := range []string{"mac", "ip"} {
			if _, ok := fields[k]; !ok {
				return nil, yamlx.Errorf(it, "reservation: %s is required ({mac: 02:00:00:00:00:42, ip: 192.0.2.42})", k)
			}
		}
		s, err := yamlx.String(fields["mac"].Value, "mac")
		if err != nil {
			return nil, err
		}
		hw, err := net.ParseMAC(strings.TrimSpace(s))
		if err != nil || len(hw) != 6 {
			return nil, yamlx.Errorf(fields["mac"].Value, "reservation: mac %q: an Ethernet address such as 02:00:00:00:00:42 is expected", s)
		}
		r.MAC = hw.String()
		if line, dup := macs[r.MAC]; dup {
			return nil, yamlx.Errorf(fields["mac"].Value, "reservation: %s already has an address (line %d)", r.MAC, line)
		}
		macs[r.MAC] = fields["mac"].Value.Line
		if s, err = yamlx.String(fields["ip"].Value, "ip"); err != nil {
			return nil, err
		}
		if r.IP, err = parseIPv4(s); err != nil {
			return nil, yamlx.Errorf(fields["ip"].Value, "reservation: ip: %v", err)
		}
		if f, ok := fields["hostname"]; ok {
			if r.Hostname, err = yamlx.String(f.Value, "hostname"); err != nil {
				return nil, err
			}
			if !validDomain(r.Hostname) || len(r.Hostname) > 63 {
				return nil, yamlx.Errorf(f.Value, "reservation: hostname %q: letters, digits and dashes are expected, e.g. pc42", r.Hostname)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// decodeExtra reads the optional options: {ntp: [192.0.2.1], broadcast: 192.0.2.255, mtu: 1500, ...}.
func decodeExtra(n *yaml.Node) (map[uint8][]byte, error) {
	known := make([]string, 0, len(extraNames))
	for k := range extraNames {
		known = append(known, k)
	}
	fields, order, err := yamlx.Mapping(n, "options", known...)
	if err != nil {
		return nil, err
	}
	out := map[uint8][]byte{}
	for _, name := range order {
		v := fields[name].Value
		code := extraNames[name]
		var b []byte
		switch name {
		case "ntp":
			list, err := yamlx.Strings(v, name)
			if err != nil {
				return nil, err
			}
			if len(list) == 0 || len(list) > maxDNS {
				return nil, yamlx.Errorf(v, "options: ntp: give 1 to %d addresses", maxDNS)
			}
			for _, s := range list {
				a, err := parseIPv4(s)
				if err != nil {
					return nil, yamlx.Errorf(v, "options: ntp: %v", err)
				}
				b = append(b, a.AsSlice()...)
			}
		case "broadcast":
			s, err := yamlx.String(v, name)
			if err != nil {
				return nil, err
			}
			a, err := parseIPv4(s)
			if err != nil {
				return nil, yamlx.Errorf(v, "options: broadcast: %v", err)
			}
			b = a.AsSlice()
		case "mtu":
			m, err := yamlx.Int(v, name)
			if err != nil {
				return nil, err
			}
			if m < 68 || m > 65535 {
				return nil, yamlx.Errorf(v, "options: mtu: %d: from 68 to 65535 (RFC 2132 §5.1)", m)
			}
			b = []byte{byte(m >> 8), byte(m)}
		case "time_offset":
			s, err := yamlx.String(v, name)
			if err != nil {
				return nil, err
			}
			sec, err := strconv.ParseInt(s, 10, 32)
			if err != nil || sec < -86400 || sec > 86400 {
				return nil, yamlx.Errorf(v, "options: time_offset: %q: seconds east of UTC, e.g. 3600", s)
			}
			u := uint32(int32(sec))
			b = []byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}
		case "tftp_server", "bootfile":
			s, err := yamlx.String(v, name)
			if err != nil {
				return nil, err
			}
			if s == "" || len(s) > 255 {
				return nil, yamlx.Errorf(v, "options: %s: 1 to 255 characters", name)
			}
			b = []byte(s)
		case "domain_search":
			list, err := yamlx.Strings(v, name)
			if err != nil {
				return nil, err
			}
			for _, s := range list {
				if !validDomain(s) {
					return nil, yamlx.Errorf(v, "options: domain_search: %q is not a domain name", s)
				}
			}
			b = encodeDomainList(list)
			if len(b) > 255 {
				return nil, yamlx.Errorf(v, "options: domain_search: the list is too long")
			}
		}
		out[code] = b
	}
	return out, nil
}

// encodeDomainList writes names as RFC 1035 labels, without compression
// (RFC 3397 allows it; clients read both).
func encodeDomainList(names []string) []byte {
	var b []byte
	for _, n := range names {
		for _, l := range strings.Split(strings.TrimSuffix(n, "."), ".") {
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
		b = append(b, 0)
	}
	return b
}

// parseIPv4 reads a dotted IPv4 address.
func parseIPv4(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 address such as 192.0.2.1", s)
	}
	return a, nil
}

// parseNetmask reads 255.255.255.0, /24 or 24.
func parseNetmask(s string) (int, error) {
	t := strings.TrimPrefix(s, "/")
	if n, err := strconv.Atoi(t); err == nil {
		if n < 8 || n > 30 {
			return 0, fmt.Errorf("/%d: give a prefix length from 8 to 30", n)
		}
		return n, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, fmt.Errorf("%q: give a mask such as 255.255.255.0 or /24", s)
	}
	m := ipU32(a)
	ones := bits.LeadingZeros32(^m)
	if m<<ones != 0 || ones < 8 || ones > 30 {
		return 0, fmt.Errorf("%q is not a contiguous mask from /8 to /30", s)
	}
	return ones, nil
}

// parseDuration reads "120s", "2m", "1h" or a number of seconds.
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// validDomain reports whether s is a plain DNS name (letters, digits, dashes).
func validDomain(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// ipU32 is an IPv4 address as a number.
func ipU32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// u32IP is the inverse of ipU32.
func u32IP(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// broadcastOf is the directed broadcast address of a network.
func broadcastOf(p netip.Prefix) netip.Addr {
	return u32IP(ipU32(p.Addr()) | (1<<(32-p.Bits()) - 1))
}

// mask is the prefix's netmask.
func (o *options) mask() net.IPMask { return net.CIDRMask(o.Prefix.Bits(), 32) }
