package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// tick is the unit of the CPU times in /proc (USER_HZ: 100 on Linux).
const tick = 10 * time.Millisecond

// maxTick bounds a tick count read from /proc (about 20 years of CPU), so
// that sums of a few stay far from overflowing a time.Duration.
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
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("peak rss: odd line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || kb > 1<<40 {
			return 0, fmt.Errorf("peak rss: odd value %q", f[0])
		}
		return kb << 10, nil
	}
	if sc.Err() != nil {
		return 0, fmt.Errorf("peak rss: %w", sc.Err())
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
// Field 2, the command name, is in parentheses and may itself hold spaces
// and parentheses, so fields are counted after the last ')'; the first one
// there is field 3.
func parseProcStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("cpu time: stat has no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu time: stat has %d fields after the name, want 13 or more", len(f))
	}
	ticks, err := sumTicks(f[11:13])
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	return time.Duration(ticks) * tick, nil
}

// machineCPU reads the machine's CPU counters since boot from /proc/stat.
func machineCPU() (busy, total time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("machine cpu: %w", err)
	}
	return parseMachineStat(b)
}

// parseMachineStat reads the first line of /proc/stat, "cpu user nice
// system idle iowait irq softirq steal ...". Busy is the time processes ran
// (user, nice, system) plus steal (a hypervisor ran someone else); total
// adds idle, iowait, irq and softirq. Interrupt time is neither busy nor
// idle here: it is mostly the kernel carrying the benchmark's own loopback
// traffic, charged to no process.
func parseMachineStat(b []byte) (busy, total time.Duration, err error) {
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, errors.New("machine cpu: /proc/stat does not start with a cpu line")
	}
	all, err := sumTicks(f[1:9])
	if err != nil {
		return 0, 0, fmt.Errorf("machine cpu: %w", err)
	}
	b1, _ := sumTicks(f[1:4])
	b2, _ := sumTicks(f[8:9])
	return time.Duration(b1+b2) * tick, time.Duration(all) * tick, nil
}

func sumTicks(fields []string) (int64, error) {
	var sum int64
	for _, s := range fields {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > maxTick {
			return 0, fmt.Errorf("bad tick count %q", s)
		}
		sum += n
	}
	return sum, nil
}

// cpuSet is a CPU affinity mask, room for 1024 CPUs.
type cpuSet [16]uint64

// allowedCPUs lists the CPUs this process may run on (a container or
// taskset may have narrowed them).
func allowedCPUs() ([]int, error) {
	var set cpuSet
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(set),
		uintptr(unsafe.Pointer(&set))); e != 0 {
		return nil, fmt.Errorf("cpu affinity: %w", e)
	}
	var cpus []int
	for i := range len(set) * 64 {
		if set[i/64]&(1<<(i%64)) != 0 {
			cpus = append(cpus, i)
		}
	}
	return cpus, nil
}

// pinSelf puts every thread of this process on one CPU, so that the IMAP
// client it runs stays off the server's CPU. Threads the Go runtime starts
// later inherit the mask of the thread that starts them. Two passes catch
// a thread started during the first.
func pinSelf(cpu int) error {
	var set cpuSet
	set[cpu/64] |= 1 << (cpu % 64)
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("pin: %w", err)
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid), unsafe.Sizeof(set),
				uintptr(unsafe.Pointer(&set))); e != 0 && e != syscall.ESRCH {
				return fmt.Errorf("pin thread %d: %w", tid, e)
			}
		}
	}
	return nil
}

// freePorts returns n distinct TCP ports on 127.0.0.1 that were free a
// moment ago. Another program may take one before our server binds it; the
// server then fails with a clear error, which the report shows.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		defer ln.Close() // held until all are picked, so that they differ
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
