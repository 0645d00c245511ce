package echo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"protolab/internal/event"
	"protolab/internal/service"
)

// dial connects to the server's TCP side with a deadline for the test.
func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return c.(*net.TCPConn)
}

func TestTCPEcho(t *testing.T) {
	r := start(t, options{})
	c := dial(t, r.tcp)
	for _, line := range []string{"hello\n", "bonjour à tous\r\n", "\x00\x01binary\xff"} {
		if _, err := c.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(line))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != line {
			t.Fatalf("sent %q, got back %q (%v)", line, got, err)
		}
	}
	c.CloseWrite()
	if rest, err := io.ReadAll(c); err != nil || len(rest) != 0 {
		t.Fatalf("after our end of stream: %q %v, want the server to close", rest, err)
	}

	acc := r.events.Next(t, service.KindTCPAccept)
	if acc.Client != c.LocalAddr().String() || acc.Attrs["service"] != "echo" || acc.Attrs["server"] != r.tcp {
		t.Errorf("tcp.accept %s %v", acc.Client, acc.Attrs)
	}
	e := r.events.Next(t, KindTCP)
	if e.Client != c.LocalAddr().String() || e.Attrs["bytes"] != "6" || e.Attrs["text"] != "hello" ||
		e.Attrs["server"] != r.tcp || e.Attrs["family"] != "ipv4" || e.Attrs["port"] != strconv.Itoa(service.PortOf(c.RemoteAddr())) {
		t.Errorf("echo.tcp %s %v", e.Client, e.Attrs)
	}
	for _, want := range []string{"TCP " + c.LocalAddr().String() + " → " + r.tcp, `C: "hello\n"`, `S: "hello\n"`} {
		if !strings.Contains(e.Transcript, want) {
			t.Errorf("transcript %q lacks %q", e.Transcript, want)
		}
	}
	cl := r.events.Next(t, service.KindTCPClose)
	total := strconv.Itoa(len("hello\n") + len("bonjour à tous\r\n") + len("\x00\x01binary\xff"))
	if cl.Attrs["bytes_in"] != total || cl.Attrs["bytes_out"] != total || cl.Attrs["closed_by"] != "client" {
		t.Errorf("tcp.close %v, want %s bytes each way, closed by the client", cl.Attrs, total)
	}
	r.events.None(t, KindTCP) // one per connection
}

// A client that sends more than max_bytes gets max_bytes back, then the
// server closes; a silent client is closed after the idle timeout; a
// connection that sends nothing gives no echo.tcp.
func TestTCPBounds(t *testing.T) {
	r := start(t, options{MaxBytes: 10000, IdleTimeout: 200 * time.Millisecond})
	c := dial(t, r.tcp)
	big := bytes.Repeat([]byte("0123456789"), 3000)
	go c.Write(big)
	got, err := io.ReadAll(c)
	if len(got) != 10000 || !bytes.Equal(got, big[:10000]) {
		t.Fatalf("got %d bytes back (%v), want the first 10000", len(got), err)
	}
	cl := r.events.Next(t, service.KindTCPClose)
	if cl.Attrs["closed_by"] != "server" || cl.Attrs["bytes_out"] != "10000" {
		t.Errorf("tcp.close %v", cl.Attrs)
	}

	idle := dial(t, r.tcp)
	start := time.Now()
	if n, err := idle.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("a silent client: read %d, %v; want the server to close it", n, err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("closed after %s, idle timeout 200ms", d)
	}
	cl = r.events.Next(t, service.KindTCPClose)
	if cl.Attrs["closed_by"] != "server" || cl.Attrs["bytes_in"] != "0" {
		t.Errorf("idle close %v", cl.Attrs)
	}
	for _, e := range r.events.All() {
		if e.Kind == KindTCP && e.Client == idle.LocalAddr().String() {
			t.Errorf("echo.tcp for a connection that sent nothing: %v", e.Attrs)
		}
	}
}

