package benchkit

import (
	"testing"
	"time"
)

func TestFormats(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"verdict pass", Verdict(true, true), "PASS"},
		{"verdict miss", Verdict(true, false), "MISS"},
		{"verdict no figure", Verdict(false, true), "NA"},
		{"ratio verdict pass", RatioVerdict(1.2, 1), "PASS"},
		{"ratio verdict at target", RatioVerdict(1, 1), "PASS"},
		{"ratio verdict zero", RatioVerdict(0, 1), "MISS"},
		{"ratio verdict miss", RatioVerdict(0.5, 1), "MISS"},
		{"ratio verdict unknown", RatioVerdict(-1, 1), "NA"},
		{"noisy", NoisySuffix(0.06), " (noisy)"},
		{"not noisy", NoisySuffix(0.05), ""},
		{"noise unknown", NoisySuffix(-1), ""},
		{"noise line unknown", NoiseLine(-1), "  noise: unknown (/proc/stat unreadable)"},
		{"noise line noisy", NoiseLine(0.123), "  noise: other processes used 12% of the machine's CPU: run again on an idle machine before trusting the rates"},
		{"noise line quiet", NoiseLine(0.01), "  noise: other processes used 1% of the machine's CPU"},
		{"ratio", RatioOrNA(1.234), "1.23"},
		{"ratio zero", RatioOrNA(0), "0.00"},
		{"ratio unknown", RatioOrNA(-1), "NA"},
		{"mib", MiBOrNA(3 << 19), "1.5"},
		{"mib unknown", MiBOrNA(0), "NA"},
		{"mib unit", MiBUnit(3 << 19), "1.5 MiB"},
		{"mib unit unknown", MiBUnit(-1), "NA"},
		{"ratio dash", RatioOrDash(0.905), "0.91"},
		{"ratio dash unknown", RatioOrDash(0), "-"},
		{"share", ShareOrDash(0.456), "46%"},
		{"share unknown", ShareOrDash(-0.1), "-"},
		{"ms", MS(1550 * time.Microsecond), "1.6"},
		{"mib plain", MiB(12940 << 10), "12.6"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}
