package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"protolab/bench/internal/benchkit"
)

// The mail every load sends: alice writes to bob, as in the lab's tasks.
const (
	sender    = "alice@lab.test"
	recipient = "bob@lab.test"
	heloName  = "client.lab.test"
	bodySize  = 100 // smtp-source -l: payload bytes, headers not counted
)

// loadSettings are the smtp-source options every server gets.
type loadSettings struct {
	Messages int           // -m
	Sessions int           // -s
	Limit    time.Duration // the run is stopped after this long
}

// args is smtp-source's command line against addr.
func (s loadSettings) args(addr string) []string {
	return []string{"-c", "-s", strconv.Itoa(s.Sessions), "-m", strconv.Itoa(s.Messages),
		"-l", strconv.Itoa(bodySize), "-M", heloName, "-f", sender, "-t", recipient, addr}
}

// load is what one smtp-source run did.
type load struct {
	Sent      int64         // messages whose DATA the server accepted, by smtp-source's count
	Wall      time.Duration // from exec to exit
	ServerCPU time.Duration // CPU the server used meanwhile; 0 if unknown
	ClientCPU time.Duration // CPU smtp-source used
	Cut       bool          // stopped at the time limit before sending everything
}

// rate is messages per second, 0 when nothing was measured.
func (l load) rate() float64 {
	if l.Wall <= 0 {
		return 0
	}
	return float64(l.Sent) / l.Wall.Seconds()
}

// share is cpu as a fraction of one CPU over the run.
func (l load) share(cpu time.Duration) float64 {
	if l.Wall <= 0 {
		return 0
	}
	return float64(cpu) / float64(l.Wall)
}

// cpuPerMsg is the server's CPU time per accepted message, 0 if unknown.
func (l load) cpuPerMsg() time.Duration {
	if l.ServerCPU <= 0 || l.Sent <= 0 {
		return 0
	}
	return l.ServerCPU / time.Duration(l.Sent)
}

// sendLoad runs smtp-source against addr (after prefix: taskset) and
// measures it, with server, the server's pid, for its CPU time. A run still
// going after s.Limit gets SIGTERM and counts as cut; what it sent until
// then is measured all the same. An error (smtp-source failed: a refused
// message, a dropped connection) comes with what was sent before it.
func sendLoad(ctx context.Context, prefix []string, bin string, s loadSettings, addr string, server int) (load, error) {
	lctx, cancel := context.WithTimeout(ctx, s.Limit)
	defer cancel()
	argv := slices.Concat(prefix, []string{bin}, s.args(addr))
	cmd := exec.CommandContext(lctx, argv[0], argv[1:]...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 3 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	cpu0, cpuErr := benchkit.ProcCPU(server)
	start := time.Now()
	runErr := cmd.Run()
	l := load{Wall: time.Since(start)}
	if cpu1, err := benchkit.ProcCPU(server); err == nil && cpuErr == nil {
		l.ServerCPU = cpu1 - cpu0
	}
	if cmd.ProcessState != nil {
		l.ClientCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	sent, perr := parseSourceCount(stdout.Bytes())
	l.Sent = sent
	switch {
	case ctx.Err() != nil:
		return l, ctx.Err()
	case lctx.Err() != nil: // stopped at the time limit, maybe while saying QUIT
		l.Cut = l.Sent < int64(s.Messages)
		return l, nil
	case runErr != nil:
		return l, fmt.Errorf("smtp-source: %w: %s", runErr, lastLines(stderr.String(), 2))
	case perr != nil:
		return l, perr
	}
	return l, nil
}

// parseSourceCount reads the running count smtp-source -c prints on its
// standard output, "1\r2\r3\r...\n", one number each time a DATA is
// accepted, and returns the last. No output means no message went through.
func parseSourceCount(out []byte) (int64, error) {
	var last int64
	for _, tok := range bytes.FieldsFunc(out, func(r rune) bool { return r == '\r' || r == '\n' }) {
		n, err := strconv.ParseInt(string(bytes.TrimSpace(tok)), 10, 64)
		if err != nil || n <= last {
			return last, fmt.Errorf("smtp-source output: unexpected %q after count %d", trunc(tok, 40), last)
		}
		last = n
	}
	return last, nil
}

// sinkCounters are the counters smtp-sink -c prints as it goes.
type sinkCounters struct{ Sessions, Quits, Messages int64 }

// parseSinkCounters returns the last "sess=N quit=N mesg=N" record of
// smtp-sink -c's output (records end with \r; warnings on their own lines
// are skipped).
func parseSinkCounters(out []byte) (sinkCounters, error) {
	var last sinkCounters
	found := false
	for _, rec := range bytes.FieldsFunc(out, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if !bytes.HasPrefix(rec, []byte("sess=")) {
			continue
		}
		var v [3]int64
		fields := strings.Fields(string(rec))
		if len(fields) != 3 {
			return last, fmt.Errorf("smtp-sink output: odd counters %q", trunc(rec, 60))
		}
		for i, key := range []string{"sess", "quit", "mesg"} {
			num, ok := strings.CutPrefix(fields[i], key+"=")
			n, err := strconv.ParseInt(num, 10, 64)
			if !ok || err != nil || n < 0 {
				return last, fmt.Errorf("smtp-sink output: odd counters %q", trunc(rec, 60))
			}
			v[i] = n
		}
		last, found = sinkCounters{Sessions: v[0], Quits: v[1], Messages: v[2]}, true
	}
	if !found {
		return last, errors.New("smtp-sink output: no counters")
	}
	return last, nil
}

func trunc(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// waitSMTP connects to addr until it greets with 220, or the server exits
// (exited is closed), or limit passes. It says QUIT before hanging up.
func waitSMTP(ctx context.Context, addr string, exited <-chan struct{}, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var d net.Dialer
	var last error
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			line, rerr := bufio.NewReader(conn).ReadString('\n')
			if rerr == nil && strings.HasPrefix(line, "220") {
				_, _ = conn.Write([]byte("QUIT\r\n"))
				conn.Close()
				return nil
			}
			conn.Close()
			err = fmt.Errorf("greeting %q: %v", strings.TrimSpace(line), rerr)
		}
		last = err
		select {
		case <-exited:
			return errors.New("exited before it greeted")
		case <-ctx.Done():
			return fmt.Errorf("no SMTP greeting at %s within %v: %v", addr, limit, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
