package snmp

import (
	"os"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"

	"protolab/internal/event"
)

// FuzzHandlePacket feeds random and mutated BER to the agent: it must
// never panic (the fuzzer calls it without the recover that guards it
// in the server) and must answer within the size bound.
func FuzzHandlePacket(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	s, _, _ := testServer(f, "")
	s.events = event.Discard{} // the test collector holds only so many
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > maxPacketSize {
			return
		}
		out := func() (out []byte) {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panic: %v", p)
				}
			}()
			return s.handlePacketUnguarded(raw, "127.0.0.1:1")
		}()
		if len(out) > maxResponseSize+512 {
			t.Fatalf("response of %d bytes", len(out))
		}
	})
}

// fuzzSeeds are real requests of every kind.
func fuzzSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	add := func(v gosnmp.SnmpVersion, c string, pdu gosnmp.PDUType, vbs []gosnmp.SnmpPDU) {
		raw, err := (&gosnmp.GoSNMP{Version: v, Community: c}).SnmpEncodePacket(pdu, vbs, 1, 5)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, raw)
	}
	add(gosnmp.Version2c, "public", gosnmp.GetRequest, nulls(".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.9.0"))
	add(gosnmp.Version1, "public", gosnmp.GetNextRequest, nulls(".1.3.6.1.2.1.2.2.1.2"))
	add(gosnmp.Version2c, "public", gosnmp.GetBulkRequest, nulls(".1.3", ".1.3.6.1.2.1.2.2.1.2"))
	add(gosnmp.Version2c, "private", gosnmp.SetRequest, []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.4.0", Type: gosnmp.OctetString, Value: "x"},
		{Name: ".1.3.6.1.2.1.2.2.1.7.2", Type: gosnmp.Integer, Value: 2},
	})
	// A v3 discovery probe and an authPriv request, as net-snmp sends them.
	seeds = append(seeds, v3Probe, v3AuthPriv)
	return seeds
}

// v3Probe is net-snmp's engine discovery request.
var v3Probe = []byte{0x30, 0x3a, 0x02, 0x01, 0x03, 0x30, 0x0f, 0x02, 0x02, 0x4a, 0x69, 0x02, 0x03, 0x00, 0xff, 0xe3,
	0x04, 0x01, 0x04, 0x02, 0x01, 0x03, 0x04, 0x10, 0x30, 0x0e, 0x04, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x04,
	0x00, 0x04, 0x00, 0x04, 0x00, 0x30, 0x12, 0x04, 0x00, 0x04, 0x00, 0xa0, 0x0c, 0x02, 0x02, 0x37, 0xf0, 0x02, 0x01,
	0x00, 0x02, 0x01, 0x00, 0x30, 0x00}

// v3AuthPriv is an authPriv Get of the learner user built by gosnmp.
var v3AuthPriv = func() []byte {
	x := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.AuthPriv | gosnmp.Reportable,
		SecurityParameters: &gosnmp.UsmSecurityParameters{AuthoritativeEngineID: string(defaultEngineID),
			AuthoritativeEngineBoots: 1, UserName: "learner",
			AuthenticationProtocol: gosnmp.SHA, AuthenticationPassphrase: "labauthpass",
			PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: "labprivpass"}}
	raw, err := x.SnmpEncodePacket(gosnmp.GetRequest, nulls(".1.3.6.1.2.1.1.5.0"), 0, 0)
	if err != nil {
		return []byte{0x30, 0x00}
	}
	return raw
}()

// FuzzParseMIB checks that any MIB file is either compiled into an ordered
// table or refused with an error naming its line.
func FuzzParseMIB(f *testing.F) {
	text, err := os.ReadFile("testdata/router.snmprec")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(text)
	f.Add([]byte("1.3.6.1|4x|00ff\n1.3.6.1.0|70|18446744073709551615\n# c\n.1.3|6|1.3.6\n"))
	f.Add([]byte("1.3.6.1|2:rw|-5\n1.3.6.1.2|64|192.0.2.1\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		m, err := parseMIB("f.snmprec", text)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.snmprec") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for i := 1; i < len(m.objs); i++ {
			if m.objs[i-1].oid.compare(m.objs[i].oid) >= 0 {
				t.Fatalf("not ordered: %s then %s", m.objs[i-1].oid, m.objs[i].oid)
			}
		}
		for _, o := range m.objs {
			if _, err := (&gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetResponse,
				Variables: []gosnmp.SnmpPDU{{Name: o.oid.String(), Type: o.typ, Value: o.value}}}).MarshalMsg(); err != nil {
				t.Fatalf("%s cannot be encoded: %v", o.oid, err)
			}
		}
	})
}

// Bad input gets the right error or is dropped, and never a panic:
// truncated packets, absurd OID arcs, and a packet whose lengths lie.
func TestBadInput(t *testing.T) {
	s, _, _ := testServer(t, "")
	s.events = event.Discard{}
	seeds := fuzzSeeds(t)
	// Every truncation of every real request is dropped (no answer at all).
	for _, raw := range seeds {
		for n := 0; n < len(raw); n++ {
			if out := s.handlePacket(raw[:n], "127.0.0.1:1"); out != nil {
				r, err := (&gosnmp.GoSNMP{}).SnmpDecodePacket(out)
				t.Fatalf("a request cut to %d of %d bytes got an answer: %+v %v", n, len(raw), r, err)
			}
		}
	}
	// A length field claiming more than the packet holds: dropped.
	liar := append([]byte(nil), seeds[0]...)
	liar[1] = 0x7f
	if out := s.handlePacket(liar, "127.0.0.1:1"); out != nil {
		t.Fatal("a packet whose length lies got an answer")
	}
	// OIDs with absurd arcs are answered as objects that do not exist.
	p := exchange(t, s, gosnmp.Version2c, "public", gosnmp.GetRequest,
		nulls(".1.3.6.1.4294967295.4294967295", ".1.3.6.1.2.1.1.5.0.4294967295"), 0, 0)
	if p == nil || p.Error != gosnmp.NoError || len(p.Variables) != 2 ||
		p.Variables[0].Type != gosnmp.NoSuchObject || p.Variables[1].Type != gosnmp.NoSuchInstance {
		t.Fatalf("absurd arcs: %+v", p)
	}
	p = exchange(t, s, gosnmp.Version2c, "public", gosnmp.GetNextRequest, nulls(".1.3.6.1.4294967295"), 0, 0)
	if p == nil || len(p.Variables) != 1 || p.Variables[0].Type != gosnmp.EndOfMibView {
		t.Fatalf("getnext past absurd arcs: %+v", p)
	}
}
