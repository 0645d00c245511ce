// Package sandbox builds the lab network on Linux: a network namespace for
// the lab server (192.0.2.1 and 2001:db8:89::1, and the other addresses the
// lab's zone gives its hosts) joined by a veth pair to a learner namespace
// whose interface is lab0. Nothing of it is ever on the host: both ends of
// the veth live in namespaces that only a small holder process keeps, so
// when the lab stops — or is killed — the kernel removes everything.
//
// The holder is the lab binary started again with HolderArg, in new
// network, mount and UTS namespaces (and a user namespace when not root).
// The lab process stays in the host's namespaces, where its web console
// listens, and asks the holder over a socket pair for the sockets its
// services listen on: the holder opens them in the lab server's namespace
// and passes the descriptors back. `lab shell` and `lab solve` ask the
// holder, over a Unix socket in the state directory, to start a process in
// the learner's namespace, where /etc/resolv.conf points to the lab DNS
// (bind-mounted in the holder's private mount namespace, never the host's
// file).
package sandbox

import (
	"errors"
	"log/slog"
	"net/netip"
	"strings"
)

// Addresses and names of the lab network (a contract: lessons, hints and
// tests use them).
const (
	ServerIPv4  = "192.0.2.1"
	ServerIPv6  = "2001:db8:89::1"
	LearnerIPv4 = "192.0.2.10"
	LearnerIPv6 = "2001:db8:89::10"
	PrefixV4    = 24
	PrefixV6    = 64
	LearnerLink = "lab0" // the learner's interface
	ServerLink  = "srv0" // the lab server's end of the link
	LearnerHost = "learner"
	LearnerMAC  = "02:00:00:00:00:10"
	ServerMAC   = "02:00:00:00:00:01"
	Domain      = "lab.test"
)

// hostSuffixes are the last numbers of the lab zone's hosts (mail .25,
// ns1 .53, www .80, files .45, printer .60): the lab server answers on all
// of them, so every name of lab.test reaches a lab service.
var hostSuffixes = []byte{25, 53, 80, 45, 60}

// ServerAddrs returns every address of the lab server, IPv4 then IPv6.
func ServerAddrs() []netip.Addr {
	v4 := netip.MustParseAddr(ServerIPv4).As4()
	v6 := netip.MustParseAddr(ServerIPv6).As16()
	out := []netip.Addr{netip.AddrFrom4(v4)}
	for _, s := range hostSuffixes {
		a := v4
		a[3] = s
		out = append(out, netip.AddrFrom4(a))
	}
	out = append(out, netip.AddrFrom16(v6))
	for _, s := range hostSuffixes {
		a := v6
		a[15] = hexLike(s)
		out = append(out, netip.AddrFrom16(a))
	}
	return out
}

// hostNames are the lab zone's hosts, by the last number of their address.
var hostNames = map[byte]string{1: "rtr1", 25: "mail", 53: "ns1", 80: "www webmail", 45: "files", 60: "printer"}

// hostsFile is /etc/hosts as the learner's programs see it in the lab
// network: the lab's names, as the lab zone gives them.
func hostsFile() string {
	var b strings.Builder
	b.WriteString("# The lab network's hosts (the same as in the lab.test zone).\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString(LearnerIPv4 + "\t" + LearnerHost + "." + Domain + " " + LearnerHost + "\n")
	for _, a := range ServerAddrs() {
		var last byte
		if a.Is4() {
			last = a.As4()[3]
		} else {
			last = a.As16()[15]
			last = last/16*10 + last%16
		}
		var names []string
		for _, n := range strings.Fields(hostNames[last]) {
			names = append(names, n+"."+Domain, n)
		}
		b.WriteString(a.String() + "\t" + strings.Join(names, " ") + "\n")
	}
	return b.String()
}

// hexLike maps 25 to 0x25: the zone writes 2001:db8:89::25 for 192.0.2.25.
func hexLike(n byte) byte { return n/10*16 + n%10 }

// Options say how to build the lab network.
type Options struct {
	Dir    string // the lab's state directory: control socket, resolv.conf
	NoIPv4 bool   // leave lab0 without an IPv4 address (the DHCP lab)
	Log    *slog.Logger
}

// HolderArg is the first argument that makes the lab binary run as the
// holder of a lab network (see RunHolder). It is not a command for people.
const HolderArg = "__sandbox-holder"

// SocketName is the holder's Unix socket in the state directory.
const SocketName = "sandbox.sock"

// ErrUnsupported is returned where no lab network can be built.
var ErrUnsupported = errors.New("the lab network (--sandbox) needs Linux; without it, run the lab on loopback (and, for DHCP, use lab dhcp-client)")

// ExecRequest asks the holder to run a program in the learner's namespace.
type ExecRequest struct {
	Argv []string `json:"argv"` // absolute path first
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
	TTY  bool     `json:"tty"` // give it a terminal (an interactive shell)
	Rows uint16   `json:"rows,omitempty"`
	Cols uint16   `json:"cols,omitempty"`
}
