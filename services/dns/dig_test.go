package dns

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// needClient returns the path of a real client, skipping the test when it
// is not installed (unless LAB_REQUIRE_CLIENTS=1: then it is a failure).
func needClient(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("LAB_REQUIRE_CLIENTS") == "1" {
			t.Fatalf("%s is required (LAB_REQUIRE_CLIENTS=1): install bind9-dnsutils", name)
		}
		t.Skipf("%s not installed (bind9-dnsutils)", name)
	}
	return p
}

// TestDig runs the real dig against the server, as a learner does.
func TestDig(t *testing.T) {
	dig := needClient(t, "dig")
	s := startServer(t, loadLab(t, ""))
	host, port, _ := net.SplitHostPort(s.udp)
	tests := []struct {
		name    string
		args    []string
		want    []string // substrings of dig's output
		events  []map[string]string
		nothing []string // must not appear
	}{
		{
			name: "short A",
			args: []string{"www.lab.test", "A", "+short"},
			want: []string{"192.0.2.80\n"},
			events: []map[string]string{
				{"qname": "www.lab.test.", "qtype": "A", "rcode": "NOERROR", "transport": "udp", "edns": "true", "aa": "true"},
			},
		},
		{
			name: "CNAME",
			args: []string{"webmail.lab.test"},
			want: []string{"status: NOERROR", "flags: qr aa rd;", "webmail.lab.test.\t3600\tIN\tCNAME\twww.lab.test.", "www.lab.test.\t\t3600\tIN\tA\t192.0.2.80"},
			// dig warns when it asked for recursion and got none.
			events: []map[string]string{{"qname": "webmail.lab.test.", "answers": "2"}},
		},
		{
			name:   "NXDOMAIN",
			args:   []string{"nope.lab.test", "A"},
			want:   []string{"status: NXDOMAIN", "AUTHORITY SECTION:", "lab.test.\t\t300\tIN\tSOA\tns1.lab.test. hostmaster.lab.test. 2026112501"},
			events: []map[string]string{{"rcode": "NXDOMAIN", "answers": "0"}},
		},
		{
			name:   "reverse v6",
			args:   []string{"-x", "2001:db8:89::25", "+short"},
			want:   []string{"mail.lab.test.\n"},
			events: []map[string]string{{"qtype": "PTR", "rcode": "NOERROR"}},
		},
		{
			name: "truncated then TCP",
			args: []string{"+noedns", "big.lab.test", "TXT"},
			want: []string{";; Truncated, retrying in TCP mode.", "ANSWER: 12", `"12 Fin / the end`},
			events: []map[string]string{
				{"transport": "udp", "truncated": "true", "edns": "false"},
				{"transport": "tcp", "truncated": "false", "answers": "12"},
			},
		},
		{
			name:   "AXFR",
			args:   []string{"lab.test", "AXFR"},
			want:   []string{`secret.lab.test.	3600	IN	TXT	"flag=tournesol"`, "XFR size: 34 records"},
			events: []map[string]string{{"qtype": "AXFR", "transport": "tcp", "transfer": "complete", "answers": "34"}},
		},
		{
			name:   "outside the zones",
			args:   []string{"example.com", "A"},
			want:   []string{"status: REFUSED"},
			events: []map[string]string{{"rcode": "REFUSED", "aa": "false"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := append([]string{"@" + host, "-p", port, "+tries=1", "+time=3"}, tt.args...)
			out, err := exec.CommandContext(ctx, dig, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("dig %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("dig %s: output lacks %q:\n%s", strings.Join(args, " "), w, out)
				}
			}
			for _, want := range tt.events {
				e := s.events.Next(t, KindQuery)
				for k, v := range want {
					if e.Attrs[k] != v {
						t.Errorf("event %s: %s=%q, want %q", e.Summary(), k, e.Attrs[k], v)
					}
				}
			}
		})
	}
}
