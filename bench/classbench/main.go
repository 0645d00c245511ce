// Command classbench measures a classroom server: one `lab serve` of the
// mail lab for a class of simulated learners (100 by default), each on its
// own loopback address with its own mail account, all running every task
// of the lab at once with Go clients (SMTP, POP3, IMAP). It checks that
// every task of every learner ticks, on the instructor's event stream and
// in the grid, and that the journal lost no event; it gives the time from
// the server seeing an action to the tick reaching the dashboard's event
// stream (p50, p99, max), and the server's CPU time and peak memory.
//
// It is a report, not a test: it exits 0 whatever the figures, 1 when the
// benchmark itself could not run (the lab would not build or start), 2 on
// a usage error. The run stops by itself (-timeout). Run it from the
// module's root:
//
//	go run ./bench/classbench
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"protolab/bench/internal/benchkit"
	"protolab/internal/api"
	"protolab/internal/progress"
)

// options are the command-line settings.
type options struct {
	learners int
	timeout  time.Duration // the whole run, from lab serve's start to the last check
	load     time.Duration // the learners' share of it
	settle   time.Duration // how long the last ticks may take to arrive after the load
	ramp     time.Duration // the learners' starts are spread evenly over it; 0: all at once
	lab      string        // a lab binary to use instead of building ./cmd/lab
	keep     bool          // keep the work directory
}

func main() {
	var o options
	fs := flag.NewFlagSet("classbench", flag.ContinueOnError)
	fs.IntVar(&o.learners, "learners", 100, "simulated learners, each on its own loopback address (at most 250)")
	fs.DurationVar(&o.timeout, "timeout", time.Minute, "time limit of the run, from the lab's start to the last check")
	fs.DurationVar(&o.load, "load", 40*time.Second, "time limit of the learners' work, within -timeout")
	fs.DurationVar(&o.ramp, "ramp", 0, "spread the learners' starts evenly over this time (0: all at once)")
	fs.DurationVar(&o.settle, "settle", 5*time.Second, "how long the last ticks may take to reach the stream after the load")
	fs.StringVar(&o.lab, "lab", "", "lab binary to measure (default: build ./cmd/lab)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (roster, the lab's log and state)")
	benchkit.ParseArgs(fs, os.Args[1:], func() error { return o.validate() }) // not o.validate: that would copy o before parsing
	benchkit.Main(func(ctx context.Context) int { return runBench(ctx, o, os.Stdout, os.Stderr) })
}

func (o options) validate() error {
	switch {
	case o.learners < 1 || o.learners > maxLearners:
		return fmt.Errorf("-learners must be between 1 and %d", maxLearners)
	case o.timeout < 10*time.Second || o.timeout > 10*time.Minute:
		return errors.New("-timeout must be between 10s and 10m")
	case o.load < time.Second || o.load > o.timeout-5*time.Second:
		return errors.New("-load must be at least 1s and leave 5s of -timeout for the checks")
	case o.ramp < 0 || o.ramp >= o.load:
		return errors.New("-ramp must be at least 0s and less than -load")
	case o.settle < 0 || o.settle > time.Minute:
		return errors.New("-settle must be between 0s and 1m")
	}
	return nil
}

// result is everything the report prints.
type result struct {
	opts      options
	cpus      int
	loadavg   string
	learners  int
	runs      []learnerRun
	loadWall  time.Duration // from the learners' start to the end of the last one
	tickWall  time.Duration // from the learners' start to the last tick on the stream
	stream    streamFigures
	streamErr string
	grid      *api.Class // GET /api/class after the load
	gridErr   string
	status    *api.Status // lab status --json after the load: events, dropped
	statusErr string
	journal   int64 // events in the journal once the lab stopped; -1 unknown
	journErr  string
	cpuLoad   time.Duration // the lab's CPU from the learners' start to the last tick (or the end of -settle); -1 unknown
	cpuWall   time.Duration // the time cpuLoad was measured over
	cpuTotal  time.Duration // the lab's CPU from its start to the end of the checks; -1 unknown
	rss       int64         // peak RSS (VmHWM) after the load, 0 unknown
	otherCPU  float64       // share of the machine's CPU other work used during the load; -1 unknown
	notes     []string      // what went wrong with the lab, for the report
	elapsed   time.Duration
}

