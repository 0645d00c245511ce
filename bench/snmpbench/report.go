package main

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"protolab/bench/internal/benchkit"
)

func printReport(w io.Writer, r *result) {
	o := r.opts
	fmt.Fprintf(w, "SNMP: snmpbulkwalk -v2c -c public -On -Cr25 of 1.3.6.1, %d walkers for %v per agent\n",
		o.walkers, o.duration)
	fmt.Fprintf(w, "  %d CPUs; pinning: %s\n\n", r.cpus, r.pinning)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "  agent\tvarbinds/walk\twalks\twalks/s\tvarbinds/s\terrors\tCPU per varbind\tCPU agent/walkers\tpeak RSS")
	for _, a := range []*agent{&r.lab, &r.snmpd} {
		if a.load == nil {
			fmt.Fprintf(tw, "  %s\t%s\n", a.name, a.note)
			continue
		}
		l := a.load
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%.1f\t%.0f\t%d\t%s\t%s\t%s\n", a.name, a.perWalk, l.walks,
			l.walksPerSec(), l.varbindsPerSec(), l.errors, cpuPer(l), share(l), benchkit.MiBUnit(a.rss))
	}
	tw.Flush()
	for _, a := range []*agent{&r.lab, &r.snmpd} {
		if a.load != nil && a.note != "" {
			fmt.Fprintf(w, "  %s: %s\n", a.name, a.note)
		}
		if a.load != nil && clientBound(a.load) {
			fmt.Fprintf(w, "  %s: the walkers ran out of CPU first: the agent can take more than shown\n", a.name)
		}
		if a.load != nil && a.load.errors > 0 {
			fmt.Fprintf(w, "  %s: last error: %s\n", a.name, a.load.lastErr)
		}
	}
	ratio, walkRatio := ratios(r)
	suffix := benchkit.NoisySuffix(r.otherCPU)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  lab/snmpd varbinds/s   %s   target >= %.1f   %s%s\n", benchkit.RatioOrNA(ratio), target, verdict(ratio), suffix)
	fmt.Fprintf(w, "  lab/snmpd walks/s      %s   (for reference: the MIBs differ in size)\n", benchkit.RatioOrNA(walkRatio))
	fmt.Fprintf(w, "  lab/snmpd by CPU per varbind   %s   (for reference: steadier, and fair when the walkers are the bottleneck)\n", benchkit.RatioOrNA(cpuRatio(r)))
	fmt.Fprintln(w, benchkit.NoiseLine(r.otherCPU))
	fmt.Fprintf(w, "  run time %.0f s\n\n", r.elapsed.Seconds())

	for _, a := range []*agent{&r.lab, &r.snmpd} {
		var walksPS, vbPS, errs string = "NA", "NA", "NA"
		if a.load != nil {
			walksPS = fmt.Sprintf("%.1f", a.load.walksPerSec())
			vbPS = fmt.Sprintf("%.0f", a.load.varbindsPerSec())
			errs = strconv.Itoa(a.load.errors)
		}
		perWalk := "NA"
		if a.perWalk > 0 {
			perWalk = strconv.Itoa(a.perWalk)
		}
		fmt.Fprintf(w, "BENCH snmp.varbinds_per_walk.%s=%s\n", a.name, perWalk)
		fmt.Fprintf(w, "BENCH snmp.walks_per_s.%s=%s\n", a.name, walksPS)
		fmt.Fprintf(w, "BENCH snmp.varbinds_per_s.%s=%s\n", a.name, vbPS)
		fmt.Fprintf(w, "BENCH snmp.errors.%s=%s\n", a.name, errs)
	}
	fmt.Fprintf(w, "BENCH snmp.ratio.lab_snmpd=%s\n", benchkit.RatioOrNA(ratio))
	fmt.Fprintf(w, "BENCH snmp.walk_ratio.lab_snmpd=%s\n", benchkit.RatioOrNA(walkRatio))
	fmt.Fprintf(w, "BENCH snmp.cpu_ratio.lab_snmpd=%s\n", benchkit.RatioOrNA(cpuRatio(r)))
	fmt.Fprintf(w, "BENCH snmp.peak_rss_mib.lab=%s\n", benchkit.MiBOrNA(r.lab.rss))
	fmt.Fprintf(w, "BENCH snmp.peak_rss_mib.snmpd=%s\n", benchkit.MiBOrNA(r.snmpd.rss))
	other := "NA"
	if r.otherCPU >= 0 {
		other = fmt.Sprintf("%.0f", r.otherCPU*100)
	}
	fmt.Fprintf(w, "BENCH snmp.other_cpu_pct=%s\n", other)
	fmt.Fprintf(w, "BENCH snmp.target.lab_snmpd=%s\n", verdict(ratio))
}

// ratios are lab/snmpd on varbinds and on walks per second; -1 unknown.
func ratios(r *result) (varbinds, walks float64) {
	lab, ref := r.lab.load, r.snmpd.load
	if lab == nil || ref == nil || r.lab.note != "" || ref.varbinds == 0 || ref.walks == 0 {
		return -1, -1
	}
	return lab.varbindsPerSec() / ref.varbindsPerSec(), lab.walksPerSec() / ref.walksPerSec()
}

// cpuRatio is snmpd's CPU per varbind over the lab's; -1 unknown.
func cpuRatio(r *result) float64 {
	lab, ref := r.lab.load, r.snmpd.load
	if lab == nil || ref == nil || r.lab.note != "" || lab.serverCPU <= 0 || ref.serverCPU <= 0 ||
		lab.varbinds == 0 || ref.varbinds == 0 {
		return -1
	}
	return (ref.serverCPU.Seconds() / float64(ref.varbinds)) / (lab.serverCPU.Seconds() / float64(lab.varbinds))
}

// clientBound reports whether the walkers, not the agent, ran out of CPU.
func clientBound(l *load) bool {
	return l.clientCPU.Seconds() > 0.9*l.elapsed.Seconds() && l.serverCPU.Seconds() < 0.8*l.elapsed.Seconds()
}

func cpuPer(l *load) string {
	if l.varbinds == 0 || l.serverCPU == 0 {
		return "NA"
	}
	return fmt.Sprintf("%.2f µs", float64(l.serverCPU.Nanoseconds())/1e3/float64(l.varbinds))
}

func share(l *load) string {
	pct := func(d time.Duration) float64 { return 100 * d.Seconds() / l.elapsed.Seconds() }
	return fmt.Sprintf("%.0f%%/%.0f%%", pct(l.serverCPU), pct(l.clientCPU))
}

// verdict is PASS when ratio reaches the target, MISS below, NA unknown.
func verdict(ratio float64) string { return benchkit.RatioVerdict(ratio, target) }
