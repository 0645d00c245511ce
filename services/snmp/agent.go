package snmp

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Bounds of one request and its response.
const (
	maxPacketSize     = 8192 // bytes read of one request; larger ones are dropped
	maxResponseSize   = 4096 // bytes of one response; beyond, tooBig or a shorter bulk
	maxVarbinds       = 64   // varbinds in one request; beyond, tooBig
	maxRepetitions    = 64   // a GetBulk's max-repetitions is cut to this
	maxBulkVarbinds   = 512  // varbinds a GetBulk response is built with before trimming
	maxWritableString = 255  // DisplayString (RFC 2579)
)

// Well-known OIDs.
var (
	oidSysUpTime     = mustOID("1.3.6.1.2.1.1.3.0")
	oidSNMPGroup     = mustOID("1.3.6.1.2.1.11")
	oidProtolab      = mustOID("1.3.6.1.4.1.32473.2")
	oidLabTraffic    = mustOID("1.3.6.1.4.1.32473.3")
	oidIfEntry       = mustOID("1.3.6.1.2.1.2.2.1")
	oidIfXEntry      = mustOID("1.3.6.1.2.1.31.1.1.1")
	oidIfAdminStatus = mustOID("1.3.6.1.2.1.2.2.1.7")
	oidIfOperStatus  = mustOID("1.3.6.1.2.1.2.2.1.8")
	oidIfLastChange  = mustOID("1.3.6.1.2.1.2.2.1.9")
)

func mustOID(s string) oid {
	o, err := parseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}

// counter names the counters the agent keeps: the snmp group (by its arc
// under 1.3.6.1.2.1.11) and the Protolab ones.
type counter int

const (
	cInPkts counter = iota
	cOutPkts
	cInBadVersions
	cInBadCommunityNames
	cInBadCommunityUses
	cInASNParseErrs
	cInTotalReqVars
	cInTotalSetVars
	cInGetRequests
	cInGetNexts
	cInSetRequests
	cOutTooBigs
	cOutNoSuchNames
	cOutGetResponses
	cOutTraps
	cRequests
	cSets
	cNotifications
	cAuthFailures
	numCounters
)

// snmpGroupArcs maps an arc of the snmp group to its counter.
var snmpGroupArcs = map[uint32]counter{
	1: cInPkts, 2: cOutPkts, 3: cInBadVersions, 4: cInBadCommunityNames,
	5: cInBadCommunityUses, 6: cInASNParseErrs, 13: cInTotalReqVars,
	14: cInTotalSetVars, 15: cInGetRequests, 16: cInGetNexts,
	17: cInSetRequests, 20: cOutTooBigs, 21: cOutNoSuchNames,
	28: cOutGetResponses, 29: cOutTraps,
}

// protolabArcs maps an arc of the enterprise subtree to its counter.
var protolabArcs = map[uint32]counter{1: cRequests, 2: cSets, 3: cNotifications, 4: cAuthFailures}

// labServices maps an arc of 1.3.6.1.4.1.32473.3 to the lab service whose
// events it counts: SNMP watching the lab's own traffic.
var labServices = map[uint32]string{1: "dns", 2: "dhcp", 3: "smtp", 4: "pop3", 5: "imap", 6: "snmp", 7: "echo", 8: "soap"}

// liveKind says where an object's value comes from.
type liveKind int

const (
	liveNone    liveKind = iota // the stored value
	liveUptime                  // sysUpTime
	liveCounter                 // one of the agent's counters
	liveTraffic                 // an interface traffic counter
	liveLab                     // events of a lab service (labCounts)
)

// live describes a live object.
type live struct {
	kind    liveKind
	counter counter
	ifIndex uint32
	rate    uint64 // per second of the interface being up
	service string // liveLab: the service
}

// trafficRates are the per-second rates of the interface counters, by
// column (ifTable, then ifXTable), times the ifIndex plus one.
var trafficRates = map[string]uint64{
	"2.10": 1200, "2.11": 3, "2.16": 900, "2.17": 2, // ifInOctets, ifInUcastPkts, ifOutOctets, ifOutUcastPkts
	"31.6": 1200, "31.10": 900, // ifHCInOctets, ifHCOutOctets
}

