package snmp

import (
	"net"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// receiver is a trap target on 127.0.0.1:0.
func receiver(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// receive reads one notification.
func receive(t *testing.T, pc net.PacketConn) (*gosnmp.SnmpPacket, net.Addr) {
	t.Helper()
	buf := make([]byte, 4096)
	_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	p, err := (&gosnmp.GoSNMP{}).SnmpDecodePacket(buf[:n])
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return p, from
}

// setAdmin sets ifAdminStatus of an interface through the server.
func setAdmin(t *testing.T, s *server, ifIndex string, v int) {
	t.Helper()
	p := exchange(t, s, gosnmp.Version2c, "private", gosnmp.SetRequest,
		[]gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.2.2.1.7." + ifIndex, Type: gosnmp.Integer, Value: v}}, 0, 0)
	if p.Error != gosnmp.NoError {
		t.Fatalf("set: %v", p.Error)
	}
}

func TestTraps(t *testing.T) {
	pc := receiver(t)
	s, col, _ := testServer(t, "trap_target: "+pc.LocalAddr().String()+"\n")
	defer s.cancel()
	setAdmin(t, s, "2", 2)
	p, _ := receive(t, pc)
	if p.PDUType != gosnmp.SNMPv2Trap || p.Community != "public" || p.Version != gosnmp.Version2c {
		t.Fatalf("got %v v%v community %q", p.PDUType, p.Version, p.Community)
	}
	want := ".1.3.6.1.2.1.1.3.0 = Timeticks: (0) 0:00:00.00\n.1.3.6.1.6.3.1.1.4.1.0 = OID: .1.3.6.1.6.3.1.1.5.3\n" +
		".1.3.6.1.2.1.2.2.1.1.2 = INTEGER: 2\n.1.3.6.1.2.1.2.2.1.7.2 = INTEGER: 2\n.1.3.6.1.2.1.2.2.1.8.2 = INTEGER: 2\n"
	if got := lines(p); got != want {
		t.Errorf("linkDown:\n%s\nwant\n%s", got, want)
	}
	e := col.Next(t, KindNotification)
	if e.Attrs["trap"] != "linkDown" || e.Attrs["kind"] != "trap" || e.Attrs["ifindex"] != "2" || e.Attrs["target"] != pc.LocalAddr().String() {
		t.Errorf("event %v", e.Attrs)
	}
	// Setting the same status again changes nothing: no trap.
	setAdmin(t, s, "2", 2)
	setAdmin(t, s, "2", 1)
	p, _ = receive(t, pc)
	if p.Variables[1].Value != ".1.3.6.1.6.3.1.1.5.4" {
		t.Errorf("second notification %v, want linkUp", p.Variables[1].Value)
	}
}

func TestInformAcknowledged(t *testing.T) {
	pc := receiver(t)
	s, col, _ := testServer(t, "trap_target: "+pc.LocalAddr().String()+"\ninform: true\n")
	defer s.cancel()
	setAdmin(t, s, "4", 2)
	// The first try goes unanswered; the agent sends it again.
	first, _ := receive(t, pc)
	p, from := receive(t, pc)
	if p.PDUType != gosnmp.InformRequest || p.RequestID != first.RequestID {
		t.Fatalf("got %v id %d, want the inform again (id %d)", p.PDUType, p.RequestID, first.RequestID)
	}
	ack := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetResponse,
		RequestID: p.RequestID, Variables: p.Variables}
	out, err := ack.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.WriteTo(out, from); err != nil {
		t.Fatal(err)
	}
	e := col.Next(t, KindInformAcked)
	if e.Attrs["ifindex"] != "4" || e.Attrs["target"] != pc.LocalAddr().String() {
		t.Errorf("event %v", e.Attrs)
	}
	s.wg.Wait()
}

func TestNoTargetNoTraps(t *testing.T) {
	s, col, _ := testServer(t, "")
	setAdmin(t, s, "2", 2)
	s.wg.Wait()
	for len(col.C()) > 0 {
		if e := <-col.C(); e.Kind == KindNotification {
			t.Errorf("notification without a target: %v", e.Attrs)
		}
	}
}

func TestNotifyTarget(t *testing.T) {
	for _, c := range []struct{ target, learner, want string }{
		{"127.0.0.1:1162", "", "127.0.0.1:1162"},
		{"127.0.0.1:1162", "192.0.2.10", "192.0.2.10:162"},
		{"[::1]:1162", "192.0.2.10", "192.0.2.10:162"},
		{"192.0.2.77:1162", "192.0.2.10", "192.0.2.77:1162"},
		{"", "192.0.2.10", ""},
	} {
		if got := notifyTarget(c.target, c.learner); got != c.want {
			t.Errorf("notifyTarget(%q, %q) = %q, want %q", c.target, c.learner, got, c.want)
		}
	}
}
