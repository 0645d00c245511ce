package benchkit

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Child is a server process a benchmark started, its output going to a log
// file so that an error can quote its last lines.
type Child struct {
	Cmd  *exec.Cmd
	Log  string // the file its output goes to
	done chan struct{}
	err  error
}

// StartChild starts cmd, whose output the caller has sent to the file log,
// and reaps it when it ends. The error is cmd.Start's, for the caller to
// wrap with the server's name.
func StartChild(cmd *exec.Cmd, log string) (*Child, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &Child{Cmd: cmd, Log: log, done: make(chan struct{})}
	go func() { c.err = cmd.Wait(); close(c.done) }()
	return c, nil
}

// Pid is the process id.
func (c *Child) Pid() int { return c.Cmd.Process.Pid }

// Done is closed once the process has ended and been reaped.
func (c *Child) Done() <-chan struct{} { return c.done }

// Err is the process's wait status once Done is closed (nil before).
func (c *Child) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Alive reports whether the process is still running.
func (c *Child) Alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM, then SIGKILL after 5 s, and waits for the exit.
func (c *Child) Stop() {
	if !c.Alive() {
		return
	}
	_ = c.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.Cmd.Process.Kill()
		<-c.done
	}
}

// Tail is the last three lines of the log, "; its last lines: a | b | c",
// for error messages; "" when the log is empty or unreadable.
func (c *Child) Tail() string {
	b, _ := os.ReadFile(c.Log)
	return tail(string(b))
}

func tail(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return ""
	}
	return "; its last lines: " + strings.Join(lines[max(len(lines)-3, 0):], " | ")
}

// FirstLine is the first line of s, blanks trimmed around s first.
func FirstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// IsExec reports whether path is a regular file someone may execute.
func IsExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
