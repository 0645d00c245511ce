package echo

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"protolab/internal/event"
)

// FuzzHandleDatagram feeds any payload from any port to the UDP side
// (without the recover that guards it): it never panics, sends back exactly
// what came or nothing, and its event stays bounded and printable.
func FuzzHandleDatagram(f *testing.F) {
	f.Add([]byte("hello\n"), 40000)
	f.Add([]byte{}, 7)
	f.Add([]byte("\xff\xfe\r\n\x00"), 19)
	f.Add(bytes.Repeat([]byte("é"), 100), 65535)
	o := defaultOptions()
	o.MaxDatagram = 128
	o.UDPRate = maxUDPRate
	clk := &clock{t: time.Unix(1e9, 0)}
	s := newServer(o, event.Discard{}, nil, clk.now)
	f.Fuzz(func(t *testing.T, payload []byte, port int) {
		clk.t = clk.t.Add(time.Second) // never rate-limited
		from := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port & 0xffff}
		reply := s.handleDatagramUnguarded(payload, from)
		if reply != nil && (!bytes.Equal(reply, payload) || len(payload) > o.MaxDatagram || loopPorts[from.Port]) {
			t.Fatalf("%d bytes from port %d: sent back %d bytes", len(payload), from.Port, len(reply))
		}
		if reply == nil && len(payload) <= o.MaxDatagram && !loopPorts[from.Port] {
			t.Fatalf("%d bytes from port %d not echoed", len(payload), from.Port)
		}
		e := datagramEvent(payload, from, "127.0.0.1:7", "", 0, o.MaxDatagram)
		if txt := e.Attrs["text"]; len(txt) > maxText || !utf8.ValidString(txt) || e.Attrs["bytes"] != strconv.Itoa(len(payload)) {
			t.Fatalf("event %v", e.Attrs)
		}
		e.Render()
		if len(e.Transcript) > 8*maxShown+200 || !utf8.ValidString(e.Transcript) {
			t.Fatalf("transcript of %d bytes", len(e.Transcript))
		}
	})
}

// FuzzTCPEcho sends any bytes over a connection: what comes back is exactly
// what was sent, cut at max_bytes.
func FuzzTCPEcho(f *testing.F) {
	f.Add([]byte("hello\n"), 100)
	f.Add([]byte{}, 1)
	f.Add(bytes.Repeat([]byte{0, 0xff}, 3000), 5000)
	f.Fuzz(func(t *testing.T, data []byte, limit int) {
		o := defaultOptions()
		o.MaxBytes = 1 + abs(limit)%10000
		o.IdleTimeout = 5 * time.Second
		s := newServer(o, event.Discard{}, nil, time.Now)
		client, srv := net.Pipe()
		defer client.Close()
		done := make(chan struct{})
		go func() { s.serveConn(srv); close(done) }()
		want := data[:min(len(data), o.MaxBytes)]
		got := make(chan []byte, 1)
		go func() {
			b := make([]byte, len(want))
			n, _ := io.ReadFull(client, b)
			got <- b[:n]
		}()
		client.SetDeadline(time.Now().Add(5 * time.Second))
		client.Write(data) // cut short when the server closes at the limit
		back := <-got
		client.Close()
		<-done
		if !bytes.Equal(back, want) {
			t.Fatalf("sent %d (limit %d), got back %d", len(data), o.MaxBytes, len(back))
		}
	})
}

// FuzzParsePorts checks that any ports argument is refused or gives valid,
// distinct ports, at most maxScanPorts.
func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"25", "25,53,110-143", "1-4096", "0", "65535-1", " 7 , 7 ", "1-2-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ports, err := parsePorts(s)
		if err != nil {
			return
		}
		if len(ports) == 0 || len(ports) > maxScanPorts {
			t.Fatalf("%q: %d ports", s, len(ports))
		}
		seen := map[int]bool{}
		for _, p := range ports {
			if p < 1 || p > 65535 || seen[p] {
				t.Fatalf("%q: port %d", s, p)
			}
			seen[p] = true
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
