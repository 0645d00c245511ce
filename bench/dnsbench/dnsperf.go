package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// perfSettings are the dnsperf options every server gets.
type perfSettings struct {
	Duration    time.Duration // -l
	Clients     int           // -c
	Threads     int           // -T
	Outstanding int           // -q
	MaxQPS      int           // -Q
	Timeout     time.Duration // -t
}

// args is dnsperf's command line against addr with the query file.
func (s perfSettings) args(host, port, queryFile string) []string {
	return []string{
		"-s", host, "-p", port, "-m", "udp", "-d", queryFile,
		"-l", strconv.Itoa(int(s.Duration / time.Second)),
		"-c", strconv.Itoa(s.Clients), "-T", strconv.Itoa(s.Threads),
		"-q", strconv.Itoa(s.Outstanding), "-Q", strconv.Itoa(s.MaxQPS),
		"-t", strconv.Itoa(int(s.Timeout / time.Second)),
	}
}

// perfResult is what one dnsperf run reports.
type perfResult struct {
	Sent      int64
	Completed int64
	Lost      int64
	QPS       float64
	Rcodes    map[string]int64 // "NOERROR" -> count
	ServerCPU time.Duration    // CPU the server used during the run; 0 if unknown
	ClientCPU time.Duration    // CPU dnsperf used
	Wall      time.Duration    // how long dnsperf ran
}

// share is cpu as a fraction of one CPU over the run, 0 if unknown.
func (r perfResult) share(cpu time.Duration) float64 {
	if r.Wall <= 0 || cpu <= 0 {
		return 0
	}
	return float64(cpu) / float64(r.Wall)
}

// cpuPerQuery is the server's CPU time per answered query, 0 if unknown.
func (r perfResult) cpuPerQuery() time.Duration {
	if r.ServerCPU <= 0 || r.Completed <= 0 {
		return 0
	}
	return r.ServerCPU / time.Duration(r.Completed)
}

// runDnsperf runs dnsperf once (after prefix, if any: taskset) and parses
// its statistics. The run is bounded by -l plus the query timeout; ctx
// bounds it again in case dnsperf hangs.
func runDnsperf(ctx context.Context, prefix []string, bin string, s perfSettings, host, port, queryFile string) (perfResult, error) {
	ctx, cancel := context.WithTimeout(ctx, s.Duration+s.Timeout+15*time.Second)
	defer cancel()
	argv := slices.Concat(prefix, []string{bin}, s.args(host, port, queryFile))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		return perfResult{}, fmt.Errorf("dnsperf: %w: %s", err, lastLines(string(out), 5))
	}
	res, err := parseDnsperf(strings.NewReader(string(out)))
	if err != nil {
		return perfResult{}, fmt.Errorf("%w: %s", err, lastLines(string(out), 5))
	}
	res.ClientCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	res.Wall = wall
	return res, nil
}

// parseDnsperf reads the "Statistics:" block dnsperf prints at the end:
//
//	Queries sent:         213977
//	Queries completed:    213977 (100.00%)
//	Queries lost:         0 (0.00%)
//	Response codes:       NOERROR 213977 (100.00%)
//	Queries per second:   53492.832440
func parseDnsperf(r io.Reader) (perfResult, error) {
	res := perfResult{Rcodes: make(map[string]int64)}
	var haveSent, haveQPS bool
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		var err error
		switch key {
		case "Queries sent":
			res.Sent, err = parseCount(fields[0])
			haveSent = err == nil
		case "Queries completed":
			res.Completed, err = parseCount(fields[0])
		case "Queries lost":
			res.Lost, err = parseCount(fields[0])
		case "Queries per second":
			res.QPS, err = strconv.ParseFloat(fields[0], 64)
			if err == nil && (res.QPS < 0 || res.QPS > 1e12 || res.QPS != res.QPS) {
				err = fmt.Errorf("out of range")
			}
			haveQPS = err == nil
		case "Response codes":
			// "NOERROR 100 (90.00%), NXDOMAIN 11 (10.00%)"
			for part := range strings.SplitSeq(val, ",") {
				f := strings.Fields(part)
				if len(f) < 2 {
					continue
				}
				n, perr := parseCount(f[1])
				if perr != nil {
					err = perr
					break
				}
				res.Rcodes[f[0]] += n
			}
		}
		if err != nil {
			return perfResult{}, fmt.Errorf("dnsperf output: %s: %q: %v", key, val, err)
		}
	}
	if err := sc.Err(); err != nil {
		return perfResult{}, fmt.Errorf("dnsperf output: %w", err)
	}
	if !haveSent || !haveQPS {
		return perfResult{}, fmt.Errorf("dnsperf output: no statistics (queries sent, queries per second)")
	}
	return res, nil
}

func parseCount(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil && n < 0 {
		err = fmt.Errorf("negative count %d", n)
	}
	return n, err
}

// dnsperfVersion returns "2.10.0" from `dnsperf -h`, or "" if it says none.
func dnsperfVersion(ctx context.Context, bin string) string {
	out, _ := exec.CommandContext(ctx, bin, "-h").CombinedOutput()
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Version "); ok {
			return v
		}
	}
	return ""
}

// lastLines returns the last n non-empty lines of s on one line.
func lastLines(s string, n int) string {
	var lines []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
