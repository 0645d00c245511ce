package dhcp

import (
	"context"
	"strings"
	"testing"

	"protolab/internal/service"
)

func TestSolve(t *testing.T) {
	r := start(t, startOpts{})
	eps := r.inst.Endpoints()
	steps := []struct {
		step  service.Step
		kind  string
		attrs map[string]string
	}{
		{service.Step{Action: "dhcp.lease"}, KindAck, map[string]string{"mac": DefaultClientMAC, "ip": "192.0.2.100", "state": "selecting"}},
		{service.Step{Action: "dhcp.lease", Args: map[string]string{"params": "dns,domain", "hostname": "learner"}}, KindRequest, map[string]string{"requested": "dns domain-name", "hostname": "learner"}},
		{service.Step{Action: "dhcp.renew"}, KindAck, map[string]string{"state": "renewing", "ip": "192.0.2.100"}},
		{service.Step{Action: "dhcp.release"}, KindRelease, map[string]string{"mac": DefaultClientMAC, "ip": "192.0.2.100"}},
		{service.Step{Action: "dhcp.lease", Args: map[string]string{"mac": "02:00:00:00:00:42"}}, KindAck, map[string]string{"mac": "02:00:00:00:00:42", "ip": "192.0.2.42"}},
	}
	for _, s := range steps {
		r.events.All()
		if err := Spec.Solve(context.Background(), eps, s.step); err != nil {
			t.Fatalf("%s %v: %v", s.step.Action, s.step.Args, err)
		}
		e := r.events.Next(t, s.kind)
		if s.step.Action == "dhcp.renew" && e.Attrs["state"] == "selecting" {
			e = r.events.Next(t, s.kind)
		}
		for k, v := range s.attrs {
			if e.Attrs[k] != v {
				t.Errorf("%s %v: %s %s = %q, want %q", s.step.Action, s.step.Args, s.kind, k, e.Attrs[k], v)
			}
		}
	}
	for _, bad := range []struct {
		step service.Step
		want string
	}{
		{service.Step{Action: "dhcp.lease", Args: map[string]string{"mac": "nope"}}, `mac "nope"`},
		{service.Step{Action: "dhcp.lease", Args: map[string]string{"params": "dsn"}}, `unknown option "dsn"`},
		{service.Step{Action: "dhcp.lease", Args: map[string]string{"port": "1"}}, `unknown argument "port"`},
	} {
		if err := Spec.Solve(context.Background(), eps, bad.step); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: %v, want %q", bad.step, err, bad.want)
		}
	}
	if err := Spec.Solve(context.Background(), nil, service.Step{Action: "dhcp.lease"}); err == nil {
		t.Error("solve without an endpoint succeeded")
	}
}

func TestClientFor(t *testing.T) {
	for addr, want := range map[string]string{"127.0.0.1:1067": "127.0.0.1:1067", "0.0.0.0:67": "127.0.0.1:67"} {
		o, err := ClientFor(addr)
		if err != nil || o.Server == nil || o.Server.String() != want || o.Iface != "" {
			t.Errorf("%s: %+v %v", addr, o, err)
		}
	}
	for _, bad := range []string{"x", "lab:67", "127.0.0.1:x"} {
		if _, err := ClientFor(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
