package dhcp

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"protolab/internal/eventtest"
	"protolab/internal/service"
	"protolab/internal/servicetest"
)

// labOptions are the options of the built-in dhcp lab.
const labOptions = `server: 192.0.2.1
pool: 192.0.2.100-192.0.2.199
netmask: 255.255.255.0
router: 192.0.2.1
dns: [192.0.2.1]
domain: lab.test
lease_time: 120s
reservations:
  - {mac: "02:00:00:00:00:42", ip: 192.0.2.42, hostname: pc42}
options:
  ntp: [192.0.2.1]
`

// loadLab loads options (labOptions when empty).
func loadLab(t testing.TB, opts string) *prepared {
	t.Helper()
	if opts == "" {
		opts = labOptions
	}
	p, err := Spec.Load(servicetest.YAML(t, opts), nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return p.(*prepared)
}

// clock is a settable clock for leases.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// running is a server on 127.0.0.1:0 with its events.
type running struct {
	t      testing.TB
	inst   *instance
	addr   *net.UDPAddr
	events *eventtest.Collector
	clock  *clock
}

// startOpts are how a test server starts.
type startOpts struct {
	options string // lab options; labOptions when empty
	state   string // state directory; none when empty
	clock   *clock // nil: a fresh one
}

// start runs a server over loopback.
func start(t testing.TB, so startOpts) *running {
	t.Helper()
	p := loadLab(t, so.options)
	if so.clock == nil {
		so.clock = newClock()
	}
	p.now = so.clock.now
	col := eventtest.New(&Spec)
	inst, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Events: col, State: so.state})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	r := &running{t: t, inst: inst.(*instance), events: col, clock: so.clock}
	t.Cleanup(func() { r.stop(); col.CheckDeclared(t) })
	a, _ := inst.Endpoints().Find("dhcp", "udp")
	r.addr = net.UDPAddrFromAddrPort(netip.MustParseAddrPort(a))
	return r
}

// stop shuts the server down.
func (r *running) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.inst.Shutdown(ctx); err != nil {
		r.t.Errorf("shutdown: %v", err)
	}
}

// client is a lab client for the server.
func (r *running) client(mac string, params ...uint8) *Client {
	r.t.Helper()
	o := ClientOptions{Server: r.addr, Timeout: 500 * time.Millisecond}
	if mac != "" {
		o.MAC = mustMAC(r.t, mac)
	}
	if params != nil {
		o.Params = params
	}
	c, err := NewClient(o)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { c.Close() })
	return c
}

// lease runs DORA for mac and returns the ACK.
func (r *running) lease(mac string, params ...uint8) *dhcpv4.DHCPv4 {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := r.client(mac, params...).Lease(ctx)
	if err != nil {
		r.t.Fatalf("lease for %s: %v", mac, err)
	}
	return l.ACK
}

// handle feeds a message straight to the server's handler (as received
// from 127.0.0.1:6800, sent to dst when valid) and decodes the reply.
func (r *running) handle(m *dhcpv4.DHCPv4, dst netip.Addr) *dhcpv4.DHCPv4 {
	r.t.Helper()
	out, _ := r.inst.s.handlePacket(packet{raw: m.ToBytes(), peer: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6800}, dst: dst})
	if out == nil {
		return nil
	}
	reply, err := dhcpv4.FromBytes(out)
	if err != nil {
		r.t.Fatalf("the server's reply does not parse: %v", err)
	}
	return reply
}

func mustMAC(t testing.TB, s string) net.HardwareAddr {
	t.Helper()
	hw, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return hw
}

// msg builds a client message.
func msg(t testing.TB, mt dhcpv4.MessageType, mac string, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(mustMAC(t, mac)), dhcpv4.WithMessageType(mt)}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func ip4(s string) net.IP { return net.ParseIP(s).To4() }

func withRequested(ip string) dhcpv4.Modifier {
	return dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip4(ip)))
}

func withServerID(ip string) dhcpv4.Modifier {
	return dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ip4(ip)))
}
