package benchkit

import (
	"fmt"
	"strconv"
	"time"
)

// Verdict is "PASS" or "MISS" as pass says, "NA" when there is no figure to
// judge.
func Verdict(have, pass bool) string {
	switch {
	case !have:
		return "NA"
	case pass:
		return "PASS"
	}
	return "MISS"
}

// RatioVerdict is "PASS" when ratio reaches target, "MISS" when it does
// not, and "NA" when the ratio is unknown (negative).
func RatioVerdict(ratio, target float64) string { return Verdict(!(ratio < 0), ratio >= target) }

// RatioOrNA prints a ratio with two decimals, "NA" when unknown (negative).
func RatioOrNA(x float64) string {
	if x < 0 {
		return "NA"
	}
	return fmt.Sprintf("%.2f", x)
}

// MiBOrNA prints a size in MiB with one decimal, "NA" when unknown (zero
// or negative).
func MiBOrNA(b int64) string {
	if b <= 0 {
		return "NA"
	}
	return fmt.Sprintf("%.1f", float64(b)/(1<<20))
}

// MiBUnit is MiBOrNA with " MiB" after a known size.
func MiBUnit(b int64) string {
	if b <= 0 {
		return "NA"
	}
	return MiBOrNA(b) + " MiB"
}

// RatioOrDash prints a ratio with two decimals, "-" when unknown (zero or
// negative).
func RatioOrDash(r float64) string {
	if r <= 0 {
		return "-"
	}
	return strconv.FormatFloat(r, 'f', 2, 64)
}

// ShareOrDash prints a fraction of one CPU as a whole percentage, "-" when
// unknown (zero or negative).
func ShareOrDash(x float64) string {
	if x <= 0 {
		return "-"
	}
	return strconv.FormatFloat(100*x, 'f', 0, 64) + "%"
}

// MS prints d in milliseconds with one decimal.
func MS(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}

// MiB prints a size in MiB with one decimal.
func MiB(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) }
