package benchkit

import (
	"fmt"
	"time"
)

// Noise sums, over the loads of a run, the machine's CPU time that went to
// work other than the benchmark's own, for the report's noise figure. The
// zero value is ready to use.
type Noise struct {
	others, total time.Duration
	unknown       bool
}

// Add counts one load: busy and total are the machine's busy and total CPU
// time across it, own what the server and the load client used of it.
func (n *Noise) Add(busy, total, own time.Duration) {
	n.others += max(busy-own, 0)
	n.total += total
}

// Unknown marks a load whose CPU times could not be read: the share is
// then unknown.
func (n *Noise) Unknown() { n.unknown = true }

// Share is the fraction of the machine's CPU time that other work used
// during the loads; -1 when unknown.
func (n *Noise) Share() float64 {
	if n.unknown || n.total <= 0 {
		return -1
	}
	return float64(n.others) / float64(n.total)
}

// NoisyAbove is the share of the machine's CPU used by other work above
// which a report warns that its rates are noisy.
const NoisyAbove = 0.05

// NoisySuffix is " (noisy)", to follow a verdict, when other work used more
// than NoisyAbove of the machine's CPU (otherCPU, from Share); "" otherwise.
func NoisySuffix(otherCPU float64) string {
	if otherCPU > NoisyAbove {
		return " (noisy)"
	}
	return ""
}

// NoiseLine is a report's line on the noise, without a newline, for the
// share otherCPU from Share.
func NoiseLine(otherCPU float64) string {
	switch {
	case otherCPU < 0:
		return "  noise: unknown (/proc/stat unreadable)"
	case otherCPU > NoisyAbove:
		return fmt.Sprintf("  noise: other processes used %.0f%% of the machine's CPU: run again on an idle machine before trusting the rates", otherCPU*100)
	}
	return fmt.Sprintf("  noise: other processes used %.0f%% of the machine's CPU", otherCPU*100)
}
