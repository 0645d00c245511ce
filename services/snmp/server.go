package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"

	"protolab/internal/event"
	"protolab/internal/service"
)

var (
	_ service.Prepared     = (*prepared)(nil)
	_ service.Instance     = (*instance)(nil)
	_ service.Credentialed = (*instance)(nil)
	_ service.Resetter     = (*instance)(nil)
)

// prepared is a loaded, valid configuration; the MIB is immutable and
// shared by the instances started from it.
type prepared struct {
	m *mib
	o options
}

// Start listens on rt.Bind over UDP and serves until Shutdown.
func (p *prepared) Start(ctx context.Context, rt service.Runtime) (service.Instance, error) {
	users, err := withAccounts(p.o.Users, rt.Accounts)
	if err != nil {
		return nil, err
	}
	addr := rt.Addr("snmp")
	pc, err := rt.ListenPacket(ctx, "udp", addr, service.PacketOptions{})
	if err != nil {
		return nil, &service.BindError{Service: "snmp", Listener: "snmp", Network: "udp", Addr: addr, Err: err}
	}
	s := newServer(p, rt.Events, rt.Log, time.Now)
	s.withVariants(rt.Variants, rt.Who)
	if len(rt.Accounts) > 0 {
		s.usm = newUSM(p.o.EngineID, users, s.a.start)
	}
	s.notifySocket = func() (net.PacketConn, error) {
		return rt.ListenPacket(s.ctx, "udp", ":0", service.PacketOptions{})
	}
	s.target = notifyTarget(p.o.TrapTarget, rt.Learner)
	if rt.Shared != nil {
		if v, ok := rt.Shared.Get(service.EventCountsKey); ok {
			s.a.labCounts = v.(service.EventCounts)
		}
	}
	if rt.State != "" {
		boots, err := nextBoots(rt.State)
		if err != nil {
			pc.Close()
			return nil, fmt.Errorf("snmp: %w", err)
		}
		s.usm.boots = boots
	}
	in := &instance{s: s, pc: pc, done: make(chan struct{}),
		eps: service.Endpoints{rt.Endpoint("snmp", "snmp", "udp", pc.LocalAddr())}}
	go in.serve()
	return in, nil
}

// withAccounts adds a v3 user for each learner's own account (lab serve),
// with SHA and AES and the account's secret as both passphrases, to the
// lab file's users; a learner named like a lab user is an error.
func withAccounts(users []user, accts []service.Account) ([]user, error) {
	if len(accts) == 0 {
		return users, nil
	}
	lab := map[string]bool{}
	for _, u := range users {
		lab[u.Name] = true
	}
	out := append([]user(nil), users...)
	for _, a := range accts {
		if lab[a.User] {
			return nil, fmt.Errorf("snmp: learner %s: the lab already has an SNMPv3 user %q; give the learner another id in the roster", a.Learner, a.User)
		}
		if a.User == "" || len(a.User) > 32 {
			return nil, fmt.Errorf("snmp: learner %s: an SNMPv3 user name has 1 to 32 characters; give the learner a shorter id in the roster", a.Learner)
		}
		if len(a.Secret) < 8 {
			return nil, fmt.Errorf("snmp: learner %s: the passphrase is shorter than 8 characters", a.Learner)
		}
		out = append(out, user{Name: a.User, Auth: "SHA", AuthPass: a.Secret, Priv: "AES", PrivPass: a.Secret})
	}
	return out, nil
}

// server answers packets; it holds the agent and what sends notifications.
type server struct {
	// target is where notifications go (the lab file's trap_target, or the
	// learner's side of a lab network); notifySocket opens the socket they
	// leave from, in the lab's network.
	target       string
	notifySocket func() (net.PacketConn, error)
	a            *agent
	o            options
	comms        map[string]access
	// learnerComms are each learner's own communities in a class whose
	// lab draws them per learner (Runtime.Variants); who names the
	// learner at a client's address.
	learnerComms map[string]map[string]access
	who          func(netip.Addr) string
	events       event.Publisher
	log          *slog.Logger
	usm          *usm

	ctx    context.Context // cancelled at shutdown: stops inform retries
	cancel context.CancelFunc
	wg     sync.WaitGroup // notifications in flight
}

