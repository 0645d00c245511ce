package snmp

import (
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// testServer is a server without a socket, fed packets directly.
func testServer(t testing.TB, extra string) (*server, *collector, *fakeClock) {
	t.Helper()
	p := loadLab(t, extra)
	col := newCollector()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return newServer(p, col, nil, clk.now), col, clk
}

// exchange encodes a request, hands it to the server and decodes the
// answer (nil when the server stays silent).
func exchange(t testing.TB, s *server, version gosnmp.SnmpVersion, community string, pdu gosnmp.PDUType, vbs []gosnmp.SnmpPDU, nonRep uint8, maxRep uint32) *gosnmp.SnmpPacket {
	t.Helper()
	x := &gosnmp.GoSNMP{Version: version, Community: community}
	raw, err := x.SnmpEncodePacket(pdu, vbs, nonRep, maxRep)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	out := s.handlePacket(raw, "127.0.0.1:40000")
	if out == nil {
		return nil
	}
	resp, err := (&gosnmp.GoSNMP{}).SnmpDecodePacket(out)
	if err != nil {
		t.Fatalf("decode response: %v", err)
	}
	if resp.PDUType != gosnmp.GetResponse {
		t.Fatalf("response PDU %v", resp.PDUType)
	}
	return resp
}

// nulls makes Get varbinds.
func nulls(oids ...string) []gosnmp.SnmpPDU {
	vbs := make([]gosnmp.SnmpPDU, len(oids))
	for i, o := range oids {
		vbs[i] = gosnmp.SnmpPDU{Name: o, Type: gosnmp.Null}
	}
	return vbs
}

// lines prints the varbinds of a response, one per line.
func lines(p *gosnmp.SnmpPacket) string {
	var b strings.Builder
	for _, vb := range p.Variables {
		b.WriteString(varbindText(vb) + "\n")
	}
	return b.String()
}

func TestGetAndNext(t *testing.T) {
	s, _, _ := testServer(t, "")
	tests := []struct {
		name    string
		version gosnmp.SnmpVersion
		pdu     gosnmp.PDUType
		oids    []string
		err     gosnmp.SNMPError
		index   uint8
		want    string
	}{
		{"get sysName", gosnmp.Version2c, gosnmp.GetRequest, []string{".1.3.6.1.2.1.1.5.0"}, 0, 0,
			".1.3.6.1.2.1.1.5.0 = STRING: \"rtr1.lab.test\"\n"},
		{"get two", gosnmp.Version2c, gosnmp.GetRequest, []string{".1.3.6.1.2.1.1.2.0", ".1.3.6.1.2.1.4.20.1.1.192.0.2.1"}, 0, 0,
			".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.32473.1.1\n.1.3.6.1.2.1.4.20.1.1.192.0.2.1 = IpAddress: 192.0.2.1\n"},
		{"no such object", gosnmp.Version2c, gosnmp.GetRequest, []string{".1.3.6.1.2.1.1.9.0"}, 0, 0,
			".1.3.6.1.2.1.1.9.0 = No Such Object available on this agent at this OID\n"},
		{"no such instance", gosnmp.Version2c, gosnmp.GetRequest, []string{".1.3.6.1.2.1.1.5"}, 0, 0,
			".1.3.6.1.2.1.1.5 = No Such Instance currently exists at this OID\n"},
		{"no such instance in a table", gosnmp.Version2c, gosnmp.GetRequest, []string{".1.3.6.1.2.1.2.2.1.2.9"}, 0, 0,
			".1.3.6.1.2.1.2.2.1.2.9 = No Such Instance currently exists at this OID\n"},
		{"v1 noSuchName echoes", gosnmp.Version1, gosnmp.GetRequest, []string{".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.9.0"}, gosnmp.NoSuchName, 2,
			".1.3.6.1.2.1.1.5.0 = NULL\n.1.3.6.1.2.1.1.9.0 = NULL\n"},
		{"v1 hides Counter64", gosnmp.Version1, gosnmp.GetRequest, []string{".1.3.6.1.2.1.31.1.1.1.6.2"}, gosnmp.NoSuchName, 1,
			".1.3.6.1.2.1.31.1.1.1.6.2 = NULL\n"},
		{"next is strictly greater", gosnmp.Version2c, gosnmp.GetNextRequest, []string{".1.3.6.1.2.1.1.5.0"}, 0, 0,
			".1.3.6.1.2.1.1.6.0 = STRING: \"Lab rack 1\"\n"},
		{"next compares arcs as numbers", gosnmp.Version2c, gosnmp.GetNextRequest, []string{".1.3.6.1.2.1.2.2.1.2.9"}, 0, 0,
			".1.3.6.1.2.1.2.2.1.3.1 = INTEGER: 24\n"},
		{"next from a prefix", gosnmp.Version2c, gosnmp.GetNextRequest, []string{".1.3"}, 0, 0,
			".1.3.6.1.2.1.1.1.0 = STRING: \"Protolab virtual router rtr1, 4 interfaces\"\n"},
		{"next past the end", gosnmp.Version2c, gosnmp.GetNextRequest, []string{".1.3.6.1.4.1.32473.3.8.0"}, 0, 0,
			".1.3.6.1.4.1.32473.3.8.0 = No more variables left in this MIB View (It is past the end of the MIB tree)\n"},
		{"v1 next past the end", gosnmp.Version1, gosnmp.GetNextRequest, []string{".1.3.6.1.4.1.32473.3.8.0"}, gosnmp.NoSuchName, 1,
			".1.3.6.1.4.1.32473.3.8.0 = NULL\n"},
		{"v1 next skips Counter64", gosnmp.Version1, gosnmp.GetNextRequest, []string{".1.3.6.1.2.1.31.1.1.1.1.4"}, 0, 0,
			".1.3.6.1.2.1.31.1.1.1.15.1 = Gauge32: 10\n"},
		{"v2c next shows Counter64", gosnmp.Version2c, gosnmp.GetNextRequest, []string{".1.3.6.1.2.1.31.1.1.1.1.4"}, 0, 0,
			".1.3.6.1.2.1.31.1.1.1.6.1 = Counter64: 0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := exchange(t, s, tt.version, "public", tt.pdu, nulls(tt.oids...), 0, 0)
			if p == nil {
				t.Fatal("no answer")
			}
			if p.Error != tt.err || p.ErrorIndex != tt.index {
				t.Errorf("error %v index %d, want %v index %d", p.Error, p.ErrorIndex, tt.err, tt.index)
			}
			if got := lines(p); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestGetBulk(t *testing.T) {
	s, _, _ := testServer(t, "")
	p := exchange(t, s, gosnmp.Version2c, "public", gosnmp.GetBulkRequest,
		nulls(".1.3.6.1.2.1.1.1", ".1.3.6.1.2.1.2.2.1.2", ".1.3.6.1.2.1.2.2.1.3"), 1, 3)
	want := `.1.3.6.1.2.1.1.1.0 = STRING: "Protolab virtual router rtr1, 4 interfaces"
.1.3.6.1.2.1.2.2.1.2.1 = STRING: "lo"
.1.3.6.1.2.1.2.2.1.3.1 = INTEGER: 24
.1.3.6.1.2.1.2.2.1.2.2 = STRING: "eth0"
.1.3.6.1.2.1.2.2.1.3.2 = INTEGER: 6
.1.3.6.1.2.1.2.2.1.2.3 = STRING: "eth1"
.1.3.6.1.2.1.2.2.1.3.3 = INTEGER: 6
`
	if got := lines(p); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	// At the end of the MIB every repeater stops with endOfMibView.
	p = exchange(t, s, gosnmp.Version2c, "public", gosnmp.GetBulkRequest, nulls(".1.3.6.1.4.1.32473.3.7.0"), 0, 10)
	want = ".1.3.6.1.4.1.32473.3.8.0 = Counter32: 0\n.1.3.6.1.4.1.32473.3.8.0 = No more variables left in this MIB View (It is past the end of the MIB tree)\n"
	if got := lines(p); got != want {
		t.Errorf("at the end: got\n%s\nwant\n%s", got, want)
	}

	// A large max-repetitions is cut to what fits in the response.
	p = exchange(t, s, gosnmp.Version2c, "public", gosnmp.GetBulkRequest, nulls(".1.3"), 0, 1000)
	if p.Error != gosnmp.NoError || len(p.Variables) == 0 || len(p.Variables) > maxRepetitions {
		t.Errorf("big bulk: error %v, %d varbinds", p.Error, len(p.Variables))
	}
	out, _ := p.MarshalMsg()
	if len(out) > maxResponseSize {
		t.Errorf("response of %d bytes, bound %d", len(out), maxResponseSize)
	}

	// Non-repeaters that do not fit: tooBig.
	s.a.maxResp = 1000
	many := make([]string, maxVarbinds)
	for i := range many {
		many[i] = ".1.3.6.1.2.1.1.1.0"
	}
	p = exchange(t, s, gosnmp.Version2c, "public", gosnmp.GetBulkRequest, nulls(many...), uint8(len(many)), 0)
	if p.Error != gosnmp.TooBig || len(p.Variables) != 0 {
		t.Errorf("non-repeaters too big: error %v, %d varbinds", p.Error, len(p.Variables))
	}

	s.a.maxResp = maxResponseSize
	// Too many varbinds in a request: tooBig.
	p = exchange(t, s, gosnmp.Version2c, "public", gosnmp.GetRequest, nulls(append(many, ".1.3.6.1.2.1.1.5.0")...), 0, 0)
	if p.Error != gosnmp.TooBig {
		t.Errorf("%d varbinds: error %v, want tooBig", len(many)+1, p.Error)
	}

	// GetBulk does not exist in v1: dropped.
	if p := exchange(t, s, gosnmp.Version1, "public", gosnmp.GetBulkRequest, nulls(".1.3"), 0, 3); p != nil {
		t.Errorf("v1 GetBulk answered: %v", p.Error)
	}
}

func TestSet(t *testing.T) {
	str := func(o, v string) gosnmp.SnmpPDU { return gosnmp.SnmpPDU{Name: o, Type: gosnmp.OctetString, Value: v} }
	num := func(o string, v int) gosnmp.SnmpPDU { return gosnmp.SnmpPDU{Name: o, Type: gosnmp.Integer, Value: v} }
	const contact, admin2 = ".1.3.6.1.2.1.1.4.0", ".1.3.6.1.2.1.2.2.1.7.2"
	tests := []struct {
		name      string
		version   gosnmp.SnmpVersion
		community string
		vbs       []gosnmp.SnmpPDU
		err       gosnmp.SNMPError
		index     uint8
	}{
		{"ok", gosnmp.Version2c, "private", []gosnmp.SnmpPDU{str(contact, "me@lab.test"), num(admin2, 2)}, gosnmp.NoError, 0},
		{"read-only community", gosnmp.Version2c, "public", []gosnmp.SnmpPDU{str(contact, "x")}, gosnmp.NoAccess, 1},
		{"read-only object", gosnmp.Version2c, "private", []gosnmp.SnmpPDU{str(contact, "x"), str(".1.3.6.1.2.1.1.1.0", "x")}, gosnmp.NotWritable, 2},
		{"unknown object", gosnmp.Version2c, "private", []gosnmp.SnmpPDU{str(".1.3.6.1.2.1.1.99.0", "x")}, gosnmp.NotWritable, 1},
		{"missing instance", gosnmp.Version2c, "private", []gosnmp.SnmpPDU{num(".1.3.6.1.2.1.2.2.1.7.9", 1)}, gosnmp.NoCreation, 1},
		{"wrong type", gosnmp.Version2c, "private", []gosnmp.SnmpPDU{num(contact, 3)}, gosnmp.WrongType, 1},
		{"wrong value", gosnmp.Version2c, "private", []gosnmp.SnmpPDU{str(contact, "x"), num(admin2, 3)}, gosnmp.WrongValue, 2},
		{"wrong length", gosnmp.Version2c, "private", []gosnmp.SnmpPDU{str(contact, strings.Repeat("x", 256))}, gosnmp.WrongLength, 1},
		{"v1 read-only community", gosnmp.Version1, "public", []gosnmp.SnmpPDU{str(contact, "x")}, gosnmp.NoSuchName, 1},
		{"v1 not writable", gosnmp.Version1, "private", []gosnmp.SnmpPDU{str(".1.3.6.1.2.1.1.1.0", "x")}, gosnmp.NoSuchName, 1},
		{"v1 wrong type", gosnmp.Version1, "private", []gosnmp.SnmpPDU{num(contact, 3)}, gosnmp.BadValue, 1},
		{"v1 wrong value", gosnmp.Version1, "private", []gosnmp.SnmpPDU{num(admin2, 7)}, gosnmp.BadValue, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := testServer(t, "")
			p := exchange(t, s, tt.version, tt.community, gosnmp.SetRequest, tt.vbs, 0, 0)
			if p.Error != tt.err || p.ErrorIndex != tt.index {
				t.Fatalf("error %v index %d, want %v index %d", p.Error, p.ErrorIndex, tt.err, tt.index)
			}
			if len(p.Variables) != len(tt.vbs) {
				t.Errorf("%d varbinds in the response, want %d", len(p.Variables), len(tt.vbs))
			}
			g := exchange(t, s, gosnmp.Version2c, "public", gosnmp.GetRequest, nulls(contact, admin2, ".1.3.6.1.2.1.2.2.1.8.2"), 0, 0)
			want := ".1.3.6.1.2.1.1.4.0 = STRING: \"noc@lab.test\"\n.1.3.6.1.2.1.2.2.1.7.2 = INTEGER: 1\n.1.3.6.1.2.1.2.2.1.8.2 = INTEGER: 1\n"
			if tt.err == gosnmp.NoError {
				want = ".1.3.6.1.2.1.1.4.0 = STRING: \"me@lab.test\"\n.1.3.6.1.2.1.2.2.1.7.2 = INTEGER: 2\n.1.3.6.1.2.1.2.2.1.8.2 = INTEGER: 2\n"
			}
			if got := lines(g); got != want {
				t.Errorf("after the set (all or nothing):\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestLiveValuesAndReset(t *testing.T) {
	s, _, clk := testServer(t, "")
	const up, in2, hcin2, oper2, last2 = ".1.3.6.1.2.1.1.3.0", ".1.3.6.1.2.1.2.2.1.10.2", ".1.3.6.1.2.1.31.1.1.1.6.2", ".1.3.6.1.2.1.2.2.1.8.2", ".1.3.6.1.2.1.2.2.1.9.2"
	get := func() []gosnmp.SnmpPDU {
		return exchange(t, s, gosnmp.Version2c, "public", gosnmp.GetRequest, nulls(up, in2, hcin2, oper2, last2), 0, 0).Variables
	}
	clk.t = clk.t.Add(10 * time.Second)
	v := get()
	if v[0].Value != uint32(1000) {
		t.Errorf("sysUpTime after 10 s: %v, want 1000", v[0].Value)
	}
	if v[1].Value != uint(36000) || v[2].Value != uint64(36000) {
		t.Errorf("eth0 in octets after 10 s: %v and %v, want 36000 (1200 × 3 a second)", v[1].Value, v[2].Value)
	}
	// Down for 10 s: the counters stop; ifLastChange is stamped.
	exchange(t, s, gosnmp.Version2c, "private", gosnmp.SetRequest,
		[]gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.2.2.1.7.2", Type: gosnmp.Integer, Value: 2}}, 0, 0)
	clk.t = clk.t.Add(10 * time.Second)
	v = get()
	if v[1].Value != uint(36000) || v[3].Value != 2 || v[4].Value != uint32(1000) {
		t.Errorf("down: in octets %v (want 36000), oper %v (want 2), last change %v (want 1000)", v[1].Value, v[3].Value, v[4].Value)
	}
	// The agent's counters are live too.
	p := exchange(t, s, gosnmp.Version2c, "public", gosnmp.GetRequest, nulls(".1.3.6.1.2.1.11.1.0", ".1.3.6.1.4.1.32473.2.2.0"), 0, 0)
	if p.Variables[0].Value != uint(4) || p.Variables[1].Value != uint(1) {
		t.Errorf("snmpInPkts %v (want 4), protolabSets %v (want 1)", p.Variables[0].Value, p.Variables[1].Value)
	}
	if err := (&instance{s: s}).Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	v = get()
	if v[3].Value != 1 || v[4].Value != uint32(0) {
		t.Errorf("after reset: oper %v, last change %v; want 1 and 0", v[3].Value, v[4].Value)
	}
}

func TestBadCommunityAndGarbage(t *testing.T) {
	s, col, _ := testServer(t, "")
	if p := exchange(t, s, gosnmp.Version2c, "secret", gosnmp.GetRequest, nulls(".1.3.6.1.2.1.1.5.0"), 0, 0); p != nil {
		t.Fatal("a wrong community was answered")
	}
	e := col.Next(t, KindAuthFailure)
	if e.Attrs["reason"] != "bad-community" || e.Attrs["community"] != "secret" || e.Attrs["version"] != "2c" || e.Client != "127.0.0.1:40000" {
		t.Errorf("event %v", e.Attrs)
	}
	for _, raw := range [][]byte{nil, {0x30}, {0x30, 0x03, 0x02, 0x01, 0x07}, []byte("hello world")} {
		if out := s.handlePacket(raw, "127.0.0.1:1"); out != nil {
			t.Errorf("%x answered", raw)
		}
	}
	p := exchange(t, s, gosnmp.Version2c, "public", gosnmp.GetRequest, nulls(".1.3.6.1.2.1.11.4.0", ".1.3.6.1.2.1.11.6.0", ".1.3.6.1.2.1.11.3.0"), 0, 0)
	if got := lines(p); got != ".1.3.6.1.2.1.11.4.0 = Counter32: 1\n.1.3.6.1.2.1.11.6.0 = Counter32: 3\n.1.3.6.1.2.1.11.3.0 = Counter32: 1\n" {
		t.Errorf("counters:\n%s", got)
	}
}

func TestEvents(t *testing.T) {
	s, col, _ := testServer(t, "")
	exchange(t, s, gosnmp.Version2c, "private", gosnmp.SetRequest,
		[]gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.1.4.0", Type: gosnmp.OctetString, Value: "me@lab.test"}}, 0, 0)
	e := col.Next(t, KindRequest)
	want := map[string]string{"version": "2c", "community": "private", "pdu": "set", "oids": ".1.3.6.1.2.1.1.4.0", "error_status": "noError", "varbinds": "1"}
	for k, v := range want {
		if e.Attrs[k] != v {
			t.Errorf("request %s = %q, want %q", k, e.Attrs[k], v)
		}
	}
	if !strings.Contains(e.Transcript, `.1.3.6.1.2.1.1.4.0 = STRING: "me@lab.test"`) || strings.Contains(e.Transcript, "private") {
		t.Errorf("transcript (value shown, community masked):\n%s", e.Transcript)
	}
	e = col.Next(t, KindSet)
	if e.Attrs["name"] != "sysContact.0" || e.Attrs["old"] != `STRING: "noc@lab.test"` || e.Attrs["new"] != `STRING: "me@lab.test"` {
		t.Errorf("set event %v", e.Attrs)
	}
	exchange(t, s, gosnmp.Version1, "public", gosnmp.GetRequest, nulls(".1.3.6.1.2.1.1.9.0"), 0, 0)
	e = col.Next(t, KindRequest)
	if e.Attrs["version"] != "1" || e.Attrs["error_status"] != "noSuchName" || e.Attrs["pdu"] != "get" {
		t.Errorf("v1 request event %v", e.Attrs)
	}
	for _, k := range Spec.Events {
		for _, b := range k.Brief {
			if !k.HasAttr(b) {
				t.Errorf("%s: brief attribute %q not declared", k.Kind, b)
			}
		}
	}
}

func TestPanicIsContained(t *testing.T) {
	s, _, _ := testServer(t, "")
	s.a.lives = nil // every lookup of a live value now panics
	if out := exchange(t, s, gosnmp.Version2c, "public", gosnmp.GetRequest, nulls(".1.3.6.1.2.1.1.5.0"), 0, 0); out != nil {
		t.Error("answered despite the panic")
	}
}
