package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"protolab/bench/internal/benchkit"
)

// Targets the report holds the lab to; it marks each PASS or MISS.
const (
	targetP99 = 50 * time.Millisecond // from the server seeing the action to the tick on the stream
	targetRSS = 200 << 20             // peak RSS of lab serve, bytes
)

// percentile is the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value with at least p% of the values
// at or below it. It is 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// figures are the numbers both the text and the BENCH lines print.
type figures struct {
	tasks          int
	expected       int // learners × tasks
	seen           int // ticks the stream showed
	timed          int // of them, ticks with a latency (a "learner" frame)
	done           int // cells done in the grid after the load
	gridOK         bool
	p50, p99, max  time.Duration
	ticksPass      bool
	failed         int            // learners whose steps did not all run
	failedSteps    map[string]int // step → learners it failed for
	firstErr       string         // the first error, for the report
	published      uint64
	dropped        uint64
	statusOK       bool
	journalOK      bool // published, dropped and the journal are known
	journalPass    bool
	missing        []string // "learner/task" not seen on the stream, at most a few
	missingTotal   int
	unknownLearner uint64
}

func computeFigures(res *result) figures {
	s := res.stream
	f := figures{tasks: len(s.tasks), failedSteps: map[string]int{}}
	f.expected = res.learners * f.tasks
	f.seen = len(s.seen) - s.before
	f.timed = len(s.lat)
	lat := slices.Clone(s.lat)
	slices.Sort(lat)
	if len(lat) > 0 {
		f.p50, f.p99, f.max = percentile(lat, 50), percentile(lat, 99), lat[len(lat)-1]
	}
	if g := res.grid; g != nil {
		f.gridOK = true
		f.unknownLearner = g.Unknown
		for _, l := range g.Learners {
			for _, c := range l.Cells {
				if c.Done {
					f.done++
				}
			}
		}
	}
	f.ticksPass = f.expected > 0 && f.seen == f.expected && f.gridOK && f.done == f.expected
	for _, r := range res.runs {
		if r.failed != "" {
			f.failed++
			f.failedSteps[r.failed]++
			if f.firstErr == "" {
				f.firstErr = r.id + ": " + r.failed + ": " + r.err.Error()
			}
		}
	}
	if st := res.status; st != nil {
		f.statusOK = true
		f.published, f.dropped = st.Events, st.Dropped
	}
	f.journalOK = f.statusOK && res.journal >= 0
	f.journalPass = f.journalOK && f.dropped == 0 && uint64(res.journal) == f.published
	for i := range res.learners {
		id := fmt.Sprintf("learner-%03d", i+1)
		for _, t := range s.tasks {
			if !s.seen[tickKey{id, t}] {
				f.missingTotal++
				if len(f.missing) < 5 {
					f.missing = append(f.missing, id+"/"+t)
				}
			}
		}
	}
	return f
}