// A flood of half-open connections (connect, then send nothing) is bounded:
// at most max_conns are served, the others are closed at once, the idle
// ones are closed after the timeout, and the server echoes afterwards.
func TestHalfOpenFlood(t *testing.T) {
	const limit, flood = 8, 100
	r := start(t, options{MaxConns: limit, IdleTimeout: 300 * time.Millisecond})
	conns := make([]*net.TCPConn, flood)
	for i := range conns {
		conns[i] = dial(t, r.tcp)
	}
	if n := r.inst.active(); n > limit {
		t.Fatalf("%d connections served, limit %d", n, limit)
	}
	closed := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(make([]byte, 1))
		if n != 0 || err == nil {
			t.Fatalf("a half-open connection got data: %d %v", n, err)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("a half-open connection was kept past the idle timeout")
		}
		closed++
		if n := r.inst.active(); n > limit {
			t.Fatalf("%d connections served, limit %d", n, limit)
		}
	}
	if closed != flood {
		t.Fatalf("%d of %d closed", closed, flood)
	}
	c := dial(t, r.tcp)
	c.Write([]byte("still here\n"))
	got := make([]byte, 11)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "still here\n" {
		t.Fatalf("after the flood: %q %v", got, err)
	}
	accepts := 0
	for _, e := range r.events.All() {
		if e.Kind == service.KindTCPAccept {
			accepts++
		}
	}
	if accepts < flood {
		t.Errorf("%d tcp.accept events for %d connections", accepts, flood)
	}
}

func TestUDPEcho(t *testing.T) {
	r := start(t, options{MaxDatagram: 100})
	c, err := net.Dial("udp", r.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tests := []struct {
		name    string
		payload []byte
		echoed  bool
		text    string
	}{
		{"a line", []byte("hello\n"), true, "hello"},
		{"binary", []byte{0, 1, 2, 0xff, '\r', '\n'}, true, "...."},
		{"empty", []byte{}, true, ""},
		{"exactly the limit", bytes.Repeat([]byte("x"), 100), true, strings.Repeat("x", 64)},
		{"too large", bytes.Repeat([]byte("y"), 101), false, strings.Repeat("y", 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.Write(tt.payload); err != nil {
				t.Fatal(err)
			}
			e := r.events.Next(t, KindDatagram)
			if e.Client != c.LocalAddr().String() || e.Attrs["bytes"] != strconv.Itoa(len(tt.payload)) ||
				e.Attrs["echoed"] != strconv.FormatBool(tt.echoed) || e.Attrs["text"] != tt.text ||
				e.Attrs["server"] != r.udp || e.Attrs["service"] != "echo" {
				t.Errorf("event %s %v", e.Client, e.Attrs)
			}
			if tt.echoed {
				buf := make([]byte, 200)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, err := c.Read(buf)
				if err != nil || !bytes.Equal(buf[:n], tt.payload) {
					t.Fatalf("got back %q %v, want %q", buf[:n], err, tt.payload)
				}
				if !strings.Contains(e.Transcript, "S: "+strconv.Quote(string(tt.payload))) {
					t.Errorf("transcript %q", e.Transcript)
				}
			} else if e.Attrs["reason"] != "too-large" || !strings.Contains(e.Transcript, "nothing sent back") {
				t.Errorf("refused datagram: %v %q", e.Attrs, e.Transcript)
			}
		})
	}
}

// clock is a settable time for the rate limiter.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestUDPRateAndLoops(t *testing.T) {
	clk := &clock{t: time.Unix(1e9, 0)}
	o := defaultOptions()
	o.UDPRate = 3
	col := &sink{}
	s := newServer(o, col, nil, clk.now)
	from := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	var replies int
	for range 5 {
		if s.handleDatagram([]byte("x"), from) != nil {
			replies++
		}
	}
	if replies != 3 || len(col.evs) != 3 {
		t.Fatalf("5 datagrams at once with rate 3: %d replies, %d events", replies, len(col.evs))
	}
	clk.t = clk.t.Add(time.Second)
	if s.handleDatagram([]byte("y"), from) == nil || col.evs[3].Attrs["dropped"] != "2" {
		t.Fatalf("after a second: %v", col.evs[3].Attrs)
	}
	for _, port := range []int{0, 7, 19} {
		clk.t = clk.t.Add(time.Second)
		if s.handleDatagram([]byte("loop"), &net.UDPAddr{IP: net.IPv4(192, 0, 2, 10), Port: port}) != nil {
			t.Errorf("a datagram from port %d was answered", port)
		}
		if e := col.evs[len(col.evs)-1]; e.Attrs["reason"] != "loop-port" || e.Attrs["echoed"] != "false" {
			t.Errorf("port %d: %v", port, e.Attrs)
		}
	}
}

