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

// targetLabOverSink is the least lab/smtp-sink ratio on messages per
// second the lab is held to; the report marks it PASS or MISS.
const targetLabOverSink = 0.5

// figures are the numbers both the table and the BENCH lines print.
type figures struct {
	rate     map[string]float64       // messages per second; absent when not measured
	cpu      map[string]time.Duration // server CPU per message
	ratio    float64                  // lab/sink; 0 when not computable
	cpuRatio float64                  // sink's CPU per message over the lab's: lab/sink in messages per CPU-second
	lost     int64                    // accepted by the lab's SMTP, missing from bob's INBOX
	extra    int64                    // in bob's INBOX beyond what was counted as accepted
	checked  bool                     // lost and extra are known
	lostPass bool
}

func computeFigures(res *result) figures {
	f := figures{rate: map[string]float64{}, cpu: map[string]time.Duration{}}
	for _, s := range []*server{&res.sink, &res.lab} {
		if s.load == nil || s.note != "" || s.load.Sent == 0 {
			continue
		}
		f.rate[s.name] = s.load.rate()
		if c := s.load.cpuPerMsg(); c > 0 {
			f.cpu[s.name] = c
		}
	}
	if lab, ok := f.rate["lab"]; ok && f.rate["sink"] > 0 {
		f.ratio = lab / f.rate["sink"]
	}
	if lab, sink := f.cpu["lab"], f.cpu["sink"]; lab > 0 && sink > 0 {
		f.cpuRatio = float64(sink) / float64(lab)
	}
	m, l := res.mail, res.lab.load
	if l != nil && m.before >= 0 && m.after >= 0 {
		f.checked = true
		diff := m.after - m.before - l.Sent
		f.lost, f.extra = max(-diff, 0), max(diff, 0)
		// A run stopped early may leave messages stored whose 250 reply
		// smtp-source never read: at most one per session.
		stopped := l.Cut || res.lab.note != ""
		f.lostPass = f.lost == 0 && (f.extra == 0 || stopped && f.extra <= int64(res.opts.load.Sessions))
	}
	return f
}

