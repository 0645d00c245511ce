package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/vishvananda/netns"

	"protolab/bench/internal/benchkit"
	"protolab/internal/catalog"
	"protolab/internal/event"
	"protolab/internal/service"
	"protolab/labs"
)

// TestMain lets the test binary be the load client, as the benchmark's
// own binary is (runClient runs "SELF client ...").
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == clientCommand {
		os.Exit(clientMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

var (
	testMAC = net.HardwareAddr{0x02, 0xdc, 0xb0, 0, 0, 7}
	srvIP   = netip.MustParseAddr("192.0.2.1")
	offered = netip.MustParseAddr("192.0.2.77")
)

func TestBuildFrame(t *testing.T) {
	tests := []struct {
		name      string
		mt        byte
		requested netip.Addr
		server    netip.Addr
	}{
		{"discover", msgDiscover, netip.Addr{}, netip.Addr{}},
		{"request", msgRequest, offered, srvIP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := buildFrame(make([]byte, frameLen), testMAC, tt.mt, 0x00070009, tt.requested, tt.server)
			if len(f) != frameLen {
				t.Fatalf("frame of %d bytes, want %d", len(f), frameLen)
			}
			if !bytes.Equal(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) || !bytes.Equal(f[6:12], testMAC) {
				t.Errorf("Ethernet addresses %x -> %x, want %s -> broadcast", f[6:12], f[0:6], testMAC)
			}
			if ipChecksum(f[ethLen:ethLen+ipLen]) != 0 {
				t.Error("the IPv4 header checksum does not verify")
			}
			if sp, dp := binary.BigEndian.Uint16(f[34:36]), binary.BigEndian.Uint16(f[36:38]); sp != 68 || dp != 67 {
				t.Errorf("UDP ports %d -> %d, want 68 -> 67", sp, dp)
			}
			m, err := dhcpv4.FromBytes(f[bootpAt:])
			if err != nil {
				t.Fatalf("dhcpv4 does not parse the message: %v", err)
			}
			if m.OpCode != dhcpv4.OpcodeBootRequest || m.ClientHWAddr.String() != testMAC.String() ||
				binary.BigEndian.Uint32(m.TransactionID[:]) != 0x00070009 || m.IsBroadcast() {
				t.Errorf("header: op %v chaddr %s xid %s broadcast %v", m.OpCode, m.ClientHWAddr, m.TransactionID, m.IsBroadcast())
			}
			if got := byte(m.MessageType()); got != tt.mt {
				t.Errorf("message type %d, want %d", got, tt.mt)
			}
			if !bytes.Equal(m.Options.Get(dhcpv4.OptionParameterRequestList), paramList) {
				t.Errorf("option 55 = %v, want %v", m.Options.Get(dhcpv4.OptionParameterRequestList), paramList)
			}
			gotReq, _ := netip.AddrFromSlice(m.RequestedIPAddress().To4())
			gotSrv, _ := netip.AddrFromSlice(m.ServerIdentifier().To4())
			if gotReq != tt.requested || gotSrv != tt.server {
				t.Errorf("options 50/54 = %v/%v, want %v/%v", gotReq, gotSrv, tt.requested, tt.server)
			}
		})
	}
}

// replyFrame wraps a server's message built by dhcpv4 in Ethernet, IPv4
// and UDP, as the client's packet socket sees it.
func replyFrame(t testing.TB, mt dhcpv4.MessageType, xid uint32, mods ...dhcpv4.Modifier) []byte {
	t.Helper()
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(testMAC),
		dhcpv4.WithMessageType(mt), dhcpv4.WithTransactionID(dhcpv4.TransactionID(binary.BigEndian.AppendUint32(nil, xid))),
		dhcpv4.WithYourIP(offered.AsSlice()), dhcpv4.WithServerIP(srvIP.AsSlice()),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(srvIP.AsSlice()))}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	m.OpCode = dhcpv4.OpcodeBootReply
	return wrap(m.ToBytes(), 0x45)
}

