// Package fakelab lets a benchmark's test binary stand in for the lab
// command, so that the harness's lab path is tested apart from the real
// lab. The fake speaks the lab's command line ("start LAB [flags]" and
// "status --json --state DIR"), serves what the test gives it and reports
// its endpoints through a status file in the state directory.
package fakelab

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"protolab/internal/api"
	"protolab/internal/service"
)

// Events and Dropped are the event counters the fake lab's status reports.
const (
	Events  = 42
	Dropped = 7
)

// Args are the settings of a fake "lab start LAB ..." command line.
type Args struct {
	Lab   string // the lab asked for
	State string // --state
	Port  string // --port, "LISTENER=PORT"
}

// Serve starts serving for a "start" command line and returns the
// endpoints to report, and a stop function that SIGTERM calls.
type Serve func(a Args) (endpoints []service.Endpoint, stop func() error, err error)

// Main runs the tests, unless the environment variable env is "1": then
// the process is a fake lab, which runs the command line in os.Args and
// exits, 1 with the error on stderr when it fails. defaultPort is the
// --port a command line without one has.
func Main(m *testing.M, env, defaultPort string, serve Serve) {
	if os.Getenv(env) != "1" {
		os.Exit(m.Run())
	}
	if err := run(os.Args[1:], defaultPort, serve); err != nil {
		fmt.Fprintln(os.Stderr, "fake lab:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func run(args []string, defaultPort string, serve Serve) error {
	if len(args) < 1 {
		return errors.New("no command")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	state := fs.String("state", "", "")
	fs.String("ports", "high", "")
	fs.String("web", "127.0.0.1:8080", "")
	port := fs.String("port", defaultPort, "")
	fs.Bool("json", false, "")
	rest, lab := args[1:], ""
	if args[0] == "start" {
		if len(args) < 2 {
			return errors.New("start: no lab named")
		}
		rest, lab = args[2:], args[1]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	file := filepath.Join(*state, "fake.json")
	switch args[0] {
	case "status":
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("no lab running: %w", err)
		}
		_, err = os.Stdout.Write(b)
		return err
	case "start":
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
	endpoints, stop, err := serve(Args{Lab: lab, State: *state, Port: *port})
	if err != nil {
		return err
	}
	st := api.Status{Lab: lab, Running: true, PID: os.Getpid(), Events: Events, Dropped: Dropped, Endpoints: endpoints}
	b, _ := json.Marshal(st)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		_ = stop()
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer cancel()
	<-ctx.Done()
	return stop()
}

// Env makes the test binary a fake lab in the processes the test starts,
// by setting env to "1", and returns the binary's path. Under -race, a
// process would sleep 1 s at exit unless told not to.
func Env(t *testing.T, env string) string {
	t.Helper()
	t.Setenv(env, "1")
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

// PortOf is the port of a --port value "LISTENER=PORT" for listener.
func PortOf(port, listener string) (string, error) {
	p, ok := strings.CutPrefix(port, listener+"=")
	if !ok {
		return "", fmt.Errorf("--port %q: no such listener", port)
	}
	return p, nil
}
