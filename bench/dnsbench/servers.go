package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"protolab/internal/api"
)

// tools are the programs the benchmark runs.
type tools struct {
	dnsperf string
	dnsmasq string
	bare    string // built from ./bench/dnsbench/bare
	lab     string // built from ./cmd/lab; "" when it could not be built
}

// findTools looks for dnsperf and dnsmasq (Debian puts dnsmasq in /usr/sbin,
// which is not on every PATH).
func findTools() (tools, error) {
	var t tools
	var missing []string
	if p, err := exec.LookPath("dnsperf"); err == nil {
		t.dnsperf = p
	} else {
		missing = append(missing, "dnsperf")
	}
	if p, err := exec.LookPath("dnsmasq"); err == nil {
		t.dnsmasq = p
	} else if _, err := os.Stat("/usr/sbin/dnsmasq"); err == nil {
		t.dnsmasq = "/usr/sbin/dnsmasq"
	} else {
		missing = append(missing, "dnsmasq")
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("%s not found: install with `apt-get install dnsperf dnsmasq-base` (as root, or with sudo)", strings.Join(missing, " and "))
	}
	return t, nil
}

// goBuild builds a package of the module into out.
func goBuild(ctx context.Context, root, pkg, out string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	msg, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, lastLines(string(msg), 3))
	}
	return nil
}

// launcher knows how to start one kind of server on a port the benchmark
// picked (port 0: let the server pick, where it can). It returns the
// process and the server's UDP address. n numbers the start (for file
// names); prefix goes before the command (taskset, to pin it to a CPU).
type launcher struct {
	name  string
	start func(ctx context.Context, work string, n, port int, prefix []string) (*proc, string, error)
}

func bareLauncher(t tools, zoneFile string) launcher {
	return launcher{name: "bare", start: func(ctx context.Context, work string, n, port int, prefix []string) (*proc, string, error) {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		p, err := startProc("bare", filepath.Join(work, fmt.Sprintf("bare-%d.log", n)),
			slices.Concat(prefix, []string{t.bare, "-addr", addr, "-zone", zoneFile})...)
		return p, addr, err
	}}
}

func dnsmasqLauncher(t tools, confFile string) launcher {
	return launcher{name: "dnsmasq", start: func(ctx context.Context, work string, n, port int, prefix []string) (*proc, string, error) {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		argv := slices.Concat(prefix, []string{t.dnsmasq, "--conf-file=" + confFile, "--keep-in-foreground",
			"--log-facility=-", "--port=" + strconv.Itoa(port),
			"--pid-file=" + filepath.Join(work, fmt.Sprintf("dnsmasq-%d.pid", n))})
		if os.Geteuid() == 0 {
			// dnsmasq started as root switches to "nobody" unless told otherwise.
			u, err := user.Current()
			if err != nil {
				return nil, "", fmt.Errorf("dnsmasq: %w", err)
			}
			argv = append(argv, "--user="+u.Username)
			if g, err := user.LookupGroupId(u.Gid); err == nil {
				argv = append(argv, "--group="+g.Name)
			}
		}
		p, err := startProc("dnsmasq", filepath.Join(work, fmt.Sprintf("dnsmasq-%d.log", n)), argv...)
		return p, addr, err
	}}
}

// labLauncher starts `lab start dns`. With port 0 it uses --ports auto and
// finds the DNS address with `lab status --json`; with a port it also fixes
// the console's port, so that nothing has to be asked before querying.
func labLauncher(t tools, taken map[int]bool) launcher {
	return launcher{name: "lab", start: func(ctx context.Context, work string, n, port int, prefix []string) (*proc, string, error) {
		state := filepath.Join(work, fmt.Sprintf("lab-state-%d", n))
		if err := os.MkdirAll(state, 0o755); err != nil {
			return nil, "", fmt.Errorf("lab: %w", err)
		}
		web := 0
		if port != 0 {
			var err error
			if web, err = freePort(ctx, taken); err != nil {
				return nil, "", err
			}
		}
		argv := slices.Concat(prefix, []string{t.lab}, labStartArgs(state, port, web))
		p, err := startProc("lab", filepath.Join(work, fmt.Sprintf("lab-%d.log", n)), argv...)
		if err != nil {
			return nil, "", err
		}
		if port != 0 {
			return p, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
		}
		st, err := labStatusWait(ctx, t.lab, state, p, 20*time.Second)
		if err != nil {
			_ = p.stop(5 * time.Second)
			return nil, "", fmt.Errorf("%w%s", err, p.tail(8))
		}
		for _, ep := range st.Endpoints {
			if ep.Service == "dns" && ep.Listener == "dns" && ep.Network == "udp" {
				return p, ep.Addr, nil
			}
		}
		_ = p.stop(5 * time.Second)
		return nil, "", fmt.Errorf("lab status lists no dns/udp endpoint: %+v", st.Endpoints)
	}}
}

// labStartArgs is the `lab start` command line: --ports auto and the web
// console on a free port when dnsPort is 0, else both ports fixed.
func labStartArgs(state string, dnsPort, webPort int) []string {
	args := []string{"start", "dns", "--ports", "auto", "--state", state}
	if dnsPort == 0 {
		return append(args, "--web", "127.0.0.1:0")
	}
	return append(args, "--port", "dns="+strconv.Itoa(dnsPort),
		"--web", net.JoinHostPort("127.0.0.1", strconv.Itoa(webPort)))
}

// labStatus runs `lab status --json` once.
func labStatus(ctx context.Context, lab, state string) (*api.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, lab, "status", "--json", "--state", state)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("lab status: %w: %s", err, lastLines(stderr.String(), 2))
	}
	var st api.Status
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		return nil, fmt.Errorf("lab status: bad json: %w", err)
	}
	return &st, nil
}

// labStatusWait asks `lab status --json` until it lists a DNS endpoint, the
// lab exits, or the deadline passes.
func labStatusWait(ctx context.Context, lab, state string, p *proc, limit time.Duration) (*api.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		st, err := labStatus(ctx, lab, state)
		if err == nil && len(st.Endpoints) > 0 {
			return st, nil
		}
		if err == nil {
			err = errors.New("lab status: no endpoints yet")
		}
		last = err
		select {
		case <-p.done:
			return nil, fmt.Errorf("lab exited before it served (%v)", p.cmd.ProcessState)
		case <-ctx.Done():
			return nil, fmt.Errorf("lab not ready after %v: %w", limit, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
