package main

import (
	"syscall"
	"time"

	"protolab/bench/internal/benchkit"
)

// machineCPU is the machine's busy CPU time (user, nice, system: interrupt
// time, where the kernel moves the packets over the veth, left out) and
// its total time, from /proc/stat, summed over all CPUs.
func machineCPU() (busy, total time.Duration, err error) {
	t, err := benchkit.MachineCPU()
	return t.Processes(), t.Total(), err
}

// selfCPU is this process's CPU time so far (user and system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