func printReport(w io.Writer, res *result) {
	f := computeFigures(res)
	s := res.stream
	fmt.Fprintf(w, "Classroom benchmark: one `lab serve --lab %s`, %d learners running its %d tasks at once\n",
		labID, res.learners, f.tasks)
	fmt.Fprintf(w, "  machine:  %d CPUs, load average %s at start\n", res.cpus, orText(res.loadavg, "unknown"))
	fmt.Fprintf(w, "  learners: learner-001... on 127.0.10.1..., each with its own mail account; Go clients (net/smtp,\n"+
		"            POP3 over net/textproto, go-imap), bound to the learner's address\n")
	fmt.Fprintf(w, "  tasks:    %s\n", strings.Join(s.tasks, " "))
	if res.opts.ramp > 0 {
		fmt.Fprintf(w, "  ramp:     the learners' starts spread over %v\n", res.opts.ramp)
	} else {
		fmt.Fprintln(w, "  ramp:     none, every learner starts at the same instant")
	}
	fmt.Fprintln(w, benchkit.NoiseLine(res.otherCPU))
	fmt.Fprintln(w)

	fmt.Fprintln(w, "Learners")
	fmt.Fprintf(w, "  %d learners ran every step in %.2f s; %d failed", res.learners-f.failed, res.loadWall.Seconds(), f.failed)
	if f.failed > 0 {
		var parts []string
		for _, st := range steps {
			if n := f.failedSteps[st]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", st, n))
			}
		}
		fmt.Fprintf(w, " (%s)\n  first error: %s", strings.Join(parts, ", "), f.firstErr)
	}
	fmt.Fprintln(w)
	if len(res.runs) > 0 {
		el := make([]time.Duration, 0, len(res.runs))
		for _, r := range res.runs {
			el = append(el, r.elapsed)
		}
		slices.Sort(el)
		fmt.Fprintf(w, "  one learner's %d steps: p50 %s ms, max %s ms\n", len(steps),
			benchkit.MS(percentile(el, 50)), benchkit.MS(el[len(el)-1]))
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "Ticks on the dashboard's event stream (/api/class/events)")
	done := "unknown"
	if f.gridOK {
		done = strconv.Itoa(f.done)
	}
	fmt.Fprintf(w, "  expected %d (%d learners x %d tasks), seen on the stream %d, done in /api/class %s   target all   %s\n",
		f.expected, res.learners, f.tasks, f.seen, done, benchkit.Verdict(f.expected > 0, f.ticksPass))
	if f.missingTotal > 0 {
		fmt.Fprintf(w, "  not seen: %d, e.g. %s\n", f.missingTotal, strings.Join(f.missing, " "))
	}
	if res.gridErr != "" {
		fmt.Fprintf(w, "  /api/class: %s\n", res.gridErr)
	}
	fmt.Fprintln(w, "  latency, from the server seeing the action (the tick's done_at: the event's time)")
	fmt.Fprintln(w, "  to the learner's new row arriving on the stream:")
	if f.timed > 0 {
		fmt.Fprintf(w, "    p50 %s ms   p99 %s ms   max %s ms   over %d ticks   target p99 <= %s ms   %s%s\n",
			benchkit.MS(f.p50), benchkit.MS(f.p99), benchkit.MS(f.max), f.timed, benchkit.MS(targetP99),
			benchkit.Verdict(true, f.p99 <= targetP99), benchkit.NoisySuffix(res.otherCPU))
	} else {
		fmt.Fprintf(w, "    not measured: no tick arrived on the stream   target p99 <= %s ms   NA\n", benchkit.MS(targetP99))
	}
	for _, task := range s.tasks {
		l := slices.Clone(s.byTask[task])
		if len(l) == 0 {
			continue
		}
		slices.Sort(l)
		fmt.Fprintf(w, "    %-12s p50 %s ms   p99 %s ms   over %d ticks\n", task, benchkit.MS(percentile(l, 50)),
			benchkit.MS(percentile(l, 99)), len(l))
	}
	if res.tickWall > 0 {
		fmt.Fprintf(w, "    last tick %.2f s after the learners started\n", res.tickWall.Seconds())
	}
	fmt.Fprintf(w, "  stream: %d connection(s), %d ended by the server; %d learner rows, %d events",
		s.conns, s.cuts, s.rows, s.events)
	if s.resync > 0 {
		fmt.Fprintf(w, "; %d ticks seen only in the class sent again on reconnection (not timed)", s.resync)
	}
	if s.early > 0 {
		fmt.Fprintf(w, "; %d ticks stamped after their arrival (counted as 0)", s.early)
	}
	if s.badData > 0 {
		fmt.Fprintf(w, "; %d frames unreadable", s.badData)
	}
	fmt.Fprintln(w)
	if res.streamErr != "" {
		fmt.Fprintf(w, "  stream error: %s\n", res.streamErr)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "Events and journal (lab status --json after the load; the journal once the lab stopped)")
	switch {
	case f.journalOK:
		fmt.Fprintf(w, "  published %d, dropped %d, in the journal %d   target dropped 0, journal = published   %s\n",
			f.published, f.dropped, res.journal, benchkit.Verdict(true, f.journalPass))
	default:
		fmt.Fprintf(w, "  not measured: %s   NA\n", orText(res.statusErr, orText(res.journErr, "unknown")))
	}
	if f.gridOK {
		fmt.Fprintf(w, "  events from no learner of the roster: %d\n", f.unknownLearner)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "lab serve process")
	cpuLine := "  CPU (user+system, all threads):"
	if res.cpuLoad >= 0 && res.cpuWall > 0 {
		cpuLine += fmt.Sprintf(" %.2f s over the load's %.2f s (%.0f%% of one CPU);",
			res.cpuLoad.Seconds(), res.cpuWall.Seconds(), 100*res.cpuLoad.Seconds()/res.cpuWall.Seconds())
	}
	if res.cpuTotal >= 0 {
		cpuLine += fmt.Sprintf(" %.2f s in all", res.cpuTotal.Seconds())
	} else {
		cpuLine += " unknown"
	}
	fmt.Fprintln(w, cpuLine)
	fmt.Fprintf(w, "  peak RSS (VmHWM) %s   target <= %s MiB   %s\n", benchkit.MiBUnit(res.rss), benchkit.MiB(targetRSS),
		benchkit.Verdict(res.rss > 0, res.rss <= targetRSS))
	for _, n := range res.notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	fmt.Fprintf(w, "\nRun time: %v\n\n", res.elapsed.Round(100*time.Millisecond))
	for _, l := range benchLines(res, f) {
		fmt.Fprintln(w, l)
	}
}