// wrap puts payload in a UDP datagram 67 -> 68 in an IPv4 packet whose
// first byte is verIHL, in an Ethernet broadcast frame.
func wrap(payload []byte, verIHL byte) []byte {
	ihl := int(verIHL&0x0f) * 4
	f := make([]byte, ethLen+ihl+udpLen+len(payload))
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	binary.BigEndian.PutUint16(f[12:14], 0x0800)
	ip := f[ethLen:]
	ip[0] = verIHL
	binary.BigEndian.PutUint16(ip[2:4], uint16(ihl+udpLen+len(payload)))
	ip[8], ip[9] = 64, 17
	u := ip[ihl:]
	binary.BigEndian.PutUint16(u[0:2], 67)
	binary.BigEndian.PutUint16(u[2:4], 68)
	binary.BigEndian.PutUint16(u[4:6], uint16(udpLen+len(payload)))
	copy(u[udpLen:], payload)
	return f
}

func TestParseReply(t *testing.T) {
	offer := replyFrame(t, dhcpv4.MessageTypeOffer, 0x00030001)
	mutate := func(f func([]byte) []byte) []byte { return f(bytes.Clone(offer)) }
	tests := []struct {
		name   string
		frame  []byte
		ok     bool
		mt     byte
		server netip.Addr
	}{
		{"offer", offer, true, msgOffer, srvIP},
		{"ack", replyFrame(t, dhcpv4.MessageTypeAck, 0x00030001), true, msgAck, srvIP},
		{"nak", replyFrame(t, dhcpv4.MessageTypeNak, 0x00030001), true, msgNak, srvIP},
		{"ip options", func() []byte {
			m, _ := dhcpv4.FromBytes(offer[bootpAt:])
			return wrap(m.ToBytes(), 0x46)
		}(), true, msgOffer, srvIP},
		{"empty", nil, false, 0, netip.Addr{}},
		{"truncated", offer[:bootpAt+100], false, 0, netip.Addr{}},
		{"not IPv4", mutate(func(f []byte) []byte { f[12] = 0x86; return f }), false, 0, netip.Addr{}},
		{"IPv6 version", mutate(func(f []byte) []byte { f[ethLen] = 0x65; return f }), false, 0, netip.Addr{}},
		{"not UDP", mutate(func(f []byte) []byte { f[ethLen+9] = 6; return f }), false, 0, netip.Addr{}},
		{"fragment", mutate(func(f []byte) []byte { f[ethLen+6] = 0x20; return f }), false, 0, netip.Addr{}},
		{"to the server port", mutate(func(f []byte) []byte { f[ethLen+ipLen+3] = 67; return f }), false, 0, netip.Addr{}},
		{"a request", mutate(func(f []byte) []byte { f[bootpAt] = 1; return f }), false, 0, netip.Addr{}},
		{"bad cookie", mutate(func(f []byte) []byte { f[bootpAt+bootpFixed] = 0; return f }), false, 0, netip.Addr{}},
		{"IP length past the frame", mutate(func(f []byte) []byte {
			binary.BigEndian.PutUint16(f[ethLen+2:], uint16(len(f)))
			return f
		}), false, 0, netip.Addr{}},
		{"no message type", func() []byte {
			m, _ := dhcpv4.FromBytes(offer[bootpAt:])
			m.Options.Del(dhcpv4.OptionDHCPMessageType)
			return wrap(m.ToBytes(), 0x45)
		}(), false, 0, netip.Addr{}},
		{"option past the end", func() []byte {
			b := bytes.Clone(offer[bootpAt : bootpAt+bootpFixed+4])
			return wrap(append(b, 53, 1, msgOffer, 54, 9, 1, 2), 0x45)
		}(), false, 0, netip.Addr{}},
		{"no server identifier", func() []byte {
			b := bytes.Clone(offer[bootpAt : bootpAt+bootpFixed+4])
			return wrap(append(b, 0, 53, 1, msgOffer, 255), 0x45)
		}(), true, msgOffer, netip.Addr{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := parseReply(tt.frame)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if r.mt != tt.mt || r.server != tt.server || r.xid != 0x00030001 ||
				r.yiaddr != offered || r.chaddr != [6]byte(testMAC) {
				t.Errorf("got %+v, want type %d server %v xid 0x00030001 yiaddr %v chaddr %s", r, tt.mt, tt.server, offered, testMAC)
			}
		})
	}
}

func FuzzParseReply(f *testing.F) {
	f.Add(replyFrame(f, dhcpv4.MessageTypeOffer, 1))
	f.Add(replyFrame(f, dhcpv4.MessageTypeAck, 2, dhcpv4.WithOption(dhcpv4.OptDomainName("lab.test"))))
	f.Add(wrap([]byte{2, 1, 6}, 0x45))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok := parseReply(b)
		if !ok {
			return
		}
		if r.mt == 0 || len(b) < bootpAt+bootpFixed+4 || !r.yiaddr.Is4() {
			t.Fatalf("accepted %d bytes as %+v", len(b), r)
		}
	})
}

