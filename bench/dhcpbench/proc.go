package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// tick is the unit of the CPU times in /proc (USER_HZ: 100 on Linux).
const tick = 10 * time.Millisecond

// maxTick bounds a tick count read from /proc, far from overflowing sums.
const maxTick = 1 << 36

// peakRSS is the process's peak resident set size (VmHWM), in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak rss: %w", err)
	}
	return parseVmHWM(b)
}

// parseVmHWM reads the line "VmHWM:   12940 kB" of a /proc/PID/status file.
func parseVmHWM(status []byte) (int64, error) {
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

// procCPU is the CPU time (user and system, all threads) the process has
// used so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	return parseProcStat(b)
}

// parseProcStat adds utime and stime, fields 14 and 15 of /proc/PID/stat.
// The command name (field 2) is in parentheses and may hold spaces and
// parentheses, so fields are counted after the last ')'.
func parseProcStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("cpu time: stat has no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu time: stat has %d fields after the name, want 13 or more", len(f))
	}
	return sumTicks(f[11:13])
}

func sumTicks(fields []string) (time.Duration, error) {
	var sum int64
	for _, s := range fields {
		t, err := strconv.ParseInt(s, 10, 64)
		if err != nil || t < 0 || t > maxTick {
			return 0, fmt.Errorf("cpu time: odd tick count %q", s)
		}
		sum += t
	}
	return time.Duration(sum) * tick, nil
}

// machineCPU is the machine's busy CPU time (user, nice, system: interrupt
// time, where the kernel moves the packets over the veth, left out) and
// its total time, from /proc/stat, summed over all CPUs.
func machineCPU() (busy, total time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("machine cpu: %w", err)
	}
	return parseMachineStat(b)
}

// parseMachineStat reads the first line of /proc/stat,
// "cpu user nice system idle iowait irq softirq steal ...".
func parseMachineStat(b []byte) (busy, total time.Duration, err error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, errors.New("machine cpu: /proc/stat has no cpu line with 8 times")
	}
	if busy, err = sumTicks(f[1:4]); err != nil {
		return 0, 0, fmt.Errorf("machine %w", err)
	}
	if total, err = sumTicks(f[1:9]); err != nil {
		return 0, 0, fmt.Errorf("machine %w", err)
	}
	return busy, total, nil
}

// selfCPU is this process's CPU time so far (user and system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// parseCPUList reads taskset -cp's "pid N's current affinity list: 0-2,5".
func parseCPUList(s string) []int {
	_, list, ok := strings.Cut(s, ": ")
	if !ok {
		return nil
	}
	var cpus []int
	for part := range strings.SplitSeq(strings.TrimSpace(list), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a || b-a > 4096 {
			return nil
		}
		for i := a; i <= b && len(cpus) < 4096; i++ {
			cpus = append(cpus, i)
		}
	}
	return cpus
}