// benchLines are the figures for machines, one "BENCH class.KEY=VALUE" a
// line, NA when a figure could not be measured.
func benchLines(res *result, f figures) []string {
	var out []string
	add := func(key string, ok bool, val func() string) {
		v := "NA"
		if ok {
			v = val()
		}
		out = append(out, "BENCH class."+key+"="+v)
	}
	itoa := strconv.Itoa
	add("learners", true, func() string { return itoa(res.learners) })
	add("tasks", f.tasks > 0, func() string { return itoa(f.tasks) })
	add("learners_failed", len(res.runs) > 0, func() string { return itoa(f.failed) })
	add("ticks_expected", f.tasks > 0, func() string { return itoa(f.expected) })
	add("ticks_seen", true, func() string { return itoa(f.seen) })
	add("ticks_done", f.gridOK, func() string { return itoa(f.done) })
	add("tick_p50_ms", f.timed > 0, func() string { return benchkit.MS(f.p50) })
	add("tick_p99_ms", f.timed > 0, func() string { return benchkit.MS(f.p99) })
	add("tick_max_ms", f.timed > 0, func() string { return benchkit.MS(f.max) })
	add("load_s", len(res.runs) > 0, func() string { return strconv.FormatFloat(res.loadWall.Seconds(), 'f', 2, 64) })
	add("events", f.statusOK, func() string { return strconv.FormatUint(f.published, 10) })
	add("events_dropped", f.statusOK, func() string { return strconv.FormatUint(f.dropped, 10) })
	add("journal", res.journal >= 0, func() string { return strconv.FormatInt(res.journal, 10) })
	add("stream_events", true, func() string { return itoa(res.stream.events) })
	add("cpu_load_s", res.cpuLoad >= 0, func() string { return strconv.FormatFloat(res.cpuLoad.Seconds(), 'f', 2, 64) })
	add("cpu_total_s", res.cpuTotal >= 0, func() string { return strconv.FormatFloat(res.cpuTotal.Seconds(), 'f', 2, 64) })
	add("peak_rss_mib", res.rss > 0, func() string { return benchkit.MiB(res.rss) })
	add("other_cpu_pct", res.otherCPU >= 0, func() string { return strconv.FormatFloat(100*res.otherCPU, 'f', 0, 64) })
	add("target.ticks", true, func() string { return benchkit.Verdict(f.expected > 0, f.ticksPass) })
	add("target.tick_p99", true, func() string { return benchkit.Verdict(f.timed > 0, f.p99 <= targetP99) })
	add("target.journal", true, func() string { return benchkit.Verdict(f.journalOK, f.journalPass) })
	add("target.peak_rss", true, func() string { return benchkit.Verdict(res.rss > 0, res.rss <= targetRSS) })
	return out
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
