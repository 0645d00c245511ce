package mailstore

import (
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"protolab/internal/service"
	"protolab/internal/servicetest"
	"protolab/internal/yamlx"
)

func TestLoadOptions(t *testing.T) {
	defaults := Options{Domain: "lab.test", Users: DefaultUsers(), MaxMessageBytes: 10 << 20, MaxMailboxBytes: 50 << 20, Welcome: true}
	tests := []struct {
		name string
		yaml string // "-" for no options at all
		want Options
	}{
		{"none", "-", defaults},
		{"null", "~", defaults},
		{"empty mapping", "{}", defaults},
		{"everything", `domain: Example.Test
users:
  - {name: Carol, password: "s3cret with spaces"}
  - name: dave
    password: d
max_message_bytes: 1048576
max_mailbox_bytes: 2MiB
welcome: false`, Options{Domain: "example.test", Users: []User{{"carol", "s3cret with spaces"}, {"dave", "d"}},
			MaxMessageBytes: 1 << 20, MaxMailboxBytes: 2 << 20, Welcome: false}},
		{"sizes with units", "max_message_bytes: 512KiB\nmax_mailbox_bytes: 1GiB", Options{Domain: "lab.test", Users: DefaultUsers(),
			MaxMessageBytes: 512 << 10, MaxMailboxBytes: 1 << 30, Welcome: true}},
		{"welcome yes", "welcome: yes", defaults},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n *yaml.Node
			if tt.yaml != "-" {
				n = servicetest.YAML(t, tt.yaml)
			}
			p, err := Spec.Load(n, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := p.(*prepared).opts
			if got.Domain != tt.want.Domain || !slices.Equal(got.Users, tt.want.Users) || got.MaxMessageBytes != tt.want.MaxMessageBytes ||
				got.MaxMailboxBytes != tt.want.MaxMailboxBytes || got.Welcome != tt.want.Welcome {
				t.Errorf("options %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestLoadErrors checks that every mistake is reported with its line and
// what to do.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		line int
		want string
	}{
		{"not a mapping", "[a, b]", 1, "mapping"},
		{"unknown option", "domain: lab.test\nuser: [alice]", 2, `unknown field "user"`},
		{"twice", "welcome: true\nwelcome: false", 2, "twice"},
		{"bad domain", "domain: lab_test", 1, "domain"},
		{"domain a list", "domain: [a]", 1, "single value"},
		{"users not a list", "users: alice", 1, "list"},
		{"users empty", "users: []", 1, "at least one user"},
		{"user not a mapping", "users:\n  - alice", 2, "mapping"},
		{"user unknown field", "users:\n  - {name: alice, pass: x}", 2, `unknown field "pass"`},
		{"user without password", "users:\n  - name: alice", 2, "password is required"},
		{"user without name", "users:\n  - password: x", 2, "name is required"},
		{"bad user name", "users:\n  - name: al ice\n    password: x", 2, "user name"},
		{"same user twice", "users:\n  - {name: alice, password: x}\n  - {name: Alice, password: y}", 3, "already given at line 2"},
		{"empty password", "users:\n  - {name: alice, password: ''}", 2, "password is empty"},
		{"password a number list", "users:\n  - {name: alice, password: [1]}", 2, "single value"},
		{"size not a number", "max_message_bytes: lots", 1, "10MiB"},
		{"size zero", "max_message_bytes: 0", 1, "from 1 to"},
		{"size negative", "max_mailbox_bytes: -5", 1, "from 1 to"},
		{"size too big", "max_message_bytes: 1GiB", 1, "from 1 to"},
		{"mailbox smaller than message", "max_message_bytes: 2MiB\nmax_mailbox_bytes: 1MiB", 2, "smaller than max_message_bytes"},
		{"mailbox smaller than the default", "max_mailbox_bytes: 1MiB", 1, "raise it"},
		{"welcome not a bool", "welcome: maybe", 1, "true or false"},
		{"welcome a list", "welcome: [true]", 1, "true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Spec.Load(servicetest.YAML(t, tt.yaml), nil)
			var ye *yamlx.Error
			if !errors.As(err, &ye) {
				t.Fatalf("error %v (%T), want a *yamlx.Error", err, err)
			}
			if ye.Line != tt.line || !strings.Contains(ye.Msg, tt.want) {
				t.Errorf("error at line %d %q, want line %d and %q", ye.Line, ye.Msg, tt.line, tt.want)
			}
		})
	}
}

// TestService starts the service as the runner does: the store is shared,
// the instance lists credentials, resets and shuts down.
func TestService(t *testing.T) {
	p, err := Spec.Load(servicetest.YAML(t, "users: [{name: alice, password: wonderland}, {name: bob, password: builder}]"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromShared(service.NewShared()); err == nil || !strings.Contains(err.Error(), "add mailstore: before smtp:") {
		t.Errorf("FromShared before start = %v", err)
	}
	if _, err := FromShared(nil); err == nil {
		t.Error("FromShared(nil) succeeded")
	}
	sh := service.NewShared()
	rt := service.Runtime{State: t.TempDir(), Shared: sh}
	inst, err := p.Start(ctx, rt)
	if err != nil {
		t.Fatal(err)
	}
	s, err := FromShared(sh)
	if err != nil {
		t.Fatal(err)
	}
	if len(inst.Endpoints()) != 0 {
		t.Errorf("Endpoints = %v", inst.Endpoints())
	}
	creds := inst.(service.Credentialed).Credentials()
	want := []service.Credential{
		{Kind: "mail", User: "alice", Secret: "wonderland", Note: "alice@lab.test"},
		{Kind: "mail", User: "bob", Secret: "builder", Note: "bob@lab.test"},
	}
	if !slices.Equal(creds, want) {
		t.Errorf("Credentials = %+v", creds)
	}
	if mi := info(t, s, "alice", "INBOX"); mi.Messages != 2 {
		t.Errorf("INBOX has %d messages, want the 2 welcome messages (welcome defaults to true)", mi.Messages)
	}
	deliver(t, s, "alice", "INBOX", mail("m", "x"))
	if err := inst.(service.Resetter).Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if mi := info(t, s, "alice", "INBOX"); mi.Messages != 2 {
		t.Errorf("after Reset INBOX has %d messages, want 2", mi.Messages)
	}
	if err := inst.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mailboxes("alice"); err == nil {
		t.Error("store still open after Shutdown")
	}
	if _, err := p.Start(ctx, service.Runtime{State: t.TempDir()}); err == nil {
		t.Error("Start without a registry succeeded")
	}
	if _, err := p.Start(ctx, service.Runtime{Shared: service.NewShared()}); err == nil {
		t.Error("Start without a state directory succeeded")
	}
}

// TestREADMEExamples loads the YAML examples of the README as options.
func TestREADMEExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) == 0 {
		t.Fatal("no yaml example in the README")
	}
	for _, b := range blocks {
		var lab struct {
			Services map[string]yaml.Node `yaml:"services"`
		}
		if err := yaml.Unmarshal([]byte(b[1]), &lab); err != nil {
			t.Fatalf("example does not parse: %v\n%s", err, b[1])
		}
		n, ok := lab.Services["mailstore"]
		if !ok {
			t.Fatalf("example without services: mailstore:\n%s", b[1])
		}
		if _, err := Spec.Load(&n, nil); err != nil {
			t.Errorf("example does not load: %v\n%s", err, b[1])
		}
	}
}
