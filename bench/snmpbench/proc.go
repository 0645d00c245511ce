package main

import (
	"bufio"
	"bytes"
	"strings"
	"time"

	"protolab/bench/internal/benchkit"
)

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

// machineCPU is the machine's busy CPU time (user, nice, system: interrupt
// time, mostly the kernel's packet work, left out) and its total time,
// from /proc/stat, summed over all CPUs.
func machineCPU() (busy, total time.Duration, err error) {
	t, err := benchkit.MachineCPU()
	return t.Processes(), t.Total(), err
}
