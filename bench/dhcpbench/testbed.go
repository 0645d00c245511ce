package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// nsPrefix starts the names of the network namespaces the benchmark makes;
// the benchmark's process ID follows, so that leftovers of a benchmark
// that was killed can be found and removed.
const nsPrefix = "dhcpbench-"

// The link's addresses: RFC 5737's documentation network, as in the lab.
const (
	serverAddr = "192.0.2.1"
	serverCIDR = serverAddr + "/24"
)

// testbed is two network namespaces joined by a veth pair: the server
// side, where the server under test listens (192.0.2.1/24), and the client
// side, where the load client sends from a packet socket. Nothing else is
// in them, so no packet of the benchmark leaves them.
type testbed struct {
	ip                 string // the ip command
	serverNS, clientNS string
	serverIf, clientIf string
}

// newTestbed names the testbed of process pid.
func newTestbed(ipCmd string, pid int) *testbed {
	p := strconv.Itoa(pid)
	return &testbed{ip: ipCmd,
		serverNS: nsPrefix + p + "-s", clientNS: nsPrefix + p + "-c",
		// Interface names have at most 15 bytes: "dhb" + 7 digits + 1.
		serverIf: "dhb" + p + "s", clientIf: "dhb" + p + "c"}
}

// setup creates the namespaces and the link; on failure it removes what
// it made.
func (tb *testbed) setup(ctx context.Context) error {
	steps := [][]string{
		{"netns", "add", tb.serverNS},
		{"netns", "add", tb.clientNS},
		{"link", "add", tb.serverIf, "netns", tb.serverNS, "type", "veth", "peer", "name", tb.clientIf, "netns", tb.clientNS},
		{"-n", tb.serverNS, "link", "set", "lo", "up"},
		{"-n", tb.clientNS, "link", "set", "lo", "up"},
		{"-n", tb.serverNS, "addr", "add", serverCIDR, "dev", tb.serverIf},
		{"-n", tb.serverNS, "link", "set", tb.serverIf, "up"},
		{"-n", tb.clientNS, "link", "set", tb.clientIf, "up"},
	}
	for _, s := range steps {
		if err := tb.run(ctx, s...); err != nil {
			tb.remove()
			return err
		}
	}
	return nil
}

func (tb *testbed) run(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tb.ip, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// remove deletes both namespaces, and with them the veth pair. The
// processes started in them must have been stopped first.
func (tb *testbed) remove() error {
	var errs []error
	for _, ns := range []string{tb.serverNS, tb.clientNS} {
		if !nsExists(ns) {
			continue
		}
		if err := tb.run(context.Background(), "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// exec is the command line that runs argv in namespace ns.
func (tb *testbed) exec(ns string, argv ...string) []string {
	return append([]string{tb.ip, "netns", "exec", ns}, argv...)
}

// nsRunDir is where `ip netns` keeps the namespaces it names.
const nsRunDir = "/run/netns"

func nsExists(name string) bool {
	_, err := os.Stat(filepath.Join(nsRunDir, name))
	return err == nil
}

// staleNames lists the names the benchmark gives its namespaces and
// state directories ("dhcpbench-PID-..."), among names, whose benchmark
// process is gone (alive tells).
func staleNames(names []string, alive func(pid int) bool) []string {
	var out []string
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, nsPrefix)
		if !ok {
			continue
		}
		pidText, tail, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || tail == "" {
			continue
		}
		if !alive(pid) {
			out = append(out, n)
		}
	}
	return out
}

// benchAlive reports whether process pid is a running benchmark.
func benchAlive(pid int) bool {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.HasPrefix(string(comm), "dhcpbench")
}

// sweepStale removes the namespaces, work and state directories left by
// benchmarks that were killed before they could clean up (kill -9).
func sweepStale(ipCmd string) {
	for _, n := range staleNames(dirNames(nsRunDir), benchAlive) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = exec.CommandContext(ctx, ipCmd, "netns", "del", n).Run()
		cancel()
	}
	for _, dir := range []string{shmDir, os.TempDir()} {
		for _, n := range staleNames(dirNames(dir), benchAlive) {
			_ = os.RemoveAll(filepath.Join(dir, n))
		}
	}
}

func dirNames(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