func TestBenchPool(t *testing.T) {
	mod, err := moduleDir(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	file, err := writeLabFile(mod, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pool: " + poolFirst + "-" + poolLast, "lease_time: " + leaseTime, reservedMAC} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the bench's lab file has no %q", want)
		}
	}
	lab, err := labs.LoadFile(file, catalog.New())
	if err != nil {
		t.Fatalf("the bench's lab file does not load: %v", err)
	}
	if len(lab.Tasks) == 0 || len(lab.Services) != 1 || lab.Services[0].Name != "dhcp" {
		t.Errorf("the bench's lab has %d tasks and services %+v, want the dhcp lab's", len(lab.Tasks), lab.Services)
	}
	if _, err := benchPool([]byte("id: x\nservices:\n  dhcp:\n    server: 192.0.2.1\n")); err == nil {
		t.Error("benchPool of a lab without pool: no error")
	}
}

func TestDnsmasqArgs(t *testing.T) {
	args := strings.Join(dnsmasqArgs("/usr/sbin/dnsmasq", "veth0", "/s/l", "/w/log", false), " ")
	for _, want := range []string{"--port=0", "--interface=veth0", "--bind-interfaces", "--conf-file=/dev/null",
		"--dhcp-range=192.0.2.10,192.0.2.250,255.255.255.0,120s", "--dhcp-leasefile=/s/l", "--no-ping",
		"--dhcp-host=02:00:00:00:00:42,192.0.2.42", "--log-facility=/w/log", "--dhcp-authoritative"} {
		if !strings.Contains(args, want) {
			t.Errorf("dnsmasq's arguments lack %s: %s", want, args)
		}
	}
	if strings.Contains(args, "--quiet-dhcp") {
		t.Error("--quiet-dhcp without asking")
	}
	if q := strings.Join(dnsmasqArgs("d", "i", "l", "g", true), " "); !strings.Contains(q, "--quiet-dhcp") {
		t.Error("quiet: no --quiet-dhcp")
	}
}

func TestStaleNames(t *testing.T) {
	names := []string{"dhcpbench-10-s", "dhcpbench-10-c", "dhcpbench-11-s", "dhcpbench-12-3110768124",
		"dhcpbench-abc-s", "labnet", "dhcpbench-13", "dhcpbench-14-", "dhcpbench--1-c", "dhcpbench-3110768124"}
	alive := func(pid int) bool { return pid == 11 }
	got := strings.Join(staleNames(names, alive), " ")
	if got != "dhcpbench-10-s dhcpbench-10-c dhcpbench-12-3110768124" {
		t.Errorf("stale = %q, want those of processes 10 and 12", got)
	}
	if benchAlive(os.Getpid()) != strings.HasPrefix(filepath.Base(os.Args[0]), "dhcpbench") {
		t.Errorf("benchAlive(own pid) = %v for %s", benchAlive(os.Getpid()), os.Args[0])
	}
}

func TestTestbedNames(t *testing.T) {
	tb := newTestbed("ip", 4194304) // the largest pid Linux gives
	for _, n := range []string{tb.serverIf, tb.clientIf} {
		if len(n) > 15 {
			t.Errorf("interface name %q is longer than 15 bytes", n)
		}
	}
	if tb.serverNS == tb.clientNS || tb.serverIf == tb.clientIf {
		t.Error("the two sides share a name")
	}
	if got := staleNames([]string{tb.serverNS, tb.clientNS}, func(int) bool { return false }); len(got) != 2 {
		t.Errorf("the testbed's namespaces are not recognised as the benchmark's: %v", got)
	}
}