// newServer builds a server for p.
func newServer(p *prepared, pub event.Publisher, log *slog.Logger, now func() time.Time) *server {
	if pub == nil {
		pub = event.Discard{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{a: newAgent(p.m, now), o: p.o, comms: communities(p.o), events: pub, log: log,
		target: p.o.TrapTarget, notifySocket: func() (net.PacketConn, error) { return net.ListenPacket("udp", ":0") }}
	s.usm = newUSM(p.o.EngineID, p.o.Users, s.a.start)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// communities maps a lab's communities to what they may do.
func communities(o options) map[string]access {
	out := make(map[string]access, len(o.Communities))
	for _, c := range o.Communities {
		out[c.Name] = c.Access
	}
	return out
}

// withVariants makes the server answer each learner of a class with the
// communities of the learner's own lab (rt.Variants).
func (s *server) withVariants(variants map[string]service.Prepared, who func(netip.Addr) string) {
	if who == nil {
		return
	}
	s.who = who
	s.learnerComms = make(map[string]map[string]access, len(variants))
	for learner, v := range variants {
		if vp, ok := v.(*prepared); ok {
			s.learnerComms[learner] = communities(vp.o)
		}
	}
}

// communitiesFor are the communities a client may use: its learner's own
// in a class whose lab draws them per learner, else the lab's.
func (s *server) communitiesFor(client string) map[string]access {
	if s.who == nil {
		return s.comms
	}
	ap, err := netip.ParseAddrPort(client)
	if err != nil {
		return s.comms
	}
	if c, ok := s.learnerComms[s.who(ap.Addr().Unmap())]; ok {
		return c
	}
	return s.comms
}

// instance is a running agent.
type instance struct {
	s    *server
	pc   net.PacketConn
	eps  service.Endpoints
	done chan struct{}

	once sync.Once
	err  error
}

// serve reads and answers packets until the socket is closed.
func (in *instance) serve() {
	defer close(in.done)
	buf := make([]byte, maxPacketSize+1)
	for {
		n, from, err := in.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			in.s.log.Debug("snmp: read", "err", err)
			continue
		}
		if n > maxPacketSize {
			in.s.a.count(cInPkts)
			in.s.a.count(cInASNParseErrs)
			continue
		}
		if out := in.s.handlePacket(buf[:n], from.String()); out != nil {
			if _, err := in.pc.WriteTo(out, from); err != nil {
				in.s.log.Debug("snmp: write", "err", err)
			}
		}
	}
}

// Endpoints returns the UDP address listened on.
func (in *instance) Endpoints() service.Endpoints { return in.eps }

// Credentials lists the communities and the v3 users.
func (in *instance) Credentials() []service.Credential {
	var cs []service.Credential
	for _, c := range in.s.o.Communities {
		if c.Hidden {
			continue
		}
		note := "community, read-only"
		if c.Access == accessRW {
			note = "community, read-write"
		}
		cs = append(cs, service.Credential{Kind: "snmp", User: c.Name, Note: note})
	}
	for _, u := range in.s.o.Users {
		cs = append(cs, service.Credential{Kind: "snmp", User: u.Name, Secret: u.AuthPass, Note: userNote(u)})
	}
	return cs
}

// userNote describes a v3 user's protocols and privacy passphrase.
func userNote(u user) string {
	switch {
	case u.Priv != "":
		return fmt.Sprintf("SNMPv3 authPriv: auth %s, priv %s with passphrase %q", u.Auth, u.Priv, u.PrivPass)
	case u.Auth != "":
		return fmt.Sprintf("SNMPv3 authNoPriv: auth %s", u.Auth)
	}
	return "SNMPv3 noAuthNoPriv"
}

// Reset brings the MIB values back to the file's.
func (in *instance) Reset(context.Context) error {
	in.s.a.reset()
	return nil
}

// Shutdown closes the socket and waits for the loop and the notifications
// in flight, up to ctx. Calling it again returns the first result.
func (in *instance) Shutdown(ctx context.Context) error {
	in.once.Do(func() {
		in.s.cancel()
		err := in.pc.Close()
		sent := make(chan struct{})
		go func() { in.s.wg.Wait(); close(sent) }()
		for _, c := range []chan struct{}{in.done, sent} {
			select {
			case <-c:
			case <-ctx.Done():
				err = errors.Join(err, ctx.Err())
			}
		}
		if err != nil {
			in.err = fmt.Errorf("snmp: shutdown: %w", err)
		}
	})
	return in.err
}

// handlePacket answers one datagram: the response to send, or nil to stay
// silent. A panic is logged and the packet dropped.
func (s *server) handlePacket(raw []byte, client string) (out []byte) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("snmp: panic handling a packet", "panic", p, "client", client)
			out = nil
		}
	}()
	return s.handlePacketUnguarded(raw, client)
}

