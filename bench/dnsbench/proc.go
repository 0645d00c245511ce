package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
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

// peakRSS returns the process's peak resident set size (VmHWM) in bytes.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak rss: %w", err)
	}
	defer f.Close()
	return parseVmHWM(f)
}

// parseVmHWM finds the "VmHWM:  1234 kB" line of a /proc/PID/status file.
func parseVmHWM(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("peak rss: unexpected VmHWM line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || kb > 1<<40 {
			return 0, fmt.Errorf("peak rss: bad VmHWM value %q", f[0])
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("peak rss: %w", err)
	}
	return 0, errors.New("peak rss: no VmHWM line")
}

// clockTick is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100
// on every Linux the benchmark runs on).
const clockTick = 10 * time.Millisecond

// maxTicks bounds one tick count read from /proc (over 20 years of CPU time)
// so that sums of a few of them stay within a time.Duration.
const maxTicks = 1 << 36

// cpuTime returns the CPU time (user and system, all threads) the process
// has used so far.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime and stime (fields 14 and 15) from a
// /proc/PID/stat line. The command name (field 2) is in parentheses and may
// hold spaces or parentheses itself, so fields are counted from the last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("cpu time: no command name in stat line")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu time: stat line has %d fields after the name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > maxTicks {
			return 0, fmt.Errorf("cpu time: bad tick count %q", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// machineCPU returns the CPU time all processes have used (busy) and the
// time all CPUs have existed (total) since boot, from /proc/stat.
func machineCPU() (busy, total time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("machine cpu: %w", err)
	}
	return parseProcStat(b)
}

// parseProcStat reads the first "cpu" line of /proc/stat: user nice system
// idle iowait irq softirq steal (guest time is already in user). Busy
// leaves out irq and softirq time, which is mostly the kernel moving the
// benchmark's own loopback packets and is charged to no process; steal (the
// hypervisor running something else) counts as busy.
func parseProcStat(stat []byte) (busy, total time.Duration, err error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, errors.New("machine cpu: no cpu line in /proc/stat")
	}
	var v [8]int64
	for i := range v {
		n, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil || n < 0 || n > maxTicks {
			return 0, 0, fmt.Errorf("machine cpu: bad tick count %q", f[i+1])
		}
		v[i] = n
	}
	b := v[0] + v[1] + v[2] + v[7]
	return time.Duration(b) * clockTick, time.Duration(b+v[3]+v[4]+v[5]+v[6]) * clockTick, nil
}

// allowedCPUs lists the CPUs this process may run on (its affinity mask,
// which a container or taskset may have narrowed).
func allowedCPUs() ([]int, error) {
	var mask [16]uint64 // room for 1024 CPUs
	_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(mask),
		uintptr(unsafe.Pointer(&mask)))
	if errno != 0 {
		return nil, fmt.Errorf("cpu affinity: %w", errno)
	}
	var cpus []int
	for i, word := range mask {
		for b := range 64 {
			if word&(1<<b) != 0 {
				cpus = append(cpus, i*64+b)
			}
		}
	}
	return cpus, nil
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
