// Package dhcp is the lab's DHCPv4 server (RFC 2131, RFC 2132): it hands out
// addresses of the lab network 192.0.2.0/24 from a pool, with the lab's
// router, DNS server and domain, keeps the leases in the state database so
// that they survive a restart, and emits an event for every message of the
// DISCOVER, OFFER, REQUEST, ACK ladder, so a learner sees DORA happen.
//
// Without a lab network it serves on loopback only (127.0.0.1:1067 by
// default) and answers each client at the address it wrote from; with one
// (Runtime.Interface set) it is bound to that link and answers as RFC 2131
// §4.1 says: broadcast to a client with no address yet, unicast to one that
// renews, to the relay when there is one. It never answers on an interface
// that was not named.
package dhcp

import (
	"protolab/internal/event"
	"protolab/internal/service"
)

// Event kinds.
const (
	KindDiscover = "dhcp.discover"
	KindOffer    = "dhcp.offer"
	KindRequest  = "dhcp.request"
	KindAck      = "dhcp.ack"
	KindNak      = "dhcp.nak"
	KindRelease  = "dhcp.release"
	KindDecline  = "dhcp.decline"
	KindInform   = "dhcp.inform"
)

// Attributes shared by the events' declarations.
var (
	attrMAC       = event.Attr{Name: "mac", Doc: `the client's hardware address (chaddr): "02:00:00:00:00:42"`}
	attrXID       = event.Attr{Name: "xid", Doc: `the transaction ID: "0x1a2b3c4d"`}
	attrHostname  = event.Attr{Name: "hostname", Doc: "the host name the client gave (option 12), else empty"}
	attrRequested = event.Attr{Name: "requested", Doc: `the client's parameter request list (option 55) as names, in its order: "subnet-mask router dns domain-name"; unknown codes as "option-N"`}
	attrState     = event.Attr{Name: "state", Doc: `the client's state (RFC 2131 §4.3.2): "selecting", "init-reboot", "renewing" (unicast, ciaddr set) or "rebinding" (broadcast, ciaddr set)`}
	attrLease     = event.Attr{Name: "lease", Doc: "the lease time given, in seconds"}
)

// Spec describes the dhcp service to the runner.
var Spec = service.Spec{
	Name: "dhcp",
	Doc:  "DHCPv4 server of the lab network: DORA, renew, rebind, release, decline, inform, reservations; leases kept across restarts",
	Listeners: []service.Listener{
		{Name: "dhcp", Networks: []string{"udp"}, High: 1067, Standard: 67},
	},
	Events: []event.Spec{
		{
			Kind: KindDiscover,
			Doc:  "a client looked for a server (DHCPDISCOVER)",
			Attrs: []event.Attr{attrMAC, attrXID,
				{Name: "ip", Doc: "the address the client asked for (option 50), else empty"},
				attrHostname, attrRequested,
				{Name: "reason", Doc: `why no offer was made, else empty: "pool-exhausted", "declined" (its only address is declined)`}},
			Brief: []string{"mac", "xid", "requested", "reason"},
		},
		{
			Kind:  KindOffer,
			Doc:   "the server offered an address (DHCPOFFER)",
			Attrs: []event.Attr{attrMAC, attrXID, {Name: "ip", Doc: "the address offered (yiaddr)"}, attrHostname, attrLease},
			Brief: []string{"mac", "ip", "lease"},
		},
		{
			Kind: KindRequest,
			Doc:  "a client asked for an address or to extend its lease (DHCPREQUEST)",
			Attrs: []event.Attr{attrMAC, attrXID,
				{Name: "ip", Doc: "the address asked for: option 50, else ciaddr"},
				attrHostname, attrRequested, attrState,
				{Name: "server", Doc: "the server identifier the client chose (option 54), else empty"}},
			Brief: []string{"mac", "ip", "state", "requested"},
		},
		{
			Kind:  KindAck,
			Doc:   "the server confirmed a lease (DHCPACK to a REQUEST)",
			Attrs: []event.Attr{attrMAC, attrXID, {Name: "ip", Doc: "the address leased (yiaddr)"}, attrHostname, attrRequested, attrState, attrLease},
			Brief: []string{"mac", "ip", "state", "lease"},
		},
		{
			Kind: KindNak,
			Doc:  "the server refused a REQUEST (DHCPNAK): the client must start again with DISCOVER",
			Attrs: []event.Attr{attrMAC, attrXID, {Name: "ip", Doc: "the address refused"}, attrHostname, attrState,
				{Name: "reason", Doc: `"wrong-subnet", "outside-pool", "taken" (another client holds it), "not-offered" (no offer or lease for this client), "reserved" (kept for another client, or this client has a reserved address), "declined", "unknown-lease"`}},
			Brief: []string{"mac", "ip", "state", "reason"},
		},
		{
			Kind:  KindRelease,
			Doc:   "a client gave its address back (DHCPRELEASE)",
			Attrs: []event.Attr{attrMAC, attrXID, {Name: "ip", Doc: "the address released (ciaddr)"}, attrHostname},
			Brief: []string{"mac", "ip"},
		},
		{
			Kind:  KindDecline,
			Doc:   "a client found its address already in use on the link (DHCPDECLINE); the server sets it aside for a while",
			Attrs: []event.Attr{attrMAC, attrXID, {Name: "ip", Doc: "the address declined (option 50)"}, attrHostname},
			Brief: []string{"mac", "ip"},
		},
		{
			Kind:  KindInform,
			Doc:   "a client with an address of its own asked only for the options (DHCPINFORM); the server answers with a DHCPACK without a lease",
			Attrs: []event.Attr{attrMAC, attrXID, {Name: "ip", Doc: "the client's own address (ciaddr)"}, attrHostname, attrRequested},
			Brief: []string{"mac", "ip", "requested"},
		},
	},
	Actions: actions,
	Load:    load,
	Solve:   solve,
}

// actions are the solve steps (apart from Spec, which refers to solve).
var actions = []service.Action{
	{Name: "dhcp.lease", Doc: "get a lease with DISCOVER, OFFER, REQUEST, ACK; mac defaults to " + DefaultClientMAC + " on loopback (the interface's own on the lab network); params is a comma-separated list of options to ask for (dns,domain,router,ntp... or numbers)", Optional: []string{"mac", "params", "hostname"}},
	{Name: "dhcp.renew", Doc: "get a lease, then renew it (a unicast REQUEST with ciaddr, as at T1)", Optional: []string{"mac", "params", "hostname"}},
	{Name: "dhcp.release", Doc: "get a lease, then release it (DHCPRELEASE)", Optional: []string{"mac", "params", "hostname"}},
}
