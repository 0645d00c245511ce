// Package echo is the lab's echo service (RFC 862), the smallest server
// there is: over TCP it sends back every byte it receives until the client
// closes, and over UDP it sends each datagram back to its sender. With
// nothing to say of its own, it lets a learner look at the transport and the
// network underneath: the tcpip lab watches its connections (tcp.accept,
// tcp.close, given by the runner to every TCP listener) and its datagrams
// (udp.datagram, emitted here). Every resource is bounded: connections,
// idle time, bytes per connection, datagram size and rate; it never answers
// datagrams from the ports of the other small services, so that two echo
// servers cannot be made to bounce packets at each other forever.
package echo

import (
	"protolab/internal/event"
	"protolab/internal/service"
)

// Event kinds.
const (
	// KindTCP is the first data of a TCP connection, echoed back.
	KindTCP = "echo.tcp"
	// KindDatagram is a UDP datagram that reached the server.
	KindDatagram = "udp.datagram"
)

// Spec describes the echo service to the runner.
var Spec = service.Spec{
	Name: "echo",
	Doc:  "echo service (RFC 862) over TCP and UDP: sends back whatever it receives",
	Listeners: []service.Listener{
		{Name: "echo", Networks: []string{"tcp", "udp"}, High: 1007, Standard: 7},
	},
	Events: []event.Spec{
		{
			Kind: KindTCP,
			Doc:  "data came in on a TCP connection and was sent back; one event per connection, at its first data (tcp.close tells the totals)",
			Attrs: []event.Attr{
				{Name: "server", Doc: "the server's address and port the client connected to, e.g. 127.0.0.1:1007"},
				{Name: "port", Doc: "the server's port"},
				{Name: "family", Doc: "ipv4 or ipv6"},
				{Name: "transport", Doc: `"tcp"`},
				{Name: "bytes", Doc: "size of that first piece of data, in bytes"},
				{Name: "text", Doc: "its first line, at most 64 bytes, control characters shown as '.'"},
			},
			Brief: []string{"bytes", "text"},
		},
		{
			Kind: KindDatagram,
			Doc:  "a UDP datagram reached the echo server (and was sent back, unless too large, from a looping port, or over the rate)",
			Attrs: []event.Attr{
				{Name: "service", Doc: `the lab service that received it: "echo"`},
				{Name: "server", Doc: "the server's address and port, e.g. 127.0.0.1:1007 (empty when the socket listens on every address and the lab cannot tell which one)"},
				{Name: "port", Doc: "the server's port"},
				{Name: "family", Doc: "ipv4 or ipv6"},
				{Name: "transport", Doc: `"udp"`},
				{Name: "bytes", Doc: "size of the datagram's payload, in bytes (what UDP carried, headers not counted)"},
				{Name: "echoed", Doc: `"true" when the datagram was sent back, else "false"`},
				{Name: "reason", Doc: `why it was not sent back: "too-large" or "loop-port" (absent when echoed)`},
				{Name: "text", Doc: "its first line, at most 64 bytes, control characters shown as '.'"},
				{Name: "dropped", Doc: "datagrams dropped unseen since the previous event because of the rate limit (absent when none)"},
			},
			Brief: []string{"bytes", "echoed", "text"},
		},
	},
	Actions: actions,
	Load:    load,
	Solve:   solve,
}

// actions are the solve steps (apart from Spec, which refers to solve).
var actions = []service.Action{
	{Name: "echo.tcp", Doc: "open a TCP connection, send data (default a line of text), read it back, then close as nc does; fails unless the same bytes come back", Optional: []string{"data"}},
	{Name: "echo.udp", Doc: "send one datagram (default a line of text) and wait for it to come back; fails unless the same bytes come back", Optional: []string{"data"}},
	{Name: "echo.scan", Doc: `try to open a TCP connection to each port of a list on the echo server's host, as "nc -z" does (ports such as "25,53,1000-1200", at most 4096); fails unless at least one port accepts`, Required: []string{"ports"}},
}
