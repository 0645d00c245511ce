package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"protolab/internal/api"
	"protolab/internal/progress"
	"protolab/internal/service"
)

type healthzOptions struct {
	verbose bool
	connect bool
	timeout time.Duration
}

func (c *cli) healthzCmd() *cobra.Command {
	opts := &healthzOptions{}
	cmd := &cobra.Command{
		Use:   "healthz",
		Short: "Check that the running lab answers and its servers listen (exit 0), else exit 1 with the reason",
		Long: `Check the lab running with the state directory, for a container's health check
or a script: its API must answer GET /api/status in time, and every endpoint its
servers report (TCP and UDP) must be open. Quiet when all is well; -v prints
each check.

On Linux the endpoints are looked up in the kernel's socket tables
(/proc/net/tcp, udp...), which says whether they accept connections without
becoming a client of the lab: a health check every few seconds that connected
would show up in the lab's events. --connect opens a TCP connection to each
TCP endpoint instead (what happens elsewhere than on Linux). Endpoints in a
lab network (--sandbox) live in their own namespace and are not checked.`,
		Example: `  lab healthz && echo up
  lab healthz -v --state /var/lib/protolab`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return c.runHealthz(ctx, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.verbose, "verbose", "v", false, "print what was checked")
	f.BoolVar(&opts.connect, "connect", false, "open a TCP connection to each TCP endpoint instead of reading the kernel's socket tables")
	f.DurationVar(&opts.timeout, "timeout", 2*time.Second, "how long the API, and each connection, may take to answer")
	return cmd
}

// probeState is the outcome of one check.
type probeState int

const (
	probeOK probeState = iota
	probeFailed
	probeSkipped
)

// probe is one thing lab healthz checked.
type probe struct {
	name   string // "state", "api" or a service's name
	target string // what was looked at: a URL, "tcp 192.0.2.1:25"
	state  probeState
	note   string // what was seen, or why it failed or was skipped
}

func (p probe) String() string {
	word := map[probeState]string{probeOK: "ok", probeFailed: "FAIL", probeSkipped: "skip"}[p.state]
	s := fmt.Sprintf("%-5s %-15s %s", word, p.name, p.target)
	if p.note != "" {
		s += " (" + p.note + ")"
	}
	return s
}

func (c *cli) runHealthz(ctx context.Context, opts *healthzOptions) error {
	if opts.timeout <= 0 {
		return usagef("--timeout %s: give a positive duration such as 2s", opts.timeout)
	}
	dir, err := c.state()
	if err != nil {
		return err
	}
	ri, _, err := c.running()
	if err != nil {
		if opts.verbose {
			fmt.Fprintln(c.stdout, probe{name: "state", target: dir, state: probeFailed, note: "no lab running"})
		}
		return err
	}
	probes := checkHealth(ctx, ri, dir, healthChecker{timeout: opts.timeout, connect: opts.connect})
	var failed []string
	for _, p := range probes {
		if opts.verbose {
			fmt.Fprintln(c.stdout, p)
		}
		if p.state == probeFailed {
			failed = append(failed, p.name+" "+p.target+": "+p.note)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("the lab %s is not healthy: %s", ri.Lab, strings.Join(failed, "; "))
	}
	return nil
}

// healthChecker says how to check: the time allowed and whether to connect.
type healthChecker struct {
	timeout time.Duration
	connect bool
	// tables reads a kernel socket table ("tcp", "udp6"...); nil reads
	// /proc/net on Linux, and nothing elsewhere.
	tables func(name string) ([]byte, error)
}

// checkHealth checks the lab described by ri: its API answers and says it
// runs this lab, and each of its endpoints is open.
func checkHealth(ctx context.Context, ri progress.RunInfo, dir string, hc healthChecker) []probe {
	probes := []probe{{name: "state", target: dir, note: fmt.Sprintf("lab %s, pid %d", ri.Lab, ri.PID)}}
	st, p := probeAPI(ctx, ri, hc.timeout)
	probes = append(probes, p)
	if p.state != probeOK {
		return probes
	}
	if ri.Sandbox != "" {
		for _, e := range st.Endpoints {
			probes = append(probes, probe{name: endpointName(e), target: e.Network + " " + e.Addr, state: probeSkipped,
				note: "in the lab network, not reachable from here"})
		}
		return probes
	}
	var tables *socketTables
	if !hc.connect {
		tables = readSocketTables(hc.tables)
	}
	out := make([]probe, len(st.Endpoints))
	var wg sync.WaitGroup
	for i, e := range st.Endpoints {
		if tables != nil {
			out[i] = tables.probe(e)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = probeConnect(ctx, e, hc.timeout)
		}()
	}
	wg.Wait()
	return append(probes, out...)
}

// endpointName names an endpoint by its service, and its listener when the
// service has several (smtp/submission).
func endpointName(e service.Endpoint) string {
	if e.Listener == "" || e.Listener == e.Service {
		return e.Service
	}
	return e.Service + "/" + e.Listener
}

// probeAPI asks the lab's API for its status.
func probeAPI(ctx context.Context, ri progress.RunInfo, timeout time.Duration) (api.Status, probe) {
	base := reachableURL(ri.API)
	p := probe{name: "api", target: base + "/api/status"}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// No proxy: the lab is on this machine, whatever HTTP_PROXY says.
	client := &api.Client{Base: base, HTTP: &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}}
	st, err := client.Status(ctx)
	switch {
	case ctx.Err() != nil:
		p.state, p.note = probeFailed, fmt.Sprintf("no answer within %s", timeout)
	case err != nil:
		p.state, p.note = probeFailed, err.Error()
	case !st.Running:
		p.state, p.note = probeFailed, "the lab says it is not running"
	case st.Lab != ri.Lab:
		p.state, p.note = probeFailed, fmt.Sprintf("it answers for lab %q, not %q: another program holds the address", st.Lab, ri.Lab)
	default:
		p.note = fmt.Sprintf("lab %s, %d/%d tasks done, %d endpoints", st.Lab, st.Done, st.Total, len(st.Endpoints))
	}
	return st, p
}

// probeConnect opens a TCP connection to the endpoint and closes it at once.
// A UDP endpoint has nothing to connect to and is skipped.
func probeConnect(ctx context.Context, e service.Endpoint, timeout time.Duration) probe {
	p := probe{name: endpointName(e), target: e.Network + " " + e.Addr}
	if e.Network != "tcp" {
		p.state, p.note = probeSkipped, "no connection to open over "+e.Network
		return p
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", reachableAddr(e.Addr))
	if err != nil {
		p.state, p.note = probeFailed, "does not accept connections: "+err.Error()
		return p
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // a reset: nothing left in TIME_WAIT
	}
	conn.Close()
	p.note = "accepts connections"
	return p
}

// reachableAddr turns a wildcard listening address into one to connect to:
// 0.0.0.0:53 is reached at 127.0.0.1:53, [::]:53 at [::1]:53.
func reachableAddr(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return net.JoinHostPort(reachableHost(host), port)
}

func reachableHost(host string) string {
	ip, err := netip.ParseAddr(host)
	switch {
	case err != nil || !ip.IsUnspecified():
		return host
	case ip.Is4():
		return "127.0.0.1"
	}
	return "::1"
}

// reachableURL does the same for the API's base URL.
func reachableURL(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return base
	}
	u.Host = reachableAddr(u.Host)
	return strings.TrimSuffix(u.String(), "/")
}

// socketTables are the kernel's tables of TCP and UDP sockets, IPv4 and
// IPv6, of this network namespace.
type socketTables struct {
	tcp, udp []procSocket
}

// readSocketTables reads the tables, or returns nil when they cannot be
// read (not Linux, no /proc): the caller connects instead.
func readSocketTables(read func(string) ([]byte, error)) *socketTables {
	if read == nil {
		if runtime.GOOS != "linux" {
			return nil
		}
		read = readProcNet
	}
	t := &socketTables{}
	for _, name := range []string{"tcp", "tcp6", "udp", "udp6"} {
		data, err := read(name)
		if err != nil {
			if strings.HasSuffix(name, "6") && errors.Is(err, os.ErrNotExist) {
				continue // no IPv6 in this kernel or namespace
			}
			return nil
		}
		socks, err := parseProcNet(data)
		if err != nil {
			return nil
		}
		if strings.HasPrefix(name, "tcp") {
			t.tcp = append(t.tcp, socks...)
		} else {
			t.udp = append(t.udp, socks...)
		}
	}
	return t
}

// maxProcNet bounds what is read of one socket table.
const maxProcNet = 32 << 20

func readProcNet(name string) ([]byte, error) {
	f, err := os.Open("/proc/net/" + name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxProcNet))
}

