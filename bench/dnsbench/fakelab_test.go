package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"protolab/bench/dnsbench/benchzone"
	"protolab/internal/api"
	"protolab/internal/service"
)

// TestMain lets the test binary stand in for the lab command: with
// DNSBENCH_FAKE_LAB=1 it runs fakeLab instead of the tests. The fake speaks
// the lab's command line (start dns ... / status --json --state DIR) and
// serves the built-in zone, so the harness's lab path is tested before and
// apart from the real lab.
func TestMain(m *testing.M) {
	if os.Getenv("DNSBENCH_FAKE_LAB") == "1" {
		if err := fakeLab(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "fake lab:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func fakeLab(args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("no command")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	state := fs.String("state", "", "")
	fs.String("ports", "high", "")
	fs.String("web", "127.0.0.1:8080", "")
	port := fs.String("port", "dns=1053", "")
	fs.Bool("json", false, "")
	rest := args[1:]
	if args[0] == "start" {
		rest = args[2:] // "start dns ..."
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	file := filepath.Join(*state, "fake.json")
	switch args[0] {
	case "start":
		p, ok := strings.CutPrefix(*port, "dns=")
		if !ok {
			return fmt.Errorf("--port %q", *port)
		}
		if *port == "dns=1053" {
			p = "0" // as with --ports auto
		}
		z, err := benchzone.Parse(strings.NewReader(benchzone.Builtin), benchzone.Origin, "builtin")
		if err != nil {
			return err
		}
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", p))
		if err != nil {
			return err
		}
		srv := &dns.Server{PacketConn: pc, Handler: benchzone.NewHandler(z)}
		go func() { _ = srv.ActivateAndServe() }()
		st := api.Status{Lab: "dns", Running: true, PID: os.Getpid(), Events: 42, Dropped: 7,
			Endpoints: []service.Endpoint{{Service: "dns", Listener: "dns", Network: "udp", Addr: pc.LocalAddr().String()}}}
		b, _ := json.Marshal(st)
		if err := os.WriteFile(file, b, 0o644); err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		<-ctx.Done()
		return srv.Shutdown()
	case "status":
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("no lab running: %w", err)
		}
		_, err = os.Stdout.Write(b)
		return err
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// fakeLabEnv makes the test binary a fake lab in the processes it starts.
// Under -race, a process sleeps 1 s at exit unless told not to.
func fakeLabEnv(t *testing.T) {
	t.Setenv("DNSBENCH_FAKE_LAB", "1")
	t.Setenv("GORACE", "atexit_sleep_ms=0")
}

// TestLabLauncher starts the fake lab both ways the harness does: on ports
// it picks (found with lab status) and on a port picked beforehand.
func TestLabLauncher(t *testing.T) {
	fakeLabEnv(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	z := builtinZone(t)
	taken := map[int]bool{}
	work := t.TempDir()
	s := &server{launcher: labLauncher(tools{lab: self}, taken)}
	if err := startServer(context.Background(), s, work, taken, z); err != nil {
		t.Fatal(err)
	}
	defer s.proc.stop(5 * time.Second)
	if diffs, err := checkAnswers(context.Background(), s.addr, z); err != nil {
		t.Fatalf("%v: %q", err, diffs)
	}
	st, err := labStatus(context.Background(), self, filepath.Join(work, "lab-state-0"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 42 || st.Dropped != 7 {
		t.Errorf("events %d dropped %d, want 42 and 7", st.Events, st.Dropped)
	}
	if err := s.proc.stop(5 * time.Second); err != nil {
		t.Errorf("stop: %v", err)
	}
	ds, err := measureStartups(context.Background(), s, work, taken, z.Questions()[0], 2)
	if err != nil || len(ds) != 2 {
		t.Fatalf("startups %v, %v", ds, err)
	}
}

// TestLabThatDies checks that a lab exiting at start is reported with its
// output rather than waited for.
func TestLabThatDies(t *testing.T) {
	fakeLabEnv(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	taken := map[int]bool{}
	// A fake lab with no state directory cannot write its endpoint file.
	l := labLauncher(tools{lab: self}, taken)
	l.start = func(ctx context.Context, work string, n, port int, prefix []string) (*proc, string, error) {
		p, err := startProc("lab", filepath.Join(work, "lab.log"), self, "start", "dns", "--state", filepath.Join(work, "missing"))
		if err != nil {
			return nil, "", err
		}
		_, err = labStatusWait(ctx, self, filepath.Join(work, "missing"), p, 20*time.Second)
		return p, "", fmt.Errorf("%w%s", err, p.tail(3))
	}
	_, _, err = l.start(context.Background(), work, 0, 0, nil)
	if err == nil || !strings.Contains(err.Error(), "exited before it served") || !strings.Contains(err.Error(), "fake.json") {
		t.Fatalf("error = %v, want the exit and the lab's output", err)
	}
}
