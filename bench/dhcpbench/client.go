package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// link is a packet socket on one interface: it sends whole Ethernet frames
// and reads the DHCP answers to clients (IPv4, UDP port 68, filtered in
// the kernel). It needs CAP_NET_RAW.
type link struct {
	fd int
	f  *os.File
	rc syscall.RawConn
}

// replyFilter is the classic BPF program of `tcpdump -dd ip and udp dst
// port 68` on Ethernet: IPv4, UDP, not a fragment, destination port 68.
var replyFilter = []unix.SockFilter{
	{Code: 0x28, K: 12},            // ldh [12]
	{Code: 0x15, Jf: 8, K: 0x0800}, // jeq IPv4, else drop
	{Code: 0x30, K: 23},            // ldb [23]
	{Code: 0x15, Jf: 6, K: 17},     // jeq UDP, else drop
	{Code: 0x28, K: 20},            // ldh [20]
	{Code: 0x45, Jt: 4, K: 0x1fff}, // jset fragment offset: drop
	{Code: 0xb1, K: 14},            // ldxb 4*([14]&0xf)
	{Code: 0x48, K: 16},            // ldh [x+16]
	{Code: 0x15, Jf: 1, K: 68},     // jeq port 68, else drop
	{Code: 0x06, K: 0x40000},       // accept
	{Code: 0x06, K: 0},             // drop
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openLink opens a packet socket on the interface named ifname of the
// calling thread's network namespace.
func openLink(ifname string) (*link, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", ifname, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_IP)))
	if err != nil {
		return nil, fmt.Errorf("packet socket: %w (it needs root or CAP_NET_RAW)", err)
	}
	prog := unix.SockFprog{Len: uint16(len(replyFilter)), Filter: &replyFilter[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("packet socket filter: %w", err)
	}
	// Our own frames are not answers; a big buffer rides out a burst.
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind to %s: %w", ifname, err)
	}
	f := os.NewFile(uintptr(fd), "packet:"+ifname)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	return &link{fd: fd, f: f, rc: rc}, nil
}

func (l *link) Close() error { return l.f.Close() }

// send writes one frame; a full queue is an error (the exchange then times
// out), never a wait.
func (l *link) send(frame []byte) error {
	for {
		_, err := unix.Write(l.fd, frame)
		if err != unix.EINTR {
			return err
		}
	}
}

// readBatch waits, up to the read deadline, for frames and hands each one
// to handle, at most 128 in a call.
func (l *link) readBatch(buf []byte, handle func([]byte)) error {
	var rerr error
	err := l.rc.Read(func(fd uintptr) bool {
		got := 0
		for got < 128 {
			n, err := unix.Read(int(fd), buf)
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				return got > 0
			case err != nil:
				rerr = err
				return true
			}
			handle(buf[:n])
			got++
		}
		return true
	})
	if err != nil {
		return err
	}
	return rerr
}

// loadConfig says how the load client runs.
type loadConfig struct {
	Macs      []net.HardwareAddr // the simulated clients
	Inflight  int                // exchanges in flight at once
	Timeout   time.Duration      // for each answer (OFFER, then ACK)
	Duration  time.Duration      // how long exchanges are started and counted
	StopAfter int                // stop after this many DORA; 0: no limit
}

// loadResult is what one load run measured. Its JSON is what the client
// process hands the benchmark.
type loadResult struct {
	DORA       int           `json:"dora"`        // complete exchanges: DISCOVER, OFFER, REQUEST, ACK
	Timeouts   int           `json:"timeouts"`    // an OFFER or an ACK that did not come in time
	NAKs       int           `json:"naks"`        // a REQUEST refused
	Wrong      int           `json:"wrong"`       // an ACK for another address than offered, or an address leased twice
	Stray      int           `json:"stray"`       // answers to no exchange in flight (late, duplicate)
	SendErrors int           `json:"send_errors"` // frames the kernel refused
	Elapsed    time.Duration `json:"elapsed"`
	Latency    time.Duration `json:"latency"` // the exchanges' total time, DISCOVER to ACK
	Problem    string        `json:"problem,omitempty"`
	// CPU times over the run, read from /proc: the server's (all threads),
	// the client's own, and the machine's busy and total time; -1 unknown.
	ServerCPU   time.Duration `json:"server_cpu"`
	ClientCPU   time.Duration `json:"client_cpu"`
	MachineBusy time.Duration `json:"machine_busy"`
	MachineAll  time.Duration `json:"machine_all"`
}