// sink keeps events, for tests that call the handlers directly.
type sink struct{ evs []event.Event }

func (s *sink) Publish(e event.Event) { s.evs = append(s.evs, e) }

func TestUDPServerAddr(t *testing.T) {
	v4 := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 5000}
	v6 := &net.UDPAddr{IP: net.ParseIP("2001:db8:89::10"), Port: 5000}
	tests := []struct {
		local     string
		advertise string
		client    *net.UDPAddr
		want      string
	}{
		{"127.0.0.1:1007", "", v4, "127.0.0.1:1007"},
		{"[::]:7", "192.0.2.1", v4, "192.0.2.1:7"},
		{"[::]:7", "192.0.2.1", v6, ""},
		{"[::]:7", "", v4, ""},
		{"0.0.0.0:7", "2001:db8:89::1", v6, "[2001:db8:89::1]:7"},
	}
	for _, tt := range tests {
		local, err := net.ResolveUDPAddr("udp", tt.local)
		if err != nil {
			t.Fatal(err)
		}
		if got := udpServerAddr(local, tt.advertise)(tt.client); got != tt.want {
			t.Errorf("%s advertised %q, client %s: %q, want %q", tt.local, tt.advertise, tt.client, got, tt.want)
		}
	}
}

func TestTextAndQuote(t *testing.T) {
	tests := []struct {
		in, text string
	}{
		{"hello\r\nworld", "hello"},
		{"tab\there", "tab.here"},
		{"café.", "café."},
		{"\xff\xfe", ".."},
		{strings.Repeat("é", 40), strings.Repeat("é", 32)},
		{"", ""},
	}
	for _, tt := range tests {
		if got := textOf([]byte(tt.in)); got != tt.text {
			t.Errorf("textOf(%q) = %q, want %q", tt.in, got, tt.text)
		}
	}
	if got := quote([]byte("ab\n"), 10); got != `"ab\n" … (7 more bytes)` {
		t.Errorf("quote: %s", got)
	}
}

func TestPortTaken(t *testing.T) {
	r := start(t, options{})
	port := service.PortOf(mustResolve(t, r.tcp))
	p := &prepared{o: defaultOptions()}
	_, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Ports: map[string]int{"echo": port}})
	be, ok := service.AsBindError(err)
	if !ok || be.Listener != "echo" || !strings.Contains(be.Addr, strconv.Itoa(port)) {
		t.Fatalf("want a bind error for port %d, got %v", port, err)
	}
}

func mustResolve(t *testing.T, addr string) net.Addr {
	t.Helper()
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Shutdown closes connections in the middle of a stream and returns; a
// second call gives the same result.
func TestShutdown(t *testing.T) {
	p := &prepared{o: defaultOptions()}
	inst, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := inst.Endpoints().Find("echo", "tcp")
	c := dial(t, addr)
	c.Write([]byte("x"))
	io.ReadFull(c, make([]byte, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := inst.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := inst.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("connection still open after shutdown: %d %v", n, err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("still listening after shutdown")
	}
}
