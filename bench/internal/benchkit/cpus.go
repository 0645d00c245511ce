package benchkit

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// maxCPUs bounds the CPU lists read here.
const maxCPUs = 4096

// ParseCPUList reads taskset -cp's "pid N's current affinity list: 0-2,5"
// and returns the CPUs in the order listed; nil when the text is not such
// a line.
func ParseCPUList(s string) []int {
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
		if err1 != nil || err2 != nil || a < 0 || b < a || b-a > maxCPUs {
			return nil
		}
		for i := a; i <= b && len(cpus) < maxCPUs; i++ {
			cpus = append(cpus, i)
		}
	}
	return cpus
}

// AllowedCPUs lists the CPUs this process may run on (its affinity mask,
// which a container or taskset may have narrowed).
func AllowedCPUs() ([]int, error) {
	var mask [16]uint64 // room for 1024 CPUs
	if _, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(mask),
		uintptr(unsafe.Pointer(&mask))); errno != 0 {
		return nil, fmt.Errorf("cpu affinity: %w", errno)
	}
	var cpus []int
	for i := range len(mask) * 64 {
		if mask[i/64]&(1<<(i%64)) != 0 {
			cpus = append(cpus, i)
		}
	}
	return cpus, nil
}

// TasksetCPUs asks taskset, at path taskset, which CPUs this process may
// run on.
func TasksetCPUs(taskset string) ([]int, error) {
	out, err := exec.Command(taskset, "-cp", strconv.Itoa(os.Getpid())).Output()
	if err != nil {
		return nil, errors.New("taskset -cp failed")
	}
	return ParseCPUList(string(out)), nil
}

// Pinning is a plan to keep a load client and a server off each other's
// CPU with taskset.
type Pinning struct {
	Client, Server       []string // command prefixes, "taskset -c N"
	ClientCPU, ServerCPU int
}

// PinTwo plans the client on the first of cpus and the server on the
// second, with taskset at path taskset. It fails when there are fewer than
// two CPUs.
func PinTwo(taskset string, cpus []int) (Pinning, error) {
	if len(cpus) < 2 {
		return Pinning{}, fmt.Errorf("needs two CPUs, this process may use %d", len(cpus))
	}
	c, s := strconv.Itoa(cpus[0]), strconv.Itoa(cpus[1])
	return Pinning{Client: []string{taskset, "-c", c}, Server: []string{taskset, "-c", s},
		ClientCPU: cpus[0], ServerCPU: cpus[1]}, nil
}
