package dhcp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
)

// DefaultClientMAC is the hardware address the lab's own client uses on
// loopback (`lab dhcp-client`, `lab solve`): locally administered, and the
// same every time, so that a client run again finds its lease.
const DefaultClientMAC = "02:00:00:00:00:01"

// DefaultParams is the parameter request list the lab's client sends
// unless told otherwise: subnet mask, router, DNS servers, domain name.
var DefaultParams = []uint8{1, 3, 6, 15}

// ClientOptions configure a Client.
type ClientOptions struct {
	// Server is the server's UDP address, for a client over loopback (or
	// any routed address): messages are unicast to it.
	Server *net.UDPAddr
	// Iface, when set, is the link to broadcast on instead (a raw socket,
	// as real clients use; it needs CAP_NET_RAW).
	Iface string
	// MAC is the client's hardware address; nil means DefaultClientMAC over
	// UDP and the interface's own on a link.
	MAC net.HardwareAddr
	// Params are the options to ask for (option 55); nil means DefaultParams.
	Params   []uint8
	Hostname string        // option 12, if set
	Timeout  time.Duration // per try (three tries); default 1 s
	// Trace, if set, is called with each message sent and received.
	Trace func(Message)
}

// Message is one message of an exchange as the client saw it.
type Message struct {
	Sent bool // sent by the client, else received
	Msg  *dhcpv4.DHCPv4
}

// String renders the message as a line of the ladder the server's events
// show: "client 02:00:00:00:00:01 → DHCPDISCOVER xid 0x1a2b3c4d requests [1 3 6 15]".
func (m Message) String() string {
	d := m.Msg
	s := step{client: m.Sent, mt: d.MessageType(), xid: binary.BigEndian.Uint32(d.TransactionID[:])}
	if m.Sent {
		s.who = d.ClientHWAddr.String()
		s.prl = prlOf(d)
		s.hostname = d.HostName()
		s.server = addrString(addrOf(d.ServerIdentifier()))
		ip := addrOf(d.RequestedIPAddress())
		if !ip.IsValid() {
			ip = addrOf(d.ClientIPAddr)
		}
		s.ip = addrString(ip)
		return s.String()
	}
	s.who = addrString(addrOf(d.ServerIdentifier()))
	if s.who == "" {
		s.who = "?"
	}
	s.ip = addrString(addrOf(d.YourIPAddr))
	s.lease = d.IPAddressLeaseTime(0)
	if s.mt == dhcpv4.MessageTypeNak {
		s.reason = d.Message()
	}
	return s.String()
}

// Client is the lab's DHCP client: DORA, renew and release with
// github.com/insomniacslk/dhcp's nclient4, over loopback or on a link.
type Client struct {
	o    ClientOptions
	nc   *nclient4.Client
	conn net.PacketConn // a UDP socket over loopback, a raw one on a link
	mods []dhcpv4.Modifier
}

// NewClient opens the client's socket.
func NewClient(o ClientOptions) (*Client, error) {
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Params == nil {
		o.Params = DefaultParams
	}
	if o.MAC == nil && o.Iface == "" {
		o.MAC, _ = net.ParseMAC(DefaultClientMAC)
	}
	c := &Client{o: o}
	codes := make([]dhcpv4.OptionCode, len(o.Params))
	for i, p := range o.Params {
		codes[i] = dhcpv4.GenericOptionCode(p)
	}
	c.mods = append(c.mods, dhcpv4.WithOption(dhcpv4.OptParameterRequestList(codes...)))
	if o.Hostname != "" {
		c.mods = append(c.mods, dhcpv4.WithOption(dhcpv4.OptHostName(o.Hostname)))
	}
	opts := []nclient4.ClientOpt{nclient4.WithTimeout(o.Timeout), nclient4.WithRetry(3), nclient4.WithLogger(tracer{o.Trace})}
	var err error
	if o.Iface != "" {
		ifc, err := net.InterfaceByName(o.Iface)
		if err != nil {
			return nil, fmt.Errorf("dhcp client: %w", err)
		}
		if c.o.MAC == nil {
			c.o.MAC = ifc.HardwareAddr
		}
		if c.conn, err = nclient4.NewRawUDPConn(o.Iface, clientPort); err != nil {
			return nil, fmt.Errorf("dhcp client on %s: %w", o.Iface, err)
		}
		c.o.Server = &net.UDPAddr{IP: net.IPv4bcast, Port: serverPort}
	} else {
		if o.Server == nil {
			return nil, errors.New("dhcp client: no server address")
		}
		local := &net.UDPAddr{}
		if o.Server.IP.IsLoopback() {
			local.IP = net.IPv4(127, 0, 0, 1)
		}
		if c.conn, err = net.ListenUDP("udp4", local); err != nil {
			return nil, fmt.Errorf("dhcp client: %w", err)
		}
	}
	c.nc, err = nclient4.NewWithConn(c.conn, c.o.MAC, append(opts, nclient4.WithServerAddr(c.o.Server))...)
	if err != nil {
		c.conn.Close()
		return nil, fmt.Errorf("dhcp client: %w", err)
	}
	return c, nil
}

