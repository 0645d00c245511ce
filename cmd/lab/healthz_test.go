package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"protolab/internal/api"
	"protolab/internal/progress"
	"protolab/internal/service"
)

// TestHealthzOfARunningLab checks lab healthz against the real lab: quiet
// and 0 while it runs, 1 with the reason once it is stopped.
func TestHealthzOfARunningLab(t *testing.T) {
	state := t.TempDir()
	p := startLabID(t, "dns", state)
	healthz := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(labBin, append([]string{"healthz", "--state", state}, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}

	out, errs, code := healthz()
	if code != 0 || out != "" || errs != "" {
		t.Fatalf("lab healthz of a running lab: exit %d, stdout %q, stderr %q; want 0 and silence", code, out, errs)
	}

	out, _, code = healthz("-v")
	if code != 0 {
		t.Fatalf("lab healthz -v: exit %d\n%s", code, out)
	}
	for _, want := range []string{"ok    state", vline("ok", "api", p.api.Base+"/api/status"),
		vline("ok", "dns", "udp "+p.dnsUDP+" (bound)"), vline("ok", "dns", "tcp "+p.dnsTCP+" (listening)")} {
		if runtime.GOOS != "linux" && strings.Contains(want, "bound") {
			continue
		}
		if !strings.Contains(out, want) {
			t.Errorf("lab healthz -v does not say %q:\n%s", want, out)
		}
	}

	out, _, code = healthz("-v", "--connect")
	if code != 0 || !strings.Contains(out, vline("ok", "dns", "tcp "+p.dnsTCP+" (accepts connections)")) ||
		!strings.Contains(out, vline("skip", "dns", "udp "+p.dnsUDP)) {
		t.Errorf("lab healthz -v --connect: exit %d\n%s", code, out)
	}

	p.stop()
	out, errs, code = healthz()
	if code != 1 || out != "" || !strings.Contains(errs, "no lab is running") {
		t.Fatalf("lab healthz of a stopped lab: exit %d, stdout %q, stderr %q; want 1 and the reason", code, out, errs)
	}
}

// fakeLab is a state directory held as a running lab's, whose API is an
// HTTP test server answering what the test wants.
type fakeLab struct {
	dir string
	ri  progress.RunInfo
	srv *httptest.Server
}

func newFakeLab(t *testing.T, handler http.HandlerFunc) *fakeLab {
	t.Helper()
	dir := t.TempDir()
	unlock, err := progress.Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unlock() })
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	ri := progress.RunInfo{PID: os.Getpid(), Lab: "dns", API: srv.URL, Started: time.Now()}
	if err := progress.WriteRunFile(dir, ri); err != nil {
		t.Fatal(err)
	}
	return &fakeLab{dir: dir, ri: ri, srv: srv}
}

func statusHandler(st api.Status) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/status" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(st)
	}
}

// sockets opens a TCP listener and a UDP socket on loopback, and finds a
// TCP port where nothing listens.
func sockets(t *testing.T) (listening, bound, closed string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed = gone.Addr().String()
	gone.Close()
	return ln.Addr().String(), pc.LocalAddr().String(), closed
}

