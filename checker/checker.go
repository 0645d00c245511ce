package checker

import (
	"protolab/internal/event"
)

// Task is a task's id and its compiled check.
type Task struct {
	ID    string
	Check *Check
	// Optional tasks never hold back the tasks after them in a sequential
	// checker (an exercise's "required: false").
	Optional bool
}

// Order says when a task may tick.
type Order int

const (
	// Free lets every task tick at any time.
	Free Order = iota
	// Sequential lets a task tick only once every required task before it
	// is done. An event that would tick a later task early ticks nothing:
	// that task must be done again, in its turn.
	Sequential
)

// Early is a task that an event would have completed had the required
// tasks before it been done: First is the one to do first.
type Early struct {
	Task  string
	First string
}

// Result is what one event did.
type Result struct {
	Ticked []string // the tasks it completed, in the order of the tasks
	Early  []Early  // the tasks it would have completed out of turn
}

// Checker follows a set of tasks for one learner. It is not safe for
// concurrent use; the runner feeds it from one goroutine.
type Checker struct {
	tasks    []Task
	order    Order
	ids      []string
	matchers []Matcher
	// shadows follow, in a sequential checker, the tasks that may not tick
	// yet, only to tell the learner that they came too early.
	shadows []Matcher
	done    []bool
}

// New returns a checker for the tasks in free order; the ids in done are
// already done (progress from an earlier run) and are not watched again.
func New(tasks []Task, done map[string]bool) *Checker {
	return NewOrdered(tasks, done, Free)
}

// NewOrdered returns a checker for the tasks in the given order.
func NewOrdered(tasks []Task, done map[string]bool, order Order) *Checker {
	c := &Checker{
		tasks:    tasks,
		order:    order,
		ids:      make([]string, len(tasks)),
		matchers: make([]Matcher, len(tasks)),
		shadows:  make([]Matcher, len(tasks)),
		done:     make([]bool, len(tasks)),
	}
	for i, t := range tasks {
		c.ids[i] = t.ID
		c.matchers[i] = t.Check.NewMatcher()
		c.done[i] = done[t.ID]
	}
	return c
}

// Observe feeds one event and returns the ids of the tasks it completed, in
// the order of the lab's tasks.
func (c *Checker) Observe(e event.Event) []string {
	return c.Feed(e).Ticked
}

// Feed feeds one event and says what it did. In a sequential checker the
// tasks are fed in order, so that one event may tick a task and then the
// next one, which it unlocked (an smtp.delivered that ends "send a mail" and
// starts "read it back" in a sequence check).
func (c *Checker) Feed(e event.Event) Result {
	var r Result
	for i, m := range c.matchers {
		if c.done[i] {
			continue
		}
		if first := c.first(i); first != "" {
			// Not its turn: a shadow matcher watches, the real one does not,
			// so that the task starts afresh once its turn comes.
			if c.shadows[i] == nil {
				c.shadows[i] = c.tasks[i].Check.NewMatcher()
			}
			if c.shadows[i].Observe(&e) {
				c.shadows[i] = nil
				r.Early = append(r.Early, Early{Task: c.ids[i], First: first})
			}
			continue
		}
		c.shadows[i] = nil
		if m.Observe(&e) {
			c.done[i] = true
			r.Ticked = append(r.Ticked, c.ids[i])
		}
	}
	return r
}

// first is, in a sequential checker, the first required task before task i
// that is not done ("" when task i may tick).
func (c *Checker) first(i int) string {
	if c.order != Sequential {
		return ""
	}
	for j := 0; j < i; j++ {
		if !c.done[j] && !c.tasks[j].Optional {
			return c.ids[j]
		}
	}
	return ""
}

// WaitingFor returns the task to do before the task id may tick: "" in free
// order, for a task whose turn has come, and for an unknown id.
func (c *Checker) WaitingFor(id string) string {
	for i, x := range c.ids {
		if x == id {
			if c.done[i] {
				return ""
			}
			return c.first(i)
		}
	}
	return ""
}

// Done reports whether the task is done.
func (c *Checker) Done(id string) bool {
	for i, x := range c.ids {
		if x == id {
			return c.done[i]
		}
	}
	return false
}

// Reset forgets all progress: every task is watched again from scratch.
func (c *Checker) Reset() {
	*c = *NewOrdered(c.tasks, nil, c.order)
}
