// Package runner runs a lab: it takes the state directory, starts the
// services the lab names, feeds their events through the bus to the checker,
// commits each tick before showing it, journals events, and serves the
// console API. Data flows one way: services -> bus -> checker -> progress ->
// views.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"protolab/checker"
	"protolab/internal/api"
	"protolab/internal/bus"
	"protolab/internal/console"
	"protolab/internal/event"
	"protolab/internal/progress"
	"protolab/internal/service"
	"protolab/labs"
)

// Port modes for Options.Ports.
const (
	PortsHigh     = "high"     // unprivileged defaults (DNS 1053...)
	PortsStandard = "standard" // well-known ports (DNS 53...)
	PortsAuto     = "auto"     // free ports picked by the system
)

// Options say how to run a lab.
type Options struct {
	Lab           *labs.Lab
	Lang          string         // "fr" or "en"
	Bind          string         // address the services listen on (default 127.0.0.1)
	Ports         string         // PortsHigh (default), PortsStandard or PortsAuto
	PortOverrides map[string]int // listener name -> port
	Web           string         // console API address (default 127.0.0.1:8080)
	StateDir      string         // required
	LabFile       string         // the lab file when not built in, recorded for lab solve/status
	Retention     int            // events kept in the journal (default 10000)
	Log           *slog.Logger
	// Network, when set, builds the lab network (lab start --sandbox) once
	// the state directory is locked; the services then listen inside it,
	// on every address of the lab server, and Bind is not used.
	Network func(ctx context.Context, stateDir string) (Network, error)
	// Interface, without a lab network, names a real interface the DHCP
	// server answers on (lab start --dhcp-interface).
	Interface string
	// Class, when set, runs the lab for a whole class (lab serve): one set
	// of services, each event attributed to a learner of the roster, one
	// checker and one progress per learner, the instructor's dashboard.
	Class *ClassOptions
}

// Network is a lab network the services listen in.
type Network interface {
	Net() service.Net  // opens sockets in the lab server's namespace
	Advertise() string // the lab server's address, as learners reach it
	Interface() string // the lab server's link (DHCP binds to it)
	Learner() string   // the learner's address
	Socket() string    // where lab shell connects
	Close() error
}

// WebError is a console address that could not be listened on.
type WebError struct {
	Addr string
	Err  error
}

func (e *WebError) Error() string {
	return fmt.Sprintf("web console: cannot listen on %s: %v", e.Addr, e.Err)
}

func (e *WebError) Unwrap() error { return e.Err }

// Lab is a running lab.
type Lab struct {
	opts    Options
	lab     *labs.Lab
	store   *progress.Store
	unlock  func() error
	bus     *bus.Bus
	started time.Time

	instances []service.Instance
	endpoints service.Endpoints
	network   Network

	console *console.Server
	webURL  string

	// feedMu is the lab's (shared by its learners' views in a class): held
	// while a batch of events is checked and saved, so that a reset comes
	// between batches.
	feedMu  *sync.Mutex
	mu      sync.Mutex // guards checker, done, hints
	checker *checker.Checker
	done    map[string]time.Time
	hints   map[string]int

	countMu sync.Mutex
	counts  map[string]uint64 // events seen by the checker, per service

	changed chan struct{}
	subs    []*bus.Subscription
	loops   sync.WaitGroup // checker, journal, console feeds
	wg      sync.WaitGroup // the console's server
	closeMu sync.Mutex
	closed  bool

	// class is set on the lab of a classroom (lab serve); learner, on each
	// learner's own view of it, which shares its store, bus and services.
	class   *Class
	learner string
	account *api.Account // the learner's own account (lab serve)
	notify  func()       // a learner's view: told after its progress changed
}

// PortFor resolves the port of a listener under the options.
func (o *Options) PortFor(l service.Listener) int {
	if p, ok := o.PortOverrides[l.Name]; ok {
		return p
	}
	switch o.Ports {
	case PortsStandard:
		return l.Standard
	case PortsAuto:
		return 0
	default:
		return l.High
	}
}

