package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// child is a long-running process the benchmark started: a server. Its
// output goes to a log file so that a failure can quote the last lines.
type child struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process is reaped
	err  error         // the wait status, once done is closed
}

// spawn starts argv with its output in logPath. Pdeathsig makes sure the
// child dies with the benchmark, however the benchmark ends.
func spawn(name, logPath string, argv []string) (*child, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// alive reports whether the process is still running.
func (c *child) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// stop asks the process to end (SIGTERM), and kills it after grace. Ending
// on our SIGTERM counts as a clean stop even when the process does not
// catch it (smtp-sink does not).
func (c *child) stop(grace time.Duration) error {
	if c.alive() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(grace):
			_ = c.cmd.Process.Kill()
			<-c.done
			return fmt.Errorf("%s ignored SIGTERM for %v and was killed", c.name, grace)
		}
	}
	var ee *exec.ExitError
	if errors.As(c.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
	}
	if c.err != nil {
		return fmt.Errorf("%s: %w", c.name, c.err)
	}
	return nil
}

// tail is the last n lines of the process's output, on one line, for an
// error message; "" when it printed nothing.
func (c *child) tail(n int) string {
	b, _ := os.ReadFile(c.log)
	if s := lastLines(string(b), n); s != "" {
		return ": " + s
	}
	return ""
}

// lastLines returns the last n non-blank lines of s (lines end at \n or \r),
// joined with " / ".
func lastLines(s string, n int) string {
	var keep []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); l != "" {
			keep = append(keep, l)
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, " / ")
}

// output runs a short command, bounded by limit, and returns its standard
// output; an error, named name, quotes its standard error.
func output(ctx context.Context, limit time.Duration, name string, argv ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", name, err, lastLines(stderr.String(), 3))
	}
	return stdout.Bytes(), nil
}
