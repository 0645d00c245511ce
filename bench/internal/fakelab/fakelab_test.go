package fakelab

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"protolab/internal/api"
	"protolab/internal/service"
)

const testEnv = "FAKELAB_TEST_FAKE_LAB"

func TestMain(m *testing.M) { Main(m, testEnv, "echo=7", serveEcho) }

// serveEcho listens on TCP for the "echo" lab: the port 7 of the default
// --port is taken as "any".
func serveEcho(a Args) ([]service.Endpoint, func() error, error) {
	if a.Lab != "echo" {
		return nil, nil, errors.New("no such lab")
	}
	p, err := PortOf(a.Port, "echo")
	if err != nil {
		return nil, nil, err
	}
	if p == "7" {
		p = "0"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", p))
	if err != nil {
		return nil, nil, err
	}
	return []service.Endpoint{{Service: "echo", Listener: "echo", Network: "tcp", Addr: ln.Addr().String()}},
		ln.Close, nil
}

func TestStartStatusStop(t *testing.T) {
	self := Env(t, testEnv)
	state := t.TempDir()
	var out bytes.Buffer
	start := exec.Command(self, "start", "echo", "--state", state, "--ports", "auto")
	start.Stdout, start.Stderr = &out, &out
	if err := start.Start(); err != nil {
		t.Fatal(err)
	}
	defer start.Process.Kill()
	var st api.Status
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := exec.Command(self, "status", "--json", "--state", state).Output()
		if err == nil {
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatalf("status %q: %v", b, err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no status: %v; output %q", err, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.Lab != "echo" || !st.Running || st.PID != start.Process.Pid || st.Events != Events ||
		st.Dropped != Dropped || len(st.Endpoints) != 1 {
		t.Fatalf("status %+v", st)
	}
	c, err := net.Dial("tcp", st.Endpoints[0].Addr)
	if err != nil {
		t.Fatalf("the fake's endpoint: %v", err)
	}
	c.Close()
	if err := start.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := start.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v; output %q", err, out.String())
	}
}

func TestCommandLineErrors(t *testing.T) {
	self := Env(t, testEnv)
	state := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "no command"},
		{"unknown command", []string{"stop", "--state", state}, `unknown command "stop"`},
		{"start without a lab", []string{"start"}, "no lab named"},
		{"unknown flag", []string{"status", "--color"}, "flag provided but not defined"},
		{"no status yet", []string{"status", "--json", "--state", state}, "no lab running"},
		{"other lab", []string{"start", "dns", "--state", state}, "no such lab"},
		{"other listener", []string{"start", "echo", "--port", "web=1", "--state", state}, `--port "web=1": no such listener`},
		{"no state directory", []string{"start", "echo", "--state", filepath.Join(state, "missing")}, "fake.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(self, tt.args...).CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), tt.want) {
				t.Fatalf("exit %v, output %q; want exit 1 saying %q", err, out, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(state, "fake.json")); !os.IsNotExist(err) {
		t.Errorf("a failed start left a status file: %v", err)
	}
}
