package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"protolab/bench/internal/benchkit"
	"protolab/internal/api"
)

// The pool both servers hand out, their lease time, and the lab's
// reserved client (kept in both, so both pools have the same 240 free
// addresses).
const (
	poolFirst   = "192.0.2.10"
	poolLast    = "192.0.2.250"
	leaseTime   = "120s" // the dhcp lab's; dnsmasq's least
	reservedMAC = "02:00:00:00:00:42"
	reservedIP  = "192.0.2.42"
	// maxClients leaves one address of the pool for the probe client.
	maxClients = 239
)

// dnsmasqArgs runs dnsmasq in the foreground as a DHCP server only (no
// DNS: port 0) on the server's interface, with the dhcp lab's settings:
// the pool, the lease time, router, DNS server, domain, NTP server (sent
// when asked, as the lab does) and the reservation. It does not ping an
// address before offering it (the lab does not either), and logs every
// DHCP message to logFile as it does by default (to syslog), unless
// quiet.
func dnsmasqArgs(bin, iface, leaseFile, logFile string, quiet bool) []string {
	args := []string{bin, "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
		"--interface=" + iface, "--bind-interfaces", "--pid-file=",
		"--dhcp-range=" + poolFirst + "," + poolLast + ",255.255.255.0," + leaseTime,
		"--dhcp-leasefile=" + leaseFile, "--dhcp-authoritative", "--no-ping",
		"--dhcp-option=option:router," + serverAddr,
		"--dhcp-option=option:dns-server," + serverAddr,
		"--dhcp-option=option:ntp-server," + serverAddr,
		"--domain=lab.test",
		"--dhcp-host=" + reservedMAC + "," + reservedIP + ",pc42",
		"--log-facility=" + logFile}
	if quiet {
		args = append(args, "--quiet-dhcp")
	}
	return args
}

// writeLabFile copies the built-in dhcp lab (its file and lessons) into
// dir with the benchmark's pool, as an instructor could, and returns the
// lab file's path. Tasks, checker and journal are the lab's own.
func writeLabFile(moduleDir, dir string) (string, error) {
	src := filepath.Join(moduleDir, "labs", "dhcp")
	entries, err := os.ReadDir(src)
	if err != nil {
		return "", fmt.Errorf("the dhcp lab: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return "", err
		}
		if e.Name() == "lab.yaml" {
			if b, err = benchPool(b); err != nil {
				return "", err
			}
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "lab.yaml"), nil
}

// benchPool puts the benchmark's pool and lease time in a dhcp lab file.
func benchPool(lab []byte) ([]byte, error) {
	lines := strings.Split(string(lab), "\n")
	pool, lease := false, false
	for i, l := range lines {
		indent := l[:len(l)-len(strings.TrimLeft(l, " "))]
		switch t := strings.TrimSpace(l); {
		case strings.HasPrefix(t, "pool:") && !pool:
			lines[i], pool = indent+"pool: "+poolFirst+"-"+poolLast, true
		case strings.HasPrefix(t, "lease_time:") && !lease:
			lines[i], lease = indent+"lease_time: "+leaseTime, true
		}
	}
	if !pool || !lease {
		return nil, fmt.Errorf("the dhcp lab's lab.yaml has no pool or lease_time line to set")
	}
	return []byte(strings.Join(lines, "\n")), nil
}

// labStartArgs runs the lab from file with DHCP answering on iface (port
// 67), the other listeners and the console on free ports of the server's
// namespace, and a fresh state directory.
func labStartArgs(bin, file, iface, state string) []string {
	return []string{bin, "start", "--file", file, "--dhcp-interface", iface, "--lang", "en",
		"--ports", "auto", "--web", "127.0.0.1:0", "--state", state}
}

// labStatus runs `lab status --json` in the server's namespace.
func labStatus(ctx context.Context, tb *testbed, bin, state string) (*api.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	argv := tb.exec(tb.serverNS, bin, "status", "--json", "--state", state)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("lab status: %w: %s", err, benchkit.FirstLine(stderr.String()))
	}
	var st api.Status
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		return nil, fmt.Errorf("lab status: bad json: %w", err)
	}
	return &st, nil
}

// moduleDir is the root of the protolab module around the working
// directory.
func moduleDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Path}} {{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %w (run dhcpbench inside the protolab module)", err)
	}
	path, dir, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if path != "protolab" {
		return "", fmt.Errorf("run dhcpbench inside the protolab module (the module here is %q)", path)
	}
	return dir, nil
}

// buildLab builds ./cmd/lab of the module.
func buildLab(ctx context.Context, dir, out string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if b, err := exec.CommandContext(ctx, "go", "build", "-C", dir, "-o", out, "./cmd/lab").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/lab: %w: %s", err, strings.TrimSpace(string(b)))
	}
	return nil
}

// spawn starts argv, its output to logFile. The server is killed if the
// benchmark dies first.
func spawn(logFile string, argv []string) (*benchkit.Child, error) {
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	c, err := benchkit.StartChild(cmd, logFile)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(argv[len(argv)-1]), err)
	}
	return c, nil
}

// concat joins command-line pieces.
func concat(parts ...[]string) []string { return slices.Concat(parts...) }
