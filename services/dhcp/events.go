package dhcp

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Bounds of the ladders kept for transcripts.
const (
	ladderSteps   = 12   // messages kept per client (an exchange restarts it)
	ladderClients = 4096 // clients followed at once
)

// step is one message of an exchange, or the server's silence, as the
// ladder shows it. It is rendered only when a subscriber asks.
type step struct {
	client   bool
	who      string // the client's MAC or the server's address
	mt       dhcpv4.MessageType
	silent   bool // the server did not answer
	xid      uint32
	ip       string // the address concerned
	prl      []uint8
	server   string // REQUEST: the server chosen
	state    string
	hostname string
	lease    time.Duration
	reason   string
}

// String renders the step as one line of the ladder:
// "client 02:00:00:00:00:42 → DHCPDISCOVER xid 0x1a2b3c4d requests [1 3 6 15]".
func (s step) String() string {
	var b strings.Builder
	if s.client {
		fmt.Fprintf(&b, "client %s → DHCP%s", s.who, s.mt)
		if s.ip != "" {
			fmt.Fprintf(&b, " %s", s.ip)
		}
		fmt.Fprintf(&b, " xid 0x%08x", s.xid)
		if s.server != "" {
			fmt.Fprintf(&b, " server %s", s.server)
		}
		if s.state != "" {
			fmt.Fprintf(&b, " (%s)", s.state)
		}
		if s.hostname != "" {
			fmt.Fprintf(&b, " hostname %q", s.hostname)
		}
		if len(s.prl) > 0 {
			b.WriteString(" requests [")
			for i, c := range s.prl {
				if i > 0 {
					b.WriteByte(' ')
				}
				fmt.Fprint(&b, c)
			}
			b.WriteByte(']')
		}
		return b.String()
	}
	if s.silent {
		fmt.Fprintf(&b, "server %s stays silent: %s", s.who, silenceText(s.reason))
		return b.String()
	}
	fmt.Fprintf(&b, "server %s → DHCP%s", s.who, s.mt)
	if s.ip != "" {
		fmt.Fprintf(&b, " %s", s.ip)
	}
	if s.lease > 0 {
		fmt.Fprintf(&b, " lease %s (T1 %s, T2 %s)", seconds(s.lease), seconds(s.lease/2), seconds(s.lease*7/8))
	}
	if s.reason != "" {
		fmt.Fprintf(&b, " (%s)", nakText(s.reason))
	}
	return b.String()
}

// seconds prints a duration as whole seconds: "120s".
func seconds(d time.Duration) string { return fmt.Sprintf("%ds", int64(d/time.Second)) }

// nakText explains a NAK reason to a learner; it is also the NAK's message
// (option 56).
func nakText(reason string) string {
	switch reason {
	case "wrong-subnet":
		return "wrong-subnet: the address is not on this network"
	case "outside-pool":
		return "outside-pool: the address is not one this server hands out"
	case "taken":
		return "taken: another client holds the address"
	case "not-offered":
		return "not-offered: no offer or lease of this address for this client"
	case "reserved":
		return "reserved: the address is kept for another client, or this client has a reserved one"
	case "declined":
		return "declined: the address was declined and is set aside"
	case "unknown-lease":
		return "unknown-lease: no address named in the request"
	}
	return reason
}

// silenceText says why the server did not answer.
func silenceText(reason string) string {
	switch reason {
	case "pool-exhausted":
		return "no free address left in the pool"
	case "declined":
		return "the client's reserved address was declined and is set aside"
	case "other-server":
		return "the client chose another server; its offer is withdrawn"
	}
	return reason
}

// ladder is the frozen list of an exchange's steps, an event's transcript.
type ladder []step

// String renders one line per step.
func (l ladder) String() string {
	var b strings.Builder
	for _, s := range l {
		b.WriteString(s.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// ladders follows each client's exchange, bounded in clients and steps.
type ladders struct {
	mu sync.Mutex
	m  map[string][]step
}

func newLadders() *ladders { return &ladders{m: map[string][]step{}} }

// add records a step of the client's exchange (restart begins a new one)
// and returns the exchange so far.
func (l *ladders) add(mac string, s step, restart bool) ladder {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.m[mac]
	if !ok && len(l.m) >= ladderClients {
		for k := range l.m { // drop one at random
			delete(l.m, k)
			break
		}
	}
	if restart {
		cur = cur[:0:0]
	}
	if len(cur) >= ladderSteps {
		cur = append(cur[:0:0], cur[len(cur)-ladderSteps+1:]...)
	}
	cur = append(cur, s)
	l.m[mac] = cur
	return ladder(cur[:len(cur):len(cur)])
}

// reset forgets every exchange.
func (l *ladders) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.m)
}