func TestCheckHealth(t *testing.T) {
	listening, bound, closed := sockets(t)
	eps := []service.Endpoint{
		{Service: "smtp", Listener: "smtp", Network: "tcp", Addr: listening},
		{Service: "dns", Listener: "dns", Network: "udp", Addr: bound},
		{Service: "imap", Listener: "imap", Network: "tcp", Addr: closed},
	}
	good := api.Status{Lab: "dns", Running: true, Endpoints: eps[:2], Total: 9, Done: 2}
	type want struct {
		name  string
		state probeState
		note  string
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		hc      healthChecker
		sandbox bool
		want    []want
	}{
		{"all well, socket tables", statusHandler(good), healthChecker{timeout: 2 * time.Second},
			false, []want{{"state", probeOK, "lab dns"}, {"api", probeOK, "2/9 tasks done, 2 endpoints"}, {"smtp", probeOK, "listening"}, {"dns", probeOK, "bound"}}},
		{"all well, connecting", statusHandler(good), healthChecker{timeout: 2 * time.Second, connect: true},
			false, []want{{"state", probeOK, ""}, {"api", probeOK, ""}, {"smtp", probeOK, "accepts connections"}, {"dns", probeSkipped, "no connection to open over udp"}}},
		{"a listener is gone, socket tables", statusHandler(api.Status{Lab: "dns", Running: true, Endpoints: eps}), healthChecker{timeout: 2 * time.Second},
			false, []want{{"state", probeOK, ""}, {"api", probeOK, ""}, {"smtp", probeOK, ""}, {"dns", probeOK, ""}, {"imap", probeFailed, "nothing listens there"}}},
		{"a listener is gone, connecting", statusHandler(api.Status{Lab: "dns", Running: true, Endpoints: eps}), healthChecker{timeout: 2 * time.Second, connect: true},
			false, []want{{"state", probeOK, ""}, {"api", probeOK, ""}, {"smtp", probeOK, ""}, {"dns", probeSkipped, ""}, {"imap", probeFailed, "does not accept connections"}}},
		{"a UDP socket is gone", statusHandler(api.Status{Lab: "dns", Running: true, Endpoints: []service.Endpoint{{Service: "snmp", Network: "udp", Addr: closed}}}),
			healthChecker{timeout: 2 * time.Second}, false, []want{{"state", probeOK, ""}, {"api", probeOK, ""}, {"snmp", probeFailed, "no socket is bound there"}}},
		{"not running", statusHandler(api.Status{Lab: "dns"}), healthChecker{timeout: 2 * time.Second},
			false, []want{{"state", probeOK, ""}, {"api", probeFailed, "not running"}}},
		{"another lab", statusHandler(api.Status{Lab: "smtp", Running: true}), healthChecker{timeout: 2 * time.Second},
			false, []want{{"state", probeOK, ""}, {"api", probeFailed, `answers for lab "smtp", not "dns"`}}},
		{"an error", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(api.Error{Error: "the store is broken"})
		}, healthChecker{timeout: 2 * time.Second}, false, []want{{"state", probeOK, ""}, {"api", probeFailed, "the store is broken"}}},
		{"no answer in time", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			healthChecker{timeout: 100 * time.Millisecond}, false, []want{{"state", probeOK, ""}, {"api", probeFailed, "no answer within 100ms"}}},
		{"in a lab network", statusHandler(api.Status{Lab: "dns", Running: true, Endpoints: eps}), healthChecker{timeout: 2 * time.Second},
			true, []want{{"state", probeOK, ""}, {"api", probeOK, ""}, {"smtp", probeSkipped, "lab network"}, {"dns", probeSkipped, ""}, {"imap", probeSkipped, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS != "linux" && !tt.hc.connect {
				t.Skip("socket tables are read on Linux only")
			}
			fl := newFakeLab(t, tt.handler)
			ri := fl.ri
			if tt.sandbox {
				ri.Sandbox = "sandbox.sock"
			}
			got := checkHealth(context.Background(), ri, fl.dir, tt.hc)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d checks, want %d:\n%v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.name != w.name || g.state != w.state || !strings.Contains(g.note, w.note) {
					t.Errorf("check %d: got %q, want %s %v with a note containing %q", i, g, w.name, w.state, w.note)
				}
			}
		})
	}
}

// TestHealthzCommand runs the command in process: exit codes and output.
func TestHealthzCommand(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("socket tables are read on Linux only")
	}
	listening, _, closed := sockets(t)
	tests := []struct {
		name       string
		st         api.Status
		args       []string
		code       int
		stdout     []string // each must appear; none means silence
		stderrHave string
	}{
		{"healthy, quiet", api.Status{Lab: "dns", Running: true, Endpoints: []service.Endpoint{{Service: "smtp", Network: "tcp", Addr: listening}}},
			nil, 0, nil, ""},
		{"healthy, verbose", api.Status{Lab: "dns", Running: true, Endpoints: []service.Endpoint{{Service: "smtp", Network: "tcp", Addr: listening}}},
			[]string{"-v"}, 0, []string{"ok    api", vline("ok", "smtp", "tcp "+listening+" (listening)")}, ""},
		{"a listener is gone", api.Status{Lab: "dns", Running: true, Endpoints: []service.Endpoint{{Service: "imap", Network: "tcp", Addr: closed}}},
			nil, 1, nil, "lab: the lab dns is not healthy: imap tcp " + closed + ": nothing listens there"},
		{"a listener is gone, verbose", api.Status{Lab: "dns", Running: true, Endpoints: []service.Endpoint{{Service: "imap", Network: "tcp", Addr: closed}}},
			[]string{"-v"}, 1, []string{vline("FAIL", "imap", "tcp "+closed)}, "nothing listens there"},
		{"bad timeout", api.Status{Lab: "dns", Running: true}, []string{"--timeout", "0s"}, 2, nil, "--timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := newFakeLab(t, statusHandler(tt.st))
			var out, errb bytes.Buffer
			code := run(append([]string{"healthz", "--state", fl.dir}, tt.args...), &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tt.code, out.String(), errb.String())
			}
			if len(tt.stdout) == 0 && out.Len() != 0 {
				t.Errorf("want no output, got %q", out.String())
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, out.String())
				}
			}
			if !strings.Contains(errb.String(), tt.stderrHave) || (tt.stderrHave == "" && errb.Len() != 0) {
				t.Errorf("stderr %q, want it to contain %q", errb.String(), tt.stderrHave)
			}
		})
	}

	t.Run("nothing running", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := run([]string{"healthz", "--state", t.TempDir(), "-v"}, &out, &errb)
		if code != 1 || !strings.Contains(errb.String(), "no lab is running") || !strings.Contains(out.String(), "FAIL  state") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
		}
	})
}

