package progress

import (
	"database/sql"
	"fmt"
	"time"
)

// LocalLearner is the learner id under which a solo run keeps its progress:
// empty, as in the events of a solo run. Views name this learner after the
// local user (see labs.LocalLearner).
const LocalLearner = ""

// MarkDoneBy records that learner did task of lab at the given time (now
// when zero). It reports whether the task was not done before; a task
// already done keeps its first time. When MarkDoneBy returns without error
// the tick is on disk.
func (s *Store) MarkDoneBy(lab, learner, task string, at time.Time) (newly bool, err error) {
	if err := checkLab(lab); err != nil {
		return false, err
	}
	if at.IsZero() {
		at = time.Now()
	}
	err = s.write(func() error {
		res, err := s.db.Exec(`INSERT INTO progress (lab, learner, task, done_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (lab, learner, task) DO UPDATE SET done_at = excluded.done_at
			WHERE progress.done_at IS NULL`, lab, learner, task, formatTime(at))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		newly = n > 0
		return err
	})
	if err != nil {
		return false, fmt.Errorf("progress: mark %s/%s done: %w", lab, task, err)
	}
	return newly, nil
}

// Tick is one task a learner did, for MarkDoneMany.
type Tick struct {
	Learner string
	Task    string
	At      time.Time // now when zero
}

// MarkDoneMany records ticks of lab in one transaction (one write to disk
// for all), as MarkDoneBy does each: a task already done keeps its first
// time. When it returns without error every tick is on disk.
func (s *Store) MarkDoneMany(lab string, ticks []Tick) error {
	if err := checkLab(lab); err != nil {
		return err
	}
	if len(ticks) == 0 {
		return nil
	}
	now := time.Now()
	err := s.tx(func(tx *sql.Tx) error {
		st, err := tx.Prepare(`INSERT INTO progress (lab, learner, task, done_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (lab, learner, task) DO UPDATE SET done_at = excluded.done_at
			WHERE progress.done_at IS NULL`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, t := range ticks {
			at := t.At
			if at.IsZero() {
				at = now
			}
			if _, err := st.Exec(lab, t.Learner, t.Task, formatTime(at)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("progress: mark %d task(s) of %s done: %w", len(ticks), lab, err)
	}
	return nil
}

// DoneBy lists the tasks of lab that learner did, with the time each was
// done (in UTC).
func (s *Store) DoneBy(lab, learner string) (map[string]time.Time, error) {
	rows, err := s.db.Query(`SELECT task, done_at FROM progress
		WHERE lab = ? AND learner = ? AND done_at IS NOT NULL`, lab, learner)
	if err != nil {
		return nil, fmt.Errorf("progress: read progress of %s: %w", lab, err)
	}
	defer rows.Close()
	done := make(map[string]time.Time)
	for rows.Next() {
		var task, at string
		if err := rows.Scan(&task, &at); err != nil {
			return nil, fmt.Errorf("progress: read progress of %s: %w", lab, err)
		}
		t, err := parseTime(at)
		if err != nil {
			return nil, err
		}
		done[task] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("progress: read progress of %s: %w", lab, err)
	}
	return done, nil
}

// NextHintBy counts one more hint shown to learner for task, capped at max,
// and returns the new level (1..max): the hint to show. With max <= 0 (a
// task without hints) it records nothing and returns 0.
func (s *Store) NextHintBy(lab, learner, task string, max int) (level int, err error) {
	if err := checkLab(lab); err != nil {
		return 0, err
	}
	if max <= 0 {
		return 0, nil
	}
	err = s.write(func() error {
		return s.db.QueryRow(`INSERT INTO progress (lab, learner, task, hints) VALUES (?, ?, ?, 1)
			ON CONFLICT (lab, learner, task) DO UPDATE SET hints = MIN(progress.hints + 1, ?)
			RETURNING hints`, lab, learner, task, max).Scan(&level)
	})
	if err != nil {
		return 0, fmt.Errorf("progress: next hint for %s/%s: %w", lab, task, err)
	}
	return level, nil
}

// HintsShownBy lists, for each task of lab that had hints shown to
// learner, how many.
func (s *Store) HintsShownBy(lab, learner string) (map[string]int, error) {
	rows, err := s.db.Query(`SELECT task, hints FROM progress WHERE lab = ? AND learner = ? AND hints > 0`, lab, learner)
	if err != nil {
		return nil, fmt.Errorf("progress: read hints of %s: %w", lab, err)
	}
	defer rows.Close()
	shown := make(map[string]int)
	for rows.Next() {
		var task string
		var n int
		if err := rows.Scan(&task, &n); err != nil {
			return nil, fmt.Errorf("progress: read hints of %s: %w", lab, err)
		}
		shown[task] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("progress: read hints of %s: %w", lab, err)
	}
	return shown, nil
}

// Learners lists, sorted, the learners with progress (a tick or a hint) in
// lab; the local learner is LocalLearner ("").
func (s *Store) Learners(lab string) ([]string, error) {
	rows, err := s.db.Query(`SELECT DISTINCT learner FROM progress WHERE lab = ? ORDER BY learner`, lab)
	if err != nil {
		return nil, fmt.Errorf("progress: read the learners of %s: %w", lab, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, fmt.Errorf("progress: read the learners of %s: %w", lab, err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("progress: read the learners of %s: %w", lab, err)
	}
	return out, nil
}

// ResetLearner forgets learner's progress and hints in lab; the other
// learners and the journal are untouched.
func (s *Store) ResetLearner(lab, learner string) error {
	err := s.write(func() error {
		_, err := s.db.Exec(`DELETE FROM progress WHERE lab = ? AND learner = ?`, lab, learner)
		return err
	})
	if err != nil {
		return fmt.Errorf("progress: reset %s for %q: %w", lab, learner, err)
	}
	return nil
}
