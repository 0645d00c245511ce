package dhcp

import (
	"net/netip"
	"protolab/internal/servicetest"
	"strings"
	"testing"
	"time"
)

func TestOptionsDefaults(t *testing.T) {
	for _, text := range []string{"", "null"} {
		p, err := Spec.Load(servicetest.YAML(t, text), nil)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		o := p.(*prepared).o
		if o.Server.String() != "192.0.2.1" || o.Prefix.String() != "192.0.2.0/24" || o.Start.String() != "192.0.2.100" ||
			o.End.String() != "192.0.2.199" || o.Router.String() != "192.0.2.1" || len(o.DNS) != 1 || o.Domain != "lab.test" ||
			o.LeaseTime != 120*time.Second {
			t.Errorf("defaults: %+v", o)
		}
	}
	o := loadLab(t, "").o
	if len(o.Reservations) != 1 || o.Reservations[0].MAC != "02:00:00:00:00:42" || o.Reservations[0].IP != netip.MustParseAddr("192.0.2.42") ||
		o.Reservations[0].Hostname != "pc42" {
		t.Errorf("reservations %+v", o.Reservations)
	}
	if string(o.Extra[42]) != string([]byte{192, 0, 2, 1}) {
		t.Errorf("ntp option %v", o.Extra[42])
	}
	o = loadLab(t, "server: 10.1.0.1\nnetmask: /16\npool: 10.1.2.0-10.1.3.255\nrouter: none\nlease_time: 3600\noptions: {mtu: 1400, broadcast: 10.1.255.255, time_offset: -3600, tftp_server: tftp.lab.test, bootfile: pxelinux.0, domain_search: [lab.test, example.test]}\n").o
	if o.Prefix.String() != "10.1.0.0/16" || o.Router.IsValid() || o.DNS[0].String() != "10.1.0.1" || o.LeaseTime != time.Hour {
		t.Errorf("another network: %+v", o)
	}
	if len(o.Extra) != 6 || string(o.Extra[26]) != "\x05\x78" || string(o.Extra[119]) != "\x03lab\x04test\x00\x07example\x04test\x00" {
		t.Errorf("extra options %q", o.Extra)
	}
}

func TestOptionsErrors(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"[1, 2]", "line 1: dhcp options must be a mapping"},
		{"color: red", `line 1: dhcp options: unknown field "color"`},
		{"server: 192.0.2.300", `line 1: server: "192.0.2.300" is not an IPv4 address`},
		{"server: 2001:db8::1", "is not an IPv4 address"},
		{"pool: 192.0.2.100", "give the first and last addresses"},
		{"pool: 192.0.2.199-192.0.2.100", "comes after the last"},
		{"pool: 192.0.2.100-192.0.3.5", "must be host addresses inside the network 192.0.2.0/24"},
		{"pool: 192.0.2.0-192.0.2.10", "must be host addresses"},
		{"pool: 192.0.2.1-192.0.2.10", "contains the server's own address"},
		{"netmask: 255.0.255.0", "not a contiguous mask"},
		{"netmask: /31", "from 8 to 30"},
		{"netmask: /8\nserver: 10.0.0.1\npool: 10.0.0.2-10.255.255.254", "at most 65536"},
		{"router: 198.51.100.1", "router: 198.51.100.1 is not a host address of the network"},
		{"dns: [192.0.2.1, nope]", `dns: "nope" is not an IPv4 address`},
		{"domain: 'lab test'", "is not a domain name"},
		{"lease_time: 5s", "lease_time: \"5s\": give a duration from 10s"},
		{"lease_time: forever", "give a duration"},
		{"reservations: {mac: x}", "reservations must be a list"},
		{"reservations: [{ip: 192.0.2.42}]", "line 1: reservation: mac is required"},
		{"reservations: [{mac: 'zz', ip: 192.0.2.42}]", `mac "zz": an Ethernet address`},
		{"reservations: [{mac: '02:00:00:00:00:42', ip: 192.0.2.42}, {mac: '02:00:00:00:00:42', ip: 192.0.2.43}]", "already has an address"},
		{"reservations: [{mac: '02:00:00:00:00:42', ip: 192.0.2.42}, {mac: '02:00:00:00:00:43', ip: 192.0.2.42}]", "192.0.2.42 is reserved twice"},
		{"reservations: [{mac: '02:00:00:00:00:42', ip: 198.51.100.42}]", "is not a free host address"},
		{"reservations: [{mac: '02:00:00:00:00:42', ip: 192.0.2.42, hostname: 'a b'}]", `hostname "a b"`},
		{"options: {wins: 1}", `unknown field "wins"`},
		{"options: {mtu: 20}", "mtu: 20: from 68"},
		{"options: {ntp: []}", "give 1 to 8"},
		{"\n\noptions:\n  broadcast: x", "line 4: options: broadcast"},
	}
	for _, tt := range tests {
		_, err := Spec.Load(servicetest.YAML(t, tt.text), nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want %q", tt.text, err, tt.want)
		}
	}
}

func TestParseParams(t *testing.T) {
	got, err := ParseParams("dns, domain,router,NTP,mask,121,option-200")
	if err != nil || requestedNames(got) != "dns domain-name router ntp subnet-mask classless-route option-200" {
		t.Errorf("ParseParams: %v %v", requestedNames(got), err)
	}
	for _, bad := range []string{"dsn", "0", "255", "option-x"} {
		if _, err := ParseParams(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
