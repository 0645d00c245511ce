package labs

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"protolab/checker"
	"protolab/internal/yamlx"
)

// An exercise is a lab file written by an instructor, with a few more keys:
//
//	exercise: true              # optional when another key below is there
//	order: sequential           # or free (the default)
//	deadline: 2026-12-18T18:00:00+01:00
//	vars:                       # drawn for each learner, the same every time
//	  word: {one_of: [tournesol, mimosa, lavande]}
//	  code: {pattern: "[a-z]{6}"}
//	tasks:
//	  - use: dns/mx
//	    required: false         # earns points, not needed to complete
//	  - id: mine
//	    title: Send a mail whose subject is {var.word}
//	    ...
//
// {var.NAME} stands for the learner's value in every text of the file
// (titles, hints, checks, solve steps) and in its lessons.

// Order is the order in which an exercise's tasks may be done.
type Order string

// The orders.
const (
	OrderFree       Order = "free"       // any task at any time
	OrderSequential Order = "sequential" // a task ticks once the required ones before it are done
)

// Exercise is what an exercise adds to a lab.
type Exercise struct {
	Order    Order
	Deadline time.Time // zero: none; ticks after it are recorded late and earn no points
}

// Var is a per-learner variable of an exercise.
type Var struct {
	Name    string
	Line    int
	OneOf   []string // one of these values
	Pattern string   // or a value that matches this regular expression
}

// maxLearner bounds a learner id's length.
const maxLearner = 64