func (r *loadResult) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.DORA) / r.Elapsed.Seconds()
}

// Phases of a slot's exchange.
const (
	idle = iota
	waitOffer
	waitAck
)

// slot is one exchange in flight at a time, going through its clients in
// turn. Its index is the top half of the transaction ID, so an answer
// finds its slot at once; the bottom half counts its exchanges.
type slot struct {
	clients  []int // indexes into loadConfig.Macs
	next     int
	client   int
	seq      uint16
	xid      uint32
	phase    int
	offered  netip.Addr
	server   netip.Addr
	started  time.Time
	deadline time.Time
}

// loader runs the exchanges of one load on one goroutine: it reads the
// answers and sends the next message from the same loop, so it needs no
// lock.
type loader struct {
	l      *link
	cfg    loadConfig
	slots  []slot
	frame  []byte
	end    time.Time
	done   bool
	res    loadResult
	held   []netip.Addr       // each client's address, from its last ACK
	owner  map[netip.Addr]int // which client holds an address
	scanAt time.Time
}

// runLoad runs cfg over l: each slot starts a DORA, sends the REQUEST as
// soon as the OFFER comes and starts the next DORA as soon as the ACK (or
// NAK, or a timeout) comes, until cfg.Duration has passed. Exchanges still
// in flight then are not counted.
func runLoad(l *link, cfg loadConfig) loadResult {
	if cfg.Inflight < 1 || cfg.Inflight > len(cfg.Macs) || cfg.Inflight > 1<<16 {
		return loadResult{Problem: fmt.Sprintf("load: %d in flight for %d clients", cfg.Inflight, len(cfg.Macs))}
	}
	ld := &loader{l: l, cfg: cfg, slots: make([]slot, cfg.Inflight), frame: make([]byte, frameLen),
		held: make([]netip.Addr, len(cfg.Macs)), owner: map[netip.Addr]int{}}
	for i := range cfg.Macs {
		s := &ld.slots[i%cfg.Inflight]
		s.clients = append(s.clients, i)
	}
	start := time.Now()
	ld.end = start.Add(cfg.Duration)
	for i := range ld.slots {
		ld.start(i, start)
	}
	buf := make([]byte, 2048)
	ld.scanAt = start.Add(scanEvery)
	deadline := time.Time{}
	for !ld.done {
		next := ld.scanAt
		if ld.end.Before(next) {
			next = ld.end
		}
		if !next.Equal(deadline) {
			deadline = next
			_ = l.f.SetReadDeadline(deadline)
		}
		err := l.readBatch(buf, ld.handle)
		now := time.Now()
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			ld.res.Problem = "read: " + err.Error()
			break
		}
		if !now.Before(ld.end) {
			break
		}
		if !now.Before(ld.scanAt) {
			ld.scan(now)
			ld.scanAt = now.Add(scanEvery)
		}
	}
	ld.res.Elapsed = min(time.Since(start), cfg.Duration)
	return ld.res
}

// scanEvery is how often exchanges are checked for timeouts.
const scanEvery = 20 * time.Millisecond

// start begins the next DORA of slot i.
func (ld *loader) start(i int, now time.Time) {
	s := &ld.slots[i]
	s.client = s.clients[s.next]
	s.next = (s.next + 1) % len(s.clients)
	s.seq++
	s.xid = uint32(i)<<16 | uint32(s.seq)
	s.phase = waitOffer
	s.offered, s.server = netip.Addr{}, netip.Addr{}
	s.started, s.deadline = now, now.Add(ld.cfg.Timeout)
	ld.send(buildFrame(ld.frame, ld.cfg.Macs[s.client], msgDiscover, s.xid, netip.Addr{}, netip.Addr{}))
}

