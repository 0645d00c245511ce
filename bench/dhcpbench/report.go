package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"protolab/bench/internal/benchkit"
)

func printReport(w io.Writer, r *result) {
	o := r.opts
	dnsmasqLog := "logging every DHCP message to a file"
	if o.quiet {
		dnsmasqLog = "--quiet-dhcp"
	}
	fmt.Fprintf(w, "DHCP: DISCOVER, OFFER, REQUEST, ACK over a veth; %d exchanges in flight from %d clients, %v per round, best of %d\n",
		o.inflight, o.clients, o.duration, o.rounds)
	fmt.Fprintf(w, "  pool %s-%s, lease %s; dnsmasq %s; leases, logs and the lab's state %s\n",
		poolFirst, poolLast, leaseTime, dnsmasqLog, r.stateWhere)
	fmt.Fprintf(w, "  %d CPUs; pinning: %s\n\n", r.cpus, r.pinning)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "  server\tbest DORA/s\tall rounds (DORA/s)\tmean DORA time\tCPU per DORA\tCPU server/client\ttimeouts\tNAKs\twrong\tpeak RSS")
	for _, s := range []*server{r.lab, r.dnsmasq} {
		b, _, ok := s.best()
		if !ok {
			fmt.Fprintf(tw, "  %s\t%s\n", s.name, s.note)
			continue
		}
		var all []string
		var timeouts, naks, wrong int
		for _, x := range s.runs {
			all = append(all, fmt.Sprintf("%.0f", x.rate()))
			timeouts += x.Timeouts
			naks += x.NAKs
			wrong += x.Wrong
		}
		fmt.Fprintf(tw, "  %s\t%.0f\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", s.name, b.rate(), strings.Join(all, " "),
			meanLatency(b), cpuPer(leastCPU(s.runs)), share(b), timeouts, naks, wrong, benchkit.MiBUnit(s.rss))
	}
	tw.Flush()
	for _, s := range []*server{r.lab, r.dnsmasq} {
		if _, _, ok := s.best(); ok && s.note != "" {
			fmt.Fprintf(w, "  %s: %s\n", s.name, s.note)
		}
		if b, _, ok := s.best(); ok && clientBound(b) {
			fmt.Fprintf(w, "  %s: the load client ran out of CPU first: the server can take more than shown\n", s.name)
		}
		for _, x := range s.runs {
			if x.Problem != "" {
				fmt.Fprintf(w, "  %s: %s\n", s.name, x.Problem)
				break
			}
		}
	}
	ratio, cpu := ratio(r), cpuRatio(r)
	suffix := benchkit.NoisySuffix(r.otherCPU)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  lab/dnsmasq DORA/s            %s   target >= %.1f   %s%s\n", benchkit.RatioOrNA(ratio), target, verdict(ratio), suffix)
	fmt.Fprintf(w, "  lab/dnsmasq by CPU per DORA   %s   (for reference: steadier on a busy machine)\n", benchkit.RatioOrNA(cpu))
	if ev := r.lab.events; ev != nil {
		if ev.err != "" {
			fmt.Fprintf(w, "  lab events: unknown (%s)\n", ev.err)
		} else if b, _, ok := r.lab.best(); ok {
			fmt.Fprintf(w, "  lab events in its best round: %d published (4 per DORA: %d for %d DORA); %d deliveries dropped by subscribers that fell behind\n",
				ev.published, 4*b.DORA, b.DORA, ev.dropped)
		}
	}
	fmt.Fprintln(w, benchkit.NoiseLine(r.otherCPU))
	fmt.Fprintf(w, "  run time %.0f s\n\n", r.elapsed.Seconds())

	for _, s := range []*server{r.lab, r.dnsmasq} {
		rate, cpuUS, timeouts, naks, wrong := "NA", "NA", "NA", "NA", "NA"
		if b, _, ok := s.best(); ok {
			rate = fmt.Sprintf("%.0f", b.rate())
			var t, n, wr int
			for _, x := range s.runs {
				t, n, wr = t+x.Timeouts, n+x.NAKs, wr+x.Wrong
			}
			timeouts, naks, wrong = strconv.Itoa(t), strconv.Itoa(n), strconv.Itoa(wr)
			if l := leastCPU(s.runs); l != nil {
				cpuUS = fmt.Sprintf("%.2f", cpuPerDORA(l).Seconds()*1e6)
			}
		}
		fmt.Fprintf(w, "BENCH dhcp.dora_per_s.%s=%s\n", s.name, rate)
		fmt.Fprintf(w, "BENCH dhcp.cpu_us_per_dora.%s=%s\n", s.name, cpuUS)
		fmt.Fprintf(w, "BENCH dhcp.timeouts.%s=%s\n", s.name, timeouts)
		fmt.Fprintf(w, "BENCH dhcp.naks.%s=%s\n", s.name, naks)
		fmt.Fprintf(w, "BENCH dhcp.wrong.%s=%s\n", s.name, wrong)
		fmt.Fprintf(w, "BENCH dhcp.peak_rss_mib.%s=%s\n", s.name, benchkit.MiBOrNA(s.rss))
	}
	fmt.Fprintf(w, "BENCH dhcp.ratio.lab_dnsmasq=%s\n", benchkit.RatioOrNA(ratio))
	fmt.Fprintf(w, "BENCH dhcp.cpu_ratio.lab_dnsmasq=%s\n", benchkit.RatioOrNA(cpu))
	pub, drop := "NA", "NA"
	if ev := r.lab.events; ev != nil && ev.err == "" {
		pub, drop = strconv.FormatUint(ev.published, 10), strconv.FormatUint(ev.dropped, 10)
	}
	fmt.Fprintf(w, "BENCH dhcp.events.lab=%s\n", pub)
	fmt.Fprintf(w, "BENCH dhcp.events_dropped.lab=%s\n", drop)
	other := "NA"
	if r.otherCPU >= 0 {
		other = fmt.Sprintf("%.0f", r.otherCPU*100)
	}
	fmt.Fprintf(w, "BENCH dhcp.other_cpu_pct=%s\n", other)
	fmt.Fprintf(w, "BENCH dhcp.target.lab_dnsmasq=%s\n", verdict(ratio))
}

