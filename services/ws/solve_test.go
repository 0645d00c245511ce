package ws

import (
	"context"
	"strings"
	"testing"

	"protolab/internal/service"
)

func TestSolve(t *testing.T) {
	r := start(t, "", true)
	eps := r.inst.Endpoints()
	tests := []struct {
		step  service.Step
		kind  string
		attrs map[string]string
	}{
		{service.Step{Action: "ws.wsdl"}, KindWSDL, map[string]string{"path": "/directory?wsdl"}},
		{service.Step{Action: "ws.call", Args: map[string]string{"operation": "LookupHost", "name": "www.lab.test"}}, KindRequest,
			map[string]string{"operation": "LookupHost", "version": "1.1", "status": "200", "action": "urn:lab.test:directory/LookupHost"}},
		{service.Step{Action: "ws.call", Args: map[string]string{"operation": "LookupHost", "name": "mail", "version": "1.2"}}, KindRequest,
			map[string]string{"operation": "LookupHost", "version": "1.2", "status": "200", "addresses": "192.0.2.25 2001:db8:89::25"}},
		{service.Step{Action: "ws.call", Args: map[string]string{"operation": "SendNote", "to": "bob@lab.test", "text": "a <note> & more"}}, KindRequest,
			map[string]string{"operation": "SendNote", "to": "bob@lab.test", "status": "200"}},
		{service.Step{Action: "ws.fault"}, KindRequest, map[string]string{"fault": "soap:Client", "reason": "malformed-xml", "status": "500"}},
		{service.Step{Action: "ws.fault", Args: map[string]string{"version": "1.2"}}, KindRequest, map[string]string{"fault": "env:Sender", "reason": "malformed-xml", "status": "400"}},
		{service.Step{Action: "ws.secure"}, KindRequest, map[string]string{"operation": "LookupHostSecure", "user": "alice", "password_type": "text", "status": "200"}},
		{service.Step{Action: "ws.secure", Args: map[string]string{"digest": "true", "version": "1.2", "name": "secret.lab.test"}}, KindRequest,
			map[string]string{"operation": "LookupHostSecure", "user": "alice", "password_type": "digest", "status": "200", "version": "1.2"}},
	}
	for _, tt := range tests {
		if err := Spec.Solve(context.Background(), eps, tt.step); err != nil {
			t.Errorf("%+v: %v", tt.step, err)
			continue
		}
		wantAttrs(t, r.events.Next(t, tt.kind).Attrs, tt.attrs)
	}
}

func TestSolveFails(t *testing.T) {
	r := start(t, "", false)
	eps := r.inst.Endpoints()
	tests := []struct {
		step service.Step
		want string
	}{
		{service.Step{Action: "ws.call", Args: map[string]string{"operation": "LookupHost", "name": "nosuchhost"}}, "Fault soap:Client: no host nosuchhost.lab.test"},
		{service.Step{Action: "ws.call", Args: map[string]string{"operation": "SendNote", "to": "bob", "text": "x"}}, "Fault soap:Server: the mail service is not running"},
		{service.Step{Action: "ws.call", Args: map[string]string{"operation": "Ping"}}, `operation "Ping": LookupHost or SendNote`},
		{service.Step{Action: "ws.call", Args: map[string]string{"operation": "LookupHost", "version": "2"}}, `version "2": 1.1 or 1.2`},
		{service.Step{Action: "ws.secure", Args: map[string]string{"user": "alice", "password": "nope"}}, "Fault wsse:FailedAuthentication"},
		{service.Step{Action: "ws.secure", Args: map[string]string{"digest": "yes"}}, `digest "yes": true or false`},
		{service.Step{Action: "ws.call"}, `argument "operation" is required`},
		{service.Step{Action: "ws.ping"}, `unknown action "ws.ping"`},
	}
	for _, tt := range tests {
		err := Spec.Solve(context.Background(), eps, tt.step)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "ws: ") {
			t.Errorf("%+v: got %v, want %q", tt.step, err, tt.want)
		}
	}
	if err := Spec.Solve(context.Background(), nil, service.Step{Action: "ws.wsdl"}); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("no endpoint: %v", err)
	}
}