// Start runs the lab. On error nothing is left running.
func Start(ctx context.Context, opts Options) (_ *Lab, err error) {
	if opts.Lab == nil || opts.StateDir == "" {
		return nil, errors.New("runner: a lab and a state directory are required")
	}
	if opts.Bind == "" {
		opts.Bind = "127.0.0.1"
	}
	if opts.Web == "" {
		opts.Web = "127.0.0.1:8080"
	}
	if opts.Lang == "" {
		opts.Lang = "en"
	}
	if opts.Retention <= 0 {
		opts.Retention = 10000
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	l := &Lab{opts: opts, lab: opts.Lab, bus: bus.New(), started: time.Now(), changed: make(chan struct{}, 1), feedMu: new(sync.Mutex)}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	if l.unlock, err = progress.Lock(opts.StateDir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			l.Close(context.Background())
		}
	}()
	if l.store, err = progress.Open(opts.StateDir); err != nil {
		return nil, err
	}
	if opts.Class != nil {
		l.class, err = newClass(l, *opts.Class)
	} else {
		err = l.loadProgress()
	}
	if err != nil {
		return nil, err
	}
	// Subscribe before any service can publish.
	checkSub := l.bus.Subscribe(8192)
	journalSub := l.bus.Subscribe(l.journalSize())
	consoleSub := l.bus.Subscribe(1024)
	consoleSub.Pause(true) // until a browser or client follows the events
	l.subs = []*bus.Subscription{checkSub, journalSub, consoleSub}

	bind := opts.Bind
	if opts.Network != nil {
		if l.network, err = opts.Network(ctx, opts.StateDir); err != nil {
			return nil, err
		}
		bind = "::" // every address of the lab server, IPv4 and IPv6
	}

	shared := service.NewShared()
	l.counts = map[string]uint64{}
	shared.Put(service.EventCountsKey, service.EventCounts(func(svc string) uint64 {
		l.countMu.Lock()
		defer l.countMu.Unlock()
		return l.counts[svc]
	}))
	for _, s := range l.lab.Services {
		rt := service.Runtime{
			Shared: shared,
			Bind:   bind,
			Ports:  map[string]int{},
			Events: l.publisher(),
			Log:    opts.Log.With("service", s.Name),
			State:  opts.StateDir,
		}
		for _, li := range s.Spec.Listeners {
			rt.Ports[li.Name] = opts.PortFor(li)
		}
		rt.Interface = opts.Interface
		rt.Transport, rt.Service = l.lab.UsesTransport(), s.Name
		if l.class != nil {
			rt.Reservations = l.class.reservations()
			rt.Accounts = l.class.accounts()
			if rt.Variants = l.class.variants(s.Name); rt.Variants != nil {
				rt.Who = l.class.LearnerAt
			}
		}
		if l.network != nil {
			rt.Net, rt.Advertise, rt.Interface, rt.Learner = l.network.Net(), l.network.Advertise(), l.network.Interface(), l.network.Learner()
		}
		inst, err := s.Prepared.Start(ctx, rt)
		if err != nil {
			return nil, err
		}
		l.instances = append(l.instances, inst)
		l.endpoints = append(l.endpoints, inst.Endpoints()...)
	}

	ln, err := net.Listen("tcp", opts.Web)
	if err != nil {
		return nil, &WebError{Addr: opts.Web, Err: err}
	}
	l.webURL = "http://" + reachable(ln.Addr())
	if l.class != nil {
		consoleSub.Pause(false)
		l.class.serve(ln)
	} else {
		l.console = console.New(l, console.Options{
			Log:       opts.Log.With("component", "console"),
			OnClients: func(n int) { consoleSub.Pause(n == 0) },
		})
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			if err := l.console.Serve(ln); err != nil {
				opts.Log.Error("web console stopped", "err", err)
			}
		}()
	}

	l.loops.Add(3)
	go l.checkLoop(checkSub)
	go l.journalLoop(journalSub)
	go l.consoleLoop(consoleSub)

	if err = l.store.SetMeta("last_lab", l.lab.ID); err != nil {
		return nil, err
	}
	if err = l.store.SetMeta("last_lab_file", opts.LabFile); err != nil {
		return nil, err
	}
	if err = progress.WriteRunFile(opts.StateDir, progress.RunInfo{
		PID: os.Getpid(), Lab: l.lab.ID, API: l.webURL, Started: l.started, File: opts.LabFile,
		Sandbox: l.sandboxSocket(),
	}); err != nil {
		return nil, err
	}
	return l, nil
}

// sandboxSocket is where lab shell reaches the lab network ("" without).
func (l *Lab) sandboxSocket() string {
	if l.network == nil {
		return ""
	}
	return l.network.Socket()
}

// Sandboxed reports whether the lab runs in a lab network.
func (l *Lab) Sandboxed() bool { return l.network != nil }

