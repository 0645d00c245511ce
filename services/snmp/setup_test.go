package snmp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gosnmp/gosnmp"
	"protolab/internal/servicetest"
)

func TestParseMIB(t *testing.T) {
	m, err := parseMIB("t.snmprec", []byte(`# unsorted on purpose
1.3.6.1.2.1.1.10.0|2|10
1.3.6.1.2.1.1.9.0|4x|4c6162
.1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.32473.1.1

1.3.6.1.2.1.1.4.0|4:rw|a|b
1.3.6.1.2.1.4.20.1.1.192.0.2.1|64|192.0.2.1
1.3.6.1.2.1.2.2.1.10.1|65|4294967295
1.3.6.1.2.1.2.2.1.5.1|66|10
1.3.6.1.2.1.1.3.0|67|5
1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551615
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range m.objs {
		got = append(got, varbindText(gosnmp.SnmpPDU{Name: o.oid.String(), Type: o.typ, Value: o.value}))
	}
	want := []string{
		`.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.32473.1.1`,
		`.1.3.6.1.2.1.1.3.0 = Timeticks: (5) 0:00:00.05`,
		`.1.3.6.1.2.1.1.4.0 = STRING: "a|b"`,
		`.1.3.6.1.2.1.1.9.0 = STRING: "Lab"`,
		`.1.3.6.1.2.1.1.10.0 = INTEGER: 10`,
		`.1.3.6.1.2.1.2.2.1.5.1 = Gauge32: 10`,
		`.1.3.6.1.2.1.2.2.1.10.1 = Counter32: 4294967295`,
		`.1.3.6.1.2.1.4.20.1.1.192.0.2.1 = IpAddress: 192.0.2.1`,
		`.1.3.6.1.2.1.31.1.1.1.6.1 = Counter64: 18446744073709551615`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !m.objs[2].writable || m.objs[0].writable {
		t.Error("the :rw flag is not read")
	}
}

func TestMIBErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"# nothing\n", "t.snmprec: no objects"},
		{"1.3.6.1.2.1.1.1.0|4|a\n1.3.6.1.2.1.1.1.0|4|b\n", "t.snmprec:2: .1.3.6.1.2.1.1.1.0 is already defined on line 1"},
		{"\n\n1.3.6.1.2.1.1.1.0|4\n", "t.snmprec:3: "},
		{"1.3.6.x.1|4|a\n", `t.snmprec:1: OID "1.3.6.x.1": arc "x"`},
		{"1|4|a\n", "t.snmprec:1: OID \"1\": between 2"},
		{"3.1.1|4|a\n", "t.snmprec:1: OID \"3.1.1\": the first arcs"},
		{"1.3.6.1|6|2.4294967295\n", "t.snmprec:1: .1.3.6.1: value: OID \"2.4294967295\": the first arcs"},
		{"1.3.6.1|5|a\n", `t.snmprec:1: type "5"`},
		{"1.3.6.1|2|12a\n", `t.snmprec:1: .1.3.6.1: value "12a": an integer`},
		{"1.3.6.1|2|4294967296\n", "t.snmprec:1: .1.3.6.1: value"},
		{"1.3.6.1|4x|zz\n", "t.snmprec:1: .1.3.6.1: value \"zz\": hex digits"},
		{"1.3.6.1|64|2001:db8::1\n", "IPv4 address"},
		{"1.3.6.1|65|-1\n", "t.snmprec:1: .1.3.6.1: value \"-1\": a number from 0 to 4294967295"},
		{"1.3.6.1|6|nope\n", "t.snmprec:1: .1.3.6.1: value: OID"},
	}
	for _, tt := range tests {
		_, err := parseMIB("t.snmprec", []byte(tt.text))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want it to contain %q", tt.text, err, tt.want)
		}
	}
}

func TestOptions(t *testing.T) {
	data := fstest.MapFS{"r.snmprec": {Data: []byte("1.3.6.1.2.1.1.5.0|4|r\n")}, "bad.snmprec": {Data: []byte("1.3.6.1.2.1.1.5.0|4|r\nnope\n")}}
	tests := []struct{ opts, want string }{
		{"mib: r.snmprec", ""},
		{"", `option "mib" is required`},
		{"mib: r.snmprec\ncolour: red", `line 2: unknown option "colour"`},
		{"mib: ../r.snmprec", "line 1: mib: \"../r.snmprec\": give a path inside the lab directory"},
		{"mib: missing.snmprec", "MIB file missing.snmprec"},
		{"mib: bad.snmprec", "bad.snmprec:2: "},
		{"mib: r.snmprec\ncommunities: [{name: public, access: rx}]", `line 2: community "public": access "rx"`},
		{"mib: r.snmprec\ncommunities:\n  - {name: a}\n  - {name: a}", `line 4: community "a" is given twice`},
		{"mib: r.snmprec\ncommunities: [{name: a, colour: b}]", `line 2: community: unknown field "colour"`},
		{"mib: r.snmprec\nusers: [{name: u, auth: SHA1, auth_pass: 12345678}]", `line 2: user "u": auth "SHA1"`},
		{"mib: r.snmprec\nusers: [{name: u, auth: SHA, auth_pass: short}]", "at least 8 characters"},
		{"mib: r.snmprec\nusers: [{name: u, priv: AES, priv_pass: 12345678}]", "priv needs auth"},
		{"mib: r.snmprec\ntrap_target: localhost:162", "line 2: trap_target: \"localhost:162\": an IP address and port"},
		{"mib: r.snmprec\ninform: yes please", "line 2: inform: true or false"},
		{"mib: r.snmprec\ninform: true", "inform: true needs a trap_target"},
		{"mib: r.snmprec\nengine_id: 0x1234", "line 2: engine_id"},
		{"mib: r.snmprec\nengine_id: 0x80007ed905616263", ""},
	}
	for _, tt := range tests {
		var err error
		if tt.opts == "" {
			_, err = Spec.Load(nil, data)
		} else {
			_, err = Spec.Load(servicetest.YAML(t, tt.opts), data)
		}
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v", tt.opts, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: error %v, want it to contain %q", tt.opts, err, tt.want)
		}
	}
	p, err := Spec.Load(servicetest.YAML(t, "mib: r.snmprec"), data)
	if err != nil {
		t.Fatal(err)
	}
	if cs := p.(*prepared).o.Communities; len(cs) != 2 || cs[0].Name != "public" || cs[1].Access != accessRW {
		t.Errorf("default communities %v", cs)
	}
}

func TestRouterMIB(t *testing.T) {
	s, _, _ := testServer(t, "")
	names := map[string]bool{}
	for _, o := range s.a.m.objs {
		if n := nameOf(o.oid); n != "" {
			names[n[:strings.IndexByte(n, '.')]] = true
		}
	}
	for _, n := range []string{"sysDescr", "sysObjectID", "sysUpTime", "sysContact", "sysName", "sysLocation", "sysServices",
		"ifNumber", "ifIndex", "ifDescr", "ifType", "ifMtu", "ifSpeed", "ifPhysAddress", "ifAdminStatus", "ifOperStatus",
		"ifLastChange", "ifInOctets", "ifOutOctets", "ifName", "ifHCInOctets", "ifHighSpeed", "ipAdEntAddr",
		"snmpInPkts", "snmpInBadCommunityNames", "protolabRequests"} {
		if !names[n] {
			t.Errorf("the router MIB has no %s", n)
		}
	}
	for _, o := range s.a.m.objs {
		n := nameOf(o.oid)
		want := strings.HasPrefix(n, "sysContact.") || strings.HasPrefix(n, "sysName.") || strings.HasPrefix(n, "sysLocation.") ||
			strings.HasPrefix(n, "ifAdminStatus.") || strings.HasPrefix(n, "ifAlias.")
		if o.writable != want {
			t.Errorf("%s (%s): writable %v", o.oid, n, o.writable)
		}
	}
}

// snmpEngineBoots grows by one at each start of the agent in a state
// directory, and starts at 1 (RFC 3414 §2.2.2).
func TestEngineBootsPersist(t *testing.T) {
	dir := t.TempDir()
	for want := int64(1); want <= 3; want++ {
		got, err := nextBoots(dir)
		if err != nil || got != want {
			t.Fatalf("start %d: boots %d, %v", want, got, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, bootsFile), []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := nextBoots(dir); err != nil || got != 1 {
		t.Fatalf("after an unreadable count: boots %d, %v", got, err)
	}
	if _, err := nextBoots(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("no error for a state directory that does not exist")
	}
}
