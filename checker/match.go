package checker

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"protolab/internal/event"
)

// Matcher follows events for one task. Observe returns true once the check
// is satisfied; a satisfied matcher stays satisfied.
type Matcher interface {
	Observe(e *event.Event) bool
}

// Check is a compiled, validated check; it makes fresh matchers (one per
// learner, one per run).
type Check struct {
	spec Spec
	make func() Matcher
}

// NewMatcher returns a matcher in its initial state.
func (c *Check) NewMatcher() Matcher { return c.make() }

// Spec returns the check as written.
func (c *Check) Spec() Spec { return c.spec }

// CompileFunc validates a spec of one kind and returns its matcher factory.
type CompileFunc func(s Spec, cat Catalog) (func() Matcher, error)

var (
	kindsMu sync.RWMutex
	kinds   = map[string]CompileFunc{}
)

// Register adds a kind of check. It is called from init functions.
func Register(kind string, fn CompileFunc) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	if _, dup := kinds[kind]; dup {
		panic("checker: kind registered twice: " + kind)
	}
	kinds[kind] = fn
}

// Kinds lists the registered kinds of check.
func Kinds() []string {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func init() {
	Register("event", compileEvent)
	Register("sequence", compileSequence)
	Register("all", compileCombination(true))
	Register("any", compileCombination(false))
}

// Compile validates s against the catalog and returns the compiled check.
func Compile(s Spec, cat Catalog) (*Check, error) {
	kindsMu.RLock()
	fn, ok := kinds[s.Kind]
	kindsMu.RUnlock()
	if !ok {
		return nil, errorf(s.Line, "check: unknown kind %q (known kinds: %s)", s.Kind, strings.Join(Kinds(), ", "))
	}
	mk, err := fn(s, cat)
	if err != nil {
		return nil, err
	}
	return &Check{spec: s, make: mk}, nil
}

// maxTracked bounds the state a matcher keeps (distinct values, partial
// sequences), so that a flood of events cannot grow it without limit.
const maxTracked = 4096

func compileEvent(s Spec, cat Catalog) (func() Matcher, error) {
	if len(s.Steps) > 0 || len(s.Parts) > 0 || len(s.Same) > 0 {
		return nil, errorf(s.Line, "check: an event check takes event, where, count, distinct and within; sequence, same, all and any belong to other kinds")
	}
	if err := validateEvent(&s, cat); err != nil {
		return nil, err
	}
	need := max(s.Count, 1)
	return func() Matcher {
		if s.Distinct != "" {
			return &distinctMatcher{spec: s, need: need, seen: map[string]time.Time{}}
		}
		return &countMatcher{spec: s, need: need}
	}, nil
}

// countMatcher needs `need` matching events, all inside the window if any.
type countMatcher struct {
	spec  Spec
	need  int
	times []time.Time // the last `need` matches
	done  bool
}

func (m *countMatcher) Observe(e *event.Event) bool {
	if m.done || !m.spec.matches(e) {
		return m.done
	}
	m.times = append(m.times, e.Time)
	if len(m.times) > m.need {
		m.times = m.times[1:]
	}
	if len(m.times) == m.need && (m.spec.Within == 0 || m.times[len(m.times)-1].Sub(m.times[0]) <= m.spec.Within) {
		m.done = true
	}
	return m.done
}

// distinctMatcher needs `need` different values of an attribute.
type distinctMatcher struct {
	spec Spec
	need int
	seen map[string]time.Time // value -> last time seen
	done bool
}

func (m *distinctMatcher) Observe(e *event.Event) bool {
	if m.done || !m.spec.matches(e) {
		return m.done
	}
	v, ok := Attr(e, m.spec.Distinct)
	if !ok {
		return false
	}
	if _, known := m.seen[v]; !known && len(m.seen) >= maxTracked {
		m.evictOldest()
	}
	m.seen[v] = e.Time
	n := 0
	for _, t := range m.seen {
		if m.spec.Within == 0 || e.Time.Sub(t) <= m.spec.Within {
			n++
		}
	}
	m.done = n >= m.need
	return m.done
}

func (m *distinctMatcher) evictOldest() {
	var oldK string
	var oldT time.Time
	first := true
	for k, t := range m.seen {
		if first || t.Before(oldT) {
			oldK, oldT, first = k, t, false
		}
	}
	delete(m.seen, oldK)
}

func compileSequence(s Spec, cat Catalog) (func() Matcher, error) {
	if len(s.Steps) < 2 {
		return nil, errorf(s.Line, "check: a sequence needs at least two steps")
	}
	if s.Event != "" || len(s.Where) > 0 || s.Count > 0 || s.Distinct != "" || len(s.Parts) > 0 {
		return nil, errorf(s.Line, "check: a sequence takes sequence, same and within; put event and where inside each step")
	}
	for i := range s.Steps {
		st := &s.Steps[i]
		if st.Kind != "event" {
			return nil, errorf(st.Line, "check: each step of a sequence is one event (event: KIND, where: ...)")
		}
		if st.Count > 0 || st.Distinct != "" || st.Within > 0 {
			return nil, errorf(st.Line, "check: count, distinct and within go on the sequence, not on a step")
		}
		if err := validateEvent(st, cat, s.Same...); err != nil {
			return nil, err
		}
	}
	return func() Matcher { return &sequenceMatcher{spec: s, partial: map[string]progress{}} }, nil
}

type progress struct {
	next  int // index of the next step expected
	start time.Time
}

// sequenceMatcher follows partial sequences, one per tuple of `same` values.
type sequenceMatcher struct {
	spec    Spec
	partial map[string]progress
	done    bool
}

func (m *sequenceMatcher) key(e *event.Event) (string, bool) {
	if len(m.spec.Same) == 0 {
		return "", true
	}
	parts := make([]string, len(m.spec.Same))
	for i, a := range m.spec.Same {
		v, ok := Attr(e, a)
		if !ok {
			return "", false
		}
		parts[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(parts, ","), true
}

func (m *sequenceMatcher) Observe(e *event.Event) bool {
	if m.done {
		return true
	}
	k, ok := m.key(e)
	if !ok {
		return false
	}
	steps := m.spec.Steps
	if p, ok := m.partial[k]; ok {
		if m.spec.Within > 0 && e.Time.Sub(p.start) > m.spec.Within {
			delete(m.partial, k)
		} else if steps[p.next].matches(e) {
			p.next++
			if p.next == len(steps) {
				m.done = true
				m.partial = nil
				return true
			}
			m.partial[k] = p
			return false
		}
	}
	if steps[0].matches(e) {
		if _, ok := m.partial[k]; !ok && len(m.partial) >= maxTracked {
			clear(m.partial)
		}
		m.partial[k] = progress{next: 1, start: e.Time}
	}
	return false
}

func compileCombination(all bool) CompileFunc {
	return func(s Spec, cat Catalog) (func() Matcher, error) {
		if s.Event != "" || len(s.Where) > 0 || len(s.Steps) > 0 || s.Count > 0 || s.Distinct != "" || len(s.Same) > 0 || s.Within > 0 {
			return nil, errorf(s.Line, "check: %s takes only a list of checks", s.Kind)
		}
		parts := make([]*Check, len(s.Parts))
		for i, p := range s.Parts {
			c, err := Compile(p, cat)
			if err != nil {
				return nil, err
			}
			parts[i] = c
		}
		return func() Matcher {
			ms := make([]Matcher, len(parts))
			for i, p := range parts {
				ms[i] = p.NewMatcher()
			}
			return &combination{all: all, parts: ms, done: make([]bool, len(ms))}
		}, nil
	}
}

type combination struct {
	all   bool
	parts []Matcher
	done  []bool
	ok    bool
}

func (m *combination) Observe(e *event.Event) bool {
	if m.ok {
		return true
	}
	n := 0
	for i, p := range m.parts {
		if !m.done[i] && p.Observe(e) {
			m.done[i] = true
		}
		if m.done[i] {
			n++
		}
	}
	m.ok = (m.all && n == len(m.parts)) || (!m.all && n > 0)
	return m.ok
}
