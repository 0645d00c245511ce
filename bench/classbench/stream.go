package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"protolab/internal/api"
)

// maxFrame bounds one line and one message of the event stream: an event
// frame carries its session's transcript, a few KiB for the mail lab.
const maxFrame = 4 << 20

// tickKey is one learner's one task.
type tickKey struct{ learner, task string }

// watcher follows the dashboard's event stream and times each tick: from
// the moment the server saw the action that ticked it (the cell's done_at,
// the time of the event that ticked the task) to the moment the learner's
// new row arrived on the stream. Its methods are safe for concurrent use.
type watcher struct {
	mu      sync.Mutex
	tasks   []string // the lab's tasks, from the first "class" frame
	lab     string
	seen    map[tickKey]bool
	lat     []time.Duration // one per tick seen on a "learner" frame
	byTask  map[string][]time.Duration
	early   int           // done_at after the frame's arrival (clocks): counted as 0
	before  int           // ticks already done in the first snapshot
	resync  int           // ticks first seen in a snapshot after a reconnection: not timed
	events  int           // "event" frames: the servers' events, as the dashboard gets them
	rows    int           // "learner" frames
	conns   int           // connections made
	cuts    int           // connections the server ended (a stream that fell behind is dropped)
	badData int           // frames whose JSON could not be read
	last    time.Time     // arrival of the latest tick
	ready   chan struct{} // closed on the first "class" frame
	tick    chan struct{} // signalled (buffer 1) on each new tick
}

func newWatcher() *watcher {
	return &watcher{seen: map[tickKey]bool{}, byTask: map[string][]time.Duration{}, ready: make(chan struct{}), tick: make(chan struct{}, 1)}
}

// handle takes one message of the stream that arrived at arrival.
func (w *watcher) handle(kind string, data []byte, arrival time.Time) {
	switch kind {
	case "event":
		w.mu.Lock()
		w.events++
		w.mu.Unlock()
	case "learner":
		var r api.ClassLearner
		if err := json.Unmarshal(data, &r); err != nil {
			w.mu.Lock()
			w.badData++
			w.mu.Unlock()
			return
		}
		w.mu.Lock()
		w.rows++
		n := 0
		for _, c := range r.Cells {
			k := tickKey{r.ID, c.Task}
			if !c.Done || c.DoneAt == nil || w.seen[k] {
				continue
			}
			w.seen[k] = true
			d := arrival.Sub(*c.DoneAt)
			if d < 0 {
				w.early++
				d = 0
			}
			w.lat = append(w.lat, d)
			w.byTask[c.Task] = append(w.byTask[c.Task], d)
			w.last = arrival
			n++
		}
		w.mu.Unlock()
		if n > 0 {
			select {
			case w.tick <- struct{}{}:
			default:
			}
		}
	case "class":
		var c api.Class
		if err := json.Unmarshal(data, &c); err != nil {
			w.mu.Lock()
			w.badData++
			w.mu.Unlock()
			return
		}
		w.mu.Lock()
		first := w.tasks == nil
		if first {
			w.lab = c.Lab
			w.tasks = []string{}
			for _, t := range c.Tasks {
				w.tasks = append(w.tasks, t.ID)
			}
		}
		n := 0
		for _, l := range c.Learners {
			for _, cell := range l.Cells {
				k := tickKey{l.ID, cell.Task}
				if !cell.Done || w.seen[k] {
					continue
				}
				w.seen[k] = true
				n++
				if first {
					w.before++
				} else {
					w.resync++
					w.last = arrival
				}
			}
		}
		w.mu.Unlock()
		if first {
			close(w.ready)
		}
		if n > 0 && !first {
			select {
			case w.tick <- struct{}{}:
			default:
			}
		}
	}
}

// seenCount is how many ticks the stream has shown (timed or not).
func (w *watcher) seenCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seen)
}

// streamFigures are what the watcher saw, copied out.
type streamFigures struct {
	lab                   string
	tasks                 []string
	lat                   []time.Duration
	byTask                map[string][]time.Duration
	seen                  map[tickKey]bool
	early, before, resync int
	events, rows          int
	conns, cuts, badData  int
	last                  time.Time
}

func (w *watcher) figures() streamFigures {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := make(map[tickKey]bool, len(w.seen))
	for k, v := range w.seen {
		seen[k] = v
	}
	byTask := make(map[string][]time.Duration, len(w.byTask))
	for k, v := range w.byTask {
		byTask[k] = append([]time.Duration(nil), v...)
	}
	return streamFigures{lab: w.lab, tasks: append([]string(nil), w.tasks...), lat: append([]time.Duration(nil), w.lat...), byTask: byTask,
		seen: seen, early: w.early, before: w.before, resync: w.resync, events: w.events, rows: w.rows,
		conns: w.conns, cuts: w.cuts, badData: w.badData, last: w.last}
}

// follow reads the dashboard's event stream at web (the lab's web address)
// until ctx ends, connecting again whenever the server ends it. It returns
// the error that stopped it, nil when ctx ended it.
func (w *watcher) follow(ctx context.Context, web, token string) error {
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}}
	defer client.CloseIdleConnections()
	for {
		err := w.once(ctx, client, web, token)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		w.mu.Lock()
		w.cuts++
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// once reads one connection of the stream to its end (nil) or an error.
func (w *watcher) once(ctx context.Context, client *http.Client, web, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, web+"/api/class/events", nil)
	if err != nil {
		return fmt.Errorf("event stream: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("event stream: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("event stream: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	w.mu.Lock()
	w.conns++
	w.mu.Unlock()
	r := api.NewSSEReader(resp.Body, maxFrame)
	for {
		kind, data, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, api.ErrSSETooLong) {
				return fmt.Errorf("event stream: %w", err)
			}
			return nil // the connection was cut: a reconnection follows
		}
		w.handle(kind, data, time.Now())
	}
}