func printReport(w io.Writer, res *result) {
	f := computeFigures(res)
	o := res.opts
	noisy := benchkit.NoisySuffix(res.otherCPU)
	fmt.Fprintln(w, "Mail benchmark: the lab's SMTP and IMAP servers, and Postfix's smtp-sink (stores nothing)")
	fmt.Fprintf(w, "  machine:  %d CPUs, load average %s at start\n", res.cpus, orUnknown(res.loadavg))
	fmt.Fprintf(w, "  load:     smtp-source (Postfix %s) %s PORT,\n            a connection per message, stopped after %v\n",
		orUnknown(res.version), strings.Join(o.load.args("")[:len(o.load.args(""))-1], " "), o.load.Limit)
	fmt.Fprintf(w, "  pinning:  %s\n", res.pinning)
	if res.otherCPU >= 0 {
		fmt.Fprintf(w, "  noise:    other processes used %.0f%% of the machine's CPU during the loads\n", 100*res.otherCPU)
	}
	if noisy != "" {
		fmt.Fprintln(w, "  warning:  the machine was busy: the rates are noisy; run again on an idle machine before trusting them")
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "SMTP throughput")
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "  server\tmsgs/s\tsent\ttime\tCPU per msg\tCPU server/smtp-source")
	var notes []string
	for _, s := range []*server{&res.lab, &res.sink} {
		l := s.load
		if l == nil {
			fmt.Fprintf(tw, "  %s\t-\t-\t-\t-\t-\n", s.name)
		} else {
			rate, cpu := "-", "-"
			if r, ok := f.rate[s.name]; ok {
				rate = strconv.FormatFloat(r, 'f', 0, 64)
			}
			if c, ok := f.cpu[s.name]; ok {
				cpu = fmtUS(c) + " µs"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%.2f s\t%s\t%s/%s\n", s.name, rate, l.Sent, l.Wall.Seconds(), cpu,
				benchkit.ShareOrDash(l.share(l.ServerCPU)), benchkit.ShareOrDash(l.share(l.ClientCPU)))
			if l.Cut {
				notes = append(notes, fmt.Sprintf("  %s: stopped after %v, %d of %d messages sent; the rate is over those",
					s.name, o.load.Limit, l.Sent, o.load.Messages))
			}
			if l.share(l.ClientCPU) >= 0.9 && l.share(l.ServerCPU) < 0.9 {
				notes = append(notes, fmt.Sprintf("  %s: smtp-source ran out of CPU first: the server can take more than shown", s.name))
			}
		}
		if s.note != "" {
			notes = append(notes, fmt.Sprintf("  %s: %s", s.name, s.note))
		}
		for _, x := range s.warnings {
			notes = append(notes, fmt.Sprintf("  %s: %s", s.name, x))
		}
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintf(tw, "  lab/sink\t%s\ttarget >= %.2f   %s%s\n", benchkit.RatioOrDash(f.ratio), targetLabOverSink,
		benchkit.Verdict(f.ratio > 0, f.ratio >= targetLabOverSink), noisy)
	fmt.Fprintf(tw, "  lab/sink by CPU per message\t%s\t(for reference: steadier on a busy machine)\n", benchkit.RatioOrDash(f.cpuRatio))
	tw.Flush()
	fmt.Fprintln(w)

	m := res.mail
	fmt.Fprintln(w, "Delivery: bob's INBOX in the lab (IMAP STATUS INBOX (MESSAGES) before and after)")
	if f.checked {
		fmt.Fprintf(w, "  before %d + accepted %d = %d expected; found %d: lost %d", m.before, res.lab.load.Sent,
			m.before+res.lab.load.Sent, m.after, f.lost)
		if f.extra > 0 {
			fmt.Fprintf(w, ", extra %d", f.extra)
		}
		fmt.Fprintf(w, "   target lost 0   %s\n", benchkit.Verdict(true, f.lostPass))
		if f.extra > 0 && f.lostPass {
			fmt.Fprintln(w, "  (the extra ones were in flight when smtp-source stopped: stored, their reply unread)")
		}
	} else {
		fmt.Fprintf(w, "  not measured: %s\n", orText(m.countErr, "the lab was not measured"))
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "IMAP: one FETCH of %d messages' BODY[] (the newest in bob's INBOX)\n", o.fetch)
	if ft := m.fetch; ft != nil {
		fmt.Fprintf(w, "  %s ms, %.0f msgs/s, %s KiB of messages", benchkit.MS(ft.Elapsed), ft.rate(), fmtKiB(ft.Bytes))
		if ft.Appended > 0 {
			fmt.Fprintf(w, " (%d of them APPENDed first)", ft.Appended)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "  not measured: %s\n", orText(m.fetchErr, orText(m.countErr, "the lab was not measured")))
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "Peak RSS after the loads (VmHWM)")
	for _, s := range []*server{&res.lab, &res.sink} {
		v := "-"
		if s.rss > 0 {
			v = benchkit.MiB(s.rss) + " MiB"
		}
		fmt.Fprintf(w, "  %-6s %s\n", s.name, v)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Lab events after the loads (lab status --json)")
	if ev := m.events; ev != nil {
		fmt.Fprintf(w, "  published %d, dropped %d\n", ev[0], ev[1])
	} else {
		fmt.Fprintf(w, "  not available: %s\n", orText(m.eventsErr, "the lab was not measured"))
	}
	fmt.Fprintf(w, "\nRun time: %v\n\n", res.elapsed.Round(time.Second))
	for _, l := range benchLines(res, f) {
		fmt.Fprintln(w, l)
	}
}

// benchLines are the figures for machines, one "BENCH mail.KEY=VALUE" a
// line, NA when a figure could not be measured.
func benchLines(res *result, f figures) []string {
	var out []string
	add := func(key string, ok bool, val func() string) {
		v := "NA"
		if ok {
			v = val()
		}
		out = append(out, "BENCH mail."+key+"="+v)
	}
	for _, s := range []*server{&res.lab, &res.sink} {
		r, ok := f.rate[s.name]
		add("msgs_per_s."+s.name, ok, func() string { return strconv.FormatFloat(r, 'f', 0, 64) })
		add("sent."+s.name, s.load != nil, func() string { return strconv.FormatInt(s.load.Sent, 10) })
		c, ok := f.cpu[s.name]
		add("cpu_us_per_msg."+s.name, ok, func() string { return fmtUS(c) })
	}
	add("ratio.lab_sink", f.ratio > 0, func() string { return benchkit.RatioOrDash(f.ratio) })
	add("cpu_ratio.lab_sink", f.cpuRatio > 0, func() string { return benchkit.RatioOrDash(f.cpuRatio) })
	add("lost.lab", f.checked, func() string { return strconv.FormatInt(f.lost, 10) })
	add("extra.lab", f.checked, func() string { return strconv.FormatInt(f.extra, 10) })
	ft := res.mail.fetch
	add("fetch_ms.lab", ft != nil, func() string { return benchkit.MS(ft.Elapsed) })
	add("fetch_msgs_per_s.lab", ft != nil, func() string { return strconv.FormatFloat(ft.rate(), 'f', 0, 64) })
	add("peak_rss_mib.lab", res.lab.rss > 0, func() string { return benchkit.MiB(res.lab.rss) })
	add("other_cpu_pct", res.otherCPU >= 0, func() string { return strconv.FormatFloat(100*res.otherCPU, 'f', 0, 64) })
	ev := res.mail.events
	add("events.lab", ev != nil, func() string { return strconv.FormatUint(ev[0], 10) })
	add("events_dropped.lab", ev != nil, func() string { return strconv.FormatUint(ev[1], 10) })
	add("target.lab_sink", true, func() string { return benchkit.Verdict(f.ratio > 0, f.ratio >= targetLabOverSink) })
	add("target.lost_lab", true, func() string { return benchkit.Verdict(f.checked, f.lostPass) })
	return out
}

func fmtUS(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 1, 64)
}

func fmtKiB(b int64) string { return strconv.FormatFloat(float64(b)/(1<<10), 'f', 0, 64) }

func orUnknown(s string) string { return orText(s, "unknown") }

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