// vline is a line of lab healthz -v.
func vline(word, name, target string) string { return fmt.Sprintf("%-5s %-15s %s", word, name, target) }

func TestReachable(t *testing.T) {
	tests := []struct{ in, addr string }{
		{"0.0.0.0:53", "127.0.0.1:53"},
		{"[::]:53", "[::1]:53"},
		{"192.0.2.1:25", "192.0.2.1:25"},
		{"[2001:db8:89::1]:25", "[2001:db8:89::1]:25"},
		{"lab:25", "lab:25"},
		{"no port", "no port"},
	}
	for _, tt := range tests {
		if got := reachableAddr(tt.in); got != tt.addr {
			t.Errorf("reachableAddr(%q) = %q, want %q", tt.in, got, tt.addr)
		}
	}
	for in, want := range map[string]string{
		"http://0.0.0.0:8080":   "http://127.0.0.1:8080",
		"http://[::]:8080/":     "http://[::1]:8080",
		"http://127.0.0.1:8080": "http://127.0.0.1:8080",
	} {
		if got := reachableURL(in); got != want {
			t.Errorf("reachableURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// procLine is a socket table line as the kernel writes it, for an address
// in this machine's byte order.
func procLine(ap netip.AddrPort, st uint8) string {
	b := ap.Addr().AsSlice()
	var h strings.Builder
	for i := 0; i < len(b); i += 4 {
		fmt.Fprintf(&h, "%08X", binary.NativeEndian.Uint32(b[i:]))
	}
	return fmt.Sprintf("   0: %s:%04X 00000000:0000 %02X 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0", h.String(), ap.Port(), st)
}

func TestParseProcNet(t *testing.T) {
	header := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	little := binary.NativeEndian.Uint16([]byte{1, 0}) == 1
	tests := []struct {
		name    string
		data    string
		want    []procSocket
		wantErr string
		little  bool // written for a little-endian machine
	}{
		{"loopback DNS over TCP, listening", header + "   0: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 1 1 0 100 0 0 10 0\n",
			[]procSocket{{netip.MustParseAddrPort("127.0.0.1:53"), tcpListen}}, "", true},
		{"wildcard UDP 67", header + "  12: 00000000:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2 2 0\n",
			[]procSocket{{netip.MustParseAddrPort("0.0.0.0:67"), 7}}, "", false},
		{"IPv6 loopback", header + "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 3 1 0\n",
			[]procSocket{{netip.MustParseAddrPort("[::1]:8080"), tcpListen}}, "", true},
		{"192.0.2.1:25", header + "   3: 010200C0:0019 00000000:0000 0A 0:0 0 0 0\n",
			[]procSocket{{netip.MustParseAddrPort("192.0.2.1:25"), tcpListen}}, "", true},
		{"header only", header, nil, "", false},
		{"empty", "", nil, "", false},
		{"blank lines", header + "\n\n", nil, "", false},
		{"too few fields", header + "   0: 0100007F:0035 00000000:0000\n", nil, "line 2", false},
		{"no colon after sl", header + "   0 0100007F:0035 00000000:0000 0A\n", nil, "line 2", false},
		{"bad address", header + "   0: 0100007G:0035 00000000:0000 0A\n", nil, "not hexadecimal", false},
		{"short address", header + "   0: 0100007:0035 00000000:0000 0A\n", nil, "want HEX:PORT", false},
		{"bad port", header + "   0: 0100007F:00Z5 00000000:0000 0A\n", nil, "bad port", false},
		{"bad state", header + "   0: 0100007F:0035 00000000:0000 0X\n", nil, "state", false},
		{"state too big", header + "   0: 0100007F:0035 00000000:0000 100\n", nil, "state", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.little && !little {
				t.Skip("written for a little-endian machine")
			}
			got, err := parseProcNet([]byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("socket %d: got %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}

	t.Run("round trip in this machine's byte order", func(t *testing.T) {
		for _, s := range []string{"192.0.2.1:25", "127.0.0.1:1", "0.0.0.0:67", "[2001:db8:89::1]:587", "[::]:53"} {
			ap := netip.MustParseAddrPort(s)
			got, err := parseProcNet([]byte(header + procLine(ap, tcpListen) + "\n"))
			if err != nil || len(got) != 1 || got[0].local != ap || got[0].state != tcpListen {
				t.Errorf("%s: got %v, %v", s, got, err)
			}
		}
	})
}

// TestSocketTablesOfThisMachine finds a socket this test opens in the
// kernel's real tables.
func TestSocketTablesOfThisMachine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/net is Linux's")
	}
	listening, bound, closed := sockets(t)
	tables := readSocketTables(nil)
	if tables == nil {
		t.Fatal("cannot read /proc/net/tcp and udp")
	}
	for _, tt := range []struct {
		e     service.Endpoint
		state probeState
	}{
		{service.Endpoint{Service: "a", Network: "tcp", Addr: listening}, probeOK},
		{service.Endpoint{Service: "b", Network: "udp", Addr: bound}, probeOK},
		{service.Endpoint{Service: "c", Network: "tcp", Addr: closed}, probeFailed},
		{service.Endpoint{Service: "d", Network: "tcp", Addr: bound}, probeFailed}, // a UDP port is no TCP listener
		{service.Endpoint{Service: "e", Network: "sctp", Addr: listening}, probeSkipped},
		{service.Endpoint{Service: "f", Network: "tcp", Addr: "nonsense"}, probeFailed},
	} {
		if got := tables.probe(tt.e); got.state != tt.state {
			t.Errorf("%+v: got %v, want state %v", tt.e, got, tt.state)
		}
	}
}

func TestSameOrWildcard(t *testing.T) {
	tests := []struct {
		have, want string
		ok         bool
	}{
		{"192.0.2.1", "192.0.2.1", true},
		{"0.0.0.0", "192.0.2.1", true},
		{"192.0.2.1", "0.0.0.0", true},
		{"::", "192.0.2.1", true},
		{"::ffff:192.0.2.1", "192.0.2.1", true},
		{"192.0.2.2", "192.0.2.1", false},
		{"::1", "127.0.0.1", false},
	}
	for _, tt := range tests {
		if got := sameOrWildcard(netip.MustParseAddr(tt.have), netip.MustParseAddr(tt.want)); got != tt.ok {
			t.Errorf("sameOrWildcard(%s, %s) = %v, want %v", tt.have, tt.want, got, tt.ok)
		}
	}
}

func FuzzParseProcNet(f *testing.F) {
	header := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	f.Add([]byte(header + "   0: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 1 1 0 100 0 0 10 0\n"))
	f.Add([]byte(header + "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 0 0\n"))
	f.Add([]byte(header + "  12: 00000000:0043 00000000:0000 07\n\n"))
	f.Add([]byte("sl\n0: :: :: ::\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		socks, err := parseProcNet(data)
		if err != nil {
			if socks != nil {
				t.Fatalf("an error and sockets: %v", socks)
			}
			return
		}
		for _, s := range socks {
			if !s.local.Addr().IsValid() {
				t.Fatalf("invalid address parsed: %v", s)
			}
			// What was read can be written back and read again.
			again, err := parseProcNet([]byte(procLine(s.local, s.state)))
			if err != nil || len(again) != 1 || again[0] != s {
				t.Fatalf("%v does not survive a round trip: %v, %v", s, again, err)
			}
		}
	})
}