func runBench(ctx context.Context, o options, stdout, stderr io.Writer) int {
	began := time.Now()
	fail := func(err error) int {
		fmt.Fprintln(stderr, "classbench:", err)
		return 1
	}
	work, removeWork, err := benchkit.WorkDir("classbench", "classbench-", o.keep, stderr)
	if err != nil {
		return fail(err)
	}
	defer removeWork()
	res := &result{opts: o, cpus: runtime.NumCPU(), loadavg: benchkit.Loadavg(), learners: o.learners,
		journal: -1, cpuLoad: -1, cpuTotal: -1, otherCPU: -1}
	if err := bench(ctx, o, work, res, stderr); err != nil {
		return fail(err)
	}
	res.elapsed = time.Since(began)
	printReport(stdout, res)
	return 0
}

// bench runs the class and fills res. An error is a failure of the
// benchmark itself (the lab would not build or start, an interruption);
// what goes wrong later is a note in res.
func bench(ctx context.Context, o options, work string, res *result, log io.Writer) error {
	progressf := func(format string, a ...any) { fmt.Fprintf(log, "classbench: "+format+"\n", a...) }
	if o.lab == "" {
		progressf("building the lab")
	}
	bin, err := labBinary(ctx, o.lab, work)
	if err != nil {
		return err
	}
	ls, err := makeLearners(o.learners)
	if err != nil {
		return err
	}
	roster := filepath.Join(work, "roster.yaml")
	if err := os.WriteFile(roster, rosterYAML(ls), 0o600); err != nil {
		return fmt.Errorf("roster: %w", err)
	}
	state := filepath.Join(work, "state")

	// Everything from here on is bounded by -timeout.
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	progressf("lab serve --lab %s for %d learners", labID, len(ls))
	p, dash, err := startServe(ctx, bin, roster, state, filepath.Join(work, "lab.log"), 20*time.Second)
	if err != nil {
		return err
	}
	defer p.Stop()
	st, err := waitStatus(ctx, bin, state)
	if err != nil {
		return fmt.Errorf("%w%s", err, p.Tail())
	}
	ep, err := mailEndpoints(st)
	if err != nil {
		return err
	}
	accts, err := classAccounts(ctx, dash, ls)
	if err != nil {
		return err
	}

	// The dashboard's stream, open before any learner starts.
	w := newWatcher()
	sctx, stopStream := context.WithCancel(ctx)
	var followErr error
	followed := make(chan struct{})
	go func() { followErr = w.follow(sctx, dash.web, dash.token); close(followed) }()
	defer func() { stopStream(); <-followed }()
	select {
	case <-w.ready:
	case <-followed:
		err := followErr
		if err == nil {
			err = ctx.Err()
		}
		return fmt.Errorf("the dashboard's event stream: %w", err)
	case <-time.After(10 * time.Second):
		return errors.New("the dashboard's event stream sent no class within 10s")
	}
	if f := w.figures(); f.lab != labID || !sameTasks(f.tasks, labTasks) {
		res.notes = append(res.notes, fmt.Sprintf("the class is lab %q with tasks %v; the learners run the tasks %v of lab %q",
			f.lab, f.tasks, labTasks, labID))
	}

	progressf("%d learners run the %s lab's %d tasks", len(ls), labID, len(labTasks))
	expected := len(ls) * len(w.figures().tasks)
	pid := p.Pid()
	self := os.Getpid()
	cpu0, errC0 := benchkit.ProcCPU(pid)
	own0, errO0 := benchkit.ProcCPU(self)
	m0, errM0 := benchkit.MachineCPU()
	start := time.Now()
	res.runs = runClass(ctx, o.load, o.ramp, ls, accts, ep)
	res.loadWall = time.Since(start)
	waitTicks(ctx, w, expected, o.settle)
	cpu1, errC1 := benchkit.ProcCPU(pid)
	own1, errO1 := benchkit.ProcCPU(self)
	m1, errM1 := benchkit.MachineCPU()
	res.cpuWall = time.Since(start)
	if errC0 == nil && errC1 == nil {
		res.cpuLoad = cpu1 - cpu0
	}
	if errors.Join(errC0, errC1, errO0, errO1, errM0, errM1) == nil {
		var n benchkit.Noise
		n.Add(m1.Busy()-m0.Busy(), m1.Total()-m0.Total(), cpu1-cpu0+own1-own0)
		res.otherCPU = n.Share()
	}
	if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		return ctx.Err() // interrupted: no report
	}

	progressf("checking the grid, the events and the journal")
	var grid api.Class
	if err := getJSON(ctx, dash, "/api/class", &grid); err != nil {
		res.gridErr = err.Error()
	} else {
		res.grid = &grid
	}
	if st, err := labStatus(ctx, bin, state); err != nil {
		res.statusErr = err.Error()
	} else {
		res.status = st
	}
	if rss, err := benchkit.PeakRSS(pid); err == nil {
		res.rss = rss
	}
	if c, err := benchkit.ProcCPU(pid); err == nil {
		res.cpuTotal = c
	}
	stopStream()
	<-followed
	if followErr != nil {
		res.streamErr = followErr.Error()
	}
	res.stream = w.figures()
	if !res.stream.last.IsZero() {
		res.tickWall = res.stream.last.Sub(start)
	}
	if !p.Alive() {
		res.notes = append(res.notes, fmt.Sprintf("lab serve exited during the run (%v)%s", p.Err(), p.Tail()))
	}
	p.Stop()
	if err := p.Err(); err != nil {
		res.notes = append(res.notes, fmt.Sprintf("lab serve did not stop cleanly (%v)%s", err, p.Tail()))
	}
	if n, err := journalCount(state); err != nil {
		res.journErr = err.Error()
	} else {
		res.journal = n
	}
	if ctx.Err() != nil {
		res.notes = append(res.notes, fmt.Sprintf("the run reached its time limit (-timeout %v)", o.timeout))
	}
	return nil
}

