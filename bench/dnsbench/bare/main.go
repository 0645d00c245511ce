// Command bare is the DNS benchmark's baseline: a miekg/dns server that
// answers the lab.test records from memory, authoritatively, and publishes
// no events. It opens its sockets the way the lab's DNS server does (one UDP
// socket and one TCP listener on the same port, served with
// ActivateAndServe) and runs until SIGTERM or SIGINT.
//
//	bare -addr 127.0.0.1:PORT -zone FILE
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"protolab/bench/dnsbench/benchzone"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "UDP and TCP address to listen on")
	zoneFile := flag.String("zone", "", "zone file to serve (default: the built-in lab.test zone)")
	flag.Parse()
	if err := run(*addr, *zoneFile); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

func run(addr, zoneFile string) error {
	z, err := loadZone(zoneFile)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	udp, tcp, err := listen(addr, benchzone.NewHandler(z))
	if err != nil {
		return err
	}
	fmt.Printf("listening %s udp+tcp\n", udp.PacketConn.LocalAddr())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return errors.Join(udp.ShutdownContext(sctx), tcp.ShutdownContext(sctx))
}

func loadZone(file string) (*benchzone.Zone, error) {
	if file == "" {
		return benchzone.Parse(strings.NewReader(benchzone.Builtin), benchzone.Origin, "builtin")
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return benchzone.Parse(f, benchzone.Origin, file)
}

// listen opens UDP and TCP on the same port and starts both servers,
// returning once they serve.
func listen(addr string, h dns.Handler) (udp, tcp *dns.Server, err error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen udp: %w", err)
	}
	tcpAddr := net.JoinHostPort(pc.LocalAddr().(*net.UDPAddr).IP.String(),
		fmt.Sprint(pc.LocalAddr().(*net.UDPAddr).Port))
	ln, err := net.Listen("tcp", tcpAddr)
	if err != nil {
		pc.Close()
		return nil, nil, fmt.Errorf("listen tcp: %w", err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	udp = &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: wg.Done}
	tcp = &dns.Server{Listener: ln, Handler: h, NotifyStartedFunc: wg.Done,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second}
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	wg.Wait()
	return udp, tcp, nil
}
