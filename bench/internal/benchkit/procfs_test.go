package benchkit

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseVmHWM(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr string
	}{
		{"status file", "Name:\tlab\nVmPeak:\t 1288816 kB\nVmHWM:\t   12940 kB\nVmRSS:\t 12000 kB\n", 12940 << 10, ""},
		{"last line without newline", "Name:\tlab\nVmHWM:\t7 kB", 7 << 10, ""},
		{"kernel thread", "Name:\tkthreadd\nState:\tS (sleeping)\n", 0, "no VmHWM"},
		{"empty", "", 0, "no VmHWM"},
		{"other unit", "VmHWM:\t12 MB\n", 0, "odd line"},
		{"extra field", "VmHWM:\t12 kB 3\n", 0, "odd line"},
		{"not a number", "VmHWM:\tx kB\n", 0, "odd value"},
		{"negative", "VmHWM:\t-4 kB\n", 0, "odd value"},
		{"too large", "VmHWM:\t1099511627777 kB\n", 0, "odd value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVmHWM([]byte(tt.status))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func FuzzParseVmHWM(f *testing.F) {
	f.Add([]byte("VmHWM:\t   12940 kB\n"))
	f.Add([]byte("Name:\tx\nVmHWM: 1 kB 2\n"))
	f.Add([]byte("VmHWM:\t1099511627776 kB"))
	f.Fuzz(func(t *testing.T, status []byte) {
		n, err := ParseVmHWM(status)
		if err == nil && (n < 0 || n%1024 != 0 || n > 1<<50) {
			t.Fatalf("peak rss %d bytes", n)
		}
	})
}

const statLine = "4242 (lab (a) b) S 1 4242 4242 0 -1 4194560 1600 0 0 0 250 31 0 0 20 0 9 0 1234 1300000000 3000 18446744073709551615\n"

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr string
	}{
		{"plain", "42 (dnsmasq) S 1 42 42 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 1 0 1 1 1", 2 * time.Second, ""},
		{"name with spaces and parentheses", statLine, 281 * Tick, ""},
		{"name with a lone parenthesis", "42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0", 100 * time.Millisecond, ""},
		{"no name", "4242 lab S 1\n", 0, "no command name"},
		{"too short", "4242 (lab) S 1 2 3\n", 0, "fields"},
		{"negative ticks", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 -5 1 0 0\n", 0, "bad tick"},
		{"not a number", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 4 0 0\n", 0, "bad tick"},
		{"over the bound", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 68719476737 1 0 0", 0, "bad tick"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProcStat([]byte(tt.stat))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte(statLine))
	f.Add([]byte("1 ()) S 1 1 1 0 -1 0 0 0 0 0 68719476736 1 0 0"))
	f.Add([]byte(")"))
	f.Fuzz(func(t *testing.T, stat []byte) {
		d, err := ParseProcStat(stat)
		if err == nil && (d < 0 || d > 2*MaxTick*Tick) {
			t.Fatalf("cpu time %v", d)
		}
	})
}

func TestParseMachineStat(t *testing.T) {
	tests := []struct {
		name                   string
		stat                   string
		processes, busy, total time.Duration
		wantErr                string
	}{
		{"two cpus", "cpu  100 5 40 800 10 3 7 2 0 0\ncpu0 50 2 20 400 5 1 3 1 0 0\n", 145 * Tick, 147 * Tick, 967 * Tick, ""},
		{"no steal", "cpu  100 5 20 800 10 3 2 0 0 0\ncpu0 1 2 3 4 5 6 7 8\n", 125 * Tick, 125 * Tick, 940 * Tick, ""},
		{"old kernel, no guest columns", "cpu 1 1 1 1 1 1 1 1\n", 3 * Tick, 4 * Tick, 8 * Tick, ""},
		{"empty", "", 0, 0, 0, "cpu line"},
		{"no cpu line", "intr 1 2 3 4 5 6 7 8\n", 0, 0, 0, "cpu line"},
		{"short", "cpu 1 2 3\n", 0, 0, 0, "cpu line"},
		{"cpu line not first", "intr 1\ncpu 1 1 1 1 1 1 1 1\n", 0, 0, 0, "cpu line"},
		{"bad count", "cpu 1 2 x 4 5 6 7 8\n", 0, 0, 0, "bad tick"},
		{"negative steal", "cpu 1 2 3 4 5 6 7 -8\n", 0, 0, 0, "bad tick"},
		{"over the bound", "cpu 0 0 0 1000000000000 0 0 0 0", 0, 0, 0, "bad tick"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseMachineStat([]byte(tt.stat))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || c.Processes() != tt.processes || c.Busy() != tt.busy || c.Total() != tt.total {
				t.Fatalf("got %v/%v/%v, %v; want %v/%v/%v", c.Processes(), c.Busy(), c.Total(), err,
					tt.processes, tt.busy, tt.total)
			}
		})
	}
}

func FuzzParseMachineStat(f *testing.F) {
	f.Add([]byte("cpu  100 5 40 800 10 3 7 2 0 0\ncpu0 1\n"))
	f.Add([]byte("cpu 68719476736 0 0 0 0 0 0 68719476736"))
	f.Add([]byte("cpu 0 0 0 0 0 0 0 0"))
	f.Fuzz(func(t *testing.T, stat []byte) {
		c, err := ParseMachineStat(stat)
		if err != nil {
			return
		}
		if c.Processes() < 0 || c.Processes() > c.Busy() || c.Busy() > c.Total() {
			t.Fatalf("processes %v busy %v of total %v", c.Processes(), c.Busy(), c.Total())
		}
	})
}

func TestThisProcess(t *testing.T) {
	rss, err := PeakRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Fatalf("peak rss %d, %v; want at least 1 MiB", rss, err)
	}
	if _, err := ProcCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	c, err := MachineCPU()
	if err != nil || c.Total() <= 0 || c.Busy() > c.Total() {
		t.Fatalf("machine cpu %+v, %v", c, err)
	}
	if _, err := PeakRSS(-1); err == nil {
		t.Error("PeakRSS(-1): no error")
	}
	if _, err := ProcCPU(-1); err == nil {
		t.Error("ProcCPU(-1): no error")
	}
	if f := strings.Fields(Loadavg()); len(f) != 3 {
		t.Errorf("Loadavg() = %q, want three fields", Loadavg())
	}
}