func TestReport(t *testing.T) {
	mk := func(dora int, cpu time.Duration) loadResult {
		return loadResult{DORA: dora, Elapsed: 2 * time.Second, Latency: time.Duration(dora) * time.Millisecond,
			ServerCPU: cpu, ClientCPU: time.Second}
	}
	r := &result{opts: options{duration: 2 * time.Second, rounds: 2, inflight: 8, clients: 16},
		cpus: 2, pinning: "off", otherCPU: 0.01, stateWhere: "on tmpfs",
		lab:     &server{name: "lab", runs: []loadResult{mk(10000, 1800*time.Millisecond), mk(12000, 1900*time.Millisecond)}, rss: 30 << 20},
		dnsmasq: &server{name: "dnsmasq", runs: []loadResult{mk(10000, 1000*time.Millisecond), mk(8000, 1000*time.Millisecond)}, rss: 5 << 20}}
	r.lab.events = &events{published: 48000, dropped: 10}
	if got := ratio(r); got != 1.2 || verdict(got) != "PASS" {
		t.Errorf("ratio %v (%s), want 1.2 PASS", got, verdict(got))
	}
	// Least CPU per DORA: lab 1.9 s / 12000, dnsmasq 1.0 s / 10000.
	if got := cpuRatio(r); got < 0.63 || got > 0.64 {
		t.Errorf("cpuRatio = %v, want 0.1 ms / 0.158 ms = 0.63", got)
	}
	var b strings.Builder
	printReport(&b, r)
	for _, want := range []string{"BENCH dhcp.dora_per_s.lab=6000", "BENCH dhcp.dora_per_s.dnsmasq=5000",
		"BENCH dhcp.ratio.lab_dnsmasq=1.20", "BENCH dhcp.target.lab_dnsmasq=PASS", "BENCH dhcp.peak_rss_mib.lab=30.0",
		"BENCH dhcp.events.lab=48000", "BENCH dhcp.events_dropped.lab=10", "BENCH dhcp.other_cpu_pct=1",
		"5000 6000"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}

	r.lab = &server{name: "lab", note: "not available: no lab"}
	b.Reset()
	printReport(&b, r)
	for _, want := range []string{"lab       not available: no lab", "BENCH dhcp.ratio.lab_dnsmasq=NA",
		"BENCH dhcp.dora_per_s.lab=NA", "BENCH dhcp.target.lab_dnsmasq=NA", "BENCH dhcp.events.lab=NA"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report without a lab lacks %q:\n%s", want, b.String())
		}
	}
	if verdict(0.5) != "MISS" {
		t.Error("verdict(0.5) is not MISS")
	}
}

func TestValidate(t *testing.T) {
	good := options{duration: 8 * time.Second, rounds: 3, inflight: 64, clients: 200, timeout: time.Second}
	if err := good.validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, mod := range map[string]func(*options){
		"short":         func(o *options) { o.duration = time.Millisecond },
		"no rounds":     func(o *options) { o.rounds = 0 },
		"many clients":  func(o *options) { o.clients = maxClients + 1 },
		"inflight":      func(o *options) { o.inflight = o.clients + 1 },
		"long timeouts": func(o *options) { o.timeout = time.Minute },
	} {
		o := good
		mod(&o)
		if o.validate() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// needRoot skips a test that builds a testbed.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces, a veth pair, a packet socket")
	}
	if findTool("ip") == "" {
		t.Skip("needs the ip command (iproute2)")
	}
}

// testbedFor builds a testbed for the test, removed at its end.
func testbedFor(t *testing.T) *testbed {
	t.Helper()
	tb := newTestbed(findTool("ip"), os.Getpid())
	if err := tb.setup(context.Background()); err != nil {
		if strings.Contains(err.Error(), "Operation not permitted") {
			t.Skipf("root without the right to make namespaces here: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tb.remove(); err != nil {
			t.Error(err)
		}
		if nsExists(tb.serverNS) || nsExists(tb.clientNS) {
			t.Error("a namespace is left after remove")
		}
	})
	return tb
}

