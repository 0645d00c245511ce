// Package trapdtest runs net-snmp's snmptrapd for tests that check the
// notifications an SNMP agent sends: in the foreground, logging to its
// standard output, with no MIB files (numeric OIDs only) and no
// authorisation checks, listening on one UDP address.
package trapdtest

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Trapd is a running snmptrapd and the lines it printed.
type Trapd struct {
	t     testing.TB
	lines chan string
}

// Start runs the snmptrapd at bin on the UDP address listen (host:port)
// until the test ends, and waits until it listens.
func Start(t testing.TB, bin, listen string) *Trapd {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "snmptrapd.conf")
	if err := os.WriteFile(conf, []byte("disableAuthorization yes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-f", "-Lo", "-On", "-C", "-c", conf, "udp:"+listen)
	cmd.Env = append(os.Environ(), "MIBS=", "MIBDIRS=/nonexistent", "HOME="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	d := &Trapd{t: t, lines: make(chan string, 256)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			d.lines <- sc.Text()
		}
		close(d.lines)
	}()
	d.Wait("NET-SNMP version") // it listens
	return d
}

// Wait returns the next line that holds what, failing the test when
// snmptrapd ends or prints none within 15 seconds.
func (d *Trapd) Wait(what string) string {
	d.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-d.lines:
			if !ok {
				d.t.Fatalf("snmptrapd ended before %q", what)
			}
			if strings.Contains(l, what) {
				return l
			}
		case <-deadline:
			d.t.Fatalf("snmptrapd printed no %q", what)
		}
	}
}
