package progress

import "testing"

func TestRecentBy(t *testing.T) {
	s := openTest(t)
	evs := testEvents(7)
	for i := range evs {
		evs[i].Learner = []string{"a", "b", ""}[i%3] // a: 0 3 6, b: 1 4, none: 2 5
	}
	if err := s.Append("dns", evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Append("other", testEvents(2)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		learner string
		n       int
		want    []uint64 // seqs, oldest first
	}{
		{"a", 10, []uint64{1, 4, 7}},
		{"a", 2, []uint64{4, 7}},
		{"b", 10, []uint64{2, 5}},
		{LocalLearner, 10, []uint64{3, 6}},
		{"nobody", 10, nil},
		{"a", 0, nil},
	} {
		got, err := s.RecentBy("dns", tt.learner, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for _, e := range got {
			if e.Learner != tt.learner {
				t.Errorf("RecentBy(%q) gave an event of %q", tt.learner, e.Learner)
			}
			seqs = append(seqs, e.Seq)
		}
		if len(seqs) != len(tt.want) {
			t.Errorf("RecentBy(%q, %d) = %v, want %v", tt.learner, tt.n, seqs, tt.want)
			continue
		}
		for i := range seqs {
			if seqs[i] != tt.want[i] {
				t.Errorf("RecentBy(%q, %d) = %v, want %v", tt.learner, tt.n, seqs, tt.want)
				break
			}
		}
	}
}
