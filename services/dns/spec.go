// Package dns is the lab's DNS server: authoritative only, for the zones of
// the lab (read from RFC 1035 master files), over UDP and TCP on one port.
// It answers like a real authoritative server would (AA, NXDOMAIN and NODATA
// with the SOA, CNAME chasing, glue, EDNS, truncation, AXFR) and emits a
// dns.query event for every query, so the checker can see what a learner's
// dig really asked. It never recurses and never sends a packet anywhere
// but back to the client.
package dns

import (
	"protolab/internal/event"
	"protolab/internal/service"
)

// Spec describes the dns service to the runner.
var Spec = service.Spec{
	Name: "dns",
	Doc:  "authoritative DNS server for the lab zones (UDP and TCP): records, NXDOMAIN, CNAME, SRV, reverse, EDNS, truncation, AXFR",
	Listeners: []service.Listener{
		{Name: "dns", Networks: []string{"udp", "tcp"}, High: 1053, Standard: 53},
	},
	Events: []event.Spec{
		{
			Kind: KindQuery,
			Doc:  "a query was answered (zone transfers included)",
			Attrs: []event.Attr{
				{Name: "qname", Doc: `name asked, lower-case and fully qualified: "www.lab.test."`},
				{Name: "qtype", Doc: `type asked: "A", "AAAA", "MX", "TXT", "AXFR", "TYPE65534" for an unknown type`},
				{Name: "qclass", Doc: `class asked: "IN"`},
				{Name: "rcode", Doc: `response code: "NOERROR", "NXDOMAIN", "REFUSED", "FORMERR", "NOTIMP", "NOTAUTH", "BADVERS"`},
				{Name: "transport", Doc: `"udp" or "tcp"`},
				{Name: "answers", Doc: "number of records in the answer section; for a transfer, the records transferred"},
				{Name: "edns", Doc: `"true" when the query carried an EDNS OPT record`},
				{Name: "truncated", Doc: `"true" when the answer did not fit and TC was set (the client retries over TCP)`},
				{Name: "aa", Doc: `"true" when the answer is authoritative`},
				{Name: "transfer", Doc: `AXFR and IXFR only: "complete" or "failed" (refused, or the client went away)`},
			},
			Brief: []string{"qname", "qtype", "rcode", "transport", "answers"},
		},
		{
			Kind: KindMalformed,
			Doc:  "a packet that is not an acceptable query was dropped or rejected (at most 10 events a second)",
			Attrs: []event.Attr{
				{Name: "transport", Doc: `"udp" or "tcp"`},
				{Name: "size", Doc: "size of the packet in bytes (absent when unknown)"},
				{Name: "reason", Doc: "what is wrong with it"},
				{Name: "suppressed", Doc: "packets not reported since the previous event because of the rate limit (absent when none)"},
			},
			Brief: []string{"transport", "size", "reason"},
		},
	},
	Actions: actions,
	Load:    load,
	Solve:   solve,
}

// actions are the solve steps (apart from Spec, which refers to solve).
var actions = []service.Action{
	{
		Name:     "dns.query",
		Doc:      "ask one question, as dig does (over UDP a truncated answer is asked again over TCP); fails unless the answer is NOERROR or NXDOMAIN, or the given rcode",
		Required: []string{"name"},
		Optional: []string{"type", "transport", "class", "edns", "rcode"},
	},
	{
		Name:     "dns.axfr",
		Doc:      "transfer a zone over TCP, as dig AXFR does; fails unless the transfer starts and ends with the SOA, or is answered with the given rcode",
		Required: []string{"zone"},
		Optional: []string{"rcode"},
	},
}
