package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/spf13/cobra"

	"protolab/internal/progress"
	"protolab/internal/service"
	"protolab/services/dhcp"
)

type dhcpClientOptions struct {
	mac      string
	params   string
	hostname string
	server   string
	renew    bool
	release  bool
	timeout  time.Duration
}

func (c *cli) dhcpClientCmd() *cobra.Command {
	opts := &dhcpClientOptions{}
	cmd := &cobra.Command{
		Use:   "dhcp-client",
		Short: "Get a lease from the running lab's DHCP server and show each message of the exchange",
		Long: `Play a DHCP client against the running lab's DHCP server (over loopback,
when the lab runs without its network sandbox): DISCOVER, OFFER, REQUEST,
ACK, each message printed with its key fields, then the lease obtained.
With --renew it then renews the lease (a unicast REQUEST, as at T1); with
--release it gives the address back. The same --mac keeps the same lease.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return c.runDHCPClient(opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.mac, "mac", dhcp.DefaultClientMAC, "the client's hardware address (chaddr)")
	f.StringVar(&opts.params, "params", "", "options to ask for, comma-separated (option 55): subnet-mask,router,dns,domain,ntp,broadcast,hostname... (default subnet-mask,router,dns,domain)")
	f.StringVar(&opts.hostname, "hostname", "", "host name to send (option 12)")
	f.StringVar(&opts.server, "server", "", "the DHCP server's HOST:PORT (default: the running lab's)")
	f.BoolVar(&opts.renew, "renew", false, "renew the lease once obtained")
	f.BoolVar(&opts.release, "release", false, "release the lease once obtained (after --renew, if given)")
	f.DurationVar(&opts.timeout, "timeout", time.Second, "how long to wait for each answer (three tries)")
	return cmd
}

func (c *cli) runDHCPClient(opts *dhcpClientOptions) error {
	mac, err := net.ParseMAC(opts.mac)
	if err != nil || len(mac) != 6 {
		return usagef("--mac %q: give an Ethernet address such as 02:00:00:00:00:42", opts.mac)
	}
	var params []uint8
	if opts.params != "" {
		if params, err = dhcp.ParseParams(opts.params); err != nil {
			return usagef("--params: %v", err)
		}
	}
	if opts.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	addr := opts.server
	if addr == "" {
		if addr, err = c.dhcpEndpoint(); err != nil {
			return err
		}
	}
	o, err := dhcp.ClientFor(addr)
	if err != nil {
		return usagef("--server: %v", err)
	}
	o.MAC, o.Params, o.Hostname, o.Timeout = mac, params, opts.hostname, opts.timeout
	o.Trace = func(m dhcp.Message) { fmt.Fprintln(c.stdout, "  "+m.String()) }
	client, err := dhcp.NewClient(o)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*opts.timeout)
	defer cancel()

	where := addr
	if o.Iface != "" {
		where = "the link " + o.Iface
	}
	fmt.Fprintf(c.stdout, "DHCP client %s, server %s\n", client.MAC(), where)
	lease, err := client.Lease(ctx)
	if err != nil {
		return dhcpAdvice(err)
	}
	printLease(c, "Lease obtained", lease.ACK)
	if opts.renew {
		fmt.Fprintln(c.stdout, "Renewing (RENEWING state: unicast to the server, ciaddr set):")
		if lease, err = client.Renew(ctx, lease); err != nil {
			return dhcpAdvice(err)
		}
		printLease(c, "Lease renewed", lease.ACK)
	}
	if opts.release {
		fmt.Fprintln(c.stdout, "Releasing:")
		if err := client.Release(lease); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Released %s: the server may give it to another client (no answer is expected).\n", lease.ACK.YourIPAddr)
	}
	return nil
}

// dhcpEndpoint finds the running lab's DHCP server.
func (c *cli) dhcpEndpoint() (string, error) {
	ri, client, err := c.running()
	if err != nil {
		if errors.Is(err, progress.ErrNotRunning) {
			return "", fmt.Errorf("%w\n(the DHCP lab is 'lab start dhcp'; or give --server HOST:PORT)", err)
		}
		return "", err
	}
	ctx, cancel := timeout()
	defer cancel()
	st, err := client.Status(ctx)
	if err != nil {
		return "", err
	}
	addr, ok := service.Endpoints(st.Endpoints).Find("dhcp", "udp")
	if !ok {
		return "", fmt.Errorf("the running lab %s has no DHCP server; stop it and run 'lab start dhcp'", ri.Lab)
	}
	return addr, nil
}

// dhcpAdvice adds what to check to a failed exchange.
func dhcpAdvice(err error) error {
	if errors.Is(err, nclient4.ErrNoResponse) {
		return fmt.Errorf("%w\nIf the lab runs in its network sandbox, use a real client inside 'lab shell' (udhcpc -i lab0 -f -q)", err)
	}
	return err
}

// printLease shows what an ACK gives the client.
func printLease(c *cli, title string, ack *dhcpv4.DHCPv4) {
	mask := net.IPMask(ack.SubnetMask())
	ones, _ := mask.Size()
	fmt.Fprintf(c.stdout, "%s:\n", title)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(c.stdout, "  %-10s %s\n", k, v)
		}
	}
	addr := ack.YourIPAddr.String()
	if mask != nil {
		addr += fmt.Sprintf("/%d (mask %s)", ones, net.IP(mask))
	}
	row("address", addr)
	row("router", ips(ack.Router()))
	row("dns", ips(ack.DNS()))
	row("domain", ack.DomainName())
	row("hostname", ack.HostName())
	row("ntp", ips(ack.NTPServers()))
	if b := ack.BroadcastAddress(); b != nil {
		row("broadcast", b.String())
	}
	lt := ack.IPAddressLeaseTime(0)
	row("lease", fmt.Sprintf("%s (renew at T1 %s, rebind at T2 %s)", secs(lt), secs(ack.IPAddressRenewalTime(lt/2)), secs(ack.IPAddressRebindingTime(lt*7/8))))
	row("server", ack.ServerIdentifier().String())
}

func ips(list []net.IP) string {
	s := make([]string, len(list))
	for i, ip := range list {
		s[i] = ip.String()
	}
	return strings.Join(s, ", ")
}

func secs(d time.Duration) string { return fmt.Sprintf("%ds", int64(d/time.Second)) }
