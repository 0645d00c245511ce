package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"protolab/bench/dnsbench/benchzone"
	"protolab/bench/internal/fakelab"
	"protolab/internal/service"
)

// fakeEnv, set to 1, makes the test binary a fake lab.
const fakeEnv = "DNSBENCH_FAKE_LAB"

// TestMain lets the test binary stand in for the lab command (see
// fakelab): the fake serves the built-in zone, so the harness's lab path is
// tested before and apart from the real lab.
func TestMain(m *testing.M) { fakelab.Main(m, fakeEnv, "dns=1053", serveFakeLab) }

func serveFakeLab(a fakelab.Args) ([]service.Endpoint, func() error, error) {
	p, err := fakelab.PortOf(a.Port, "dns")
	if err != nil {
		return nil, nil, err
	}
	if a.Port == "dns=1053" {
		p = "0" // as with --ports auto
	}
	z, err := benchzone.Parse(strings.NewReader(benchzone.Builtin), benchzone.Origin, "builtin")
	if err != nil {
		return nil, nil, err
	}
	pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", p))
	if err != nil {
		return nil, nil, err
	}
	srv := &dns.Server{PacketConn: pc, Handler: benchzone.NewHandler(z)}
	go func() { _ = srv.ActivateAndServe() }()
	return []service.Endpoint{{Service: "dns", Listener: "dns", Network: "udp", Addr: pc.LocalAddr().String()}},
		srv.Shutdown, nil
}

// TestLabLauncher starts the fake lab both ways the harness does: on ports
// it picks (found with lab status) and on a port picked beforehand.
func TestLabLauncher(t *testing.T) {
	self := fakelab.Env(t, fakeEnv)
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
	if st.Events != fakelab.Events || st.Dropped != fakelab.Dropped {
		t.Errorf("events %d dropped %d, want %d and %d", st.Events, st.Dropped, fakelab.Events, fakelab.Dropped)
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
	self := fakelab.Env(t, fakeEnv)
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
	_, _, err := l.start(context.Background(), work, 0, 0, nil)
	if err == nil || !strings.Contains(err.Error(), "exited before it served") || !strings.Contains(err.Error(), "fake.json") {
		t.Fatalf("error = %v, want the exit and the lab's output", err)
	}
}
