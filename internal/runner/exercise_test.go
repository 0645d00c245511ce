package runner

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"protolab/labs"
)

const exerciseYAML = `
id: pingex
title: Ping exercise
order: sequential
deadline: DEADLINE
services:
  ping:
tasks:
  - id: hello
    title: Say hello
    check: {event: ping.hello, where: {text: hello}}
  - id: maybe
    title: Say maybe
    required: false
    check: {event: ping.hello, where: {text: maybe}}
  - id: bye
    title: Say bye
    points: 3
    check: {event: ping.hello, where: {text: bye}}
`

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestExerciseOrderAndDeadline(t *testing.T) {
	tests := []struct {
		name     string
		deadline time.Time
		late     bool
		points   int
	}{
		{"before the deadline", time.Now().Add(time.Hour), false, 4},
		{"after the deadline", time.Now().Add(-time.Hour), true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(exerciseYAML, "DEADLINE", tt.deadline.Format(time.RFC3339), 1)
			lab, err := labs.ParseExercise([]byte(src), fstest.MapFS{}, "ex.yaml", "alice", registry{})
			if err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			l, err := Start(context.Background(), Options{Lab: lab, StateDir: t.TempDir(), Ports: PortsAuto, Web: "127.0.0.1:0",
				Log: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close(context.Background())
			st := l.Status()
			if st.Order != "sequential" || st.Deadline == nil || !st.Deadline.Equal(lab.Exercise.Deadline) {
				t.Fatalf("status: order %q deadline %v", st.Order, st.Deadline)
			}
			want := map[string]string{"hello": "", "maybe": "hello", "bye": "hello"}
			for _, tk := range st.Tasks {
				if tk.WaitingFor != want[tk.ID] || tk.Optional != (tk.ID == "maybe") {
					t.Fatalf("task %s: waiting for %q, optional %v", tk.ID, tk.WaitingFor, tk.Optional)
				}
			}

			// bye out of turn ticks nothing; hello then opens the way, and
			// bye must be said again.
			send(t, l, "bye")
			send(t, l, "hello")
			waitStatus(t, l, func(d map[string]bool) bool { return d["hello"] })
			if st := l.Status(); st.Tasks[2].Done || st.Tasks[2].WaitingFor != "" || st.Tasks[1].WaitingFor != "" {
				t.Fatalf("after bye then hello: %+v", st.Tasks)
			}
			if !strings.Contains(logs.String(), "task done out of turn") || !strings.Contains(logs.String(), "task=bye") {
				t.Fatalf("the early bye was not logged:\n%s", logs.String())
			}
			send(t, l, "bye")
			waitStatus(t, l, func(d map[string]bool) bool { return d["bye"] })
			st = l.Status()
			if st.Tasks[2].Late != tt.late || st.Tasks[0].Late != tt.late || st.Points != tt.points || st.MaxPoints != 5 {
				t.Fatalf("late %v, points %d/%d; want late %v and %d/5", st.Tasks[2].Late, st.Points, st.MaxPoints, tt.late, tt.points)
			}
		})
	}
}

// A plain lab has nothing of an exercise in its status.
func TestPlainLabStatus(t *testing.T) {
	st := BuildStatus(loadLab(t), "en", map[string]time.Time{}, nil)
	if st.Order != "" || st.Deadline != nil || st.Tasks[1].WaitingFor != "" || st.Tasks[1].Optional {
		t.Fatalf("status of a plain lab: %+v", st)
	}
}