func (l *Lab) loadProgress() error {
	done, err := l.store.DoneBy(l.lab.ID, l.learner)
	if err != nil {
		return err
	}
	hints, err := l.store.HintsShownBy(l.lab.ID, l.learner)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	for id := range done {
		set[id] = true
	}
	l.done, l.hints = done, hints
	l.checker = l.lab.NewChecker(set) // in the exercise's order
	return nil
}

// reachable is where this machine reaches a listener: its address, or the
// loopback address for one on every address (0.0.0.0, ::), which a client
// cannot dial as such.
func reachable(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil || !ap.Addr().IsUnspecified() {
		return a.String()
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ap.Port()).String()
}

// checkLoop feeds every event to the checker; a tick is committed to the
// store before anything shows it.
//
// It works in batches: it waits for an event, takes every event already
// queued (up to maxCheckBatch), checks them, saves what they ticked in one
// transaction (group commit: one write to disk for a whole class's
// burst), shows the ticks, then pauses a few milliseconds. Under a flood
// of queries this wakes it a few hundred times a second instead of once
// per event, which keeps its cost off the servers; a learner sees a tick
// at most a few milliseconds later.
func (l *Lab) checkLoop(sub *bus.Subscription) {
	defer l.loops.Done()
	const pause = 5 * time.Millisecond
	batch := make([]event.Event, 0, maxCheckBatch)
	for {
		e, ok := <-sub.C()
		if !ok {
			return
		}
		batch = append(batch[:0], e)
		closed := false
	drain:
		for len(batch) < maxCheckBatch {
			select {
			case e, ok := <-sub.C():
				if !ok {
					closed = true
					break drain
				}
				batch = append(batch, e)
			default:
				break drain
			}
		}
		l.checkBatch(batch)
		if closed {
			return
		}
		time.Sleep(pause)
	}
}

// maxCheckBatch bounds the events checked, and so the ticks saved, at once.
const maxCheckBatch = 1024

// fed is what one event ticked in a view of the lab (a learner's in a
// class), not yet saved.
type fed struct {
	view   *Lab
	at     time.Time
	ticked []string
	early  []checker.Early
}

// checkBatch gives each event to its learner's checker, saves every tick
// in one transaction, then shows them.
func (l *Lab) checkBatch(events []event.Event) {
	l.feedMu.Lock()
	defer l.feedMu.Unlock()
	counts := map[string]uint64{}
	var out []fed
	for i := range events {
		e := events[i]
		counts[e.Service]++
		v := l
		if l.class != nil {
			if v = l.class.view(e); v == nil {
				continue
			}
		}
		v.mu.Lock()
		res := v.checker.Feed(e)
		v.mu.Unlock()
		if len(res.Ticked) > 0 || len(res.Early) > 0 {
			at := e.Time
			if at.IsZero() {
				at = time.Now()
			}
			out = append(out, fed{view: v, at: at, ticked: res.Ticked, early: res.Early})
		}
	}
	l.countMu.Lock()
	for svc, n := range counts {
		l.counts[svc] += n
	}
	l.countMu.Unlock()
	if len(out) == 0 {
		return
	}
	var ticks []progress.Tick
	for _, f := range out {
		for _, id := range f.ticked {
			ticks = append(ticks, progress.Tick{Learner: f.view.learner, Task: id, At: f.at})
		}
	}
	saved := true
	if err := l.store.MarkDoneMany(l.lab.ID, ticks); err != nil {
		l.opts.Log.Error("cannot save progress", "ticks", len(ticks), "err", err)
		saved = false
	}
	for _, f := range out {
		f.view.show(f, saved)
	}
}

// show records what an event ticked, once saved, and tells the views.
func (l *Lab) show(f fed, saved bool) {
	l.mu.Lock()
	var changes []api.Change
	if saved {
		for _, id := range f.ticked {
			l.done[id] = f.at
			changes = append(changes, api.Change{Task: l.taskStatus(id)})
		}
	}
	changes = append(changes, l.orderChanges(len(changes) > 0, f.early)...)
	l.mu.Unlock()
	for _, c := range changes {
		l.console.PublishChange(c)
	}
	if len(changes) > 0 {
		l.signal()
		if l.notify != nil {
			l.notify()
		}
	}
}

