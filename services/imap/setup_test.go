package imap

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"protolab/internal/service"
	"protolab/internal/servicetest"
	"protolab/services/mailstore"
)

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want options
		err  string // substring of the error
	}{
		{name: "none", yaml: "", want: defaultOptions()},
		{name: "null", yaml: "~", want: defaultOptions()},
		{
			name: "all",
			yaml: "allow_insecure_auth: false\nmax_connections: 5\nidle_timeout: 90s\nmax_login_failures: 2",
			want: options{AllowInsecureAuth: false, MaxConnections: 5, IdleTimeout: 90 * time.Second, MaxLoginFailures: 2},
		},
		{name: "seconds", yaml: "idle_timeout: 120", want: func() options { o := defaultOptions(); o.IdleTimeout = 2 * time.Minute; return o }()},
		{name: "unknown", yaml: "max_connections: 5\nport: 143", err: "line 2: imap options: unknown field \"port\""},
		{name: "not a mapping", yaml: "[1, 2]", err: "line 1: imap options must be a mapping"},
		{name: "bad bool", yaml: "allow_insecure_auth: maybe", err: "line 1: allow_insecure_auth: true or false"},
		{name: "bad number", yaml: "\nmax_connections: many", err: "line 2: max_connections must be a whole number"},
		{name: "zero connections", yaml: "max_connections: 0", err: "max_connections: 0 is out of range (1 to 10000)"},
		{name: "bad duration", yaml: "idle_timeout: soon", err: "line 1: idle_timeout: \"soon\" is not a duration"},
		{name: "too long", yaml: "idle_timeout: 2h", err: "idle_timeout: 2h0m0s is out of range"},
		{name: "twice", yaml: "max_connections: 1\nmax_connections: 2", err: "line 2: imap options: field \"max_connections\" is given twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p any
			var err error
			if tc.yaml == "" {
				p, err = Spec.Load(nil, nil)
			} else {
				p, err = Spec.Load(servicetest.YAML(t, tc.yaml), nil)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "imap: ") {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.(*prepared).opts; got != tc.want {
				t.Errorf("options %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestStartWithoutStore(t *testing.T) {
	p, err := Spec.Load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Start(t.Context(), serviceRuntime())
	if err == nil || !strings.Contains(err.Error(), "add mailstore:") {
		t.Errorf("start without a store: %v", err)
	}
}

func serviceRuntime() service.Runtime {
	return service.Runtime{Bind: "127.0.0.1", Ports: map[string]int{}, Shared: service.NewShared()}
}

func TestPortTaken(t *testing.T) {
	s := startServer(t, "", nil)
	_, port, _ := net.SplitHostPort(s.addr)
	p, err := Spec.Load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt := serviceRuntime()
	rt.Shared.Put(mailstore.SharedName, s.store)
	n, _ := strconv.Atoi(port)
	rt.Ports["imap"] = n
	_, err = p.Start(t.Context(), rt)
	be, ok := service.AsBindError(err)
	if !ok || be.Listener != "imap" || be.Addr != s.addr {
		t.Errorf("start on a taken port: %v", err)
	}
}

// TestREADMEExamples loads the lab configuration shown in README.md and runs
// its solve steps against the server, so the documentation stays true.
func TestREADMEExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, part := range strings.Split(string(readme), "```yaml\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		blocks = append(blocks, block)
	}
	if len(blocks) != 2 {
		t.Fatalf("%d yaml blocks in README.md, want 2", len(blocks))
	}
	var lab struct {
		Services map[string]yaml.Node `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(blocks[0]), &lab); err != nil {
		t.Fatal(err)
	}
	if _, ok := lab.Services["mailstore"]; !ok {
		t.Error("the README lab has no mailstore")
	}
	opts := lab.Services["imap"]
	text, err := yaml.Marshal(&opts)
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, string(text), nil, mailstore.Options{Welcome: true})
	if s.inst.opts.MaxConnections != 50 {
		t.Errorf("options not read: %+v", s.inst.opts)
	}
	var steps []service.Step
	if err := yaml.Unmarshal([]byte(blocks[1]), &steps); err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 {
		t.Fatalf("%d steps", len(steps))
	}
	for _, st := range steps {
		if err := Spec.Solve(context.Background(), s.inst.Endpoints(), st); err != nil {
			t.Errorf("README step %+v: %v", st, err)
		}
	}
}
