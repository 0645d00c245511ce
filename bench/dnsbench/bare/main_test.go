package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"

	"protolab/bench/dnsbench/benchzone"
)

func TestLoadZone(t *testing.T) {
	file := filepath.Join(t.TempDir(), "z")
	if err := os.WriteFile(file, []byte("$ORIGIN lab.test.\nwww 60 IN A 192.0.2.9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    string
		records int
		ok      bool
	}{
		{"built-in", "", 12, true},
		{"file", file, 1, true},
		{"missing file", filepath.Join(t.TempDir(), "none"), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z, err := loadZone(tt.file)
			if (err == nil) != tt.ok {
				t.Fatalf("loadZone: %v, want ok %v", err, tt.ok)
			}
			if err == nil && len(z.Records) != tt.records {
				t.Errorf("%d records, want %d", len(z.Records), tt.records)
			}
		})
	}
}

// TestListen serves the built-in zone and asks it over UDP and TCP on the
// one port.
func TestListen(t *testing.T) {
	z, err := loadZone("")
	if err != nil {
		t.Fatal(err)
	}
	udp, tcp, err := listen("127.0.0.1:0", benchzone.NewHandler(z))
	if err != nil {
		t.Fatal(err)
	}
	addr := udp.PacketConn.LocalAddr().String()
	if got := tcp.Listener.Addr().String(); got != addr {
		t.Errorf("tcp on %s, udp on %s", got, addr)
	}
	for _, network := range []string{"udp", "tcp"} {
		m := new(dns.Msg)
		m.SetQuestion("rtr1.lab.test.", dns.TypeAAAA)
		r, _, err := (&dns.Client{Net: network, Timeout: 5 * time.Second}).Exchange(m, addr)
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		if len(r.Answer) != 1 || r.Answer[0].(*dns.AAAA).AAAA.String() != "2001:db8:89::1" || !r.Authoritative {
			t.Errorf("%s: answer %v, aa %v", network, r.Answer, r.Authoritative)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := udp.ShutdownContext(ctx); err != nil {
		t.Error(err)
	}
	if err := tcp.ShutdownContext(ctx); err != nil {
		t.Error(err)
	}
}
