package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"protolab/internal/service"
)

var (
	_ service.Prepared = (*prepared)(nil)
	_ service.Instance = (*instance)(nil)
	_ service.Resetter = (*instance)(nil)
)

// prepared is a loaded, valid configuration.
type prepared struct {
	o   options
	now func() time.Time // the clock of leases; nil: time.Now (tests set it)
}

// Start opens the socket and the leases, and serves until Shutdown.
// Without a lab network (rt.Interface empty) it listens on rt.Bind and
// answers each client where it wrote from; with one it listens on
// 0.0.0.0, bound to that link, and may broadcast there.
func (p *prepared) Start(ctx context.Context, rt service.Runtime) (service.Instance, error) {
	o, err := p.o.withRoster(rt.Reservations)
	if err != nil {
		return nil, err
	}
	network, addr, po := "udp", rt.Addr("dhcp"), service.PacketOptions{}
	if rt.Interface != "" {
		network = "udp4"
		addr = net.JoinHostPort("0.0.0.0", strconv.Itoa(rt.Port("dhcp")))
		po = service.PacketOptions{Device: rt.Interface, Broadcast: true, ReuseAddr: true}
	}
	pc, err := rt.ListenPacket(ctx, network, addr, po)
	if err != nil {
		return nil, &service.BindError{Service: "dhcp", Listener: "dhcp", Network: "udp", Addr: addr, Err: err}
	}
	var db *leaseDB
	if rt.State != "" {
		if db, err = openLeaseDB(rt.State); err != nil {
			pc.Close()
			return nil, fmt.Errorf("dhcp: %w", err)
		}
	}
	now := p.now
	if now == nil {
		now = time.Now
	}
	pl := newPool(&o, db, now)
	if err := pl.load(); err != nil {
		pc.Close()
		db.close()
		return nil, fmt.Errorf("dhcp: %w", err)
	}
	s := newServer(o, pl, rt.Events, rt.Log, rt.Interface != "")
	in := &instance{s: s, pc: pc, db: db,
		eps: service.Endpoints{rt.Endpoint("dhcp", "dhcp", "udp", pc.LocalAddr())}}
	r := newReader(pc)
	// Many workers: a burst of REQUESTs is decided while the ACKs wait for
	// one shared commit, even on one CPU.
	workers := maxWorkers
	in.wg.Add(workers)
	for range workers {
		go in.serve(r)
	}
	return in, nil
}

// maxWorkers is how many packets are handled at once (each worker holds
// one; an ACK holds its worker until its lease is committed).
const maxWorkers = 64

// instance is a running server.
type instance struct {
	s   *server
	pc  net.PacketConn
	db  *leaseDB
	eps service.Endpoints
	wg  sync.WaitGroup

	once sync.Once
	err  error
}

// serve reads and answers packets until the socket is closed. Several run
// at once on one socket: the pool's lock orders their decisions.
func (in *instance) serve(r reader) {
	defer in.wg.Done()
	buf := make([]byte, maxPacketSize+1)
	oob := make([]byte, oobSize)
	for {
		p, err := r.read(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			in.s.log.Debug("dhcp: read", "err", err)
			continue
		}
		out, to := in.s.handlePacket(p)
		if out == nil {
			continue
		}
		if _, err := in.pc.WriteTo(out, to); err != nil {
			in.s.log.Debug("dhcp: write", "to", to.String(), "err", err)
		}
	}
}

// Endpoints returns the UDP address listened on.
func (in *instance) Endpoints() service.Endpoints { return in.eps }

// Reset forgets every lease (`lab reset`).
func (in *instance) Reset(context.Context) error {
	in.s.ladders.reset()
	if err := in.s.pool.reset(); err != nil {
		return fmt.Errorf("dhcp: %w", err)
	}
	return nil
}

// Shutdown closes the socket, waits for the packets being answered, up to
// ctx, and closes the leases. Calling it again returns the first result.
func (in *instance) Shutdown(ctx context.Context) error {
	in.once.Do(func() {
		err := in.pc.Close()
		done := make(chan struct{})
		go func() { in.wg.Wait(); close(done) }()
		select {
		case <-done:
			if in.db != nil {
				err = errors.Join(err, in.db.close())
			}
		case <-ctx.Done():
			err = errors.Join(err, ctx.Err())
		}
		if err != nil {
			in.err = fmt.Errorf("dhcp: shutdown: %w", err)
		}
	})
	return in.err
}
