package dhcp

import (
	"fmt"
	"net"
	"strings"

	"protolab/internal/service"
)

// withRoster returns o with the runner's reservations (a class's roster:
// service.Runtime.Reservations) added to the lab file's. Those whose
// address is not an IPv4 address of o's network are left out: the roster
// may place learners elsewhere. A reservation that disagrees with the lab
// file's or another of the roster's (same MAC, other address; same
// address, other MAC) is an error naming both.
func (o options) withRoster(rs []service.Reservation) (options, error) {
	if len(rs) == 0 {
		return o, nil
	}
	bcast := broadcastOf(o.Prefix)
	out := append([]reservation(nil), o.Reservations...)
	from := make([]string, len(out)) // "" for the lab file's, else the learner
	byMAC, byIP := map[string]int{}, map[uint32]int{}
	for i, r := range out {
		byMAC[r.MAC], byIP[ipU32(r.IP)] = i, i
	}
	who := func(i int) string {
		if from[i] == "" {
			return "the lab file's reservation"
		}
		return "learner " + from[i]
	}
	for _, sr := range rs {
		ip := sr.IP.Unmap()
		if !ip.Is4() || !o.Prefix.Contains(ip) {
			continue
		}
		hw, err := net.ParseMAC(sr.MAC)
		if err != nil || len(hw) != 6 {
			return o, fmt.Errorf("dhcp: learner %s: mac %q is not an Ethernet address; fix it in the roster, e.g. 02:00:00:00:01:01", sr.Learner, sr.MAC)
		}
		mac := hw.String()
		if ip == o.Prefix.Addr() || ip == bcast || ip == o.Server {
			return o, fmt.Errorf("dhcp: learner %s: address %s is not a free host address of the network %s (the server is %s); give the learner another address in the roster",
				sr.Learner, ip, o.Prefix, o.Server)
		}
		i, sameMAC := byMAC[mac]
		j, sameIP := byIP[ipU32(ip)]
		switch {
		case sameMAC && sameIP && i == j:
			continue // the same reservation twice: the first one's host name stays
		case sameMAC:
			return o, fmt.Errorf("dhcp: learner %s: the roster gives mac %s the address %s, but %s gives it %s; make them agree",
				sr.Learner, mac, ip, who(i), out[i].IP)
		case sameIP:
			return o, fmt.Errorf("dhcp: learner %s: the roster gives the address %s to mac %s, but %s gives it to mac %s; make them agree",
				sr.Learner, ip, mac, who(j), out[j].MAC)
		}
		if len(out) >= maxReservations {
			return o, fmt.Errorf("dhcp: more than %d reservations with the roster's learners; reserve fewer addresses", maxReservations)
		}
		byMAC[mac], byIP[ipU32(ip)] = len(out), len(out)
		out = append(out, reservation{MAC: mac, IP: ip, Hostname: hostLabel(sr.Host)})
		from = append(from, sr.Learner)
	}
	o.Reservations = out
	return o, nil
}

// hostLabel is the host name told to a reserved client (option 12): the
// first label of name, or "" when that is not a valid one.
func hostLabel(name string) string {
	name, _, _ = strings.Cut(name, ".")
	if len(name) > 63 || !validDomain(name) {
		return ""
	}
	return name
}