// MAC is the client's hardware address.
func (c *Client) MAC() net.HardwareAddr { return c.nc.InterfaceAddr() }

// Lease runs DISCOVER, OFFER, REQUEST, ACK.
func (c *Client) Lease(ctx context.Context) (*nclient4.Lease, error) {
	l, err := c.nc.Request(ctx, c.mods...)
	if err != nil {
		return nil, explain(err)
	}
	return l, nil
}

// Renew asks the server that gave the lease to extend it: a REQUEST with
// ciaddr set, as a client sends at T1. Over UDP it is unicast to the
// server (RENEWING). On a link the address is not configured on the
// interface, and the server's kernel drops a unicast from 0.0.0.0, so the
// REQUEST is broadcast (REBINDING, as a client does at T2).
func (c *Client) Renew(ctx context.Context, l *nclient4.Lease) (*nclient4.Lease, error) {
	xid, err := dhcpv4.GenerateTransactionID()
	if err != nil {
		return nil, err
	}
	req, err := dhcpv4.NewRenewFromAck(l.ACK, append(c.mods, dhcpv4.WithTransactionID(xid))...)
	if err != nil {
		return nil, err
	}
	resp, err := c.nc.SendAndRead(ctx, c.o.Server, req, nclient4.IsAll(
		nclient4.IsCorrectServer(l.ACK.ServerIdentifier()),
		nclient4.IsMessageType(dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak)))
	if err != nil {
		return nil, explain(err)
	}
	if resp.MessageType() == dhcpv4.MessageTypeNak {
		return nil, &nclient4.ErrNak{Offer: l.Offer, Nak: resp}
	}
	return &nclient4.Lease{Offer: l.Offer, ACK: resp, CreationTime: time.Now()}, nil
}

// Release gives the address back; it has no answer. nclient4's Release
// sends it to the server identifier's port 67, which is not where the
// server listens over loopback, and from 0.0.0.0 on a link, which the
// server's kernel drops: it goes where the other messages go instead.
func (c *Client) Release(l *nclient4.Lease) error {
	req, err := dhcpv4.NewReleaseFromACK(l.ACK)
	if err != nil {
		return err
	}
	if _, err := c.conn.WriteTo(req.ToBytes(), c.o.Server); err != nil {
		return fmt.Errorf("dhcp client: release: %w", err)
	}
	if c.o.Trace != nil {
		c.o.Trace(Message{Sent: true, Msg: req})
	}
	return nil
}

// Close closes the socket.
func (c *Client) Close() error { return c.nc.Close() }

// explain turns nclient4's errors into advice.
func explain(err error) error {
	var nak *nclient4.ErrNak
	switch {
	case errors.As(err, &nak):
		return fmt.Errorf("the server refused (DHCPNAK): %s", nak.Nak.Message())
	case errors.Is(err, nclient4.ErrNoResponse):
		return fmt.Errorf("no answer from the DHCP server (is the pool exhausted? is the lab running?): %w", err)
	}
	return err
}

// tracer hands nclient4's messages to ClientOptions.Trace.
type tracer struct{ f func(Message) }

func (t tracer) Printf(string, ...interface{}) {}

func (t tracer) PrintMessage(prefix string, m *dhcpv4.DHCPv4) {
	if t.f == nil {
		return
	}
	t.f(Message{Sent: strings.HasPrefix(prefix, "sent"), Msg: m})
}
