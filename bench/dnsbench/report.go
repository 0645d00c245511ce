package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/miekg/dns"

	"protolab/bench/dnsbench/benchzone"
	"protolab/bench/internal/benchkit"
)

// Targets the lab is held to; the report marks each PASS or MISS.
const (
	targetLabOverBare    = 0.9
	targetLabOverDnsmasq = 0.8
	targetStartup        = 100 * time.Millisecond // median
	targetRSS            = 40 << 20               // bytes
)

// figures are the numbers the report prints, computed once so the table
// and the BENCH lines agree.
type figures struct {
	qps       map[string]float64       // best run; absent when not measured
	lost      map[string]int64         // all runs
	cpu       map[string]time.Duration // least server CPU per answered query over the runs
	ratioBare float64                  // lab/bare; 0 when not computable
	ratioDm   float64                  // lab/dnsmasq
	ratioRef  float64                  // bare/dnsmasq
	cpuRatio  float64                  // bare CPU per query / lab CPU per query: lab/bare in queries per CPU-second
	startMed  map[string]time.Duration
	startMax  map[string]time.Duration
	rss       map[string]int64
}

func computeFigures(res *result) figures {
	f := figures{qps: map[string]float64{}, lost: map[string]int64{}, cpu: map[string]time.Duration{},
		startMed: map[string]time.Duration{}, startMax: map[string]time.Duration{}, rss: map[string]int64{}}
	for _, s := range res.servers {
		if b, ok := s.best(); ok && s.ok() {
			f.qps[s.name] = b.QPS
			for _, r := range s.runs {
				f.lost[s.name] += r.Lost
				if c := r.cpuPerQuery(); c > 0 && (f.cpu[s.name] == 0 || c < f.cpu[s.name]) {
					f.cpu[s.name] = c
				}
			}
		}
		if len(s.startups) > 0 && s.startErr == "" {
			f.startMed[s.name] = median(s.startups)
			f.startMax[s.name] = slices.Max(s.startups)
		}
		if s.rss > 0 && s.ok() {
			f.rss[s.name] = s.rss
		}
	}
	f.ratioBare = ratio(f.qps, "lab", "bare")
	f.ratioDm = ratio(f.qps, "lab", "dnsmasq")
	f.ratioRef = ratio(f.qps, "bare", "dnsmasq")
	if lab, bare := f.cpu["lab"], f.cpu["bare"]; lab > 0 && bare > 0 {
		f.cpuRatio = float64(bare) / float64(lab)
	}
	return f
}

func ratio(qps map[string]float64, a, b string) float64 {
	x, okA := qps[a]
	y, okB := qps[b]
	if !okA || !okB || y <= 0 {
		return 0
	}
	return x / y
}

// median of a non-empty list (the lower middle for an even count).
func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return s[(len(s)-1)/2]
}

