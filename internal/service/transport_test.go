package service

import (
	"context"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"protolab/internal/event"
)

type chanPub chan event.Event

func (c chanPub) Publish(e event.Event) { c <- e }

func TestTransportEvents(t *testing.T) {
	pub := make(chanPub, 8)
	rt := Runtime{Bind: "127.0.0.1", Events: pub, Transport: true, Service: "echo"}
	ln, err := rt.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c) // echo until the client closes
		c.Close()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello\n"))
	buf := make([]byte, 6)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	c.Close()
	want := []struct{ kind, attr, val string }{
		{KindTCPAccept, "service", "echo"},
		{KindTCPClose, "bytes_in", "6"},
	}
	for _, w := range want {
		select {
		case e := <-pub:
			if e.Kind != w.kind || e.Attrs[w.attr] != w.val || e.Attrs["port"] != itoa(PortOf(ln.Addr())) || e.Client != c.LocalAddr().String() {
				t.Errorf("got %s %v from %s, want %s with %s=%s", e.Kind, e.Attrs, e.Client, w.kind, w.attr, w.val)
			}
			if e.Kind == KindTCPClose && (e.Attrs["bytes_out"] != "6" || e.Attrs["closed_by"] != "client" || e.Attrs["family"] != "ipv4") {
				t.Errorf("close event %v", e.Attrs)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s event", w.kind)
		}
	}
}

func TestTransportOffByDefault(t *testing.T) {
	rt := Runtime{Events: make(chanPub, 1), Service: "dns"}
	ln, err := rt.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, ok := ln.(*net.TCPListener); !ok {
		t.Errorf("without Transport the listener should be the plain one, got %T", ln)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