// ratio is lab/dnsmasq on the best rounds' exchanges per second; -1
// unknown.
func ratio(r *result) float64 {
	lab, _, okL := r.lab.best()
	ref, _, okR := r.dnsmasq.best()
	if !okL || !okR || r.lab.note != "" || ref.rate() == 0 {
		return -1
	}
	return lab.rate() / ref.rate()
}

// cpuRatio is dnsmasq's least CPU per DORA over the lab's; -1 unknown.
func cpuRatio(r *result) float64 {
	lab, ref := leastCPU(r.lab.runs), leastCPU(r.dnsmasq.runs)
	if lab == nil || ref == nil || r.lab.note != "" {
		return -1
	}
	return cpuPerDORA(ref).Seconds() / cpuPerDORA(lab).Seconds()
}

// leastCPU is the round with the least server CPU per DORA, nil when none
// was measured.
func leastCPU(runs []loadResult) *loadResult {
	var best *loadResult
	for i := range runs {
		x := &runs[i]
		if x.DORA == 0 || x.ServerCPU <= 0 {
			continue
		}
		if best == nil || cpuPerDORA(x) < cpuPerDORA(best) {
			best = x
		}
	}
	return best
}

func cpuPerDORA(x *loadResult) time.Duration { return x.ServerCPU / time.Duration(x.DORA) }

// clientBound reports whether the load client, not the server, ran out
// of CPU.
func clientBound(x loadResult) bool {
	return x.ClientCPU.Seconds() > 0.9*x.Elapsed.Seconds() && x.ServerCPU.Seconds() < 0.8*x.Elapsed.Seconds()
}

func meanLatency(x loadResult) string {
	if x.DORA == 0 {
		return "NA"
	}
	return fmt.Sprintf("%.2f ms", (x.Latency/time.Duration(x.DORA)).Seconds()*1e3)
}

func cpuPer(x *loadResult) string {
	if x == nil {
		return "NA"
	}
	return fmt.Sprintf("%.1f µs", cpuPerDORA(x).Seconds()*1e6)
}

func share(x loadResult) string {
	if x.Elapsed <= 0 || x.ServerCPU < 0 || x.ClientCPU < 0 {
		return "NA"
	}
	pct := func(d time.Duration) float64 { return 100 * d.Seconds() / x.Elapsed.Seconds() }
	return fmt.Sprintf("%.0f%%/%.0f%%", pct(x.ServerCPU), pct(x.ClientCPU))
}

// verdict is PASS when ratio reaches the target, MISS below, NA unknown.
func verdict(ratio float64) string { return benchkit.RatioVerdict(ratio, target) }