// waitStatus asks `lab status --json` until it lists endpoints, up to 10 s.
func waitStatus(ctx context.Context, bin, state string) (*api.Status, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := labStatus(ctx, bin, state)
		if err == nil && len(st.Endpoints) > 0 {
			return st, nil
		}
		if err == nil {
			err = errors.New("lab status lists no endpoints yet")
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// runClass runs every learner, each with its own account, and waits for
// all of them: at once, or learner i at i/len(ls) of ramp. load bounds
// their work.
func runClass(ctx context.Context, load, ramp time.Duration, ls []learner, accts map[string]account, ep endpoints) []learnerRun {
	ctx, cancel := context.WithTimeout(ctx, load)
	defer cancel()
	runs := make([]learnerRun, len(ls))
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i, l := range ls {
		wg.Go(func() {
			<-gate
			if d := ramp * time.Duration(i) / time.Duration(len(ls)); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					runs[i] = learnerRun{id: l.ID, failed: steps[0], err: ctx.Err()}
					return
				}
			}
			runs[i] = runLearner(ctx, l, accts[l.ID], ep)
		})
	}
	close(gate)
	wg.Wait()
	return runs
}

// waitTicks waits until the stream has shown want ticks, at most settle
// after the call (or until ctx ends).
func waitTicks(ctx context.Context, w *watcher, want int, settle time.Duration) {
	timer := time.NewTimer(settle)
	defer timer.Stop()
	for w.seenCount() < want {
		select {
		case <-w.tick:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// journalCount is the number of events in the mail lab's journal of the
// state directory, read once the lab has stopped and flushed it.
func journalCount(state string) (int64, error) {
	s, err := progress.Open(state)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	n, err := s.Count(labID)
	return int64(n), err
}

// sameTasks reports whether a and b list the same tasks in any order.
func sameTasks(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	set := map[string]bool{}
	for _, t := range a {
		set[t] = true
	}
	for _, t := range b {
		if !set[t] {
			return false
		}
	}
	return true
}
