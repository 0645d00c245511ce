package echo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"protolab/internal/service"
)

const (
	// solveTimeout bounds a solve step when ctx has no deadline.
	solveTimeout = 10 * time.Second
	// defaultData is what echo.tcp and echo.udp send when not told.
	defaultData = "hello from lab solve\n"
	// maxScanPorts bounds one echo.scan.
	maxScanPorts = 4096
	// scanWorkers is how many connections a scan tries at once.
	scanWorkers = 32
	// scanTimeout bounds one connection attempt of a scan (a closed port
	// answers at once; a filtered one would not answer at all).
	scanTimeout = time.Second
)

// solve performs one step as a learner's client would.
func solve(ctx context.Context, eps service.Endpoints, step service.Step) error {
	ctx, cancel, _, err := service.StartSolve(ctx, "echo", actions, step, solveTimeout)
	defer cancel()
	if err != nil {
		return err
	}
	network := "tcp"
	if step.Action == "echo.udp" {
		network = "udp"
	}
	addr, ok := eps.Find("echo", network)
	if !ok {
		return errors.New("echo: the echo server is not running")
	}
	data := []byte(defaultData)
	if d, ok := step.Args["data"]; ok && d != "" {
		data = []byte(d)
	}
	switch step.Action {
	case "echo.tcp":
		err = echoTCP(ctx, addr, data)
	case "echo.udp":
		err = echoUDP(ctx, addr, data)
	default:
		err = scan(ctx, addr, step.Args["ports"])
	}
	if err != nil {
		return fmt.Errorf("echo: %s: %w", step.Action, err)
	}
	return nil
}

// echoTCP sends data, reads it back, then half-closes and waits for the
// server to close too, as "nc -N" does.
func echoTCP(ctx context.Context, addr string, data []byte) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	// Read while writing: a large payload comes back before it is all sent.
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, len(data))
		n, _ := io.ReadFull(c, b)
		got <- b[:n]
	}()
	if _, err := c.Write(data); err != nil {
		return err
	}
	back := <-got
	if !bytes.Equal(back, data) {
		return fmt.Errorf("sent %d bytes, got back %d: %s", len(data), len(back), quote(back[:min(len(back), 64)], len(back)))
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if err := tc.CloseWrite(); err != nil {
			return err
		}
	}
	// The server closes once it has read our end of stream.
	if n, err := io.Copy(io.Discard, c); err != nil || n != 0 {
		return fmt.Errorf("after our end of stream the server sent %d more bytes (%v)", n, err)
	}
	return nil
}

// echoUDP sends one datagram and waits for it to come back, sending it
// again twice if nothing comes (UDP may lose it).
func echoUDP(ctx context.Context, addr string, data []byte) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, len(data)+1)
	for try := 1; ; try++ {
		if _, err := c.Write(data); err != nil {
			return err
		}
		wait := time.Now().Add(time.Second)
		if dl, ok := ctx.Deadline(); ok && dl.Before(wait) {
			wait = dl
		}
		_ = c.SetReadDeadline(wait)
		n, err := c.Read(buf)
		if err == nil {
			if !bytes.Equal(buf[:n], data) {
				return fmt.Errorf("sent %d bytes, got back %d: %s", len(data), n, quote(buf[:min(n, 64)], n))
			}
			return nil
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || try == 3 || ctx.Err() != nil {
			return fmt.Errorf("no answer: %w", err)
		}
	}
}

// scan tries a TCP connection to each port on the echo server's host and
// closes each one at once, as "nc -z" does. It never goes to another
// host: a lab scans only the lab.
func scan(ctx context.Context, echoAddr, spec string) error {
	host, _, err := net.SplitHostPort(echoAddr)
	if err != nil {
		return err
	}
	ports, err := parsePorts(spec)
	if err != nil {
		return err
	}
	jobs := make(chan int)
	var (
		mu   sync.Mutex
		open []int
		wg   sync.WaitGroup
	)
	for range min(scanWorkers, len(ports)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				actx, cancel := context.WithTimeout(ctx, scanTimeout)
				var d net.Dialer
				c, err := d.DialContext(actx, "tcp", net.JoinHostPort(host, strconv.Itoa(p)))
				cancel()
				if err != nil {
					continue
				}
				c.Close()
				mu.Lock()
				open = append(open, p)
				mu.Unlock()
			}
		}()
	}
feed:
	for _, p := range ports {
		select {
		case jobs <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if len(open) == 0 {
		return fmt.Errorf("no port of %s accepts a connection on %s", spec, host)
	}
	return ctx.Err()
}

// parsePorts reads a list of ports and ranges: "25,53,1000-1200". Ports
// are 1 to 65535; the list holds at most maxScanPorts ports, each once, in
// the order given.
func parsePorts(spec string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := portNumber(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = portNumber(hi); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("ports: %q: a range goes from the lower port to the higher", part)
			}
		}
		if b-a >= maxScanPorts {
			return nil, fmt.Errorf("ports: %q: at most %d ports at a time", part, maxScanPorts)
		}
		for p := a; p <= b; p++ {
			if seen[p] {
				continue
			}
			if len(out) == maxScanPorts {
				return nil, fmt.Errorf("ports: %q: at most %d ports at a time", spec, maxScanPorts)
			}
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, errors.New(`ports: give ports or ranges, e.g. "25,53,1000-1200"`)
	}
	return out, nil
}

// portNumber reads one port, 1 to 65535.
func portNumber(s string) (int, error) {
	s = strings.TrimSpace(s)
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 || len(s) > 5 || s[0] < '0' || s[0] > '9' {
		return 0, fmt.Errorf("ports: %q is not a port number (1 to 65535)", s)
	}
	return p, nil
}
