package pop3

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"protolab/internal/service"
	"protolab/internal/servicetest"
)

func TestLoadOptions(t *testing.T) {
	tests := []struct {
		opts string // "-" for no options at all
		want config
	}{
		{"-", config{idleTimeout: 10 * time.Minute, maxBad: 10, allowInsecure: true}},
		{"{}", config{idleTimeout: 10 * time.Minute, maxBad: 10, allowInsecure: true}},
		{"idle_timeout: 30m\nmax_bad_commands: 3\nallow_insecure_auth: false", config{idleTimeout: 30 * time.Minute, maxBad: 3}},
		{"idle_timeout: 45s", config{idleTimeout: 45 * time.Second, maxBad: 10, allowInsecure: true}},
		{"allow_insecure_auth: no", config{idleTimeout: 10 * time.Minute, maxBad: 10}},
	}
	for _, tt := range tests {
		n := servicetest.YAML(t, tt.opts)
		if tt.opts == "-" {
			n = nil
		}
		p, err := Spec.Load(n, nil)
		if err != nil {
			t.Errorf("%q: %v", tt.opts, err)
			continue
		}
		got := p.(*prepared).cfg
		if got.idleTimeout != tt.want.idleTimeout || got.maxBad != tt.want.maxBad || got.allowInsecure != tt.want.allowInsecure {
			t.Errorf("%q: idle %s, bad %d, insecure %v; want %s, %d, %v", tt.opts,
				got.idleTimeout, got.maxBad, got.allowInsecure, tt.want.idleTimeout, tt.want.maxBad, tt.want.allowInsecure)
		}
		if got.maxConns != maxConns || got.maxAuthFailures != maxAuthFailures || got.delayBase != authDelayBase {
			t.Errorf("%q: fixed bounds changed: %+v", tt.opts, got)
		}
	}
}

// TestLoadErrors checks every mistake is reported with its line and what
// to write instead.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		opts string
		want []string
	}{
		{"[1, 2]", []string{"line 1", "mapping"}},
		{"idle_timout: 10m", []string{"line 1", `unknown field "idle_timout"`, "idle_timeout"}},
		{"max_bad_commands: 3\nidle_timeout: ten", []string{"line 2", "idle_timeout", "10m or 90s", `"ten"`}},
		{"idle_timeout: 1s", []string{"line 1", "too short", "10s", "RFC 1939"}},
		{"idle_timeout: [1m]", []string{"line 1", "idle_timeout", "a list"}},
		{"\n\nmax_bad_commands: 0", []string{"line 3", "1 to 1000", `"0"`}},
		{"max_bad_commands: many", []string{"line 1", "whole number"}},
		{"max_bad_commands: 3.5", []string{"line 1", "whole number"}},
		{"allow_insecure_auth: maybe", []string{"line 1", "true or false"}},
		{"allow_insecure_auth: [true]", []string{"line 1", "true or false", "a list"}},
		{"max_bad_commands: 3\nmax_bad_commands: 4", []string{"line 2", "twice"}},
	}
	for _, tt := range tests {
		_, err := Spec.Load(servicetest.YAML(t, tt.opts), nil)
		if err == nil {
			t.Errorf("%q: loaded without error", tt.opts)
			continue
		}
		if !strings.HasPrefix(err.Error(), "pop3: ") {
			t.Errorf("%q: error %q does not start with the service name", tt.opts, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", tt.opts, err, w)
			}
		}
	}
}

// TestSpec checks the service's description is complete: listeners, the
// store it needs, documented events and actions.
func TestSpec(t *testing.T) {
	if Spec.Name != "pop3" || len(Spec.Requires) != 1 || Spec.Requires[0] != "mailstore" {
		t.Errorf("spec %s requires %v", Spec.Name, Spec.Requires)
	}
	if l := Spec.Listeners; len(l) != 1 || l[0].Name != "pop3" || l[0].High != 1110 || l[0].Standard != 110 {
		t.Errorf("listeners %+v", l)
	}
	for _, e := range Spec.Events {
		if !strings.HasPrefix(e.Kind, "pop3.") || e.Doc == "" {
			t.Errorf("event %q: %q", e.Kind, e.Doc)
		}
		for _, a := range e.Attrs {
			if a.Doc == "" {
				t.Errorf("%s.%s undocumented", e.Kind, a.Name)
			}
		}
		for _, b := range e.Brief {
			if !e.HasAttr(b) {
				t.Errorf("%s: brief attribute %q not declared", e.Kind, b)
			}
		}
	}
	for _, k := range []string{KindConnect, KindLogin, KindStat, KindList, KindUIDL, KindRetr, KindTop, KindDele, KindRset, KindQuit, KindDisconnect, KindCapa, KindSTLS} {
		if _, ok := Spec.Event(k); !ok {
			t.Errorf("event %s not declared", k)
		}
	}
	if a, ok := Spec.Action("pop3.session"); !ok || a.Doc == "" {
		t.Errorf("action pop3.session: %+v", a)
	}
}

// TestReadme checks the README's examples: the lab file loads and the solve
// steps succeed against a running server.
func TestReadme(t *testing.T) {
	text, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(text), -1)
	if len(blocks) != 2 {
		t.Fatalf("%d yaml blocks in the README, want 2", len(blocks))
	}
	var lab struct {
		Services map[string]yaml.Node `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(blocks[0][1]), &lab); err != nil {
		t.Fatal(err)
	}
	opts, ok := lab.Services["pop3"]
	if _, hasStore := lab.Services["mailstore"]; !ok || !hasStore {
		t.Fatalf("the example lab lacks pop3 or mailstore: %v", lab.Services)
	}
	if _, err := Spec.Load(&opts, nil); err != nil {
		t.Errorf("the example options: %v", err)
	}

	var steps []struct {
		Action string            `yaml:"action"`
		Args   map[string]string `yaml:"args"`
	}
	if err := yaml.Unmarshal([]byte(blocks[1][1]), &steps); err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	deliver(t, st, "bob", msg1)
	deliver(t, st, "bob", msg2)
	inst := startSpec(t, "", st, newCollector())
	for _, s := range steps {
		if err := Spec.Solve(context.Background(), inst.Endpoints(), service.Step{Action: s.Action, Args: s.Args}); err != nil {
			t.Errorf("%s %v: %v", s.Action, s.Args, err)
		}
	}
	if n := len(inboxUIDs(t, st, "bob")); n != 1 {
		t.Errorf("%d messages left after the example steps, want 1", n)
	}
}