func printReport(w io.Writer, res *result) {
	f := computeFigures(res)
	o := res.opts
	fmt.Fprintln(w, "DNS benchmark: the lab's DNS server, a bare miekg/dns responder and dnsmasq")
	fmt.Fprintf(w, "  machine:  %d CPUs, load average %s at start\n", res.cpus, orNA(res.loadavg))
	fmt.Fprintf(w, "  dnsperf:  %s, %s, UDP; %s, best kept\n",
		orNA(res.dnsperfVer), strings.Join(o.perf.args("127.0.0.1", "PORT", "queries.txt")[6:], " "), rounds(o.rounds))
	fmt.Fprintf(w, "  queries:  %d (%s) from %s\n", len(res.questions), describe(res.questions), res.zoneSource)
	if res.pinning != "" {
		fmt.Fprintf(w, "  pinning:  %s\n", res.pinning)
	}
	if res.otherCPU >= 0 {
		fmt.Fprintf(w, "  noise:    other processes used %.0f%% of the machine's CPU during the load\n", 100*res.otherCPU)
	}
	if res.otherCPU > benchkit.NoisyAbove {
		fmt.Fprintln(w, "  warning:  the machine was busy: the rates are noisy; CPU per query is steadier,\n"+
			"            but run again on an idle machine before trusting the ratios")
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "Throughput")
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "  server\tbest qps\tall runs (qps)\tCPU per query\tCPU server/dnsperf\tsent\tlost\tanswers")
	var notes []string
	for _, s := range res.servers {
		best, ok := s.best()
		if !ok || !s.ok() {
			fmt.Fprintf(tw, "  %s\t-\t-\t-\t-\t-\t-\t-\n", s.name)
		} else {
			var all []string
			var sent int64
			for _, r := range s.runs {
				all = append(all, strconv.FormatFloat(r.QPS, 'f', 0, 64))
				sent += r.Sent
			}
			cpu := "-"
			if c, ok := f.cpu[s.name]; ok {
				cpu = fmtUS(c) + " µs"
			}
			fmt.Fprintf(tw, "  %s\t%.0f\t%s\t%s\t%s\t%d\t%d\t%s\n", s.name, best.QPS, strings.Join(all, " "),
				cpu, benchkit.ShareOrDash(best.share(best.ServerCPU))+"/"+benchkit.ShareOrDash(best.share(best.ClientCPU)),
				sent, f.lost[s.name], rcodes(s.runs))
		}
		if s.note != "" {
			notes = append(notes, fmt.Sprintf("  %s: %s", s.name, s.note))
		}
		if ok && best.share(best.ClientCPU) >= 0.95 && best.share(best.ServerCPU) < 0.9 {
			notes = append(notes, fmt.Sprintf("  %s: dnsperf ran out of CPU before the server did: %s can answer more than shown", s.name, s.name))
		}
		for _, w := range s.warnings {
			notes = append(notes, fmt.Sprintf("  %s: %s", s.name, w))
		}
		if len(s.diffs) > 0 {
			notes = append(notes, fmt.Sprintf("  %s: answers differ from the zone: %s", s.name, strings.Join(s.diffs, "; ")))
		}
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	noisy := benchkit.NoisySuffix(res.otherCPU)
	fmt.Fprintf(tw, "  lab/bare\t%s\ttarget >= %.2f\t%s%s\n", benchkit.RatioOrDash(f.ratioBare), targetLabOverBare,
		benchkit.Verdict(f.ratioBare > 0, f.ratioBare >= targetLabOverBare), noisy)
	fmt.Fprintf(tw, "  lab/dnsmasq\t%s\ttarget >= %.2f\t%s%s\n", benchkit.RatioOrDash(f.ratioDm), targetLabOverDnsmasq,
		benchkit.Verdict(f.ratioDm > 0, f.ratioDm >= targetLabOverDnsmasq), noisy)
	fmt.Fprintf(tw, "  bare/dnsmasq\t%s\t(for reference)\t\n", benchkit.RatioOrDash(f.ratioRef))
	fmt.Fprintf(tw, "  lab/bare by CPU per query\t%s\t(steadier on a busy machine)\t\n", benchkit.RatioOrDash(f.cpuRatio))
	tw.Flush()
	fmt.Fprintln(w)

	fmt.Fprintf(w, "Start-up: exec to first answer, %d starts each, queried every 1 ms\n", o.startups)
	tw = tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "  server\tmedian\tmax\tall\t")
	notes = notes[:0]
	for _, s := range res.servers {
		med, ok := f.startMed[s.name]
		target := ""
		if s.name == "lab" {
			target = fmt.Sprintf("target median <= %v  %s", targetStartup, benchkit.Verdict(ok, med <= targetStartup))
		}
		if !ok {
			fmt.Fprintf(tw, "  %s\t-\t-\t-\t%s\n", s.name, target)
		} else {
			var all []string
			for _, d := range s.startups {
				all = append(all, benchkit.MS(d))
			}
			fmt.Fprintf(tw, "  %s\t%s ms\t%s ms\t%s\t%s\n", s.name, benchkit.MS(med), benchkit.MS(f.startMax[s.name]),
				strings.Join(all, " "), target)
		}
		switch {
		case s.startErr != "":
			notes = append(notes, fmt.Sprintf("  %s: failed: %s", s.name, s.startErr))
		case !ok && s.name == "lab":
			notes = append(notes, "  lab: not measured (see above)")
		}
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "Peak RSS after the load (VmHWM)")
	tw = tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, s := range res.servers {
		rss, ok := f.rss[s.name]
		target := ""
		if s.name == "lab" {
			target = fmt.Sprintf("target <= %d MiB  %s", targetRSS>>20, benchkit.Verdict(ok, rss <= targetRSS))
		}
		v := "-"
		if ok {
			v = benchkit.MiB(rss) + " MiB"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.name, v, target)
	}
	tw.Flush()
	fmt.Fprintln(w)

	fmt.Fprintln(w, "Lab events after the load (lab status --json)")
	switch {
	case res.events != nil:
		fmt.Fprintf(w, "  published %d, dropped %d, for %d queries answered under load\n",
			res.events.published, res.events.dropped, res.labQueries)
	case res.eventsNote != "":
		fmt.Fprintf(w, "  not available: %s\n", res.eventsNote)
	default:
		fmt.Fprintln(w, "  not available: the lab was not measured")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Run time: %v\n\n", res.elapsed.Round(time.Second))

	for _, l := range benchLines(res, f) {
		fmt.Fprintln(w, l)
	}
}

