package echo

import (
	"strings"
	"testing"
	"time"

	"protolab/internal/service"
	"protolab/internal/servicetest"
)

func TestDecodeOptions(t *testing.T) {
	tests := []struct {
		yaml    string
		want    func(o options) bool
		wantErr string
	}{
		{"", func(o options) bool { return o == defaultOptions() }, ""},
		{"{}", func(o options) bool { return o == defaultOptions() }, ""},
		{"max_conns: 8\nidle_timeout: 30s\nmax_bytes: 4096\nmax_datagram: 512\nudp_rate: 10", func(o options) bool {
			return o.MaxConns == 8 && o.IdleTimeout == 30*time.Second && o.MaxBytes == 4096 && o.MaxDatagram == 512 && o.UDPRate == 10
		}, ""},
		{"max_conns: 0", nil, "line 1: max_conns: a whole number from 1 to 1024"},
		{"max_conns: 2000", nil, "from 1 to 1024"},
		{"max_datagram: 70000", nil, "max_datagram: a whole number from 1 to 65507"},
		{"udp_rate: lots", nil, `udp_rate: a whole number from 1 to 100000 is expected, not "lots"`},
		{"\nidle_timeout: 10ms", nil, "line 2: idle_timeout: a duration from 1s to 1h0m0s"},
		{"idle_timeout: soon", nil, "idle_timeout"},
		{"max_bytes: [1, 2]", nil, "max_bytes must be a single value"},
		{"colour: red", nil, `unknown field "colour"`},
		{"- 1", nil, "echo options must be a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			o, err := decodeOptions(servicetest.YAML(t, tt.yaml))
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "echo: ") {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case !tt.want(o):
				t.Fatalf("options %+v", o)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	p, err := Spec.Load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.(*prepared).o != defaultOptions() {
		t.Errorf("no options: %+v", p.(*prepared).o)
	}
	if _, err := Spec.Load(servicetest.YAML(t, "max_conns: -1"), nil); err == nil {
		t.Error("a bad option loaded")
	}
	// The spec is consistent: every event is documented, every action too.
	for _, e := range Spec.Events {
		if e.Doc == "" || len(e.Attrs) == 0 {
			t.Errorf("event %s undocumented", e.Kind)
		}
		for _, b := range e.Brief {
			if !e.HasAttr(b) {
				t.Errorf("event %s: brief %s is not an attribute", e.Kind, b)
			}
		}
	}
	for _, a := range Spec.Actions {
		if !strings.HasPrefix(a.Name, "echo.") || a.Doc == "" {
			t.Errorf("action %+v", a)
		}
	}
	if _, ok := Spec.Event(service.KindTCPAccept); ok {
		t.Error("the transport events belong to the runner, not to echo")
	}
}