// The journal's pace: it writes at most journalBatch events every
// journalEvery and holds journalQueue more: about 1,000 events a second
// and 1,024 queued for one learner, 4,000 and 8,192 for a class, where a
// hundred learners doing their tasks at once queue a few thousand events
// (a solo lab keeps its memory for its servers under a flood).
const (
	journalQueue      = 1024
	journalBatch      = 256
	classJournalQueue = 8192
	classJournalBatch = 1024
	journalEvery      = 250 * time.Millisecond
	journalChunk      = 256 // events per transaction
)

// journalSize is the journal's queue: see journalQueue.
func (l *Lab) journalSize() int {
	if l.class != nil {
		return classJournalQueue
	}
	return journalQueue
}

// journalLoop writes events to the journal in batches. It keeps up with a
// class (a hundred learners doing their tasks at once queue a few thousand
// events, which it takes whole), not with a flood: under sustained load
// its queue fills and the bus drops (and counts) what the journal cannot
// take, so the servers never slow down.
func (l *Lab) journalLoop(sub *bus.Subscription) {
	defer l.loops.Done()
	max := journalBatch
	if l.class != nil {
		max = classJournalBatch
	}
	tick := time.NewTicker(journalEvery)
	defer tick.Stop()
	var batch []event.Event
	written := 0
	in := sub.C()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		// In a few transactions rather than one long one: the checker's
		// ticks wait for the store's writer between them, not for all.
		for chunk := range slices.Chunk(batch, journalChunk) {
			if err := l.store.Append(l.lab.ID, chunk); err != nil {
				l.opts.Log.Error("cannot write the event journal", "err", err)
			}
		}
		written += len(batch)
		batch = batch[:0]
		if written >= l.opts.Retention/10+1 {
			written = 0
			if err := l.store.Prune(l.lab.ID, l.opts.Retention); err != nil {
				l.opts.Log.Error("cannot prune the event journal", "err", err)
			}
		}
	}
	for {
		select {
		case e, ok := <-in:
			if !ok {
				flush()
				return
			}
			batch = append(batch, e)
		case <-tick.C:
			flush()
		}
		// A full batch waits for the next tick without reading, so that a
		// flood fills the queue and the bus drops (and counts) the excess.
		in = sub.C()
		if len(batch) >= max {
			in = nil
		}
	}
}

func (l *Lab) consoleLoop(sub *bus.Subscription) {
	defer l.loops.Done()
	for e := range sub.C() {
		if l.class != nil {
			l.class.publishEvent(e)
			continue
		}
		l.console.PublishEvent(e)
	}
}

