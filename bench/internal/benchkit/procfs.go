package benchkit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Tick is the unit of the CPU times in /proc (USER_HZ: 100 on Linux).
const Tick = 10 * time.Millisecond

// MaxTick bounds a tick count read from /proc (about 20 years of CPU), so
// that sums of a few stay far from overflowing a time.Duration.
const MaxTick = 1 << 36

// PeakRSS is the process's peak resident set size (VmHWM), in bytes.
func PeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak rss: %w", err)
	}
	return ParseVmHWM(b)
}

// ParseVmHWM reads the line "VmHWM:   12940 kB" of a /proc/PID/status file
// and returns the value in bytes.
func ParseVmHWM(status []byte) (int64, error) {
	for line := range strings.SplitSeq(string(status), "\n") {
		v, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("peak rss: odd line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || kb > 1<<40 {
			return 0, fmt.Errorf("peak rss: odd value %q", f[0])
		}
		return kb << 10, nil
	}
	return 0, errors.New("peak rss: no VmHWM line")
}

// ProcCPU is the CPU time (user and system, all threads) the process has
// used so far.
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	return ParseProcStat(b)
}

// ParseProcStat adds utime and stime, fields 14 and 15 of /proc/PID/stat.
// Field 2, the command name, is in parentheses and may itself hold spaces
// and parentheses, so fields are counted after the last ')'; the first one
// there is field 3.
func ParseProcStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("cpu time: stat has no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu time: stat has %d fields after the name, want 13 or more", len(f))
	}
	var sum time.Duration
	for _, s := range f[11:13] {
		d, err := parseTicks(s)
		if err != nil {
			return 0, fmt.Errorf("cpu time: %w", err)
		}
		sum += d
	}
	return sum, nil
}

// CPUTimes are the machine's CPU counters since boot, summed over all CPUs:
// the first eight columns of the "cpu" line of /proc/stat. Guest time is
// already part of User.
type CPUTimes struct {
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal time.Duration
}

// Total is the time all CPUs have existed: the sum of the eight counters.
func (c CPUTimes) Total() time.Duration {
	return c.User + c.Nice + c.System + c.Idle + c.IOWait + c.IRQ + c.SoftIRQ + c.Steal
}

// Processes is the time processes ran: user, nice and system. Interrupt
// time is left out: it is mostly the kernel carrying the benchmark's own
// packets, charged to no process.
func (c CPUTimes) Processes() time.Duration { return c.User + c.Nice + c.System }

// Busy is Processes plus Steal, the time a hypervisor ran someone else on
// the machine's CPUs.
func (c CPUTimes) Busy() time.Duration { return c.Processes() + c.Steal }

// MachineCPU reads the machine's CPU counters from /proc/stat.
func MachineCPU() (CPUTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CPUTimes{}, fmt.Errorf("machine cpu: %w", err)
	}
	return ParseMachineStat(b)
}

// ParseMachineStat reads the first line of /proc/stat,
// "cpu user nice system idle iowait irq softirq steal ...".
func ParseMachineStat(b []byte) (CPUTimes, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return CPUTimes{}, errors.New("machine cpu: /proc/stat has no cpu line with 8 times")
	}
	var v [8]time.Duration
	for i := range v {
		d, err := parseTicks(f[i+1])
		if err != nil {
			return CPUTimes{}, fmt.Errorf("machine cpu: %w", err)
		}
		v[i] = d
	}
	return CPUTimes{User: v[0], Nice: v[1], System: v[2], Idle: v[3], IOWait: v[4], IRQ: v[5],
		SoftIRQ: v[6], Steal: v[7]}, nil
}

// parseTicks reads one tick count of /proc, at most MaxTick.
func parseTicks(s string) (time.Duration, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > MaxTick {
		return 0, fmt.Errorf("bad tick count %q", s)
	}
	return time.Duration(n) * Tick, nil
}

// Loadavg is the first three fields of /proc/loadavg, "" if unreadable.
func Loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}
