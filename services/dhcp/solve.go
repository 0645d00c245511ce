package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"protolab/internal/service"
)

// solveTimeout bounds a solve step when ctx has no deadline.
const solveTimeout = 10 * time.Second

// LabInterface is the learner's link in the lab network's namespace.
const LabInterface = "lab0"

// solve performs one step as a learner's client would.
func solve(ctx context.Context, eps service.Endpoints, step service.Step) error {
	ctx, cancel, _, err := service.StartSolve(ctx, "dhcp", actions, step, solveTimeout)
	defer cancel()
	if err != nil {
		return err
	}
	addr, ok := eps.Find("dhcp", "udp")
	if !ok {
		return errors.New("dhcp: the server is not running")
	}
	o, err := ClientFor(addr)
	if err != nil {
		return fmt.Errorf("dhcp: %w", err)
	}
	if s := step.Args["mac"]; s != "" {
		if o.MAC, err = net.ParseMAC(s); err != nil || len(o.MAC) != 6 {
			return fmt.Errorf("dhcp: %s: mac %q: an Ethernet address such as 02:00:00:00:00:42 is expected", step.Action, s)
		}
	}
	if s := step.Args["params"]; s != "" {
		if o.Params, err = ParseParams(s); err != nil {
			return fmt.Errorf("dhcp: %s: params: %w", step.Action, err)
		}
	}
	o.Hostname = step.Args["hostname"]
	c, err := NewClient(o)
	if err != nil {
		return fmt.Errorf("dhcp: %w", err)
	}
	defer c.Close()
	l, err := c.Lease(ctx)
	if err != nil {
		return fmt.Errorf("dhcp: %s: %w", step.Action, err)
	}
	switch step.Action {
	case "dhcp.renew":
		_, err = c.Renew(ctx, l)
	case "dhcp.release":
		err = c.Release(l)
	}
	if err != nil {
		return fmt.Errorf("dhcp: %s: %w", step.Action, err)
	}
	return nil
}

// ClientFor chooses how to reach the server at addr (an endpoint's
// host:port): over UDP when it is a loopback or unspecified address (no
// lab network) or when there is no lab link; on the link LabInterface,
// broadcasting as a real client, inside the lab network.
func ClientFor(addr string) (ClientOptions, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ClientOptions{}, fmt.Errorf("endpoint %q: %w", addr, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return ClientOptions{}, fmt.Errorf("endpoint %q: not an IP address", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return ClientOptions{}, fmt.Errorf("endpoint %q: bad port", addr)
	}
	if ip.IsUnspecified() {
		ip = netip.MustParseAddr("127.0.0.1")
	}
	if !ip.IsLoopback() {
		if _, err := net.InterfaceByName(LabInterface); err == nil {
			return ClientOptions{Iface: LabInterface}, nil
		}
	}
	return ClientOptions{Server: net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip.Unmap(), uint16(n)))}, nil
}