func (l *Lab) signal() {
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// Changed signals (coalesced) that a task's state changed.
func (l *Lab) Changed() <-chan struct{} { return l.changed }

// Subscribe gives a view its own queue of events (it may lose events if it
// falls behind). Unsubscribe when done.
func (l *Lab) Subscribe(buffer int) *bus.Subscription { return l.bus.Subscribe(buffer) }

// Unsubscribe removes a subscription made with Subscribe.
func (l *Lab) Unsubscribe(s *bus.Subscription) { l.bus.Unsubscribe(s) }

// Endpoints lists where the services listen.
func (l *Lab) Endpoints() service.Endpoints { return l.endpoints }

// Credentials lists the accounts the lab's services offer the learner.
func (l *Lab) Credentials() []service.Credential {
	var out []service.Credential
	for _, inst := range l.instances {
		if c, ok := inst.(service.Credentialed); ok {
			out = append(out, c.Credentials()...)
		}
	}
	return out
}

// WebURL is the console's base URL.
func (l *Lab) WebURL() string { return l.webURL }

// Definition is the lab being run.
func (l *Lab) Definition() *labs.Lab { return l.lab }

// Status implements console.Source.
func (l *Lab) Status() api.Status {
	l.mu.Lock()
	st := BuildStatus(l.lab, l.opts.Lang, l.done, l.hints)
	l.mu.Unlock()
	st.Running = true
	st.Started = l.started
	st.PID = os.Getpid()
	st.Web = l.webURL
	st.Endpoints = append(service.Endpoints{}, l.endpoints...)
	st.Events = l.bus.Published()
	st.Dropped = l.bus.Dropped()
	st.Account = l.account
	return st
}

func (l *Lab) taskStatus(id string) api.Task {
	t, _ := l.lab.Task(id)
	return exerciseTask(l.lab, taskStatus(t, l.opts.Lang, l.done, l.hints), l.done)
}

// BuildStatus describes a lab's progress (for a running lab and for saved
// progress alike).
func BuildStatus(lab *labs.Lab, lang string, done map[string]time.Time, hints map[string]int) api.Status {
	st := api.Status{Lab: lab.ID, Title: lab.Title.In(lang), Lang: lang, Endpoints: service.Endpoints{}, Tasks: []api.Task{}}
	for i := range lab.Tasks {
		t := exerciseTask(lab, taskStatus(&lab.Tasks[i], lang, done, hints), done)
		st.Tasks = append(st.Tasks, t)
		st.Total++
		st.MaxPoints += t.Points
		if t.Done {
			st.Done++
			st.Points += lab.Earned(&lab.Tasks[i], *t.DoneAt)
		}
	}
	exerciseStatus(lab, &st)
	return st
}

func taskStatus(t *labs.Task, lang string, done map[string]time.Time, hints map[string]int) api.Task {
	at := api.Task{ID: t.ID, Title: t.Title.In(lang), Points: t.Points, Hints: len(t.Hints), HintsShown: hints[t.ID]}
	if d, ok := done[t.ID]; ok {
		d := d
		at.Done, at.DoneAt = true, &d
	}
	return at
}

// Hint implements console.Source: the next hint of a task, with the lab's
// real addresses filled in.
func (l *Lab) Hint(id string) (api.Hint, error) {
	t, ok := l.lab.Task(id)
	if !ok {
		return api.Hint{}, fmt.Errorf("%w %q; the tasks are: %s", console.ErrUnknownTask, id, taskIDs(l.lab))
	}
	if len(t.Hints) == 0 {
		return api.Hint{Task: id, Lang: l.opts.Lang}, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	level, err := l.store.NextHintBy(l.lab.ID, l.learner, id, len(t.Hints))
	if err != nil {
		return api.Hint{}, err
	}
	l.hints[id] = level
	return api.Hint{Task: id, Level: level, Of: len(t.Hints), Lang: l.opts.Lang,
		Text: labs.RenderHint(t.Hints[level-1].In(l.opts.Lang), l.endpoints)}, nil
}

// Reset implements console.Source: progress, hints and journal are cleared.
func (l *Lab) Reset() (api.Status, error) {
	l.feedMu.Lock()
	defer l.feedMu.Unlock()
	l.mu.Lock()
	var err error
	if l.learner != "" {
		// One learner of a class: the others' progress, the journal and
		// the shared services are kept.
		err = l.store.ResetLearner(l.lab.ID, l.learner)
	} else {
		err = l.store.Reset(l.lab.ID)
		for _, inst := range l.instances {
			if r, ok := inst.(service.Resetter); ok && err == nil {
				err = r.Reset(context.Background())
			}
		}
	}
	if err == nil {
		l.checker.Reset()
		l.done, l.hints = map[string]time.Time{}, map[string]int{}
	}
	var changes []api.Change
	for i := range l.lab.Tasks {
		changes = append(changes, api.Change{Task: l.taskStatus(l.lab.Tasks[i].ID)})
	}
	l.mu.Unlock()
	if err != nil {
		return api.Status{}, err
	}
	for _, c := range changes {
		l.console.PublishChange(c)
	}
	l.signal()
	if l.notify != nil {
		l.notify()
	}
	return l.Status(), nil
}

func taskIDs(lab *labs.Lab) string {
	s := ""
	for i, t := range lab.Tasks {
		if i > 0 {
			s += ", "
		}
		s += t.ID
	}
	return s
}

// Close stops the services, drains the checker and the journal, stops the
// console, removes the run file and releases the state directory. Progress
// is kept.
func (l *Lab) Close(ctx context.Context) error {
	l.closeMu.Lock()
	defer l.closeMu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var errs []error
	for i := len(l.instances) - 1; i >= 0; i-- {
		if err := l.instances[i].Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if l.network != nil {
		if err := l.network.Close(); err != nil {
			errs = append(errs, fmt.Errorf("lab network: %w", err))
		}
	}
	for _, s := range l.subs {
		l.bus.Unsubscribe(s)
	}
	l.loops.Wait()
	if l.console != nil {
		if err := l.console.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
	}
	if l.class != nil {
		if err := l.class.shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
	}
	l.wg.Wait()
	if l.store != nil {
		if l.webURL != "" {
			if err := progress.RemoveRunFile(l.opts.StateDir); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		errs = append(errs, l.store.Close())
	}
	if l.unlock != nil {
		errs = append(errs, l.unlock())
	}
	return errors.Join(errs...)
}

// PortFlag formats a --port value for messages.
func PortFlag(listener string, port int) string {
	return "--port " + listener + "=" + strconv.Itoa(port)
}
