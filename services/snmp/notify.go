package snmp

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"protolab/internal/event"
)

// Notification settings.
const (
	informTimeout = time.Second // to wait for an inform's acknowledgement
	informTries   = 3           // sends of one inform
	trapCommunity = "public"
)

// Notification OIDs (RFC 3418, RFC 2863).
var (
	oidSnmpTrapOID = ".1.3.6.1.6.3.1.1.4.1.0"
	oidLinkDown    = ".1.3.6.1.6.3.1.1.5.3"
	oidLinkUp      = ".1.3.6.1.6.3.1.1.5.4"
	oidIfIndex     = mustOID("1.3.6.1.2.1.2.2.1.1")
)

// notify sends a linkUp or linkDown notification for a link change, in
// the background, to the trap target of the options and nowhere else.
func (s *server) notify(ch linkChange) {
	if s.target == "" {
		return
	}
	pkt := s.notification(ch)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("snmp: panic sending a notification", "panic", p)
			}
		}()
		if err := s.send(pkt, ch); err != nil {
			s.log.Warn("snmp: notification not delivered", "target", s.target, "err", err)
		}
	}()
}

// notification builds the v2c trap or inform for a link change: sysUpTime,
// snmpTrapOID, then ifIndex, ifAdminStatus and ifOperStatus of the link.
func (s *server) notification(ch linkChange) *gosnmp.SnmpPacket {
	trapOID := oidLinkDown
	if ch.up {
		trapOID = oidLinkUp
	}
	vbs := []gosnmp.SnmpPDU{
		{Name: oidSysUpTime.String(), Type: gosnmp.TimeTicks, Value: s.a.uptime()},
		{Name: oidSnmpTrapOID, Type: gosnmp.ObjectIdentifier, Value: trapOID},
	}
	s.a.mu.Lock()
	for _, col := range []oid{oidIfIndex, oidIfAdminStatus, oidIfOperStatus} {
		if i, ok := s.a.m.find(append(append(oid{}, col...), ch.ifIndex)); ok {
			vbs = append(vbs, s.a.varbindLocked(i))
		}
	}
	s.a.mu.Unlock()
	pdu := gosnmp.SNMPv2Trap
	if s.o.Inform {
		pdu = gosnmp.InformRequest
	}
	return &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: trapCommunity, PDUType: pdu,
		RequestID: rand.Uint32() >> 1, Variables: vbs}
}

// send sends a notification; an inform is sent again until acknowledged.
func (s *server) send(pkt *gosnmp.SnmpPacket, ch linkChange) error {
	out, err := pkt.MarshalMsg()
	if err != nil {
		return err
	}
	to, err := net.ResolveUDPAddr("udp", s.target)
	if err != nil {
		return err
	}
	conn, err := s.notifySocket()
	if err != nil {
		return err
	}
	defer conn.Close()
	kind, trap := "trap", "linkDown"
	if pkt.PDUType == gosnmp.InformRequest {
		kind = "inform"
	}
	if ch.up {
		trap = "linkUp"
	}
	ifindex := strconv.FormatUint(uint64(ch.ifIndex), 10)
	sent := func() {
		s.a.count(cOutTraps)
		s.a.count(cOutPkts)
		s.a.count(cNotifications)
		s.events.Publish(event.Event{Service: "snmp", Kind: KindNotification, Client: s.target,
			Attrs:          map[string]string{"kind": kind, "trap": trap, "target": s.target, "ifindex": ifindex},
			TranscriptFrom: notificationText{pkt}})
	}
	if kind == "trap" {
		if _, err := conn.WriteTo(out, to); err != nil {
			return err
		}
		sent()
		return nil
	}
	buf := make([]byte, maxPacketSize)
	for try := 0; try < informTries; try++ {
		if _, err := conn.WriteTo(out, to); err != nil {
			return err
		}
		sent()
		deadline := time.Now().Add(informTimeout)
		for {
			if s.ctx.Err() != nil {
				return s.ctx.Err()
			}
			// Wake up often enough to notice a shutdown.
			_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, _, err := conn.ReadFrom(buf)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if time.Now().Before(deadline) {
					continue
				}
				break
			}
			if err != nil {
				return err
			}
			if ack, err := (&gosnmp.GoSNMP{}).SnmpDecodePacket(buf[:n]); err == nil &&
				ack.PDUType == gosnmp.GetResponse && ack.RequestID == pkt.RequestID {
				s.events.Publish(event.Event{Service: "snmp", Kind: KindInformAcked, Client: s.target,
					Attrs: map[string]string{"target": s.target, "ifindex": ifindex}})
				return nil
			}
		}
	}
	return errors.New("inform not acknowledged")
}

// notificationText prints a notification's varbinds the way snmpget
// prints varbinds.
type notificationText struct{ pkt *gosnmp.SnmpPacket }

// String renders the notification.
func (t notificationText) String() string {
	var b strings.Builder
	kind := "SNMPv2-Trap"
	if t.pkt.PDUType == gosnmp.InformRequest {
		kind = "InformRequest"
	}
	fmt.Fprintf(&b, "%s, SNMPv2c, community %s\n", kind, mask(t.pkt.Community))
	for _, vb := range t.pkt.Variables {
		fmt.Fprintf(&b, "%s\n", varbindText(vb))
	}
	return b.String()
}
