// Package checker turns a lab's task checks into matchers over events and
// follows which tasks are done. It is pure: events in, task results out; it
// knows nothing about sockets, files or time other than the events' own.
//
// A check is data, read from a lab file:
//
//	check:
//	  event: dns.query            # an event kind
//	  where:                      # conditions on its attributes
//	    qname: www.lab.test.      #   a value: equality
//	    qtype: [A, AAAA]          #   a list: one of
//	    answers: {min: 1}         #   min/max: numbers
//	    client: {matches: '^127\.'} # a regular expression
//	    rcode: {not: NOERROR}
//	  count: 2                    # at least this many matching events
//	  distinct: qname             # ...with this many different values of an attribute
//	  within: 1m                  # ...inside a sliding window
//
// Other kinds: `sequence:` (steps in order, optionally sharing attribute
// values through `same:`), `all:` and `any:` (combinations). New kinds are
// registered by name with Register.
package checker

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"protolab/internal/event"
	"protolab/internal/yamlx"
)

// Spec is a check as written in a lab file.
type Spec struct {
	Line     int
	Kind     string        // explicit `kind:`, or inferred from the fields
	Event    string        // event kind, for "event" checks and sequence steps
	Where    []Cond        // conditions on the event's attributes
	Count    int           // matching events needed (default 1)
	Distinct string        // count distinct values of this attribute instead
	Within   time.Duration // window for count, distinct and sequence
	Steps    []Spec        // "sequence": events in order
	Same     []string      // "sequence": attributes equal across the steps
	Parts    []Spec        // "all" and "any"
}

// Cond is one condition on an attribute.
type Cond struct {
	Line    int
	Attr    string
	Equals  []string       // one of these values (one value: equality)
	Not     []string       // none of these values
	Matches *regexp.Regexp // a regular expression
	Min     *float64       // a number at least
	Max     *float64       // a number at most
	Exists  *bool          // the attribute is present (or absent)
}

var specFields = []string{"kind", "event", "where", "count", "distinct", "within", "sequence", "same", "all", "any"}

// ParseSpec reads a check from its YAML node.
func ParseSpec(n *yaml.Node) (Spec, error) {
	n = yamlx.Resolve(n)
	fields, _, err := yamlx.Mapping(n, "check", specFields...)
	if err != nil {
		return Spec{}, err
	}
	s := Spec{Line: n.Line}
	if f, ok := fields["kind"]; ok {
		if s.Kind, err = yamlx.String(f.Value, "kind"); err != nil {
			return s, err
		}
	}
	if f, ok := fields["event"]; ok {
		if s.Event, err = yamlx.String(f.Value, "event"); err != nil {
			return s, err
		}
	}
	if f, ok := fields["where"]; ok {
		wf, order, err := yamlx.Mapping(f.Value, "where")
		if err != nil {
			return s, err
		}
		for _, attr := range order {
			c, err := parseCond(attr, wf[attr])
			if err != nil {
				return s, err
			}
			s.Where = append(s.Where, c)
		}
	}
	if f, ok := fields["count"]; ok {
		if s.Count, err = yamlx.Int(f.Value, "count"); err != nil {
			return s, err
		}
		if s.Count < 1 {
			return s, yamlx.Errorf(f.Value, "count must be 1 or more")
		}
	}
	if f, ok := fields["distinct"]; ok {
		if s.Distinct, err = yamlx.String(f.Value, "distinct"); err != nil {
			return s, err
		}
	}
	if f, ok := fields["within"]; ok {
		v, err := yamlx.String(f.Value, "within")
		if err != nil {
			return s, err
		}
		d, perr := time.ParseDuration(v)
		if perr != nil || d <= 0 {
			return s, yamlx.Errorf(f.Value, "within must be a duration such as 30s or 2m, found %q", v)
		}
		s.Within = d
	}
	if f, ok := fields["same"]; ok {
		if s.Same, err = yamlx.Strings(f.Value, "same"); err != nil {
			return s, err
		}
	}
	for _, name := range []string{"sequence", "all", "any"} {
		f, ok := fields[name]
		if !ok {
			continue
		}
		items, err := yamlx.Sequence(f.Value, name)
		if err != nil {
			return s, err
		}
		if len(items) == 0 {
			return s, yamlx.Errorf(f.Value, "%s needs at least one item", name)
		}
		var list []Spec
		for _, it := range items {
			sub, err := ParseSpec(it)
			if err != nil {
				return s, err
			}
			list = append(list, sub)
		}
		if name == "sequence" {
			s.Steps = list
		} else {
			s.Parts = list
		}
		if s.Kind == "" {
			s.Kind = name
		}
	}
	if s.Kind == "" && s.Event != "" {
		s.Kind = "event"
	}
	if s.Kind == "" {
		return s, yamlx.Errorf(n, "check: say what to watch for with `event: KIND` (or sequence:, all:, any:)")
	}
	return s, nil
}