func (ld *loader) send(frame []byte) {
	if err := ld.l.send(frame); err != nil {
		ld.res.SendErrors++
		ld.res.Problem = "send: " + err.Error()
	}
}

// handle reads one frame and moves its exchange on.
func (ld *loader) handle(frame []byte) {
	if ld.done {
		return
	}
	r, ok := parseReply(frame)
	if !ok {
		return
	}
	now := time.Now()
	if !now.Before(ld.end) {
		ld.done = true // what ends after the load is not counted
		return
	}
	i := int(r.xid >> 16)
	if i >= len(ld.slots) {
		ld.res.Stray++
		return
	}
	s := &ld.slots[i]
	if s.xid != r.xid || s.phase == idle || r.chaddr != [6]byte(ld.cfg.Macs[s.client]) {
		ld.res.Stray++
		return
	}
	switch {
	case s.phase == waitOffer && r.mt == msgOffer:
		if !r.server.IsValid() || !r.yiaddr.Is4() || r.yiaddr.IsUnspecified() {
			ld.res.Wrong++
			ld.res.Problem = fmt.Sprintf("an OFFER without server identifier or address (xid 0x%08x)", r.xid)
			ld.start(i, now)
			return
		}
		s.offered, s.server = r.yiaddr, r.server
		s.phase, s.deadline = waitAck, now.Add(ld.cfg.Timeout)
		ld.send(buildFrame(ld.frame, ld.cfg.Macs[s.client], msgRequest, s.xid, s.offered, s.server))
	case s.phase == waitAck && r.mt == msgAck:
		ld.acked(s, r.yiaddr, now)
		ld.next(i, now)
	case s.phase == waitAck && r.mt == msgNak:
		ld.res.NAKs++
		ld.next(i, now)
	default:
		ld.res.Stray++
	}
}

// acked counts a DORA and checks that no two clients hold the address.
func (ld *loader) acked(s *slot, ip netip.Addr, now time.Time) {
	if ip != s.offered {
		ld.res.Wrong++
		ld.res.Problem = fmt.Sprintf("ACK of %s after an OFFER of %s", ip, s.offered)
		return
	}
	if other, ok := ld.owner[ip]; ok && other != s.client && ld.held[other] == ip {
		ld.res.Wrong++
		ld.res.Problem = fmt.Sprintf("%s leased to two clients", ip)
	}
	if old := ld.held[s.client]; old.IsValid() && old != ip && ld.owner[old] == s.client {
		delete(ld.owner, old)
	}
	ld.held[s.client], ld.owner[ip] = ip, s.client
	ld.res.DORA++
	ld.res.Latency += now.Sub(s.started)
}

// next ends slot i's exchange and starts another, unless the load is over.
func (ld *loader) next(i int, now time.Time) {
	ld.slots[i].phase = idle
	if ld.cfg.StopAfter > 0 && ld.res.DORA >= ld.cfg.StopAfter {
		ld.done = true
		return
	}
	if now.Before(ld.end) {
		ld.start(i, now)
	}
}

// scan restarts the exchanges whose answer is late.
func (ld *loader) scan(now time.Time) {
	for i := range ld.slots {
		s := &ld.slots[i]
		if s.phase != idle && now.After(s.deadline) {
			ld.res.Timeouts++
			ld.start(i, now)
		}
	}
}

// probe runs DORA for the probe client until one completes (the server is
// up) or limit passes.
func probe(l *link, limit time.Duration) error {
	r := runLoad(l, loadConfig{Macs: []net.HardwareAddr{probeMAC}, Inflight: 1,
		Timeout: 250 * time.Millisecond, Duration: limit, StopAfter: 1})
	if r.DORA == 1 {
		return nil
	}
	why := fmt.Sprintf("no DORA completed in %v", limit)
	if r.Problem != "" {
		why += " (" + r.Problem + ")"
	}
	return errors.New(why)
}
