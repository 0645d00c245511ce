package benchkit

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"pid 7's current affinity list: 0,1\n", []int{0, 1}},
		{"pid 7's current affinity list: 0-2,5\n", []int{0, 1, 2, 5}},
		{"pid 7's current affinity list: 3\n", []int{3}},
		{"pid 7's current affinity list: 3-1\n", nil},
		{"pid 7's current affinity list: -1\n", nil},
		{"pid 7's current affinity list: 0-99999\n", nil},
		{"pid 7's current affinity list: \n", nil},
		{"garbage", nil},
	}
	for _, tt := range tests {
		if got := ParseCPUList(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("ParseCPUList(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseCPUList(f *testing.F) {
	f.Add("pid 1's current affinity list: 0-3,7")
	f.Add("pid 1's current affinity list: 0-4096,0-4096")
	f.Fuzz(func(t *testing.T, s string) {
		cpus := ParseCPUList(s)
		if len(cpus) > maxCPUs {
			t.Fatalf("%d cpus", len(cpus))
		}
		for _, c := range cpus {
			if c < 0 {
				t.Fatalf("negative cpu in %v", cpus)
			}
		}
	})
}

func TestAllowedCPUs(t *testing.T) {
	cpus, err := AllowedCPUs()
	if err != nil || len(cpus) == 0 {
		t.Fatalf("allowed cpus %v, %v", cpus, err)
	}
	if !slices.IsSorted(cpus) || cpus[0] < 0 {
		t.Errorf("allowed cpus %v: want ascending CPU numbers", cpus)
	}
}

func TestPinTwo(t *testing.T) {
	p, err := PinTwo("/usr/bin/taskset", []int{2, 5, 7})
	if err != nil || p.ClientCPU != 2 || p.ServerCPU != 5 ||
		!slices.Equal(p.Client, []string{"/usr/bin/taskset", "-c", "2"}) ||
		!slices.Equal(p.Server, []string{"/usr/bin/taskset", "-c", "5"}) {
		t.Fatalf("PinTwo = %+v, %v", p, err)
	}
	for _, cpus := range [][]int{nil, {0}} {
		if _, err := PinTwo("taskset", cpus); err == nil || err.Error() != fmt.Sprintf("needs two CPUs, this process may use %d", len(cpus)) {
			t.Errorf("PinTwo with %v: error %v", cpus, err)
		}
	}
}

func TestTasksetCPUs(t *testing.T) {
	if _, err := TasksetCPUs(filepath.Join(t.TempDir(), "missing")); err == nil || err.Error() != "taskset -cp failed" {
		t.Errorf("missing taskset: error %v", err)
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		t.Skip("taskset not installed")
	}
	got, err := TasksetCPUs(taskset)
	want, _ := AllowedCPUs()
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("TasksetCPUs = %v, %v; want %v, as the affinity mask says", got, err, want)
	}
}
