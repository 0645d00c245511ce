package progress

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

func TestOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b?c#d", "state")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", s.Dir(), dir)
	}
	fi, err := os.Stat(filepath.Join(dir, DBName))
	if err != nil {
		t.Fatalf("database not at %s: %v", DBName, err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode %v, want 0700", di.Mode().Perm())
	}
	for _, q := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"synchronous", "2"},
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
		{"user_version", fmt.Sprint(len(migrations))},
	} {
		var got string
		if err := s.db.QueryRow("PRAGMA " + q.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != q.want {
			t.Errorf("PRAGMA %s = %q, want %q", q.pragma, got, q.want)
		}
	}
	// The driver found the file through its URI: the write-ahead log sits
	// beside it, in the directory with awkward characters.
	if err := s.SetMeta("k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, DBName+"-wal")); err != nil {
		t.Errorf("no write-ahead log beside the database: %v", err)
	}
	for _, table := range []string{"progress", "events", "meta"} {
		var n int
		if err := s.db.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("table %s missing", table)
		}
	}
}

func TestOpenReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkDone("dns", "a-record", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	done, err := s.Done("dns")
	if err != nil {
		t.Fatal(err)
	}
	if !done["a-record"].Equal(t0) {
		t.Errorf("after reopen Done = %v", done)
	}
}

func TestOpenErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	newer := t.TempDir()
	s, err := Open(newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	notDB := t.TempDir()
	if err := os.WriteFile(filepath.Join(notDB, DBName), []byte("this is not a database, not at all, really not"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, dir string }{
		{"empty", ""},
		{"under a file", filepath.Join(file, "state")},
		{"newer schema", newer},
		{"not a database", notDB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.dir)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

func TestMarkDone(t *testing.T) {
	s := openTest(t)
	t1 := t0.Add(time.Minute)
	steps := []struct {
		lab, task string
		at        time.Time
		newly     bool
	}{
		{"dns", "a", t0, true},
		{"dns", "a", t1, false}, // keeps the first time
		{"dns", "b", t1, true},
		{"mail", "a", t1, true}, // another lab, same task id
	}
	for i, st := range steps {
		newly, err := s.MarkDone(st.lab, st.task, st.at)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if newly != st.newly {
			t.Errorf("step %d: MarkDone(%s, %s) newly = %v, want %v", i, st.lab, st.task, newly, st.newly)
		}
	}
	for _, tc := range []struct {
		lab  string
		want map[string]time.Time
	}{
		{"dns", map[string]time.Time{"a": t0, "b": t1}},
		{"mail", map[string]time.Time{"a": t1}},
		{"none", map[string]time.Time{}},
	} {
		got, err := s.Done(tc.lab)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tc.want) {
			t.Errorf("Done(%s) = %v, want %v", tc.lab, got, tc.want)
			continue
		}
		for k, v := range tc.want {
			if !got[k].Equal(v) {
				t.Errorf("Done(%s)[%s] = %v, want %v", tc.lab, k, got[k], v)
			}
		}
	}
}

func TestMarkDoneZeroTimeIsNow(t *testing.T) {
	s := openTest(t)
	before := time.Now()
	if _, err := s.MarkDone("dns", "a", time.Time{}); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	done, err := s.Done("dns")
	if err != nil {
		t.Fatal(err)
	}
	if at := done["a"]; at.Before(before.Truncate(time.Nanosecond)) || at.After(after) {
		t.Errorf("done at %v, want between %v and %v", at, before, after)
	}
}

func TestMarkDoneAfterHint(t *testing.T) {
	s := openTest(t)
	if _, err := s.NextHint("dns", "a", 2); err != nil {
		t.Fatal(err)
	}
	if done, _ := s.Done("dns"); len(done) != 0 {
		t.Fatalf("a hint marked the task done: %v", done)
	}
	newly, err := s.MarkDone("dns", "a", t0)
	if err != nil || !newly {
		t.Fatalf("MarkDone after hint = %v, %v; want true", newly, err)
	}
	if h, _ := s.HintsShown("dns"); h["a"] != 1 {
		t.Errorf("MarkDone lost the hint count: %v", h)
	}
}

func TestEmptyLab(t *testing.T) {
	s := openTest(t)
	if _, err := s.MarkDone("", "a", t0); err == nil {
		t.Error("MarkDone with empty lab succeeded")
	}
	if _, err := s.NextHint("", "a", 3); err == nil {
		t.Error("NextHint with empty lab succeeded")
	}
	if err := s.Append("", testEvents(1)); err == nil {
		t.Error("Append with empty lab succeeded")
	}
}

func TestNextHint(t *testing.T) {
	s := openTest(t)
	steps := []struct {
		task string
		max  int
		want int
	}{
		{"a", 3, 1},
		{"a", 3, 2},
		{"a", 3, 3},
		{"a", 3, 3}, // capped
		{"a", 2, 2}, // the lab file now has fewer hints
		{"b", 0, 0}, // no hints at all: nothing recorded
		{"c", -1, 0},
		{"d", 1, 1},
		{"d", 1, 1},
	}
	for i, st := range steps {
		got, err := s.NextHint("dns", st.task, st.max)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got != st.want {
			t.Errorf("step %d: NextHint(%s, %d) = %d, want %d", i, st.task, st.max, got, st.want)
		}
	}
	shown, err := s.HintsShown("dns")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"a": 2, "d": 1}
	if len(shown) != len(want) || shown["a"] != 2 || shown["d"] != 1 {
		t.Errorf("HintsShown = %v, want %v", shown, want)
	}
	if other, _ := s.HintsShown("mail"); len(other) != 0 {
		t.Errorf("HintsShown(mail) = %v, want empty", other)
	}
}

func TestReset(t *testing.T) {
	s := openTest(t)
	for _, lab := range []string{"dns", "mail"} {
		if _, err := s.MarkDone(lab, "a", t0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.NextHint(lab, "b", 3); err != nil {
			t.Fatal(err)
		}
		if err := s.Append(lab, testEvents(3)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetMeta("last_lab", "dns"); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset("dns"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lab                  string
		done, hints, journal int
	}{
		{"dns", 0, 0, 0},
		{"mail", 1, 1, 3},
	} {
		done, err := s.Done(tc.lab)
		if err != nil {
			t.Fatal(err)
		}
		hints, err := s.HintsShown(tc.lab)
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.Count(tc.lab)
		if err != nil {
			t.Fatal(err)
		}
		if len(done) != tc.done || len(hints) != tc.hints || n != tc.journal {
			t.Errorf("after Reset(dns), %s has %d done, %d hinted, %d events; want %d, %d, %d",
				tc.lab, len(done), len(hints), n, tc.done, tc.hints, tc.journal)
		}
	}
	if v, ok, err := s.Meta("last_lab"); err != nil || !ok || v != "dns" {
		t.Errorf("Reset touched meta: %q %v %v", v, ok, err)
	}
	// A reset task can be done again.
	if newly, err := s.MarkDone("dns", "a", t0); err != nil || !newly {
		t.Errorf("MarkDone after Reset = %v, %v; want true", newly, err)
	}
}

func TestMeta(t *testing.T) {
	s := openTest(t)
	if v, ok, err := s.Meta("missing"); err != nil || ok || v != "" {
		t.Errorf("Meta(missing) = %q, %v, %v; want \"\", false, nil", v, ok, err)
	}
	for _, tc := range []struct{ key, value string }{
		{"last_lab", "dns"},
		{"last_lab", "mail"}, // replaced
		{"lab_file", "labs/x/lab.yaml"},
		{"empty", ""},
		{"utf8", "héllo\x00wörld"},
	} {
		if err := s.SetMeta(tc.key, tc.value); err != nil {
			t.Fatal(err)
		}
		v, ok, err := s.Meta(tc.key)
		if err != nil || !ok || v != tc.value {
			t.Errorf("Meta(%s) = %q, %v, %v; want %q", tc.key, v, ok, err, tc.value)
		}
	}
	if v, _, _ := s.Meta("last_lab"); v != "mail" {
		t.Errorf("last_lab = %q, want mail", v)
	}
}

// TestConcurrent hammers one store from many goroutines (run with -race):
// nothing fails with "database is locked" and every write counts.
func TestConcurrent(t *testing.T) {
	s := openTest(t)
	const workers, each = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*4)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				task := fmt.Sprintf("t%d-%d", w, i)
				if _, err := s.MarkDone("dns", task, t0); err != nil {
					errs <- err
				}
				if _, err := s.NextHint("dns", "shared", workers*each); err != nil {
					errs <- err
				}
				if err := s.Append("dns", testEvents(2)); err != nil {
					errs <- err
				}
				if _, err := s.Done("dns"); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	done, err := s.Done("dns")
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != workers*each {
		t.Errorf("%d tasks done, want %d", len(done), workers*each)
	}
	if h, _ := s.HintsShown("dns"); h["shared"] != workers*each {
		t.Errorf("shared hints = %d, want %d", h["shared"], workers*each)
	}
	if n, _ := s.Count("dns"); n != workers*each*2 {
		t.Errorf("journal has %d events, want %d", n, workers*each*2)
	}
}

// TestTwoStoresOneDir opens the same directory twice, as `lab reset` does
// beside a running lab: both see each other's writes.
func TestTwoStoresOneDir(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.MarkDone("dns", "x", t0); err != nil {
		t.Fatal(err)
	}
	if done, err := b.Done("dns"); err != nil || len(done) != 1 {
		t.Fatalf("second store sees %v, %v", done, err)
	}
	if err := b.Reset("dns"); err != nil {
		t.Fatal(err)
	}
	if done, err := a.Done("dns"); err != nil || len(done) != 0 {
		t.Fatalf("first store sees %v after reset, %v", done, err)
	}
}
