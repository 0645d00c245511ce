package snmp

import (
	"context"
	"strings"
	"testing"

	"protolab/internal/service"
)

func TestSolve(t *testing.T) {
	r := start(t, "")
	eps := r.inst.Endpoints()
	tests := []struct {
		action  string
		args    map[string]string
		wantErr string
	}{
		{"snmp.get", map[string]string{"oid": ".1.3.6.1.2.1.1.5.0"}, ""},
		{"snmp.get", map[string]string{"oid": ".1.3.6.1.2.1.1.5.0", "version": "1", "community": "public"}, ""},
		{"snmp.get", map[string]string{"oid": ".1.3.6.1.2.1.1.99.0"}, "No Such Object"},
		{"snmp.get", map[string]string{"oid": ".1.3.6.1.2.1.1.5.0", "version": "3"}, `version "3"`},
		{"snmp.walk", map[string]string{"oid": ".1.3.6.1.2.1.2.2.1.2"}, ""},
		{"snmp.walk", map[string]string{"oid": ".1.3.6.1.2.1.99"}, "nothing under"},
		{"snmp.bulk", map[string]string{"oid": ".1.3.6.1.2.1.4.20", "max_repetitions": "5"}, ""},
		{"snmp.set", map[string]string{"oid": ".1.3.6.1.2.1.1.4.0", "type": "s", "value": "solver@lab.test"}, ""},
		{"snmp.set", map[string]string{"oid": ".1.3.6.1.2.1.1.4.0", "type": "i", "value": "3"}, "wrongType"},
		{"snmp.set", map[string]string{"oid": ".1.3.6.1.2.1.1.4.0", "type": "s", "value": "x", "community": "public"}, "noAccess"},
		{"snmp.set", map[string]string{"oid": ".1.3.6.1.2.1.1.4.0", "type": "q", "value": "x"}, `type "q"`},
		{"snmp.v3", map[string]string{"user": "learner", "oid": ".1.3.6.1.2.1.1.5.0"}, ""},
		{"snmp.v3", map[string]string{"user": "learner-md5", "oid": ".1.3.6.1.2.1.1.5.0", "level": "authNoPriv"}, ""},
		{"snmp.v3", map[string]string{"user": "watcher", "oid": ".1.3.6.1.2.1.1.5.0", "level": "authNoPriv", "auth": "SHA", "auth_pass": "labauthpass"}, ""},
		{"snmp.v3", map[string]string{"user": "learner", "oid": ".1.3.6.1.2.1.1.5.0", "auth_pass": "wrongpassword"}, "snmp.v3"},
		{"snmp.get", map[string]string{}, `argument "oid" is required`},
		{"snmp.walk", map[string]string{"oid": ".1.3", "colour": "red"}, `unknown argument "colour"`},
		{"snmp.trap", map[string]string{}, `unknown action "snmp.trap"`},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			err := Spec.Solve(context.Background(), eps, service.Step{Action: tt.action, Args: tt.args})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("%v: %v", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("%v: error %v, want it to contain %q", tt.args, err, tt.wantErr)
			}
		})
	}
	e := r.events.Next(t, KindSet)
	if e.Attrs["new"] != `STRING: "solver@lab.test"` {
		t.Errorf("set event %v", e.Attrs)
	}
}

func TestCredentials(t *testing.T) {
	r := start(t, "")
	cs := r.inst.Credentials()
	if len(cs) != 5 || cs[0].User != "public" || cs[1].Note != "community, read-write" || cs[2].User != "learner" || cs[2].Secret != "labauthpass" {
		t.Errorf("credentials %+v", cs)
	}
	for _, c := range cs {
		if c.Kind != "snmp" {
			t.Errorf("kind %q", c.Kind)
		}
	}
}
