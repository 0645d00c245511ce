package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// tick is the unit of the CPU times in /proc (USER_HZ: 100 on Linux).
const tick = 10 * time.Millisecond

// maxTick bounds a tick count read from /proc, far from overflowing sums.
const maxTick = 1 << 36

// countVarbinds counts the varbinds in snmpbulkwalk's -On output: the
// lines that start with a numeric OID (".1.3...") followed by " = ".
// Continuation lines of multi-line values do not count, nor the
// end-of-view and no-such markers, which are not objects.
func countVarbinds(out []byte) int {
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if isVarbind(sc.Text()) {
			n++
		}
	}
	return n
}

// isVarbind reports whether line is ".N.N... = VALUE" and VALUE is an object.
func isVarbind(line string) bool {
	oid, val, ok := strings.Cut(line, " = ")
	if !ok || len(oid) < 2 || oid[0] != '.' {
		return false
	}
	for _, arc := range strings.Split(oid[1:], ".") {
		if arc == "" {
			return false
		}
		for _, c := range arc {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	for _, m := range []string{"No more variables left", "No Such Object", "No Such Instance"} {
		if strings.HasPrefix(val, m) {
			return false
		}
	}
	return true
}

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
// time, mostly the kernel's packet work, left out) and its total time,
// from /proc/stat, summed over all CPUs.
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
