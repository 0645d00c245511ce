package progress

import (
	"reflect"
	"testing"
	"time"

	"protolab/internal/statedb"
)

func TestLearners(t *testing.T) {
	s := openTest(t)
	steps := []struct {
		learner, task string
		at            time.Time
		newly         bool
	}{
		{LocalLearner, "a", t0, true},
		{"alice", "a", t0.Add(time.Minute), true},
		{"alice", "a", t0.Add(time.Hour), false}, // keeps its first time
		{"bob", "b", t0.Add(2 * time.Minute), true},
	}
	for _, st := range steps {
		newly, err := s.MarkDoneBy("ex", st.learner, st.task, st.at)
		if err != nil || newly != st.newly {
			t.Fatalf("MarkDoneBy(%q, %s) = %v, %v; want %v", st.learner, st.task, newly, err, st.newly)
		}
	}
	if _, err := s.NextHintBy("ex", "carol", "a", 2); err != nil {
		t.Fatal(err)
	}
	got, err := s.Learners("ex")
	if err != nil || !reflect.DeepEqual(got, []string{"", "alice", "bob", "carol"}) {
		t.Fatalf("Learners = %q, %v", got, err)
	}
	if got, _ := s.Learners("other"); len(got) != 0 {
		t.Fatalf("learners of a lab nobody ran: %q", got)
	}
	tests := []struct {
		learner string
		want    map[string]time.Time
	}{
		{LocalLearner, map[string]time.Time{"a": t0}},
		{"alice", map[string]time.Time{"a": t0.Add(time.Minute)}},
		{"bob", map[string]time.Time{"b": t0.Add(2 * time.Minute)}},
		{"carol", map[string]time.Time{}},
	}
	for _, tt := range tests {
		done, err := s.DoneBy("ex", tt.learner)
		if err != nil || !reflect.DeepEqual(done, tt.want) {
			t.Errorf("DoneBy(%q) = %v, %v; want %v", tt.learner, done, err, tt.want)
		}
	}
	// The local learner's methods see only the local learner.
	if done, _ := s.Done("ex"); len(done) != 1 {
		t.Errorf("Done = %v, want the local learner's task only", done)
	}
	if h, _ := s.HintsShownBy("ex", "carol"); h["a"] != 1 {
		t.Errorf("carol's hints: %v", h)
	}
	if h, _ := s.HintsShown("ex"); len(h) != 0 {
		t.Errorf("the local learner got carol's hints: %v", h)
	}
	if err := s.ResetLearner("ex", "alice"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Learners("ex"); !reflect.DeepEqual(got, []string{"", "bob", "carol"}) {
		t.Fatalf("after ResetLearner(alice): %q", got)
	}
	if err := s.Reset("ex"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Learners("ex"); len(got) != 0 {
		t.Fatalf("after Reset: %q", got)
	}
}

// A state directory written before progress had learners opens with its
// progress intact, as the local learner's.
func TestMigrateVersion1(t *testing.T) {
	dir := t.TempDir()
	db, _, err := statedb.Open(dir, statedb.Full, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		migrations[0],
		"PRAGMA user_version = 1",
		"INSERT INTO progress (lab, task, done_at, hints) VALUES ('dns', 'resolve-a', '" + formatTime(t0) + "', 2)",
		"INSERT INTO progress (lab, task, hints) VALUES ('dns', 'mx', 1)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done, err := s.Done("dns")
	if err != nil || !reflect.DeepEqual(done, map[string]time.Time{"resolve-a": t0}) {
		t.Fatalf("Done after migration = %v, %v", done, err)
	}
	hints, err := s.HintsShown("dns")
	if err != nil || !reflect.DeepEqual(hints, map[string]int{"resolve-a": 2, "mx": 1}) {
		t.Fatalf("HintsShown after migration = %v, %v", hints, err)
	}
	if got, _ := s.Learners("dns"); !reflect.DeepEqual(got, []string{LocalLearner}) {
		t.Fatalf("Learners after migration = %q", got)
	}
	if newly, err := s.MarkDoneBy("dns", "alice", "resolve-a", t0); err != nil || !newly {
		t.Fatalf("a second learner on the same task: %v, %v", newly, err)
	}
}

// TestMarkDoneMany: a batch of ticks lands at once, each keeping its first
// time, and survives a reopen; an empty batch writes nothing.
func TestMarkDoneMany(t *testing.T) {
	s := openTest(t)
	if _, err := s.MarkDoneBy("ex", "alice", "a", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDoneMany("ex", nil); err != nil {
		t.Fatal(err)
	}
	err := s.MarkDoneMany("ex", []Tick{
		{Learner: "alice", Task: "a", At: t0.Add(time.Hour)}, // done before: keeps t0
		{Learner: "alice", Task: "b", At: t0.Add(time.Minute)},
		{Learner: "bob", Task: "a", At: t0.Add(2 * time.Minute)},
		{Learner: LocalLearner, Task: "c"}, // now
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]time.Time{
		"alice": {"a": t0, "b": t0.Add(time.Minute)},
		"bob":   {"a": t0.Add(2 * time.Minute)},
	}
	for learner, tasks := range want {
		got, err := s.DoneBy("ex", learner)
		if err != nil || !reflect.DeepEqual(got, tasks) {
			t.Errorf("DoneBy(%s) = %v, %v; want %v", learner, got, err, tasks)
		}
	}
	if got, _ := s.DoneBy("ex", LocalLearner); len(got) != 1 || time.Since(got["c"]) > time.Minute {
		t.Errorf("the local learner's tick: %v", got)
	}
	if err := s.MarkDoneMany("", []Tick{{Learner: "x", Task: "y"}}); err == nil {
		t.Error("an empty lab id was taken")
	}
}
