package smtp

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"protolab/internal/event"
	"protolab/internal/service"
	"protolab/internal/servicetest"
)

func splitHostPort(t testing.TB, addr string) (string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return host, n
}

func TestLoadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts string // YAML; "-" for none at all
		want options
	}{
		{"none", "-", defaultOptions()},
		{"empty", "", defaultOptions()},
		{"all", `
hostname: MX.Example.TEST
max_message_bytes: 2048
max_recipients: 3
max_bad_commands: 4
read_timeout: 30s
allow_insecure_auth: false
`, options{Hostname: "mx.example.test", MaxMessageBytes: 2048, MaxRecipients: 3, MaxBadCommands: 4, ReadTimeout: 30 * time.Second}},
		{"some", "read_timeout: 2m\nallow_insecure_auth: yes", func() options {
			o := defaultOptions()
			o.ReadTimeout = 2 * time.Minute
			return o
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p service.Prepared
			var err error
			if tt.opts == "-" {
				p, err = Spec.Load(nil, nil)
			} else {
				p, err = Spec.Load(servicetest.YAML(t, tt.opts), nil)
			}
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if got := p.(*prepared).opts; got != tt.want {
				t.Errorf("options %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		opts string
		want []string
	}{
		{"not a mapping", "[a, b]", []string{"line 1", "mapping"}},
		{"unknown option", "hostname: mail.lab.test\nmax_size: 10", []string{"line 2", `unknown option "max_size"`, "max_message_bytes"}},
		{"twice", "max_recipients: 2\nmax_recipients: 3", []string{"line 2", "given twice"}},
		{"bad hostname", "hostname: mail_server!", []string{"line 1", "not a host name"}},
		{"hostname list", "hostname: [a, b]", []string{"line 1", "hostname must be a single value"}},
		{"size not a number", "max_message_bytes: big", []string{"line 1", "whole number"}},
		{"size too small", "max_message_bytes: 10", []string{"line 1", "out of range (1024 to"}},
		{"recipients zero", "max_recipients: 0", []string{"line 1", "max_recipients: 0 is out of range"}},
		{"bad commands too many", "\n\nmax_bad_commands: 5000", []string{"line 3", "out of range"}},
		{"timeout not a duration", "read_timeout: 5", []string{"line 1", `"5" is not a duration`, "5m"}},
		{"timeout too long", "read_timeout: 2h", []string{"line 1", "out of range"}},
		{"insecure auth", "allow_insecure_auth: sometimes", []string{"line 1", "true or false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Spec.Load(servicetest.YAML(t, tt.opts), nil)
			if err == nil {
				t.Fatal("loaded without error")
			}
			if !strings.HasPrefix(err.Error(), "smtp: ") {
				t.Errorf("error %q does not start with the service name", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestStartWithoutMailStore(t *testing.T) {
	p, err := Spec.Load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Ports: map[string]int{}, Shared: service.NewShared()})
	if err == nil || !strings.Contains(err.Error(), "add mailstore: before smtp:") {
		t.Errorf("start without a mail store: %v", err)
	}
}

func TestStartPortTaken(t *testing.T) {
	lb := startLab(t, setup{})
	p, err := Spec.Load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	shared := service.NewShared()
	shared.Put("mailstore", lb.store)
	_, port := splitHostPort(t, lb.sub)
	_, err = p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Ports: map[string]int{"submission": port}, Shared: shared})
	be, ok := service.AsBindError(err)
	if !ok || be.Listener != "submission" || be.Service != "smtp" || be.Network != "tcp" {
		t.Fatalf("start on a taken port: %v", err)
	}
}

func TestSpecIsComplete(t *testing.T) {
	// Every attribute an event carries is declared, and every kind too.
	lb := startLab(t, setup{})
	w := lb.dial(t, lb.sub)
	w.do("EHLO learner.lab.test", 250)
	w.do("AUTH PLAIN "+plain("alice", "nope"), 535)
	w.do("AUTH PLAIN "+plain("alice", "wonderland"), 235)
	w.do("MAIL FROM:<alice@lab.test>", 250)
	w.do("RCPT TO:<bob@lab.test>", 250)
	w.do("DATA", 354)
	w.raw(stuffed(message))
	w.expect(250)
	w.do("DATA", 502)
	w.do("STARTTLS", 220)
	w.startTLSHandshake()
	w.do("EHLO learner.lab.test", 250)
	w.do("QUIT", 221)
	seen := map[string]bool{}
	deadline := time.After(5 * time.Second)
	for len(seen) < len(eventSpecs) {
		var e event.Event
		select {
		case e = <-lb.events.C():
		case <-deadline:
			t.Fatalf("kinds seen: %v; want all of %d", seen, len(eventSpecs))
		}
		seen[e.Kind] = true
		es, ok := Spec.Event(e.Kind)
		if !ok {
			t.Fatalf("kind %s is not declared", e.Kind)
		}
		for k := range e.Attrs {
			if !es.HasAttr(k) {
				t.Errorf("%s: attribute %q is not declared", e.Kind, k)
			}
		}
		for _, b := range es.Brief {
			if !es.HasAttr(b) {
				t.Errorf("%s: brief attribute %q is not declared", e.Kind, b)
			}
		}
		if e.Service != "smtp" || e.Client == "" || e.TranscriptFrom == nil {
			t.Errorf("%s: service %q client %q transcript %v", e.Kind, e.Service, e.Client, e.TranscriptFrom)
		}
	}
}
