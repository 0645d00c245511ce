package runner

import (
	"time"

	"protolab/internal/api"
	"protolab/internal/console"
	"protolab/internal/event"
	"protolab/internal/explain"
	"protolab/internal/lesson"
	"protolab/internal/service"
	"protolab/labs"
)

// The web console asks for more than console.Source.
var _ console.Lab = (*Lab)(nil)

// Bounds of the journal reads made for the console.
const (
	// didWindow is how many of the newest events are searched for the
	// events that ticked the tasks (the default retention).
	didWindow = 10000
	// explainWindow is how many of the newest events are searched for
	// the latest exchange.
	explainWindow = 2000
	// catchUp bounds the wait for the journal to hold what was published.
	catchUp = time.Second
	// journalQuiet is longer than the journal's pause between writes.
	journalQuiet = 400 * time.Millisecond
)

// StatusIn implements console.Lab: Status with the titles in lang.
func (l *Lab) StatusIn(lang string) api.Status {
	st := l.Status()
	if lang == "" || lang == st.Lang {
		return st
	}
	st.Lang, st.Title = lang, l.lab.Title.In(lang)
	for i := range st.Tasks {
		if t, ok := l.lab.Task(st.Tasks[i].ID); ok {
			st.Tasks[i].Title = t.Title.In(lang)
		}
	}
	return st
}

// HintIn implements console.Lab: Hint with the text in lang.
func (l *Lab) HintIn(id, lang string) (api.Hint, error) {
	h, err := l.Hint(id)
	if err != nil || h.Level == 0 || lang == "" || lang == h.Lang {
		return h, err
	}
	if t, ok := l.lab.Task(id); ok && h.Level <= len(t.Hints) {
		h.Text, h.Lang = labs.RenderHint(t.Hints[h.Level-1].In(lang), l.endpoints), lang
	}
	return h, nil
}

// Lesson implements console.Lab: the lab's lesson in lang, or in the
// language it falls back to.
func (l *Lab) Lesson(lang string) (*lesson.Doc, string) { return l.lab.Lesson(lang) }

// Did implements console.Lab: what the learner did to tick each task done,
// from the events of the journal at the ticks' times.
func (l *Lab) Did(lang string) map[string]string {
	l.mu.Lock()
	done := make(map[string]time.Time, len(l.done))
	for id, at := range l.done {
		done[id] = at
	}
	l.mu.Unlock()
	out := map[string]string{}
	if len(done) == 0 {
		return out
	}
	evs, err := l.journalCaughtUp(didWindow)
	if err != nil {
		l.opts.Log.Warn("cannot read the event journal", "err", err)
		return out
	}
	for id, at := range done {
		if t, ok := l.lab.Task(id); ok {
			if s := explain.Did(evs, t.EventKinds(), at, lang); s != "" {
				out[id] = s
			}
		}
	}
	return out
}

// Journal implements console.Lab: the newest events of the journal,
// oldest first.
func (l *Lab) Journal(limit int) ([]event.Event, error) { return l.journalCaughtUp(limit) }

// Explain implements console.Lab: the latest exchange, layer by layer.
func (l *Lab) Explain(svc, lang string) (*explain.Explanation, error) {
	x := explain.Context{Lab: l.lab.ID, Lang: lang, Sandboxed: l.network != nil, Running: true, Endpoints: l.endpoints}
	x.Brief, x.Networks = explain.SpecFuncs(l.serviceSpec)
	evs, err := l.journalCaughtUp(explainWindow)
	if err != nil {
		return nil, err
	}
	ex, ok := explain.Latest(evs, x, svc)
	if !ok {
		return nil, explain.Nothing(x, svc)
	}
	return ex, nil
}

// serviceSpec finds the spec of one of the lab's services.
func (l *Lab) serviceSpec(name string) (*service.Spec, bool) {
	for _, s := range l.lab.Services {
		if s.Name == name {
			return s.Spec, true
		}
	}
	return nil, false
}

// journalCaughtUp reads the newest n events of the journal. The journal is
// written a quarter of a second at a time: the events published before the
// call and not yet written are waited for, a little.
//
// A learner's view of a class reads that learner's events only.
func (l *Lab) journalCaughtUp(n int) ([]event.Event, error) {
	evs, err := l.journalWait(n)
	if err != nil || l.learner == "" {
		return evs, err
	}
	return l.store.RecentBy(l.lab.ID, l.learner, n)
}

// journalWait reads the newest n events of the journal once it holds what
// was published before the call, or a little later.
func (l *Lab) journalWait(n int) ([]event.Event, error) {
	published := l.bus.Published()
	deadline := time.Now().Add(catchUp)
	var lastSeq uint64
	lastChange := time.Now()
	for {
		evs, err := l.store.Recent(l.lab.ID, n)
		if err != nil || published == 0 {
			return evs, err
		}
		var seq uint64
		if k := len(evs); k > 0 && !evs[k-1].Time.Before(l.started) {
			seq = evs[k-1].Seq
		}
		if seq >= published {
			return evs, nil
		}
		now := time.Now()
		if seq != lastSeq {
			lastSeq, lastChange = seq, now
		}
		// Past the deadline, or nothing written for longer than the
		// journal waits between writes: events were dropped under load, or
		// the journal was reset. Give what is there.
		if now.After(deadline) || now.Sub(lastChange) > journalQuiet {
			return evs, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
}