// probe looks the endpoint up: a TCP endpoint needs a listening socket, a
// UDP one a bound socket, on its port and its address or the wildcard.
func (t *socketTables) probe(e service.Endpoint) probe {
	p := probe{name: endpointName(e), target: e.Network + " " + e.Addr}
	ap, err := netip.ParseAddrPort(e.Addr)
	if err != nil {
		p.state, p.note = probeFailed, "the lab reports an address that cannot be read"
		return p
	}
	var socks []procSocket
	switch e.Network {
	case "tcp", "tcp4", "tcp6":
		socks = t.tcp
	case "udp", "udp4", "udp6":
		socks = t.udp
	default:
		p.state, p.note = probeSkipped, "unknown transport"
		return p
	}
	tcp := strings.HasPrefix(e.Network, "tcp")
	for _, s := range socks {
		if (!tcp || s.state == tcpListen) && s.local.Port() == ap.Port() && sameOrWildcard(s.local.Addr(), ap.Addr()) {
			if tcp {
				p.note = "listening"
			} else {
				p.note = "bound"
			}
			return p
		}
	}
	p.state = probeFailed
	if tcp {
		p.note = "nothing listens there"
	} else {
		p.note = "no socket is bound there"
	}
	return p
}

// sameOrWildcard reports whether a socket bound to have serves want: the
// same address, or a wildcard on either side (an endpoint reported as
// 0.0.0.0 is served by any socket on its port).
func sameOrWildcard(have, want netip.Addr) bool {
	have, want = have.Unmap(), want.Unmap().WithZone("")
	return have == want || have.IsUnspecified() || want.IsUnspecified()
}

