package dns

import (
	"context"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"go.yaml.in/yaml/v3"

	"protolab/internal/service"
	"protolab/internal/servicetest"
)

const goodZone = `$ORIGIN example.test.
$TTL 600
@    IN SOA ns1 hostmaster 1 3600 600 86400 60
     IN NS  ns1
ns1  IN A   192.0.2.53
`

// TestLoadErrors checks that every mistake in a lab file or a zone file is
// reported with where it is and what is wrong.
func TestLoadErrors(t *testing.T) {
	files := fstest.MapFS{
		"good.zone":         {Data: []byte(goodZone)},
		"example.test.zone": {Data: []byte(goodZone)},
		"badA.zone": {Data: []byte(`$ORIGIN example.test.
$TTL 600
@    IN SOA ns1 hostmaster 1 3600 600 86400 60
     IN NS  ns1
ns1  IN A   192.0.2.53
www  IN A   192.0.2.300
`)},
		"outside.zone":      {Data: []byte(goodZone + "www.other.test. IN A 192.0.2.1\n")},
		"twosoa.zone":       {Data: []byte(goodZone + "\n@ IN SOA ns1 hostmaster 2 3600 600 86400 60\n")},
		"nosoa.zone":        {Data: []byte("$ORIGIN example.test.\n$TTL 600\n@ IN NS ns1\nns1 IN A 192.0.2.53\n")},
		"nons.zone":         {Data: []byte("$ORIGIN example.test.\n$TTL 600\n@ IN SOA ns1 hostmaster 1 3600 600 86400 60\nns1 IN A 192.0.2.53\n")},
		"cname.zone":        {Data: []byte(goodZone + "www IN CNAME ns1\n; a comment\nwww IN TXT \"also\"\n")},
		"twocname.zone":     {Data: []byte(goodZone + "www IN CNAME ns1\nwww IN CNAME ns1.example.test.x.\n")},
		"noglue.zone":       {Data: []byte("$ORIGIN example.test.\n$TTL 600\n@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n  IN NS ns1\n")},
		"soaelsewhere.zone": {Data: []byte(goodZone + "sub IN SOA ns1 hostmaster 1 3600 600 86400 60\n")},
		"chaos.zone":        {Data: []byte(goodZone + "txt CH TXT \"x\"\n")},
		"dname.zone":        {Data: []byte(goodZone + "old IN DNAME example.test.\n")},
		"nottl.zone":        {Data: []byte("$ORIGIN example.test.\nns1 A 192.0.2.53\n")},
		"include.zone":      {Data: []byte(goodZone + "$INCLUDE /etc/passwd\n")},
		"..zone":            {Data: []byte("@ IN SOA ns1.x. h.x. 1 2 3 4 5\n")},
		"multiline.zone": {Data: []byte(`$ORIGIN example.test.
$TTL 600
@    IN SOA ns1 hostmaster (
          1 3600 600 86400 60 )
     IN NS  ns1
ns1  IN A   192.0.2.53
www  IN CNAME ns1

www  IN MX  10 ns1
`)},
	}
	tests := []struct {
		name string
		opts string // YAML; "-" for no options at all
		want []string
	}{
		{"no options", "-", []string{`option "zones" is required`}},
		{"empty zones", "zones: []", []string{`line 1`, `"zones" is required`}},
		{"unknown option", "zones: [good.zone]\nallow_transfers: true", []string{"line 2", `unknown option "allow_transfers"`, "allow_transfer"}},
		{"not a mapping", "[good.zone]", []string{"line 1", "mapping"}},
		{"zones not a list", "zones: {a: b}", []string{"line 1", "list"}},
		{"bad allow_transfer", "zones: [good.zone]\nallow_transfer: maybe", []string{"line 2", "true or false"}},
		{"path escapes", "zones:\n  - good.zone\n  - ../etc/passwd", []string{"line 3", "../etc/passwd", "inside the lab directory"}},
		{"missing file", "zones: [missing.zone]", []string{"missing.zone"}},
		{"bad address", "zones: [badA.zone]", []string{"badA.zone:6:", "bad A", "192.0.2.300"}},
		{"outside the zone", "zones: [outside.zone]", []string{"outside.zone:6:", "www.other.test. is outside the zone example.test."}},
		{"two SOA", "zones: [twosoa.zone]", []string{"twosoa.zone:7:", "second SOA", "line 3"}},
		{"no SOA", "zones: [nosoa.zone]", []string{"nosoa.zone", "no SOA"}},
		{"no NS", "zones: [nons.zone]", []string{"nons.zone", "no NS record at the apex example.test."}},
		{"CNAME and other data", "zones: [cname.zone]", []string{"cname.zone:8:", "www.example.test. has a CNAME (line 6) and TXT data (line 8)"}},
		{"two CNAMEs", "zones: [twocname.zone]", []string{"twocname.zone:7:", "second CNAME"}},
		{"NS without address", "zones: [noglue.zone]", []string{"noglue.zone:4:", "ns1.example.test.", "no A or AAAA"}},
		{"SOA below the apex", "zones: [soaelsewhere.zone]", []string{"soaelsewhere.zone:6:", "apex"}},
		{"class CH", "zones: [chaos.zone]", []string{"chaos.zone:6:", "class CH"}},
		{"DNAME", "zones: [dname.zone]", []string{"dname.zone:6:", "DNAME"}},
		{"no TTL", "zones: [nottl.zone]", []string{"nottl.zone:2:", "TTL"}},
		{"include", "zones: [include.zone]", []string{"include.zone:6:", "$INCLUDE"}},
		{"no origin", "zones: [..zone]", []string{"..zone", "$ORIGIN"}},
		{"multi-line record", "zones: [multiline.zone]", []string{"multiline.zone:9:", "CNAME (line 7) and MX data (line 9)"}},
		{"zone twice", "zones: [good.zone, example.test.zone]", []string{"example.test. is loaded twice", "good.zone", "example.test.zone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.opts == "-" {
				_, err = Spec.Load(nil, files)
			} else {
				_, err = Spec.Load(servicetest.YAML(t, tt.opts), files)
			}
			if err == nil {
				t.Fatal("loaded without error")
			}
			if !strings.HasPrefix(err.Error(), "dns: ") {
				t.Errorf("error %q does not start with the service name", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadOptions(t *testing.T) {
	files := fstest.MapFS{"zones/example.test.zone": {Data: []byte(goodZone)}}
	for _, tt := range []struct {
		opts  string
		allow bool
	}{
		{"zones: [zones/example.test.zone]", true},
		{"zones: [zones/example.test.zone]\nallow_transfer: false", false},
		{"allow_transfer: yes\nzones:\n  - zones/example.test.zone", true},
		{"zones: [example.test.zone]", true}, // found under zones/
	} {
		p, err := Spec.Load(servicetest.YAML(t, tt.opts), files)
		if err != nil {
			t.Fatalf("%q: %v", tt.opts, err)
		}
		pp := p.(*prepared)
		if pp.allowTransfer != tt.allow || pp.ix.zones["example.test."] == nil {
			t.Errorf("%q: allow %v, zones %v", tt.opts, pp.allowTransfer, pp.ix.zones)
		}
	}
}

// TestOrigin checks where a zone's origin comes from: $ORIGIN, else the file
// name.
func TestOrigin(t *testing.T) {
	noOrigin := "$TTL 600\n@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n  IN NS ns1\nns1 IN A 192.0.2.53\n"
	tests := []struct {
		file, text, origin string
	}{
		{"zones/example.test.zone", noOrigin, "example.test."},
		{"Example.Test.zone", noOrigin, "example.test."},
		{"whatever.zone", "$TTL 600\n$ORIGIN example.test.\n" + noOrigin[9:], "example.test."},
		{"db.zone", "; comment\n\n$ORIGIN sub\n" + noOrigin, "sub.db."},
	}
	for _, tt := range tests {
		z, err := parseZone(tt.file, []byte(tt.text))
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if z.origin != tt.origin {
			t.Errorf("%s: origin %s, want %s", tt.file, z.origin, tt.origin)
		}
	}
}

// TestLabZones checks the built-in zones hold exactly the data the lesson
// and the tasks are written against.
func TestLabZones(t *testing.T) {
	p := loadLab(t, "")
	z := p.ix.zones["lab.test."]
	if z == nil {
		t.Fatal("no lab.test. zone")
	}
	got := map[string]bool{}
	for _, rr := range z.records {
		got[strings.Join(strings.Fields(rr.String()), " ")] = true
	}
	want := []string{
		"lab.test. 3600 IN SOA ns1.lab.test. hostmaster.lab.test. 2026112501 3600 600 86400 300",
		"lab.test. 3600 IN NS ns1.lab.test.",
		"lab.test. 3600 IN MX 10 mail.lab.test.",
		`lab.test. 3600 IN TXT "v=spf1 mx -all"`,
		`lab.test. 3600 IN TXT "Protolab DNS lab - bienvenue / welcome"`,
		"webmail.lab.test. 3600 IN CNAME www.lab.test.",
		`secret.lab.test. 3600 IN TXT "flag=tournesol"`,
		"_imap._tcp.lab.test. 3600 IN SRV 10 0 143 mail.lab.test.",
		"_submission._tcp.lab.test. 3600 IN SRV 10 0 587 mail.lab.test.",
	}
	hosts := map[string][2]string{
		"rtr1": {"192.0.2.1", "2001:db8:89::1"}, "ns1": {"192.0.2.53", "2001:db8:89::53"},
		"mail": {"192.0.2.25", "2001:db8:89::25"}, "www": {"192.0.2.80", "2001:db8:89::80"},
		"files": {"192.0.2.45", "2001:db8:89::45"}, "printer": {"192.0.2.60", "2001:db8:89::60"},
	}
	ptrs := map[string]string{}
	for _, rz := range []string{"2.0.192.in-addr.arpa.", "0.0.0.0.9.8.0.0.8.b.d.0.1.0.0.2.ip6.arpa."} {
		r := p.ix.zones[rz]
		if r == nil {
			t.Fatalf("no reverse zone %s", rz)
		}
		for _, rr := range r.records {
			if ptr, ok := rr.(interface{ String() string }); ok && rr.Header().Rrtype == 12 {
				f := strings.Fields(ptr.String())
				ptrs[f[0]] = f[4]
			}
		}
	}
	for h, addrs := range hosts {
		want = append(want, h+".lab.test. 3600 IN A "+addrs[0], h+".lab.test. 3600 IN AAAA "+addrs[1])
		for _, a := range addrs {
			if ptrs[mustReverse(t, a)] != h+".lab.test." {
				t.Errorf("no PTR %s -> %s.lab.test. (got %q)", a, h, ptrs[mustReverse(t, a)])
			}
		}
	}
	if len(ptrs) != 2*len(hosts) {
		t.Errorf("%d PTR records, want %d", len(ptrs), 2*len(hosts))
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("lab.test. lacks %q", w)
		}
	}
	big := 0
	for _, rr := range z.records {
		if rr.Header().Name == "big.lab.test." {
			big++
			if l := len(rr.String()); l < 60 {
				t.Errorf("short big TXT: %s", rr)
			}
		}
	}
	if big != 12 {
		t.Errorf("big.lab.test. has %d TXT, want 12", big)
	}
	if n := len(z.records); n != len(want)+big {
		t.Errorf("lab.test. has %d records, want %d", n, len(want)+big)
	}
}

// TestLabZonesParse loads each built-in zone file on its own, as an
// instructor checking a copy would.
func TestLabZonesParse(t *testing.T) {
	entries, err := os.ReadDir("../../labs/dns/zones")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		text, err := os.ReadFile("../../labs/dns/zones/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		z, err := parseZone(e.Name(), text)
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		if z.origin+"zone" != e.Name() {
			t.Errorf("%s: origin %s", e.Name(), z.origin)
		}
	}
}

// TestREADMEExamples loads the lab configuration shown in README.md and runs
// its solve steps against the server, so the documentation stays true.
func TestREADMEExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, part := range strings.Split(string(readme), "```yaml\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		blocks = append(blocks, block)
	}
	if len(blocks) != 2 {
		t.Fatalf("%d yaml blocks in README.md, want 2", len(blocks))
	}
	var lab struct {
		Services map[string]yaml.Node `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(blocks[0]), &lab); err != nil {
		t.Fatal(err)
	}
	opts := lab.Services["dns"]
	p, err := Spec.Load(&opts, labDir(t))
	if err != nil {
		t.Fatalf("README lab: %v", err)
	}
	s := startServer(t, p)
	var steps []service.Step
	if err := yaml.Unmarshal([]byte(blocks[1]), &steps); err != nil {
		t.Fatal(err)
	}
	if len(steps) != 4 {
		t.Fatalf("%d steps", len(steps))
	}
	for _, st := range steps {
		if err := Spec.Solve(context.Background(), s.inst.Endpoints(), st); err != nil {
			t.Errorf("README step %+v: %v", st, err)
		}
	}

	// The brief form, with bare file names, loads too.
	if _, err := Spec.Load(servicetest.YAML(t, "zones: [lab.test.zone, 2.0.192.in-addr.arpa.zone, 0.0.0.0.9.8.0.0.8.b.d.0.1.0.0.2.ip6.arpa.zone]\nallow_transfer: true"), labDir(t)); err != nil {
		t.Errorf("bare names: %v", err)
	}
}
