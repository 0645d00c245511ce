package ws

import (
	"protolab/internal/servicetest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestOptions(t *testing.T) {
	p := loadLab(t, "")
	if p.o.Zone != "lab.test.zone" || len(p.o.Users) != 1 || p.o.Users[0] != (user{"alice", "wonderland"}) {
		t.Errorf("defaults: %+v", p.o)
	}
	p = loadLab(t, "users: [{name: carol, password: secret1}, {name: dave, password: 'two words'}]")
	if len(p.o.Users) != 2 || p.o.Users[1] != (user{"dave", "two words"}) {
		t.Errorf("users: %+v", p.o.Users)
	}
}

func TestOptionsErrors(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"", `option "zone" is required`},
		{"users: []", `line 1: ws options: "zone" is required`},
		{"zone: lab.test.zone\ncolor: red", `line 2: ws options: unknown field "color"`},
		{"zone: ../x.zone", `zone: "../x.zone": give a path inside the lab directory`},
		{"zone: [a]", "zone must be a single value"},
		{"zone: nope.zone", "ws: zone file nope.zone:"},
		{"zone: lab.test.zone\nusers: {alice: x}", "users must be a list"},
		{"zone: lab.test.zone\nusers: []", "give from 1 to 64 accounts"},
		{"zone: lab.test.zone\nusers: [{name: alice}]", "user: password is required"},
		{"zone: lab.test.zone\nusers: [{name: 'a b', password: x}]", `name "a b": 1 to 64 characters`},
		{"zone: lab.test.zone\nusers: [{name: a, password: x, role: admin}]", `user: unknown field "role"`},
		{"zone: lab.test.zone\nusers:\n  - {name: a, password: x}\n  - {name: a, password: y}", "line 4: user a is given twice (first at line 3)"},
	}
	for _, tt := range tests {
		_, err := Spec.Load(servicetest.YAML(t, tt.text), labFS(t))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want %q", tt.text, err, tt.want)
		}
	}
	if _, err := Spec.Load(servicetest.YAML(t, "zone: lab.test.zone"), nil); err == nil {
		t.Error("no lab directory: want an error")
	}
}

func TestZoneErrors(t *testing.T) {
	tests := []struct {
		file, text, want string
	}{
		{"bad.zone", "$ORIGIN bad.test.\n@ IN SOA ns hm 1 2 3 4 5\nwww IN A 192.0.2.300\n", "bad.zone:3: bad A A"},
		{"x.test.zone", "www IN A 192.0.2.1\n", "x.test.zone has no SOA record"},
		{"inc.zone", "$ORIGIN inc.test.\n$INCLUDE /etc/passwd\n", "inc.zone:2:"},
		{"big.zone", strings.Repeat(";", maxZoneBytes+1), "more than the 1048576"},
	}
	for _, tt := range tests {
		_, err := Spec.Load(servicetest.YAML(t, "zone: "+tt.file), fstest.MapFS{tt.file: {Data: []byte(tt.text)}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.file, err, tt.want)
		}
	}
}

func TestDirectory(t *testing.T) {
	d := loadLab(t, "").dir
	tests := []struct {
		name  string
		canon string // "" for unknown
		addrs string
		texts int
	}{
		{"www.lab.test", "www.lab.test", "192.0.2.80 2001:db8:89::80", 0},
		{"WWW.Lab.Test.", "www.lab.test", "192.0.2.80 2001:db8:89::80", 0},
		{"www", "www.lab.test", "192.0.2.80 2001:db8:89::80", 0},
		{"webmail.lab.test", "www.lab.test", "192.0.2.80 2001:db8:89::80", 0},
		{"secret.lab.test", "secret.lab.test", "", 1},
		{"lab.test", "lab.test", "", 2},
		{"nosuchhost.lab.test", "", "", 0},
		{"www.example.com", "", "", 0},
	}
	for _, tt := range tests {
		fq, ok := d.normalize(tt.name)
		if !ok {
			t.Errorf("%s: not a name", tt.name)
			continue
		}
		a, found := d.lookup(fq)
		if tt.canon == "" {
			if found {
				t.Errorf("%s: found %+v", tt.name, a)
			}
			continue
		}
		var addrs []string
		for _, x := range a.addrs {
			addrs = append(addrs, x.String())
		}
		if !found || a.name != tt.canon || strings.Join(addrs, " ") != tt.addrs || len(a.texts) != tt.texts {
			t.Errorf("%s: %+v %v, want %s %s with %d texts", tt.name, a, found, tt.canon, tt.addrs, tt.texts)
		}
	}
	for _, bad := range []string{"", " ", "a b", "a..b", ".", strings.Repeat("a", 64) + ".lab.test", "x;y", `"q"`} {
		if _, ok := d.normalize(bad); ok {
			t.Errorf("%q: taken as a host name", bad)
		}
	}
}

// An alias loop in a zone ends the lookup instead of running forever.
func TestAliasLoop(t *testing.T) {
	zone := "$ORIGIN loop.test.\n@ IN SOA ns hm 1 2 3 4 5\na IN CNAME b\nb IN CNAME a\n"
	p, err := Spec.Load(servicetest.YAML(t, "zone: loop.test.zone"), fstest.MapFS{"loop.test.zone": {Data: []byte(zone)}})
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := p.(*prepared).dir.lookup("a.loop.test."); ok {
		t.Errorf("a loop answered %+v", a)
	}
}