func parseCond(attr string, f yamlx.Field) (Cond, error) {
	c := Cond{Line: f.Key.Line, Attr: attr}
	v := yamlx.Resolve(f.Value)
	switch {
	case v != nil && v.Kind == yaml.ScalarNode:
		c.Equals = []string{v.Value}
		return c, nil
	case v != nil && v.Kind == yaml.SequenceNode:
		vals, err := yamlx.Strings(v, "where."+attr)
		if err != nil {
			return c, err
		}
		if len(vals) == 0 {
			return c, yamlx.Errorf(v, "where.%s: the list of accepted values is empty", attr)
		}
		c.Equals = vals
		return c, nil
	}
	ops, _, err := yamlx.Mapping(v, "where."+attr, "equals", "one_of", "not", "matches", "min", "max", "exists")
	if err != nil {
		return c, err
	}
	if len(ops) == 0 {
		return c, yamlx.Errorf(v, "where.%s: give a condition (equals, one_of, not, matches, min, max, exists)", attr)
	}
	for name, op := range ops {
		switch name {
		case "equals", "one_of":
			vals, err := yamlx.Strings(op.Value, "where."+attr+"."+name)
			if err != nil {
				return c, err
			}
			c.Equals = append(c.Equals, vals...)
		case "not":
			vals, err := yamlx.Strings(op.Value, "where."+attr+".not")
			if err != nil {
				return c, err
			}
			c.Not = vals
		case "matches":
			s, err := yamlx.String(op.Value, "where."+attr+".matches")
			if err != nil {
				return c, err
			}
			re, rerr := regexp.Compile(s)
			if rerr != nil {
				return c, yamlx.Errorf(op.Value, "where.%s.matches: not a valid regular expression: %v", attr, rerr)
			}
			c.Matches = re
		case "min", "max":
			s, err := yamlx.String(op.Value, "where."+attr+"."+name)
			if err != nil {
				return c, err
			}
			x, perr := strconv.ParseFloat(s, 64)
			if perr != nil {
				return c, yamlx.Errorf(op.Value, "where.%s.%s must be a number, found %q", attr, name, s)
			}
			if name == "min" {
				c.Min = &x
			} else {
				c.Max = &x
			}
		case "exists":
			s, err := yamlx.String(op.Value, "where."+attr+".exists")
			if err != nil {
				return c, err
			}
			b, perr := strconv.ParseBool(s)
			if perr != nil {
				return c, yamlx.Errorf(op.Value, "where.%s.exists must be true or false", attr)
			}
			c.Exists = &b
		}
	}
	return c, nil
}

// Holds reports whether the event satisfies the condition.
func (c *Cond) Holds(e *event.Event) bool {
	v, ok := Attr(e, c.Attr)
	if c.Exists != nil && ok != *c.Exists {
		return false
	}
	if !ok {
		// Only "exists: false" and pure negations hold on a missing attribute.
		return c.Equals == nil && c.Matches == nil && c.Min == nil && c.Max == nil
	}
	if c.Equals != nil && !oneOf(v, c.Equals) {
		return false
	}
	if c.Not != nil && oneOf(v, c.Not) {
		return false
	}
	if c.Matches != nil && !c.Matches.MatchString(v) {
		return false
	}
	if c.Min != nil || c.Max != nil {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false
		}
		if c.Min != nil && x < *c.Min {
			return false
		}
		if c.Max != nil && x > *c.Max {
			return false
		}
	}
	return true
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// Catalog tells the checker which event kinds exist (those of the lab's
// services) and their attributes.
type Catalog interface {
	EventSpec(kind string) (event.Spec, bool)
	EventKinds() []string
}

// Error is a check that cannot be compiled, at a line of the lab file.
type Error = yamlx.Error

func errorf(line int, format string, args ...any) error {
	return &Error{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// validateEvent checks the kind and the attribute names of an event step.
func validateEvent(s *Spec, cat Catalog, extra ...string) error {
	if s.Event == "" {
		return errorf(s.Line, "check: missing `event: KIND` (one of: %s)", strings.Join(cat.EventKinds(), ", "))
	}
	es, ok := cat.EventSpec(s.Event)
	if !ok {
		return errorf(s.Line, "check: unknown event kind %q; this lab's services emit: %s", s.Event, strings.Join(cat.EventKinds(), ", "))
	}
	check := func(line int, attr, role string) error {
		if attr == "client" || attr == "learner" || es.HasAttr(attr) {
			return nil
		}
		names := append(es.AttrNames(), "client", "learner")
		sort.Strings(names)
		return errorf(line, "check: %s %q is not an attribute of %s (it has: %s)", role, attr, s.Event, strings.Join(names, ", "))
	}
	for _, c := range s.Where {
		if err := check(c.Line, c.Attr, "where:"); err != nil {
			return err
		}
	}
	if s.Distinct != "" {
		if err := check(s.Line, s.Distinct, "distinct:"); err != nil {
			return err
		}
	}
	for _, a := range extra {
		if err := check(s.Line, a, "same:"); err != nil {
			return err
		}
	}
	return nil
}

// matches reports whether e is of the step's kind and meets its conditions.
func (s *Spec) matches(e *event.Event) bool {
	if e.Kind != s.Event {
		return false
	}
	for i := range s.Where {
		if !s.Where[i].Holds(e) {
			return false
		}
	}
	return true
}

// Attr returns an attribute of e; "client" and "learner" name the envelope
// fields.
func Attr(e *event.Event, name string) (string, bool) {
	switch name {
	case "client":
		return e.Client, e.Client != ""
	case "learner":
		return e.Learner, e.Learner != ""
	}
	v, ok := e.Attrs[name]
	return v, ok
}
