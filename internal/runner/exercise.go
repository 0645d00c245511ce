package runner

import (
	"time"

	"protolab/checker"
	"protolab/internal/api"
	"protolab/labs"
)

// exerciseTask adds to a task's state what an exercise says of it: not
// required, waiting for another task (sequential order), done late.
func exerciseTask(lab *labs.Lab, t api.Task, done map[string]time.Time) api.Task {
	if lab.Exercise == nil {
		return t
	}
	if lt, ok := lab.Task(t.ID); ok {
		t.Optional = lt.Optional
	}
	t.WaitingFor = lab.WaitingFor(t.ID, done)
	t.Late = t.DoneAt != nil && lab.Late(*t.DoneAt)
	return t
}

// exerciseStatus adds an exercise's order and deadline to its status.
func exerciseStatus(lab *labs.Lab, st *api.Status) {
	if lab.Exercise == nil {
		return
	}
	st.Order = string(lab.Exercise.Order)
	if d := lab.Exercise.Deadline; !d.IsZero() {
		st.Deadline = &d
	}
}

// orderChanges are the task changes an event makes beside its ticks, under
// l.mu: in sequential order a tick lets the next tasks tick (their
// waiting_for changes), and a task done out of turn is shown again with the
// task to do first, so that a view can say so.
func (l *Lab) orderChanges(ticked bool, early []checker.Early) []api.Change {
	if !l.lab.Sequential() {
		return nil
	}
	var out []api.Change
	seen := map[string]bool{}
	if ticked {
		for _, t := range l.lab.Tasks {
			if _, done := l.done[t.ID]; !done {
				out = append(out, api.Change{Task: l.taskStatus(t.ID)})
				seen[t.ID] = true
			}
		}
	}
	for _, e := range early {
		l.opts.Log.Info("task done out of turn: it does not count yet", "task", e.Task, "do first", e.First)
		if !seen[e.Task] {
			out = append(out, api.Change{Task: l.taskStatus(e.Task)})
		}
	}
	return out
}