// handlePacketUnguarded is handlePacket without the recover, for the
// fuzzer to see panics.
func (s *server) handlePacketUnguarded(raw []byte, client string) []byte {
	s.a.count(cInPkts)
	version, ok := peekVersion(raw)
	if !ok {
		s.a.count(cInASNParseErrs)
		return nil
	}
	switch version {
	case 0, 1:
	case 3:
		return s.handleV3(raw, client)
	default:
		s.a.count(cInBadVersions)
		return nil
	}
	pkt, err := (&gosnmp.GoSNMP{}).SnmpDecodePacket(raw)
	if err != nil {
		s.a.count(cInASNParseErrs)
		return nil
	}
	r := &request{pkt: pkt, version: "2c", community: pkt.Community, pdu: pduNames[pkt.PDUType]}
	if pkt.Version == gosnmp.Version1 {
		r.version = "1"
	}
	acc, ok := s.communitiesFor(client)[pkt.Community]
	if !ok {
		s.a.count(cInBadCommunityNames)
		s.a.count(cAuthFailures)
		s.events.Publish(authFailureEvent(r.version, "bad-community", pkt.Community, client))
		return nil
	}
	if r.pdu == "" || (r.pdu == "getbulk" && r.version == "1") {
		return nil // not a request (or GetBulk in v1, which has none)
	}
	resp := &gosnmp.SnmpPacket{Version: pkt.Version, Community: pkt.Community}
	if err := s.a.answer(r, acc, resp); err != nil {
		s.log.Warn("snmp: cannot answer", "err", err, "client", client)
		return nil
	}
	s.publish(r, client)
	return r.out
}

// publish emits the events of an answered request and sends its
// notifications.
func (s *server) publish(r *request, client string) {
	s.a.count(cRequests)
	s.events.Publish(requestEvent(r, client))
	for _, c := range r.sets {
		s.events.Publish(setEvent(c, client))
	}
	for _, ch := range r.notify {
		s.notify(ch)
	}
}

// peekVersion reads the version of an SNMP message: the first INTEGER
// inside the outer SEQUENCE.
func peekVersion(b []byte) (int, bool) {
	if len(b) < 2 || b[0] != 0x30 {
		return 0, false
	}
	i := 2
	if b[1]&0x80 != 0 {
		i += int(b[1] & 0x7f)
	}
	if i+3 > len(b) || b[i] != 0x02 || b[i+1] != 1 {
		return 0, false
	}
	return int(b[i+2]), true
}

// bootsFile keeps snmpEngineBoots in the state directory.
const bootsFile = "snmp-engine-boots"

// nextBoots reads the engine's boot count from the state directory, adds
// one and writes it back (atomically), as RFC 3414 §2.2.2 asks: a manager
// that saw an earlier run must not be able to replay its messages. A
// missing or unreadable count starts again at 1.
func nextBoots(dir string) (int64, error) {
	path := filepath.Join(dir, bootsFile)
	var boots int64
	if b, err := os.ReadFile(path); err == nil {
		boots, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	if boots < 0 || boots >= math.MaxInt32-1 {
		boots = 0 // RFC 3414: at 2^31-1 the engine must be reconfigured; start over
	}
	boots++
	tmp, err := os.CreateTemp(dir, bootsFile+".*")
	if err != nil {
		return 0, fmt.Errorf("engine boots: %w", err)
	}
	_, werr := fmt.Fprintf(tmp, "%d\n", boots)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return 0, fmt.Errorf("engine boots: %w", errors.Join(werr, cerr))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return 0, fmt.Errorf("engine boots: %w", err)
	}
	return boots, nil
}

// notifyTarget is where notifications go: the lab file's target, except
// that in a lab network a loopback target means the learner, on the
// standard notification port (snmptrapd's default) — the lab server's own
// loopback is not the learner's.
func notifyTarget(target, learner string) string {
	if target == "" || learner == "" {
		return target
	}
	host, _, err := net.SplitHostPort(target)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return target
	}
	return net.JoinHostPort(learner, "162")
}