// liveOf tells whether the object with OID o is live.
func liveOf(o oid) live {
	switch {
	case o.compare(oidSysUpTime) == 0:
		return live{kind: liveUptime}
	case len(o) == len(oidSNMPGroup)+2 && o.hasPrefix(oidSNMPGroup) && o[len(o)-1] == 0:
		if c, ok := snmpGroupArcs[o[len(oidSNMPGroup)]]; ok {
			return live{kind: liveCounter, counter: c}
		}
	case len(o) == len(oidProtolab)+2 && o.hasPrefix(oidProtolab) && o[len(o)-1] == 0:
		if c, ok := protolabArcs[o[len(oidProtolab)]]; ok {
			return live{kind: liveCounter, counter: c}
		}
	case len(o) == len(oidLabTraffic)+2 && o.hasPrefix(oidLabTraffic) && o[len(o)-1] == 0:
		if svc, ok := labServices[o[len(oidLabTraffic)]]; ok {
			return live{kind: liveLab, service: svc}
		}
	case len(o) == len(oidIfEntry)+2 && o.hasPrefix(oidIfEntry):
		if r, ok := trafficRates[fmt.Sprintf("2.%d", o[len(oidIfEntry)])]; ok {
			return live{kind: liveTraffic, ifIndex: o[len(o)-1], rate: r * uint64(o[len(o)-1]+1)}
		}
	case len(o) == len(oidIfXEntry)+2 && o.hasPrefix(oidIfXEntry):
		if r, ok := trafficRates[fmt.Sprintf("31.%d", o[len(oidIfXEntry)])]; ok {
			return live{kind: liveTraffic, ifIndex: o[len(o)-1], rate: r * uint64(o[len(o)-1]+1)}
		}
	}
	return live{}
}

// ifClock keeps how long an interface has been up, which its traffic
// counters grow with.
type ifClock struct {
	active time.Duration // up time before upAt
	upAt   time.Time     // zero while down
}

// agent holds the MIB's current values and the counters; it is safe for
// concurrent use.
type agent struct {
	m       *mib
	lives   []live
	maxResp int // bytes of a response: maxResponseSize but in tests
	start   time.Time
	now     func() time.Time

	counters [numCounters]atomic.Uint32

	mu sync.Mutex
	// labCounts tells the events of the lab's services (nil outside a lab).
	labCounts func(service string) uint64
	vals      []any
	ifs       map[uint32]*ifClock
}

// newAgent starts an agent on m with the file's values.
func newAgent(m *mib, now func() time.Time) *agent {
	a := &agent{m: m, now: now, start: now(), lives: make([]live, len(m.objs)), maxResp: maxResponseSize}
	for i, o := range m.objs {
		a.lives[i] = liveOf(o.oid)
	}
	a.reset()
	return a
}

// reset brings the values back to the MIB file's.
func (a *agent) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.vals = make([]any, len(a.m.objs))
	for i, o := range a.m.objs {
		a.vals[i] = o.value
	}
	now := a.now()
	a.ifs = map[uint32]*ifClock{}
	for _, o := range a.m.objs {
		if len(o.oid) == len(oidIfOperStatus)+1 && o.oid.hasPrefix(oidIfOperStatus) {
			c := &ifClock{}
			if v, ok := o.value.(int); ok && v == 1 {
				c.upAt = now
			}
			a.ifs[o.oid[len(o.oid)-1]] = c
		}
	}
}

// count adds one to a counter.
func (a *agent) count(c counter) { a.counters[c].Add(1) }

// uptime returns sysUpTime in hundredths of a second.
func (a *agent) uptime() uint32 { return uint32(a.now().Sub(a.start) / (10 * time.Millisecond)) }

// valueLocked returns the current value of object i; a.mu is held.
func (a *agent) valueLocked(i int) any {
	l := a.lives[i]
	switch l.kind {
	case liveUptime:
		return a.uptime()
	case liveCounter:
		return a.counters[l.counter].Load()
	case liveLab:
		if a.labCounts == nil {
			return uint32(0)
		}
		return uint32(a.labCounts(l.service)) // a Counter32 wraps

	case liveTraffic:
		var secs uint64
		if c := a.ifs[l.ifIndex]; c != nil {
			d := c.active
			if !c.upAt.IsZero() {
				d += a.now().Sub(c.upAt)
			}
			secs = uint64(d / time.Second)
		}
		switch base := a.vals[i].(type) {
		case uint32:
			return base + uint32(secs*l.rate)
		case uint64:
			return base + secs*l.rate
		}
	}
	return a.vals[i]
}

// varbind returns object i as a varbind.
func (a *agent) varbindLocked(i int) gosnmp.SnmpPDU {
	o := a.m.objs[i]
	return gosnmp.SnmpPDU{Name: o.oid.String(), Type: o.typ, Value: a.valueLocked(i)}
}