// inNamespace runs fn on a thread in the named network namespace: the
// sockets fn opens stay there.
func inNamespace(t *testing.T, name string, fn func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked if the way back fails: the thread then ends with the goroutine
		back, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer back.Close()
		ns, err := netns.GetFromName(name)
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		err = fn()
		if netns.Set(back) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// counter counts the events published, by kind.
type counter struct{ discover, offer, request, ack, other atomic.Int64 }

func (c *counter) Publish(e event.Event) {
	switch e.Kind {
	case "dhcp.discover":
		c.discover.Add(1)
	case "dhcp.offer":
		c.offer.Add(1)
	case "dhcp.request":
		c.request.Add(1)
	case "dhcp.ack":
		c.ack.Add(1)
	default:
		c.other.Add(1)
	}
}

// clientLink opens the load client's packet socket in the testbed.
func clientLink(t *testing.T, tb *testbed) *link {
	t.Helper()
	var l *link
	inNamespace(t, tb.clientNS, func() (err error) {
		l, err = openLink(tb.clientIf)
		return err
	})
	t.Cleanup(func() { l.Close() })
	return l
}

func testMacs(n int) []net.HardwareAddr {
	m := make([]net.HardwareAddr, n)
	for i := range m {
		m[i] = clientMAC(i)
	}
	return m
}

// TestLoadAgainstLab runs the load client against the lab's DHCP server,
// started in-process from the benchmark's lab file on the server side of
// a testbed: every exchange completes, each client keeps its address, and
// every message becomes an event.
func TestLoadAgainstLab(t *testing.T) {
	needRoot(t)
	tb := testbedFor(t)
	mod, err := moduleDir(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	file, err := writeLabFile(mod, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lab, err := labs.LoadFile(file, catalog.New())
	if err != nil {
		t.Fatal(err)
	}
	ev := &counter{}
	var inst service.Instance
	inNamespace(t, tb.serverNS, func() (err error) {
		inst, err = lab.Services[0].Prepared.Start(context.Background(), service.Runtime{
			Ports: map[string]int{"dhcp": 67}, Interface: tb.serverIf, Events: ev, State: t.TempDir()})
		return err
	})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := inst.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	}()
	l := clientLink(t, tb)
	if err := probe(l, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	r := runLoad(l, loadConfig{Macs: testMacs(20), Inflight: 4, Timeout: 5 * time.Second, Duration: 30 * time.Second, StopAfter: 40})
	if r.DORA != 40 || r.Timeouts != 0 || r.NAKs != 0 || r.Wrong != 0 || r.SendErrors != 0 || r.Problem != "" {
		t.Fatalf("load against the lab: %+v", r)
	}
	// The probe's exchange, the counted ones, and those cut off at the end.
	if got := ev.ack.Load(); got < int64(r.DORA+1) || got > int64(r.DORA+1+4) {
		t.Errorf("%d dhcp.ack events for %d DORA", got, r.DORA+1)
	}
	if ev.discover.Load() < ev.ack.Load() || ev.offer.Load() < ev.ack.Load() || ev.other.Load() != 0 {
		t.Errorf("events: %d discover, %d offer, %d ack, %d others", ev.discover.Load(), ev.offer.Load(), ev.ack.Load(), ev.other.Load())
	}
}

// TestRoundAgainstDnsmasq runs one round of the benchmark against a real
// dnsmasq in a testbed, the test binary being the load client.
func TestRoundAgainstDnsmasq(t *testing.T) {
	needRoot(t)
	bin := findTool("dnsmasq")
	if bin == "" {
		t.Skipf("dnsmasq not found: %s", installLine)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tb := testbedFor(t)
	dir := t.TempDir()
	s := &server{name: "dnsmasq", start: func(ctx context.Context, round int) (*benchkit.Child, error) {
		return spawn(filepath.Join(dir, "dnsmasq.out"),
			tb.exec(tb.serverNS, dnsmasqArgs(bin, tb.serverIf, filepath.Join(dir, "leases"), filepath.Join(dir, "log"), false)...))
	}}
	o := options{duration: 30 * time.Second, inflight: 4, clients: 20, timeout: 5 * time.Second, wait: 15 * time.Second, maxDORA: 40}
	r, err := runRound(context.Background(), s, 1, self, tb, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.DORA != 40 || r.Timeouts != 0 || r.Wrong != 0 || r.SendErrors != 0 || r.ServerCPU < 0 || r.ClientCPU <= 0 {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("round against dnsmasq: %+v\n%s", r, log)
	}
	if s.rss <= 0 {
		t.Error("no peak RSS read for dnsmasq")
	}
	log, _ := os.ReadFile(filepath.Join(dir, "log"))
	if n := strings.Count(string(log), "DHCPACK("); n < r.DORA {
		t.Errorf("dnsmasq logged %d DHCPACK for %d DORA", n, r.DORA)
	}
	leases, _ := os.ReadFile(filepath.Join(dir, "leases"))
	for i := range 20 {
		if !strings.Contains(string(leases), clientMAC(i).String()) {
			t.Errorf("dnsmasq's lease file has no lease for client %d (%s)", i, clientMAC(i))
		}
	}
}
