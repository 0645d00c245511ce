package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"protolab/bench/internal/benchkit"
)

// proc is a server process the benchmark started. Its output goes to a log
// file in the work directory, so a failure can show its last lines.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	started time.Time     // just before exec
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done is closed
}

// startProc execs argv with stdin from /dev/null and stdout and stderr to
// logPath. The child is killed if the benchmark dies first.
func startProc(name, logPath string, argv ...string) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// pid is the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to grace, then kills. It returns an error
// when the process had to be killed or ended with a failure status.
func (p *proc) stop(grace time.Duration) error {
	if p.exited() {
		return p.exitErr()
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.exitErr()
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %v of SIGTERM and was killed", p.name, grace)
	}
}

func (p *proc) exitErr() error {
	if p.waitErr == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() &&
		ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGTERM {
		return nil // ended by our SIGTERM without handling it: still a clean stop
	}
	return fmt.Errorf("%s: %w", p.name, p.waitErr)
}

// tail returns the last n lines of the process's output, indented, for
// error messages.
func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n    | " + strings.Join(lines, "\n    | ")
}

// machineCPU returns the CPU time all processes have used (busy) and the
// time all CPUs have existed (total) since boot, from /proc/stat. Busy
// leaves out irq and softirq time, which is mostly the kernel moving the
// benchmark's own loopback packets and is charged to no process; steal (the
// hypervisor running something else) counts as busy.
func machineCPU() (busy, total time.Duration, err error) {
	t, err := benchkit.MachineCPU()
	return t.Busy(), t.Total(), err
}

// freePort returns a port on 127.0.0.1 that is free for both UDP and TCP
// right now and was not handed out before by this process. Another program
// may still take it before the server binds; the server then fails with a
// clear error and the run says so.
func freePort(ctx context.Context, taken map[int]bool) (int, error) {
	for range 50 {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("free port: %w", err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		pc.Close()
		if err != nil || taken[port] {
			if ln != nil {
				ln.Close()
			}
			continue
		}
		ln.Close()
		taken[port] = true
		return port, nil
	}
	return 0, errors.New("free port: no port free for both udp and tcp after 50 tries")
}
