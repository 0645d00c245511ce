package dhcp

import (
	"fmt"
	"strconv"
	"strings"
)

// optionName names the DHCP options a learner meets (RFC 2132 and later);
// events list a client's parameter request list with these names.
var optionName = map[uint8]string{
	1: "subnet-mask", 2: "time-offset", 3: "router", 4: "time-server", 6: "dns", 7: "log-server",
	12: "hostname", 15: "domain-name", 17: "root-path", 23: "ip-ttl", 26: "mtu", 28: "broadcast",
	31: "router-discovery", 33: "static-route", 40: "nis-domain", 41: "nis-servers", 42: "ntp",
	43: "vendor-specific", 44: "netbios-ns", 46: "netbios-node-type", 47: "netbios-scope",
	50: "requested-ip", 51: "lease-time", 54: "server-id", 58: "renewal-time", 59: "rebinding-time",
	60: "vendor-class", 66: "tftp-server", 67: "bootfile", 69: "smtp-server", 72: "www-server",
	100: "posix-timezone", 101: "tzdb-timezone", 108: "ipv6-only", 114: "captive-portal",
	119: "domain-search", 121: "classless-route", 162: "dns-over-tls", 249: "ms-classless-route", 252: "wpad",
}

// optionAlias are the other names `--params` and solve steps accept.
var optionAlias = map[string]uint8{
	"mask": 1, "netmask": 1, "gateway": 3, "dns-server": 6, "domain-name-server": 6, "host-name": 12,
	"domain": 15, "ntp-server": 42, "lease": 51, "t1": 58, "t2": 59, "search": 119,
}

// nameOf names an option code: "dns", or "option-N" when unknown.
func nameOf(code uint8) string {
	if n, ok := optionName[code]; ok {
		return n
	}
	return "option-" + strconv.Itoa(int(code))
}

// requestedNames is a parameter request list as names, space-separated.
func requestedNames(codes []uint8) string {
	var b strings.Builder
	for i, c := range codes {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(nameOf(c))
	}
	return b.String()
}

// ParseParams reads a comma-separated list of options to ask for: names
// ("dns,domain,router"), aliases or numbers ("6,15").
func ParseParams(s string) ([]uint8, error) {
	var out []uint8
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		code, ok := optionAlias[f]
		if !ok {
			for c, n := range optionName {
				if n == f {
					code, ok = c, true
					break
				}
			}
		}
		if !ok {
			n, err := strconv.Atoi(strings.TrimPrefix(f, "option-"))
			if err != nil || n < 1 || n > 254 {
				return nil, fmt.Errorf("unknown option %q: give names such as subnet-mask, router, dns, domain, ntp, broadcast, or numbers from 1 to 254", f)
			}
			code = uint8(n)
		}
		out = append(out, code)
	}
	return out, nil
}
