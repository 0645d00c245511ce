package checker

import (
	"protolab/internal/event"
)

// Task is a task's id and its compiled check.
type Task struct {
	ID    string
	Check *Check
}

// Checker follows a set of tasks for one learner. It is not safe for
// concurrent use; the runner feeds it from one goroutine.
type Checker struct {
	tasks    []Task
	ids      []string
	matchers []Matcher
	done     []bool
}

// New returns a checker for the tasks; the ids in done are already done
// (progress from an earlier run) and are not watched again.
func New(tasks []Task, done map[string]bool) *Checker {
	c := &Checker{
		tasks:    tasks,
		ids:      make([]string, len(tasks)),
		matchers: make([]Matcher, len(tasks)),
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
	var ticked []string
	for i, m := range c.matchers {
		if c.done[i] {
			continue
		}
		if m.Observe(&e) {
			c.done[i] = true
			ticked = append(ticked, c.ids[i])
		}
	}
	return ticked
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
	*c = *New(c.tasks, nil)
}