// tcpListen is TCP_LISTEN in the "st" column of /proc/net/tcp.
const tcpListen = 0x0A

// procSocket is one line of /proc/net/tcp, tcp6, udp or udp6.
type procSocket struct {
	local netip.AddrPort
	state uint8
}

// parseProcNet reads a /proc/net/{tcp,udp}{,6} table: a header line, then
// one socket a line, "sl local_address rem_address st ...", addresses as
// hexadecimal words in the machine's byte order and ports in hexadecimal.
func parseProcNet(data []byte) ([]procSocket, error) {
	var out []procSocket
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	first := true
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if first {
			first = false
			if len(fields) > 0 && fields[0] == "sl" {
				continue
			}
		}
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 4 || !strings.HasSuffix(fields[0], ":") {
			return nil, fmt.Errorf("socket table line %d: want \"sl: local remote st ...\"", n)
		}
		local, err := parseProcAddr(fields[1])
		if err != nil {
			return nil, fmt.Errorf("socket table line %d: %w", n, err)
		}
		st, err := strconv.ParseUint(fields[3], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("socket table line %d: state %q: not a hexadecimal byte", n, fields[3])
		}
		out = append(out, procSocket{local: local, state: uint8(st)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("socket table: %w", err)
	}
	return out, nil
}

// parseProcAddr reads "0100007F:0035" (127.0.0.1:53 on a little-endian
// machine) or its 32-digit IPv6 form.
func parseProcAddr(s string) (netip.AddrPort, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok || len(p) != 4 || (len(h) != 8 && len(h) != 32) {
		return netip.AddrPort{}, fmt.Errorf("address %q: want HEX:PORT", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: bad port", s)
	}
	raw, err := hex.DecodeString(h)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: not hexadecimal", s)
	}
	// Each 32-bit word was printed as a number: put its bytes back in the
	// order the machine keeps them, which is network order.
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
