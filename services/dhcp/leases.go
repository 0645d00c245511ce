package dhcp

import (
	"net/netip"
	"sync"
	"time"
)

// Timers of the pool.
const (
	// offerHold is how long an offered address stays set aside for the
	// client it was offered to, waiting for its REQUEST.
	offerHold = 30 * time.Second
	// declineHold is how long an address a client declined (someone else
	// answers ARP for it) is kept out of the pool.
	declineHold = 10 * time.Minute
)

// leaseState is what an address of the pool is used for.
type leaseState uint8

const (
	stateOffered  leaseState = iota + 1 // offered, waiting for the REQUEST
	stateBound                          // leased (expired: remembered, free for anyone, preferred by its client)
	stateDeclined                       // set aside after a DECLINE
)

// lease is one address's record. A record whose time is past is free: an
// expired or released lease is kept so that its client gets the same
// address back, as long as nobody else took it.
type lease struct {
	ip       uint32
	mac      string // "" for a declined address
	hostname string
	expires  time.Time
	state    leaseState
}

func (l *lease) active(now time.Time) bool { return now.Before(l.expires) }

// pool hands out the addresses of the network: the dynamic range and the
// reservations. It is bounded by the range: there is at most one record per
// address, and one pending offer per client.
type pool struct {
	mu          sync.Mutex
	o           *options
	first, last uint32
	server      uint32
	leases      map[uint32]*lease // by address
	byMAC       map[string]*lease // each client's latest record
	resIP       map[uint32]string // reserved address -> its client
	resMAC      map[string]uint32 // client -> its reserved address
	resName     map[string]string // client -> its reserved host name
	db          *leaseDB          // nil: leases kept in memory only
	now         func() time.Time  //
	next        uint32            // where the next allocation starts looking
	persistErrs func(error)       // called when the database refuses a write
	lastWrite   uint64            // number of the last lease queued for the database
}

// newPool builds the pool of o, with the leases kept in db (may be nil).
func newPool(o *options, db *leaseDB, now func() time.Time) *pool {
	p := &pool{
		o: o, first: ipU32(o.Start), last: ipU32(o.End), server: ipU32(o.Server),
		leases: map[uint32]*lease{}, byMAC: map[string]*lease{},
		resIP: map[uint32]string{}, resMAC: map[string]uint32{}, resName: map[string]string{},
		db: db, now: now, persistErrs: func(error) {},
	}
	p.next = p.first
	for _, r := range o.Reservations {
		p.resIP[ipU32(r.IP)] = r.MAC
		p.resMAC[r.MAC] = ipU32(r.IP)
		if r.Hostname != "" {
			p.resName[r.MAC] = r.Hostname
		}
	}
	return p
}

// load reads the leases kept in the database, skipping those that no
// longer fit the lab's network (its file changed).
func (p *pool) load() error {
	if p.db == nil {
		return nil
	}
	rows, err := p.db.all()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range rows {
		if l.state == stateBound && !p.canHold(l.ip, l.mac) || l.state == stateDeclined && !p.inPool(l.ip) {
			continue
		}
		p.leases[l.ip] = l
		if l.mac != "" {
			if prev := p.byMAC[l.mac]; prev == nil || prev.expires.Before(l.expires) {
				p.byMAC[l.mac] = l
			}
		}
	}
	return nil
}

func (p *pool) inPool(ip uint32) bool { return ip >= p.first && ip <= p.last && ip != p.server }

// canHold reports whether the client may have the address at all: one
// of the pool not reserved for another client, or its own reservation.
func (p *pool) canHold(ip uint32, mac string) bool {
	if owner, ok := p.resIP[ip]; ok {
		return owner == mac
	}
	return p.inPool(ip)
}

// freeFor reports whether the address can go to the client now.
func (p *pool) freeFor(ip uint32, mac string, now time.Time) bool {
	if !p.canHold(ip, mac) {
		return false
	}
	l := p.leases[ip]
	return l == nil || !l.active(now) || l.mac == mac && l.state != stateDeclined
}

// offer picks an address for a DISCOVER and sets it aside for offerHold:
// the client's reservation, else its current or last lease, else the one
// it asks for (option 50) when free, else the one offered to it before,
// else a free one. reason says why there is none.
func (p *pool) offer(mac string, want netip.Addr, hostname string) (netip.Addr, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	prev := p.byMAC[mac]
	var ip uint32
	switch {
	case p.hasReservation(mac):
		ip = p.resMAC[mac]
		if l := p.leases[ip]; l != nil && l.state == stateDeclined && l.active(now) {
			return netip.Addr{}, "declined"
		}
	case prev != nil && prev.state == stateBound && p.freeFor(prev.ip, mac, now):
		ip = prev.ip // its lease, or its last one (RFC 2131 §4.3.1)
	case want.Is4() && p.freeFor(ipU32(want), mac, now):
		ip = ipU32(want)
	case prev != nil && p.freeFor(prev.ip, mac, now):
		ip = prev.ip // the address offered before
	default:
		var ok bool
		if ip, ok = p.allocate(now); !ok {
			return netip.Addr{}, "pool-exhausted"
		}
	}
	if l := p.leases[ip]; l != nil && l.mac == mac && l.state == stateBound && l.active(now) {
		p.byMAC[mac] = l // already leased to it: offer it again, keep the lease
		return u32IP(ip), ""
	}
	p.detach(mac, ip, now)
	l := &lease{ip: ip, mac: mac, hostname: hostname, expires: now.Add(offerHold), state: stateOffered}
	p.leases[ip] = l
	p.byMAC[mac] = l
	return u32IP(ip), ""
}