var (
	learnerRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]*$`)
	varNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	varRefRE  = regexp.MustCompile(`\{var\.([^{}\s]*)\}`)
)

// CheckLearner says what is wrong with a learner id, if anything: letters,
// digits, dots, dashes, underscores and @, at most 64.
func CheckLearner(id string) error {
	if len(id) > maxLearner || !learnerRE.MatchString(id) {
		return fmt.Errorf("learner %q: use letters, digits, '.', '-', '_' and '@' (at most %d), starting with a letter or a digit", id, maxLearner)
	}
	return nil
}

// LocalLearner is the learner of a solo run: $LAB_LEARNER, else the user's
// login name ($USER, $LOGNAME, $USERNAME), else "me". A name that is not a
// valid learner id is passed over (CheckLearner tells why).
func LocalLearner(getenv func(string) string) string {
	for _, v := range []string{"LAB_LEARNER", "USER", "LOGNAME", "USERNAME"} {
		if s := getenv(v); s != "" && CheckLearner(s) == nil {
			return s
		}
	}
	return "me"
}

// LoadExercise loads an exercise file for a learner ("" : the local
// learner). The file may lack the exercise: key.
func LoadExercise(file, learner string, reg Registry) (*Lab, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("cannot read the exercise file: %w", err)
	}
	return load(os.DirFS(filepath.Dir(abs)), filepath.Base(abs), file, newRefs(reg, learner), loadOpts{exercise: true, learner: learner})
}

// ParseExercise reads an exercise from the bytes of its file for a learner
// ("" : the local learner); data holds its other files.
func ParseExercise(src []byte, data fs.FS, shown, learner string, reg Registry) (*Lab, error) {
	return parse(src, data, shown, newRefs(reg, learner), loadOpts{exercise: true, learner: learner})
}

// Sequential reports whether the tasks must be done in order.
func (l *Lab) Sequential() bool {
	return l.Exercise != nil && l.Exercise.Order == OrderSequential
}

// NewChecker returns a checker for the lab's tasks, in the lab's order; the
// ids in done are already done.
func (l *Lab) NewChecker(done map[string]bool) *checker.Checker {
	order := checker.Free
	if l.Sequential() {
		order = checker.Sequential
	}
	return checker.NewOrdered(l.CheckerTasks(), done, order)
}

// WaitingFor returns, in a sequential exercise, the first required task
// before the task id that is not in done: the one to do first. It is ""
// when the task may tick (or is done, or the order is free).
func (l *Lab) WaitingFor(id string, done map[string]time.Time) string {
	if !l.Sequential() {
		return ""
	}
	if _, ok := done[id]; ok {
		return ""
	}
	for _, t := range l.Tasks {
		if t.ID == id {
			return ""
		}
		if _, ok := done[t.ID]; !ok && !t.Optional {
			return t.ID
		}
	}
	return ""
}

// Late reports whether a task done at the given time was done after the
// exercise's deadline.
func (l *Lab) Late(at time.Time) bool {
	return l.Exercise != nil && !l.Exercise.Deadline.IsZero() && at.After(l.Exercise.Deadline)
}

// Earned is the points a task done at the given time earns: none after the
// deadline.
func (l *Lab) Earned(t *Task, at time.Time) int {
	if l.Late(at) {
		return 0
	}
	return t.Points
}

// vars reads vars:, draws each learner's value and puts the values in place
// of {var.NAME} in every text of the file, before the rest is read.
func (ld *loader) vars(lab *Lab, root *yaml.Node, fields map[string]yamlx.Field, o loadOpts) {
	var defs []Var
	var skip []*yaml.Node // vars: itself, and the lesson (see lessons)
	if f, ok := fields["vars"]; ok {
		skip = append(skip, yamlx.Resolve(f.Value))
		defs = ld.varDefs(f.Value)
	}
	if f, ok := fields["lesson"]; ok {
		skip = append(skip, yamlx.Resolve(f.Value))
	}
	learner := o.learner
	if learner == "" {
		learner = LocalLearner(os.Getenv)
	}
	values := map[string]string{}
	for _, v := range defs {
		val, err := v.Draw(lab.ID, learner)
		if err != nil {
			ld.errf(v.Line, "vars: %s: %v", v.Name, err)
			continue
		}
		values[v.Name] = val
	}
	ld.values = values
	ld.defined = defs
	lab.Vars, lab.Values, lab.Learner = defs, values, learner
	ld.substitute(root, skip)
}

var varFields = []string{"one_of", "pattern"}

func (ld *loader) varDefs(n *yaml.Node) []Var {
	fields, order, err := yamlx.Mapping(n, "vars")
	if err != nil {
		ld.add(err)
		return nil
	}
	var out []Var
	for _, name := range order {
		f := fields[name]
		if !varNameRE.MatchString(name) {
			ld.errf(f.Key.Line, "vars: %q: a variable's name is lower-case letters, digits and _, starting with a letter", name)
			continue
		}
		vf, _, err := yamlx.Mapping(f.Value, "vars: "+name, varFields...)
		if err != nil {
			ld.add(err)
			continue
		}
		v := Var{Name: name, Line: f.Key.Line}
		oneOf, hasOneOf := vf["one_of"]
		pat, hasPat := vf["pattern"]
		switch {
		case hasOneOf == hasPat:
			ld.errf(f.Key.Line, "vars: %s: give one_of: [a, b, c] or pattern: \"[a-z]{6}\" (one of the two)", name)
			continue
		case hasOneOf:
			vals, err := yamlx.Strings(oneOf.Value, "vars: "+name+": one_of")
			if err != nil {
				ld.add(err)
				continue
			}
			if len(vals) == 0 {
				ld.errf(oneOf.Value.Line, "vars: %s: one_of: give at least one value", name)
				continue
			}
			for _, s := range vals {
				if s == "" || strings.Contains(s, "{var.") {
					ld.errf(oneOf.Value.Line, "vars: %s: one_of: %q: a value is not empty and names no variable", name, s)
				}
			}
			v.OneOf = vals
		default:
			s, err := yamlx.String(pat.Value, "vars: "+name+": pattern")
			if err != nil {
				ld.add(err)
				continue
			}
			if err := checkPattern(s); err != nil {
				ld.errf(pat.Value.Line, "vars: %s: %v", name, err)
				continue
			}
			v.Pattern = s
		}
		out = append(out, v)
	}
	return out
}

// Draw returns the variable's value for a learner of the exercise: the same
// every time, and most likely another one for another learner.
func (v Var) Draw(exercise, learner string) (string, error) {
	sum := sha256.Sum256([]byte(exercise + "\x00" + learner + "\x00" + v.Name))
	rng := rand.New(rand.NewPCG(binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])))
	if len(v.OneOf) > 0 {
		return v.OneOf[rng.IntN(len(v.OneOf))], nil
	}
	return drawPattern(v.Pattern, rng)
}

// substitute puts the values in place of {var.NAME} in every scalar of the
// document but those under skip; a name without a value is an error at its
// line.
func (ld *loader) substitute(n *yaml.Node, skip []*yaml.Node) {
	if n == nil || n.Kind == yaml.AliasNode {
		return
	}
	for _, s := range skip {
		if n == s {
			return
		}
	}
	if n.Kind == yaml.MappingNode {
		for i := 1; i < len(n.Content); i += 2 {
			ld.substitute(n.Content[i], skip)
		}
		return
	}
	if n.Kind == yaml.ScalarNode {
		first := n.Line
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			first++ // the text starts on the line after "|"
		}
		n.Value = ld.replaceVars(n.Value, func(i int) int { return first + i })
		return
	}
	for _, c := range n.Content {
		ld.substitute(c, skip)
	}
}

// substituteText puts the values in place of {var.NAME} in a lesson;
// offset is added to its line numbers in messages.
func (ld *loader) substituteText(src []byte, shown string, offset int) []byte {
	if !strings.Contains(string(src), "{var.") {
		return src
	}
	file := ld.file
	ld.file = shown
	out := ld.replaceVars(string(src), func(i int) int { return offset + 1 + i })
	ld.file = file
	return []byte(out)
}

// replaceVars replaces {var.NAME} in s; line(i) is the line of s's i-th
// line break in messages.
func (ld *loader) replaceVars(s string, line func(int) int) string {
	if !strings.Contains(s, "{var.") {
		return s
	}
	var out strings.Builder
	last := 0
	for _, m := range varRefRE.FindAllStringSubmatchIndex(s, -1) {
		name := s[m[2]:m[3]]
		out.WriteString(s[last:m[0]])
		last = m[1]
		if v, ok := ld.values[name]; ok {
			out.WriteString(v)
			continue
		}
		out.WriteString(s[m[0]:m[1]])
		if ld.undrawn(name) {
			continue // its definition is wrong, and said so
		}
		at := line(strings.Count(s[:m[0]], "\n"))
		if len(ld.defined) == 0 {
			ld.errf(at, "{var.%s}: no variable %s; define it under vars: (as in vars: {%s: {one_of: [a, b, c]}})", name, name, name)
		} else {
			ld.errf(at, "{var.%s}: no variable %s (variables: %s)", name, name, strings.Join(varNames(ld.defined), ", "))
		}
	}
	out.WriteString(s[last:])
	return out.String()
}

// undrawn reports whether name is a defined variable that has no value
// (its definition is wrong).
func (ld *loader) undrawn(name string) bool {
	for _, v := range ld.defined {
		if v.Name == name {
			return true
		}
	}
	return false
}

func varNames(vs []Var) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Name
	}
	return out
}

// exercise reads the exercise keys; a lab with any of them, or read as an
// exercise, gets its Exercise.
func (ld *loader) exercise(lab *Lab, fields map[string]yamlx.Field, o loadOpts) {
	is := o.exercise || ld.required
	var keys []string
	for _, k := range []string{"order", "deadline"} {
		if _, ok := fields[k]; ok {
			is = true
			keys = append(keys, k+":")
		}
	}
	if ld.required {
		keys = append(keys, "required:")
	}
	if f, ok := fields["exercise"]; ok {
		b, err := boolValue(f.Value, "exercise")
		switch {
		case err != nil:
			ld.add(err)
		case b:
			is = true
		case len(keys) > 0:
			ld.errf(f.Value.Line, "exercise: false, but the file has %s, which belong to an exercise: drop exercise: false, or those keys", strings.Join(keys, ", "))
		case o.exercise:
			ld.errf(f.Value.Line, "exercise: false in a file run as an exercise: drop exercise: false")
		}
	}
	if !is {
		return
	}
	x := &Exercise{Order: OrderFree}
	if f, ok := fields["order"]; ok {
		s, err := yamlx.String(f.Value, "order")
		switch {
		case err != nil:
			ld.add(err)
		case s == string(OrderFree) || s == string(OrderSequential):
			x.Order = Order(s)
		default:
			ld.errf(f.Value.Line, "order: %q: choose free (any task at any time) or sequential (each task once the required ones before it are done)", s)
		}
	}
	if f, ok := fields["deadline"]; ok {
		s, err := yamlx.String(f.Value, "deadline")
		if err != nil {
			ld.add(err)
		} else if x.Deadline, err = time.Parse(time.RFC3339, s); err != nil {
			ld.errf(f.Value.Line, "deadline: %q: write a date and time with its zone (RFC 3339), as in 2026-12-18T18:00:00+01:00 or 2026-12-18T17:00:00Z", s)
		}
	}
	if !o.builtin && lab.ID != "" && contains(labIDs(ld.refs.fsys), lab.ID) {
		ld.errf(fields["id"].Value.Line, "id %q is the id of a built-in lab: give the exercise its own id, so that its progress is kept apart", lab.ID)
	}
	lab.Exercise = x
}

// boolValue reads a scalar as true or false.
func boolValue(n *yaml.Node, what string) (bool, error) {
	s, err := yamlx.String(n, what)
	if err != nil {
		return false, err
	}
	b, perr := strconv.ParseBool(s)
	if perr != nil {
		return false, yamlx.Errorf(n, "%s must be true or false, found %q", what, s)
	}
	return b, nil
}
