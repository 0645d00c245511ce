package progress

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"protolab/internal/event"
)

// Append adds a batch of events to lab's journal, in one transaction. The
// transcripts are rendered on copies; the caller's slice is not changed.
func (s *Store) Append(lab string, evs []event.Event) error {
	if err := checkLab(lab); err != nil {
		return err
	}
	if len(evs) == 0 {
		return nil
	}
	err := s.tx(func(tx *sql.Tx) error {
		st, err := tx.Prepare(`INSERT INTO events
			(lab, seq, time, service, kind, client, learner, attrs, transcript)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, e := range evs {
			e.Render()
			attrs := "{}"
			if len(e.Attrs) > 0 {
				b, err := json.Marshal(e.Attrs)
				if err != nil {
					return err
				}
				attrs = string(b)
			}
			if _, err := st.Exec(lab, int64(e.Seq), formatTime(e.Time), e.Service, e.Kind,
				e.Client, e.Learner, attrs, e.Transcript); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("progress: append %d events to %s: %w", len(evs), lab, err)
	}
	return nil
}

// Recent returns the last n events of lab's journal, oldest first.
func (s *Store) Recent(lab string, n int) ([]event.Event, error) {
	if n <= 0 {
		return nil, nil
	}
	return s.recent(lab, `SELECT seq, time, service, kind, client, learner, attrs, transcript
		FROM events WHERE lab = ? ORDER BY id DESC LIMIT ?`, lab, n)
}

// RecentBy returns the last n events of lab's journal that learner made
// (LocalLearner: the events no learner was found for), oldest first.
func (s *Store) RecentBy(lab, learner string, n int) ([]event.Event, error) {
	if n <= 0 {
		return nil, nil
	}
	return s.recent(lab, `SELECT seq, time, service, kind, client, learner, attrs, transcript
		FROM events WHERE lab = ? AND learner = ? ORDER BY id DESC LIMIT ?`, lab, learner, n)
}

// recent runs a query of the journal's newest events and returns them
// oldest first.
func (s *Store) recent(lab, query string, args ...any) ([]event.Event, error) {
	rows, err := s.db.Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("progress: read journal of %s: %w", lab, err)
	}
	defer rows.Close()
	var evs []event.Event
	for rows.Next() {
		var (
			e     event.Event
			seq   int64
			at    string
			attrs string
		)
		if err := rows.Scan(&seq, &at, &e.Service, &e.Kind, &e.Client, &e.Learner, &attrs, &e.Transcript); err != nil {
			return nil, fmt.Errorf("progress: read journal of %s: %w", lab, err)
		}
		e.Seq = uint64(seq)
		if e.Time, err = parseTime(at); err != nil {
			return nil, err
		}
		if attrs != "" && attrs != "{}" {
			if err := json.Unmarshal([]byte(attrs), &e.Attrs); err != nil {
				return nil, fmt.Errorf("progress: bad attributes in journal of %s: %w", lab, err)
			}
		}
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("progress: read journal of %s: %w", lab, err)
	}
	for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
		evs[i], evs[j] = evs[j], evs[i]
	}
	return evs, nil
}

// Prune applies the retention setting: it keeps the newest keep events of
// lab's journal and deletes the older ones.
func (s *Store) Prune(lab string, keep int) error {
	if keep < 0 {
		return errors.New("progress: prune: negative retention")
	}
	err := s.write(func() error {
		// With fewer than keep+1 events the subquery is NULL and nothing
		// goes.
		_, err := s.db.Exec(`DELETE FROM events WHERE lab = ? AND id <=
			(SELECT id FROM events WHERE lab = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
			lab, lab, keep)
		return err
	})
	if err != nil {
		return fmt.Errorf("progress: prune journal of %s: %w", lab, err)
	}
	return nil
}

// Count is the number of events in lab's journal.
func (s *Store) Count(lab string) (int, error) {
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM events WHERE lab = ?`, lab).Scan(&n); err != nil {
		return 0, fmt.Errorf("progress: count journal of %s: %w", lab, err)
	}
	return n, nil
}