func (p *pool) hasReservation(mac string) bool { _, ok := p.resMAC[mac]; return ok }

// allocate finds a free address of the range: first one never used (so
// that clients keep finding their last address), else the one expired the
// longest.
func (p *pool) allocate(now time.Time) (uint32, bool) {
	size := p.last - p.first + 1
	var fallback *lease
	ip := p.next
	for i := uint32(0); i < size; i++ {
		if ip > p.last || ip < p.first {
			ip = p.first
		}
		cur := ip
		ip++
		if cur == p.server {
			continue
		}
		if _, reserved := p.resIP[cur]; reserved {
			continue
		}
		l := p.leases[cur]
		if l == nil {
			p.next = ip
			return cur, true
		}
		if !l.active(now) && (fallback == nil || l.expires.Before(fallback.expires)) {
			fallback = l
		}
	}
	if fallback == nil {
		return 0, false
	}
	return fallback.ip, true
}

// detach drops the client's record for another address than ip: a pending
// offer is forgotten, a lease is ended.
func (p *pool) detach(mac string, ip uint32, now time.Time) {
	old := p.byMAC[mac]
	if old == nil || old.ip == ip {
		return
	}
	delete(p.byMAC, mac)
	switch {
	case old.state == stateOffered:
		delete(p.leases, old.ip)
	case old.state == stateBound && old.active(now):
		old.expires = now
		p.persist(old)
	}
}

// forget drops the client's pending offer: it chose another server.
func (p *pool) forget(mac string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.byMAC[mac]; l != nil && l.state == stateOffered {
		delete(p.leases, l.ip)
		delete(p.byMAC, mac)
	}
}

// request decides a REQUEST for ip: it binds the address to the client and
// returns "" (ACK), or returns why not (NAK).
func (p *pool) request(mac string, ip netip.Addr, st string, hostname string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if !ip.Is4() || !p.o.Prefix.Contains(ip) {
		return "wrong-subnet"
	}
	v := ipU32(ip)
	if own, ok := p.resMAC[mac]; ok && own != v {
		return "reserved"
	}
	if owner, ok := p.resIP[v]; ok && owner != mac {
		return "reserved"
	}
	if !p.canHold(v, mac) {
		return "outside-pool"
	}
	l := p.leases[v]
	switch {
	case l != nil && l.state == stateDeclined && l.active(now):
		return "declined"
	case l != nil && l.mac != mac && l.active(now):
		return "taken"
	case st == stateSelecting && (l == nil || l.mac != mac):
		return "not-offered"
	}
	if hostname == "" && l != nil && l.mac == mac {
		hostname = l.hostname
	}
	p.detach(mac, v, now)
	nl := &lease{ip: v, mac: mac, hostname: hostname, expires: now.Add(p.o.LeaseTime), state: stateBound}
	p.leases[v] = nl
	p.byMAC[mac] = nl
	p.persist(nl)
	return ""
}

// release ends the client's lease of ip; the record stays so that the
// client gets the same address next time. It reports whether the client
// held the address.
func (p *pool) release(mac string, ip netip.Addr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !ip.Is4() {
		return false
	}
	l := p.leases[ipU32(ip)]
	if l == nil || l.mac != mac || l.state == stateDeclined {
		return false
	}
	now := p.now()
	if l.state == stateOffered {
		delete(p.leases, l.ip)
		delete(p.byMAC, mac)
		return true
	}
	if l.active(now) {
		l.expires = now
		p.persist(l)
	}
	return true
}

// decline sets ip aside for declineHold: the client found it in use. Only
// the client the address was offered or leased to can decline it.
func (p *pool) decline(mac string, ip netip.Addr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !ip.Is4() {
		return false
	}
	v := ipU32(ip)
	l := p.leases[v]
	if l == nil || l.mac != mac || l.state == stateDeclined {
		return false
	}
	if p.byMAC[mac] == l {
		delete(p.byMAC, mac)
	}
	nl := &lease{ip: v, expires: p.now().Add(declineHold), state: stateDeclined}
	p.leases[v] = nl
	p.persist(nl)
	return true
}

// hostnameOf is the host name reserved for the client, if any.
func (p *pool) hostnameOf(mac string) string {
	return p.resName[mac]
}

// reset forgets every lease, in memory and in the database.
func (p *pool) reset() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.leases)
	clear(p.byMAC)
	p.next = p.first
	if p.db == nil {
		return nil
	}
	return p.db.clear()
}

// persist queues a record for the database (under p.mu, so that writes
// happen in the order of the decisions). RFC 2131 §4.3.2 wants a lease
// on stable storage before the ACK: the ACK waits for it (sync). A
// database that refuses is reported and the lease kept in memory.
func (p *pool) persist(l *lease) {
	if p.db == nil {
		return
	}
	p.lastWrite = p.db.enqueue(*l)
}

// sync waits until the decisions made so far are on stable storage.
func (p *pool) sync() {
	if p.db == nil {
		return
	}
	p.mu.Lock()
	n := p.lastWrite
	p.mu.Unlock()
	p.db.wait(n)
}

// snapshot returns a copy of the records, for tests and the client view.
func (p *pool) snapshot() map[netip.Addr]lease {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[netip.Addr]lease, len(p.leases))
	for ip, l := range p.leases {
		out[u32IP(ip)] = *l
	}
	return out
}
