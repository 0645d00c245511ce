package checker

import (
	"reflect"
	"testing"

	"protolab/internal/event"
)

func TestSequential(t *testing.T) {
	mk := func(id, src string, optional bool) Task {
		c, err := compile(t, src)
		if err != nil {
			t.Fatal(err)
		}
		return Task{ID: id, Check: c, Optional: optional}
	}
	a := func(sec int) event.Event { return q(sec, "qtype", "A") }
	mx := func(sec int) event.Event { return q(sec, "qtype", "MX") }
	txt := func(sec int) event.Event { return q(sec, "qtype", "TXT") }
	type step struct {
		e       event.Event
		ticked  []string
		early   []Early
		waiting map[string]string // task -> WaitingFor after the event
	}
	tests := []struct {
		name  string
		order Order
		tasks []Task
		done  map[string]bool
		steps []step
	}{
		{
			name:  "free order ticks anything at any time",
			order: Free,
			tasks: []Task{mk("a", "event: dns.query\nwhere: {qtype: A}", false), mk("mx", "event: dns.query\nwhere: {qtype: MX}", false)},
			steps: []step{
				{e: mx(0), ticked: []string{"mx"}, waiting: map[string]string{"a": ""}},
				{e: a(1), ticked: []string{"a"}},
			},
		},
		{
			name:  "a later task out of turn ticks nothing and must be done again",
			order: Sequential,
			tasks: []Task{mk("a", "event: dns.query\nwhere: {qtype: A}", false), mk("mx", "event: dns.query\nwhere: {qtype: MX}", false)},
			steps: []step{
				{e: mx(0), early: []Early{{Task: "mx", First: "a"}}, waiting: map[string]string{"mx": "a", "a": ""}},
				{e: a(1), ticked: []string{"a"}, waiting: map[string]string{"mx": ""}},
				{e: txt(2)}, // the early MX is not remembered
				{e: mx(3), ticked: []string{"mx"}},
			},
		},
		{
			name:  "a count started out of turn starts again in turn",
			order: Sequential,
			tasks: []Task{mk("a", "event: dns.query\nwhere: {qtype: A}", false), mk("two-mx", "event: dns.query\nwhere: {qtype: MX}\ncount: 2", false)},
			steps: []step{
				{e: mx(0)},
				{e: a(1), ticked: []string{"a"}},
				{e: mx(2)},
				{e: mx(3), ticked: []string{"two-mx"}},
			},
		},
		{
			name:  "an optional task does not hold back the next ones",
			order: Sequential,
			tasks: []Task{mk("txt", "event: dns.query\nwhere: {qtype: TXT}", true), mk("a", "event: dns.query\nwhere: {qtype: A}", false), mk("mx", "event: dns.query\nwhere: {qtype: MX}", true)},
			steps: []step{
				{e: a(0), ticked: []string{"a"}, waiting: map[string]string{"txt": "", "mx": ""}},
				{e: mx(1), ticked: []string{"mx"}},
				{e: txt(2), ticked: []string{"txt"}},
			},
		},
		{
			name:  "an optional task waits for the required ones before it",
			order: Sequential,
			tasks: []Task{mk("a", "event: dns.query\nwhere: {qtype: A}", false), mk("mx", "event: dns.query\nwhere: {qtype: MX}", true)},
			steps: []step{
				{e: mx(0), early: []Early{{Task: "mx", First: "a"}}, waiting: map[string]string{"mx": "a"}},
			},
		},
		{
			name:  "one event ticks a task and then the one it unlocks",
			order: Sequential,
			tasks: []Task{mk("a", "event: dns.query\nwhere: {qtype: A}", false), mk("any", "event: dns.query", false), mk("mx", "event: dns.query\nwhere: {qtype: MX}", false)},
			steps: []step{
				{e: a(0), ticked: []string{"a", "any"}, waiting: map[string]string{"mx": ""}},
			},
		},
		{
			name:  "progress from an earlier run opens the way",
			order: Sequential,
			tasks: []Task{mk("a", "event: dns.query\nwhere: {qtype: A}", false), mk("mx", "event: dns.query\nwhere: {qtype: MX}", false)},
			done:  map[string]bool{"a": true},
			steps: []step{
				{e: mx(0), ticked: []string{"mx"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewOrdered(tt.tasks, tt.done, tt.order)
			for i, s := range tt.steps {
				r := c.Feed(s.e)
				if !reflect.DeepEqual(r.Ticked, s.ticked) || !reflect.DeepEqual(r.Early, s.early) {
					t.Fatalf("step %d: ticked %v early %v, want %v and %v", i, r.Ticked, r.Early, s.ticked, s.early)
				}
				for id, want := range s.waiting {
					if got := c.WaitingFor(id); got != want {
						t.Fatalf("step %d: WaitingFor(%s) = %q, want %q", i, id, got, want)
					}
				}
			}
		})
	}
}

func TestSequentialReset(t *testing.T) {
	ca, _ := compile(t, "event: dns.query\nwhere: {qtype: A}")
	cm, _ := compile(t, "event: dns.query\nwhere: {qtype: MX}")
	c := NewOrdered([]Task{{ID: "a", Check: ca}, {ID: "mx", Check: cm}}, map[string]bool{"a": true}, Sequential)
	if c.WaitingFor("mx") != "" {
		t.Fatal("mx waits although a is done")
	}
	c.Reset()
	if c.WaitingFor("mx") != "a" {
		t.Fatal("after Reset the checker forgot its order")
	}
	if got := c.Observe(q(0, "qtype", "MX")); got != nil {
		t.Fatalf("after Reset mx ticked out of turn: %v", got)
	}
	if c.WaitingFor("nope") != "" || c.Done("nope") {
		t.Fatal("an unknown task waits or is done")
	}
}
