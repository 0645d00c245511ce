package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"protolab/bench/internal/benchkit"
)

// machineCPU reads the machine's CPU counters since boot from /proc/stat.
// Busy is the time processes ran (user, nice, system) plus steal (a
// hypervisor ran someone else); total adds idle, iowait, irq and softirq.
// Interrupt time is neither busy nor idle here: it is mostly the kernel
// carrying the benchmark's own loopback traffic, charged to no process.
func machineCPU() (busy, total time.Duration, err error) {
	t, err := benchkit.MachineCPU()
	return t.Busy(), t.Total(), err
}

// cpuSet is a CPU affinity mask, room for 1024 CPUs.
type cpuSet [16]uint64

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