// benchLines are the machine-readable figures, one "BENCH key=value" a
// line; a figure that could not be measured is NA.
func benchLines(res *result, f figures) []string {
	var out []string
	add := func(key, val string) { out = append(out, "BENCH dns."+key+"="+val) }
	for _, s := range res.servers {
		n := s.name
		q, ok := f.qps[n]
		add("qps."+n, cond(ok, strconv.FormatFloat(q, 'f', 0, 64)))
		add("lost."+n, cond(ok, strconv.FormatInt(f.lost[n], 10)))
		c, okC := f.cpu[n]
		add("cpu_us_per_query."+n, cond(okC, fmtUS(c)))
	}
	add("ratio.lab_bare", cond(f.ratioBare > 0, benchkit.RatioOrDash(f.ratioBare)))
	add("ratio.lab_dnsmasq", cond(f.ratioDm > 0, benchkit.RatioOrDash(f.ratioDm)))
	add("ratio.bare_dnsmasq", cond(f.ratioRef > 0, benchkit.RatioOrDash(f.ratioRef)))
	add("cpu_ratio.lab_bare", cond(f.cpuRatio > 0, benchkit.RatioOrDash(f.cpuRatio)))
	for _, s := range res.servers {
		med, ok := f.startMed[s.name]
		add("startup_median_ms."+s.name, cond(ok, benchkit.MS(med)))
		add("startup_max_ms."+s.name, cond(ok, benchkit.MS(f.startMax[s.name])))
	}
	for _, s := range res.servers {
		rss, ok := f.rss[s.name]
		add("peak_rss_mib."+s.name, cond(ok, benchkit.MiB(rss)))
	}
	add("other_cpu_pct", cond(res.otherCPU >= 0, func() string { return strconv.FormatFloat(100*res.otherCPU, 'f', 0, 64) }))
	ev := res.events
	add("events.lab", cond(ev != nil, func() string { return strconv.FormatUint(ev.published, 10) }))
	add("events_dropped.lab", cond(ev != nil, func() string { return strconv.FormatUint(ev.dropped, 10) }))
	med, okS := f.startMed["lab"]
	rss, okR := f.rss["lab"]
	add("target.lab_bare", benchkit.Verdict(f.ratioBare > 0, f.ratioBare >= targetLabOverBare))
	add("target.lab_dnsmasq", benchkit.Verdict(f.ratioDm > 0, f.ratioDm >= targetLabOverDnsmasq))
	add("target.startup_lab", benchkit.Verdict(okS, med <= targetStartup))
	add("target.peak_rss_lab", benchkit.Verdict(okR, rss <= targetRSS))
	return out
}

// cond is v when ok, else NA; v is a string or a func() string (evaluated
// only when ok).
func cond(ok bool, v any) string {
	if !ok {
		return "NA"
	}
	switch v := v.(type) {
	case func() string:
		return v()
	case string:
		return v
	}
	return fmt.Sprint(v)
}

func rounds(n int) string {
	if n == 1 {
		return "1 round"
	}
	return strconv.Itoa(n) + " rounds interleaved"
}

func fmtUS(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 2, 64)
}

func orNA(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// rcodes summarizes the response codes of all runs: "all NOERROR" or the
// share of each code.
func rcodes(runs []perfResult) string {
	total := map[string]int64{}
	var n int64
	for _, r := range runs {
		for k, v := range r.Rcodes {
			total[k] += v
			n += v
		}
	}
	if n == 0 {
		return "none"
	}
	if total["NOERROR"] == n {
		return "all NOERROR"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(total)) {
		parts = append(parts, fmt.Sprintf("%s %.2f%%", k, 100*float64(total[k])/float64(n)))
	}
	return strings.Join(parts, ", ")
}

// describe says what the questions are: "6 names x A, AAAA".
func describe(qs []benchzone.Question) string {
	names := map[string]bool{}
	types := map[string]bool{}
	for _, q := range qs {
		names[q.Name] = true
		types[dns.TypeToString[q.Type]] = true
	}
	return fmt.Sprintf("%d names x %s", len(names), strings.Join(slices.Sorted(maps.Keys(types)), ", "))
}
