package main

import (
	"strings"
	"testing"
)

// `lab dhcp-client` against a running DHCP lab (over loopback): each task
// ticks as the learner runs it, and the output is the DORA ladder.
func TestDHCPClient(t *testing.T) {
	state := t.TempDir()
	p := startLabID(t, "dhcp", state)
	tests := []struct {
		args []string
		task string
		want []string
	}{
		{nil, "dhcp-lease", []string{
			"client 02:00:00:00:00:01 → DHCPDISCOVER xid 0x", "requests [1 3 6 15]",
			"server 192.0.2.1 → DHCPOFFER 192.0.2.100 lease 120s (T1 60s, T2 105s)",
			"client 02:00:00:00:00:01 → DHCPREQUEST 192.0.2.100 xid 0x", "server 192.0.2.1 → DHCPACK 192.0.2.100",
			"address    192.0.2.100/24 (mask 255.255.255.0)", "router     192.0.2.1", "dns        192.0.2.1",
			"domain     lab.test", "lease      120s (renew at T1 60s, rebind at T2 105s)"}},
		{[]string{"--params", "dns,domain,ntp"}, "dhcp-options", []string{"requests [6 15 42]", "ntp        192.0.2.1"}},
		{[]string{"--renew"}, "dhcp-renew", []string{"Renewing", "Lease renewed"}},
		{[]string{"--release"}, "dhcp-release", []string{"DHCPRELEASE 192.0.2.100", "Released 192.0.2.100"}},
		{[]string{"--mac", "02:00:00:00:00:42", "--hostname", "pc42", "--params", "hostname,dns"}, "dhcp-reserved", []string{"DHCPACK 192.0.2.42", "hostname   pc42"}},
	}
	for _, tt := range tests {
		out, stderr, code := labRun(t, append([]string{"dhcp-client", "--state", state}, tt.args...)...)
		if code != 0 {
			t.Fatalf("lab dhcp-client %v: exit %d\n%s%s", tt.args, code, out, stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("lab dhcp-client %v: output lacks %q:\n%s", tt.args, w, out)
			}
		}
		p.waitDone(tt.task)
	}
	// --server reaches the server without the state directory.
	addr, _ := p.eps.Find("dhcp", "udp")
	if out, _, code := labRun(t, "dhcp-client", "--server", addr, "--state", t.TempDir()); code != 0 || !strings.Contains(out, "DHCPACK 192.0.2.100") {
		t.Errorf("--server %s: exit %d\n%s", addr, code, out)
	}
}

func TestDHCPClientErrors(t *testing.T) {
	dnsState := t.TempDir()
	startLab(t, dnsState)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--state", t.TempDir()}, 1, "no lab is running"},
		{[]string{"--state", dnsState}, 1, "has no DHCP server"},
		{[]string{"--mac", "zz", "--state", dnsState}, 2, `--mac "zz"`},
		{[]string{"--params", "dsn", "--state", dnsState}, 2, `unknown option "dsn"`},
		{[]string{"--server", "nowhere", "--state", dnsState}, 2, "--server"},
	}
	for _, tt := range tests {
		_, stderr, code := labRun(t, append([]string{"dhcp-client"}, tt.args...)...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("lab dhcp-client %v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
}
