package dns

import (
	"context"
	"strings"
	"testing"

	"protolab/internal/service"
)

func TestSolve(t *testing.T) {
	s := startServer(t, loadLab(t, ""))
	eps := s.inst.Endpoints()
	tests := []struct {
		name   string
		step   service.Step
		err    string              // "" for success; else a substring of the error
		events []map[string]string // events the step causes, in order
	}{
		{"A", service.Step{Action: "dns.query", Args: map[string]string{"name": "www.lab.test"}}, "",
			[]map[string]string{{"qname": "www.lab.test.", "qtype": "A", "transport": "udp", "edns": "true", "rcode": "NOERROR"}}},
		{"MX over TCP", service.Step{Action: "dns.query", Args: map[string]string{"name": "lab.test.", "type": "mx", "transport": "tcp"}}, "",
			[]map[string]string{{"qtype": "MX", "transport": "tcp"}}},
		{"NXDOMAIN is an answer", service.Step{Action: "dns.query", Args: map[string]string{"name": "nope.lab.test"}}, "",
			[]map[string]string{{"rcode": "NXDOMAIN"}}},
		{"unknown type", service.Step{Action: "dns.query", Args: map[string]string{"name": "www.lab.test", "type": "TYPE65534"}}, "",
			[]map[string]string{{"qtype": "TYPE65534", "answers": "0"}}},
		{"truncated, then TCP", service.Step{Action: "dns.query", Args: map[string]string{"name": "big.lab.test", "type": "TXT", "edns": "false"}}, "",
			[]map[string]string{{"transport": "udp", "truncated": "true", "edns": "false"}, {"transport": "tcp", "answers": "12"}}},
		{"small EDNS buffer", service.Step{Action: "dns.query", Args: map[string]string{"name": "big.lab.test", "type": "TXT", "edns": "512"}}, "",
			[]map[string]string{{"transport": "udp", "truncated": "true", "edns": "true"}, {"transport": "tcp"}}},
		{"REFUSED fails", service.Step{Action: "dns.query", Args: map[string]string{"name": "example.com"}}, "got REFUSED",
			[]map[string]string{{"rcode": "REFUSED"}}},
		{"REFUSED expected", service.Step{Action: "dns.query", Args: map[string]string{"name": "example.com", "rcode": "refused"}}, "",
			[]map[string]string{{"rcode": "REFUSED"}}},
		{"wrong expectation", service.Step{Action: "dns.query", Args: map[string]string{"name": "www.lab.test", "rcode": "NXDOMAIN"}}, "got NOERROR, expected NXDOMAIN",
			[]map[string]string{{"rcode": "NOERROR"}}},
		{"class CH", service.Step{Action: "dns.query", Args: map[string]string{"name": "version.bind", "type": "TXT", "class": "CH", "rcode": "REFUSED"}}, "",
			[]map[string]string{{"qclass": "CH"}}},
		{"AXFR", service.Step{Action: "dns.axfr", Args: map[string]string{"zone": "lab.test"}}, "",
			[]map[string]string{{"qtype": "AXFR", "transfer": "complete", "answers": "34"}}},
		{"AXFR reverse", service.Step{Action: "dns.axfr", Args: map[string]string{"zone": "2.0.192.in-addr.arpa."}}, "",
			[]map[string]string{{"qtype": "AXFR", "transfer": "complete", "answers": "9"}}},
		{"AXFR of a non-zone", service.Step{Action: "dns.axfr", Args: map[string]string{"zone": "example.com"}}, "transfer refused: REFUSED",
			[]map[string]string{{"transfer": "failed"}}},
		{"missing argument", service.Step{Action: "dns.query", Args: map[string]string{"type": "A"}}, `argument "name" is required`, nil},
		{"unknown argument", service.Step{Action: "dns.query", Args: map[string]string{"name": "x", "server": "8.8.8.8"}}, `unknown argument "server"`, nil},
		{"bad type", service.Step{Action: "dns.query", Args: map[string]string{"name": "x", "type": "NOPE"}}, `unknown type "NOPE"`, nil},
		{"bad transport", service.Step{Action: "dns.query", Args: map[string]string{"name": "x", "transport": "quic"}}, `transport "quic"`, nil},
		{"unknown action", service.Step{Action: "dns.update"}, `unknown action "dns.update"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Spec.Solve(context.Background(), eps, tt.step)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("solve: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("solve: %v, want an error with %q", err, tt.err)
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

	if err := Spec.Solve(context.Background(), nil, service.Step{Action: "dns.query", Args: map[string]string{"name": "www.lab.test"}}); err == nil || !strings.Contains(err.Error(), "no udp endpoint") {
		t.Errorf("no endpoints: %v", err)
	}
}

func TestSolveAXFRRefused(t *testing.T) {
	s := startServer(t, loadLab(t, "allow_transfer: false"))
	eps := s.inst.Endpoints()
	err := Spec.Solve(context.Background(), eps, service.Step{Action: "dns.axfr", Args: map[string]string{"zone": "lab.test"}})
	if err == nil || !strings.Contains(err.Error(), "REFUSED") {
		t.Errorf("axfr not allowed: %v", err)
	}
	err = Spec.Solve(context.Background(), eps, service.Step{Action: "dns.axfr", Args: map[string]string{"zone": "lab.test", "rcode": "REFUSED"}})
	if err != nil {
		t.Errorf("axfr expected to be refused: %v", err)
	}
}

// TestSpec checks the description the runner and the lab files rely on.
func TestSpec(t *testing.T) {
	if Spec.Name != "dns" || len(Spec.Listeners) != 1 {
		t.Fatalf("spec %+v", Spec)
	}
	l := Spec.Listeners[0]
	if l.Name != "dns" || l.High != 1053 || l.Standard != 53 || strings.Join(l.Networks, ",") != "udp,tcp" {
		t.Errorf("listener %+v", l)
	}
	q, ok := Spec.Event(KindQuery)
	if !ok {
		t.Fatal("no dns.query event")
	}
	for _, a := range []string{"qname", "qtype", "qclass", "rcode", "transport", "answers", "edns", "truncated", "aa", "transfer"} {
		if !q.HasAttr(a) {
			t.Errorf("dns.query lacks %s", a)
		}
	}
	m, ok := Spec.Event(KindMalformed)
	if !ok {
		t.Fatal("no dns.malformed event")
	}
	for _, a := range []string{"transport", "size", "reason"} {
		if !m.HasAttr(a) {
			t.Errorf("dns.malformed lacks %s", a)
		}
	}
	if a, ok := Spec.Action("dns.query"); !ok || strings.Join(a.Required, ",") != "name" {
		t.Errorf("dns.query action %+v", a)
	}
	if a, ok := Spec.Action("dns.axfr"); !ok || strings.Join(a.Required, ",") != "zone" {
		t.Errorf("dns.axfr action %+v", a)
	}
	if Spec.Load == nil || Spec.Solve == nil {
		t.Error("Load or Solve missing")
	}
}
