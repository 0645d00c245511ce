// Package labs holds the built-in labs as data (embedded in the binary) and
// loads a lab, built-in or from an instructor's file, validating everything:
// services and their options, tasks and their checks, hints, solve steps and
// the lessons' links to tasks. Errors name file:line and say what to fix.
//
// A lab may use the built-in labs instead of copying them: a service given
// as "dns: {use: dns}" runs with the dns lab's options and data files, and
// a task given as "- use: dns/resolve-a" is that lab's task, whose check is
// compiled again against the services of the lab that uses it.
package labs

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"protolab/checker"
	"protolab/internal/event"
	"protolab/internal/lesson"
	"protolab/internal/service"
	"protolab/internal/yamlx"
)

//go:embed */*
var builtin embed.FS

// Builtin is the file system of the built-in labs: one directory per lab.
func Builtin() fs.FS { return builtin }

// Langs are the languages lessons, titles and hints are written in.
var Langs = []string{"fr", "en"}

// Text is a string in several languages.
type Text map[string]string

// In returns the text in lang, else in English, else in any language.
func (t Text) In(lang string) string {
	if s, ok := t[lang]; ok {
		return s
	}
	if s, ok := t["en"]; ok {
		return s
	}
	for _, l := range Langs {
		if s, ok := t[l]; ok {
			return s
		}
	}
	return ""
}

// Lab is a loaded, validated lab.
type Lab struct {
	ID       string
	File     string // the lab file, as shown in messages
	Title    Text
	Summary  Text
	Services []Service
	Tasks    []Task
	Lessons  map[string]*lesson.Doc // by language
	Data     fs.FS                  // the lab's directory
	// Exercise is set when the lab is an exercise: a lab file with one of
	// the keys exercise:, order:, deadline: or a task's required:,
	// or one loaded with LoadExercise (lab start --exercise).
	Exercise *Exercise
	// Vars are the lab's per-learner variables (vars:), in file order, and
	// Values their values for Learner, the learner they were drawn for.
	// {var.NAME} stands for its value in every text of the lab file, in
	// its lessons and in the data files its services read (a zone file, a
	// MIB): each learner's servers may hold their own secret.
	Vars    []Var
	Values  map[string]string
	Learner string
	// usedValues are the learner's values of the variables of the built-in
	// labs the file uses (use:), named LAB.NAME.
	usedValues map[string]string
}

// Service is one server the lab runs, with its options loaded.
type Service struct {
	Name     string
	Line     int
	Spec     *service.Spec
	Prepared service.Prepared
	// From names the built-in lab whose options the service runs with,
	// when the lab file says "use: LAB" instead of giving options.
	From string
}

// Task is one thing the learner does, checked by watching events.
type Task struct {
	ID     string
	Line   int
	Title  Text
	Hints  []Text // progressive: first a nudge, last the exact command
	Points int
	Check  *checker.Check
	Solve  []service.Step
	// From is "LAB/TASK" when the task is used from a built-in lab
	// ("- use: dns/resolve-a") rather than written out.
	From string
	// Optional is an exercise's "required: false": the task earns points
	// but is not needed for the exercise to be complete, and it never
	// holds back the tasks after it in sequential order.
	Optional bool
}

// Task returns the task with the given id.
func (l *Lab) Task(id string) (*Task, bool) {
	for i := range l.Tasks {
		if l.Tasks[i].ID == id {
			return &l.Tasks[i], true
		}
	}
	return nil, false
}

// EventKinds lists the kinds of event the task's check watches, each once,
// in the order the check names them.
func (t *Task) EventKinds() []string {
	if t.Check == nil {
		return nil
	}
	return eventKinds(t.Check.Spec())
}

// CheckerTasks returns the tasks in the checker's form.
func (l *Lab) CheckerTasks() []checker.Task {
	out := make([]checker.Task, len(l.Tasks))
	for i, t := range l.Tasks {
		out[i] = checker.Task{ID: t.ID, Check: t.Check, Optional: t.Optional}
	}
	return out
}

// UsesTransport reports whether a task checks transport events (tcp.*):
// the runner then watches every TCP connection of the lab.
func (l *Lab) UsesTransport() bool {
	var uses func(s checker.Spec) bool
	uses = func(s checker.Spec) bool {
		for _, e := range service.TransportEvents {
			if s.Event == e.Kind {
				return true
			}
		}
		for _, p := range append(append([]checker.Spec{}, s.Steps...), s.Parts...) {
			if uses(p) {
				return true
			}
		}
		return false
	}
	for _, t := range l.Tasks {
		if t.Check != nil && uses(t.Check.Spec()) {
			return true
		}
	}
	return false
}

// Listeners lists the names of the listeners of the lab's services.
func (l *Lab) Listeners() []service.Listener {
	var out []service.Listener
	for _, s := range l.Services {
		out = append(out, s.Spec.Listeners...)
	}
	return out
}

// Lesson returns the lesson in lang, falling back like Text.In.
func (l *Lab) Lesson(lang string) (*lesson.Doc, string) {
	if d, ok := l.Lessons[lang]; ok {
		return d, lang
	}
	for _, fl := range append([]string{"en"}, Langs...) {
		if d, ok := l.Lessons[fl]; ok {
			return d, fl
		}
	}
	return nil, ""
}

// Registry knows the services Protolab can run.
type Registry interface {
	Service(name string) (*service.Spec, bool)
	Names() []string
}

// Errors is every problem found in a lab, in file order.
type Errors []*yamlx.Error

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, x := range e {
		lines[i] = x.Error()
	}
	return strings.Join(lines, "\n")
}

// UnknownLabError is returned for a built-in lab id that does not exist.
type UnknownLabError struct {
	ID    string
	Known []string
}

func (e *UnknownLabError) Error() string {
	return fmt.Sprintf("no lab named %q; the labs are: %s (or run your own with --file FILE)", e.ID, strings.Join(e.Known, ", "))
}

// IDs lists the built-in labs.
func IDs() []string { return labIDs(builtin) }

// labIDs lists the directories of fsys that hold a lab.yaml.
func labIDs(fsys fs.FS) []string {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil
	}
	var ids []string
	for _, e := range entries {
		if _, err := fs.Stat(fsys, path.Join(e.Name(), "lab.yaml")); e.IsDir() && err == nil {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids
}

// LoadBuiltin loads a built-in lab by id, with the local learner's values
// of its variables (LocalLearner).
func LoadBuiltin(id string, reg Registry) (*Lab, error) {
	return newRefs(reg, "").builtin(id)
}

// LoadFile loads a lab from a file on disk; the files it names (lessons,
// zone files...) are looked up in the same directory.
func LoadFile(file string, reg Registry) (*Lab, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("cannot read the lab file: %w", err)
	}
	return load(os.DirFS(filepath.Dir(abs)), filepath.Base(abs), file, newRefs(reg, ""), loadOpts{})
}

// maxLabFile bounds a lab file's size.
const maxLabFile = 1 << 20

// Load reads the lab file name in fsys (its directory holds the lab's
// other files). shown is the file's name in error messages.
func Load(fsys fs.FS, name, shown string, reg Registry) (*Lab, error) {
	return load(fsys, name, shown, newRefs(reg, ""), loadOpts{})
}

// loadOpts say how to read a lab file.
type loadOpts struct {
	exercise bool   // read it as an exercise whatever its keys
	learner  string // the learner whose variables are drawn ("" : the local one)
	builtin  bool   // a built-in lab
}

func load(fsys fs.FS, name, shown string, r *refs, o loadOpts) (*Lab, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("cannot read the lab file %s: %w", shown, err)
	}
	dir := path.Dir(name)
	data := fsys
	if dir != "." {
		if data, err = fs.Sub(fsys, dir); err != nil {
			return nil, err
		}
	}
	return parse(src, data, shown, r, o)
}

var (
	idRE          = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	placeholderRE = regexp.MustCompile(`\{([a-z0-9_-]+)\.(host|port|addr)\}`)
)

// loader accumulates errors while reading one lab.
type loader struct {
	file string
	errs Errors
	reg  Registry
	data fs.FS
	refs *refs
	// values are the lab's variables for the learner, put in place of
	// {var.NAME} in the lessons (the lab file's own texts get them before
	// they are read).
	values  map[string]string
	defined []Var // the lab's variables
	// required is set when a task says required: (an exercise key).
	required bool
	used     []*Lab // the built-in labs used so far
}

// use loads the built-in lab id for a "use:" and records it.
func (ld *loader) use(id string) (*Lab, error) {
	l, err := ld.refs.use(id)
	if err == nil && !slices.Contains(ld.used, l) {
		ld.used = append(ld.used, l)
	}
	return l, err
}

// LearnerValues are the learner's values of the lab's variables and of
// those of the built-in labs it uses, named LAB.NAME ("dns.secret"), for
// the instructor.
func (l *Lab) LearnerValues() map[string]string {
	out := maps.Clone(l.usedValues)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range l.Values {
		out[k] = v
	}
	return out
}

func (ld *loader) add(err error) {
	if err == nil {
		return
	}
	var ye *yamlx.Error
	if errors.As(err, &ye) {
		c := *ye
		if c.File == "" {
			c.File = ld.file
		}
		ld.errs = append(ld.errs, &c)
		return
	}
	var list Errors
	if errors.As(err, &list) {
		ld.errs = append(ld.errs, list...)
		return
	}
	ld.errs = append(ld.errs, &yamlx.Error{File: ld.file, Msg: err.Error()})
}

func (ld *loader) errf(line int, format string, args ...any) {
	ld.errs = append(ld.errs, &yamlx.Error{File: ld.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// Parse reads a lab from the bytes of its file; data holds the lab's other
// files. The file may use services and tasks of the built-in labs ("use:").
func Parse(src []byte, data fs.FS, shown string, reg Registry) (*Lab, error) {
	return parse(src, data, shown, newRefs(reg, ""), loadOpts{})
}

func parse(src []byte, data fs.FS, shown string, r *refs, o loadOpts) (*Lab, error) {
	reg := r.reg
	ld := &loader{file: shown, reg: reg, data: data, refs: r}
	if len(src) > maxLabFile {
		return nil, Errors{{File: shown, Msg: fmt.Sprintf("the file is larger than %d bytes", maxLabFile)}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, Errors{{File: shown, Line: yamlLine(err), Msg: "not valid YAML: " + yamlMsg(err)}}
	}
	root := yamlx.Resolve(&doc)
	if root == nil {
		return nil, Errors{{File: shown, Msg: "the file is empty; a lab needs at least id, title, services and tasks"}}
	}
	fields, _, err := yamlx.Mapping(root, "lab", "id", "title", "summary", "services", "tasks", "lesson",
		"exercise", "order", "deadline", "vars")
	if err != nil {
		ld.add(err)
		return nil, ld.errs
	}
	lab := &Lab{File: shown, Data: data, Lessons: map[string]*lesson.Doc{}}
	if f, ok := fields["id"]; !ok {
		ld.errf(root.Line, "missing id: (a short name such as my-dns-lab)")
	} else if lab.ID, err = yamlx.String(f.Value, "id"); err != nil {
		ld.add(err)
	} else if !idRE.MatchString(lab.ID) {
		ld.errf(f.Value.Line, "id %q: use lower-case letters, digits and dashes", lab.ID)
	}
	// Variables first: their values stand in every text of the file.
	ld.vars(lab, root, fields, o)
	if f, ok := fields["title"]; ok {
		lab.Title = ld.text(f.Value, "title")
	} else {
		ld.errf(root.Line, "missing title: (with fr: and en:)")
	}
	if f, ok := fields["summary"]; ok {
		lab.Summary = ld.text(f.Value, "summary")
	}
	if f, ok := fields["services"]; ok {
		ld.services(lab, f.Value)
	} else {
		ld.errf(root.Line, "missing services: (the servers this lab runs; known: %s)", strings.Join(reg.Names(), ", "))
	}
	cat := newCatalog(lab.Services)
	if f, ok := fields["tasks"]; ok {
		ld.tasks(lab, f.Value, cat)
	} else {
		ld.errf(root.Line, "missing tasks: (what the learner does)")
	}
	var lessonSrcs map[string]lessonSrc
	if f, ok := fields["lesson"]; ok {
		lessonSrcs = ld.lessonSpec(f.Value)
	} else {
		lessonSrcs = map[string]lessonSrc{}
		for _, l := range Langs {
			name := "lesson." + l + ".md"
			if _, err := fs.Stat(data, name); err == nil {
				lessonSrcs[l] = lessonSrc{file: name}
			}
		}
	}
	ld.lessons(lab, lessonSrcs)
	ld.exercise(lab, fields, o)
	for _, u := range ld.used {
		for k, v := range u.LearnerValues() {
			if !strings.Contains(k, ".") {
				k = u.ID + "." + k
			}
			if lab.usedValues == nil {
				lab.usedValues = map[string]string{}
			}
			lab.usedValues[k] = v
		}
	}
	if len(ld.errs) > 0 {
		return nil, ld.errs
	}
	return lab, nil
}

func (ld *loader) text(n *yaml.Node, what string) Text {
	n = yamlx.Resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		return Text{"en": n.Value, "fr": n.Value}
	}
	fields, order, err := yamlx.Mapping(n, what, Langs...)
	if err != nil {
		ld.add(err)
		return nil
	}
	t := Text{}
	for _, l := range order {
		s, err := yamlx.String(fields[l].Value, what+"."+l)
		if err != nil {
			ld.add(err)
			continue
		}
		t[l] = strings.TrimSpace(s)
	}
	if len(t) == 0 {
		ld.errf(n.Line, "%s: give the text in at least one language (fr:, en:)", what)
	}
	return t
}

func (ld *loader) services(lab *Lab, n *yaml.Node) {
	fields, order, err := yamlx.Mapping(n, "services")
	if err != nil {
		ld.add(err)
		return
	}
	if len(order) == 0 {
		ld.errf(n.Line, "services: name at least one server (known: %s)", strings.Join(ld.reg.Names(), ", "))
	}
	for _, name := range order {
		f := fields[name]
		spec, ok := ld.reg.Service(name)
		if !ok {
			ld.errf(f.Key.Line, "unknown service %q (known services: %s)", name, strings.Join(ld.reg.Names(), ", "))
			continue
		}
		var opts *yaml.Node
		if v := yamlx.Resolve(f.Value); v != nil && v.Tag != "!!null" {
			opts = v
		}
		svc := Service{Name: name, Line: f.Key.Line, Spec: spec}
		if use, ok := useField(opts); ok {
			// Keep the service even when the reference is wrong, so that
			// its events and listeners are known while the rest of the
			// file is checked.
			svc.From, svc.Prepared = ld.useService(name, opts, use)
		} else {
			prep, err := spec.Load(opts, ld.serviceData())
			if err != nil {
				n := len(ld.errs)
				ld.add(err)
				for _, ye := range ld.errs[n:] {
					ye.Msg = name + ": " + ye.Msg
					if ye.Line == 0 && ye.File == ld.file {
						ye.Line = f.Key.Line
					}
				}
			}
			svc.Prepared = prep
		}
		for _, req := range spec.Requires {
			found := false
			for _, prev := range lab.Services {
				found = found || prev.Name == req
			}
			if !found {
				ld.errf(f.Key.Line, "service %s needs the service %s: add %s: before %s: in services", name, req, req, name)
			}
		}
		lab.Services = append(lab.Services, svc)
	}
}

// useField finds the key "use" in a service's options.
func useField(opts *yaml.Node) (yamlx.Field, bool) {
	if opts == nil || opts.Kind != yaml.MappingNode {
		return yamlx.Field{}, false
	}
	for i := 0; i+1 < len(opts.Content); i += 2 {
		if opts.Content[i].Kind == yaml.ScalarNode && opts.Content[i].Value == "use" {
			return yamlx.Field{Key: opts.Content[i], Value: opts.Content[i+1]}, true
		}
	}
	return yamlx.Field{}, false
}

// useService resolves "name: {use: LAB}": the service as the built-in lab
// LAB runs it, with its options and data files.
func (ld *loader) useService(name string, opts *yaml.Node, use yamlx.Field) (string, service.Prepared) {
	fields, order, err := yamlx.Mapping(opts, name+" options")
	if err != nil {
		ld.add(err)
		return "", nil
	}
	for _, k := range order {
		if k != "use" {
			ld.errf(fields[k].Key.Line, "%s: %s: cannot go with use: (the service runs with the options of the lab it uses); drop it, or drop use: and write every option here", name, k)
		}
	}
	id, err := yamlx.String(use.Value, "use")
	if err != nil {
		ld.add(err)
		return "", nil
	}
	src, err := ld.use(id)
	if err != nil {
		ld.errf(use.Value.Line, "%s: use: %s: %v", name, id, err)
		return "", nil
	}
	for _, s := range src.Services {
		if s.Name == name {
			return id, s.Prepared
		}
	}
	ld.errf(use.Value.Line, "%s: use: %s: the lab %s runs no %s service (its services: %s)", name, id, id, name, strings.Join(serviceNames(src), ", "))
	return "", nil
}

var taskFields = []string{"id", "title", "hints", "points", "check", "solve", "use", "required"}

func (ld *loader) tasks(lab *Lab, n *yaml.Node, cat *catalog) {
	items, err := yamlx.Sequence(n, "tasks")
	if err != nil {
		ld.add(err)
		return
	}
	if len(items) == 0 {
		ld.errf(n.Line, "tasks: a lab needs at least one task")
	}
	seen := map[string]int{}
	listeners := map[string]bool{}
	for _, l := range lab.Listeners() {
		listeners[l.Name] = true
	}
	for _, it := range items {
		fields, _, err := yamlx.Mapping(it, "task", taskFields...)
		if err != nil {
			ld.add(err)
			continue
		}
		t := Task{Line: it.Line, Points: 1}
		use, used := fields["use"]
		if used {
			for _, k := range []string{"check", "solve"} {
				if f, ok := fields[k]; ok {
					ld.errf(f.Key.Line, "task: %s: cannot go with use: (the task is checked and solved as in the lab it comes from); drop it, or drop use: and write the task in full", k)
				}
			}
			_, ownHints := fields["hints"]
			if ref := ld.useTask(lab, use.Value, cat, listeners, ownHints); ref != nil {
				t = *ref
				t.Line = it.Line
			}
		}
		idLine := it.Line
		if f, ok := fields["id"]; ok {
			idLine = f.Value.Line
			if t.ID, err = yamlx.String(f.Value, "id"); err != nil {
				ld.add(err)
			} else if !idRE.MatchString(t.ID) {
				ld.errf(f.Value.Line, "task id %q: use lower-case letters, digits and dashes", t.ID)
				t.ID = ""
			}
		} else if !used {
			ld.errf(it.Line, "task without id:")
		} else {
			idLine = use.Value.Line
		}
		if t.ID != "" {
			if prev, dup := seen[t.ID]; dup {
				ld.errf(idLine, "task id %q is used twice (first at line %d); task ids must be unique", t.ID, prev)
			} else {
				seen[t.ID] = idLine
			}
		}
		if f, ok := fields["title"]; ok {
			t.Title = ld.text(f.Value, "title")
		} else if !used {
			ld.errf(it.Line, "task %s: missing title:", t.ID)
		}
		if f, ok := fields["required"]; ok {
			ld.required = true
			if req, err := boolValue(f.Value, "required"); err != nil {
				ld.add(err)
			} else {
				t.Optional = !req
			}
		}
		if f, ok := fields["points"]; ok {
			if t.Points, err = yamlx.Int(f.Value, "points"); err != nil {
				ld.add(err)
			} else if t.Points < 0 {
				ld.errf(f.Value.Line, "points cannot be negative")
			}
		}
		if f, ok := fields["hints"]; ok {
			t.Hints = nil
			hints, err := yamlx.Sequence(f.Value, "hints")
			ld.add(err)
			for _, h := range hints {
				txt := ld.text(h, "hint")
				for _, s := range txt {
					for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
						if !listeners[m[1]] {
							ld.errf(h.Line, "hint: %s names no listener of this lab (listeners: %s)", m[0], strings.Join(sortedKeys(listeners), ", "))
						}
					}
				}
				t.Hints = append(t.Hints, txt)
			}
		}
		if !used {
			if f, ok := fields["check"]; !ok {
				ld.errf(it.Line, "task %s: missing check: (which event shows the task is done)", t.ID)
			} else if spec, err := checker.ParseSpec(f.Value); err != nil {
				ld.add(err)
			} else if t.Check, err = checker.Compile(spec, cat); err != nil {
				ld.add(err)
			}
			if f, ok := fields["solve"]; ok {
				t.Solve = ld.solve(lab, f.Value)
			}
		}
		lab.Tasks = append(lab.Tasks, t)
	}
}

// useTask resolves "- use: LAB/TASK": a copy of the task of a built-in lab,
// its check compiled again against this lab's services. The lab must run
// the services the task needs: those that emit the events its check
// watches, perform its solve steps and own the listeners its hints name
// (unless ownHints: the file gives hints of its own). It returns nil after
// reporting what is wrong.
func (ld *loader) useTask(lab *Lab, n *yaml.Node, cat *catalog, listeners map[string]bool, ownHints bool) *Task {
	ref, err := yamlx.String(n, "use")
	if err != nil {
		ld.add(err)
		return nil
	}
	labID, taskID, ok := strings.Cut(ref, "/")
	if !ok || !idRE.MatchString(labID) || !idRE.MatchString(taskID) {
		ld.errf(n.Line, "use: %q: name a task of a built-in lab as LAB/TASK, as in \"use: dns/resolve-a\"", ref)
		return nil
	}
	src, err := ld.use(labID)
	if err != nil {
		ld.errf(n.Line, "use: %s: %v", ref, err)
		return nil
	}
	orig, ok := src.Task(taskID)
	if !ok {
		ld.errf(n.Line, "use: %s: the lab %s has no task %q (its tasks: %s)", ref, labID, taskID, taskIDs(src))
		return nil
	}
	t := *orig
	t.From = ref
	t.Hints = append([]Text(nil), orig.Hints...)
	t.Solve = append([]service.Step(nil), orig.Solve...)

	// The services the task needs, in the order found, with why.
	var missing []string
	need := func(svc, why string) {
		for _, m := range missing {
			if strings.HasPrefix(m, svc+" ") {
				return
			}
		}
		missing = append(missing, svc+" ("+why+")")
	}
	spec := orig.Check.Spec()
	for _, kind := range eventKinds(spec) {
		if _, ok := cat.EventSpec(kind); !ok {
			need(ld.serviceFor(func(s *service.Spec) bool { _, ok := s.Event(kind); return ok }, kind), "its check watches "+kind)
		}
	}
	for _, st := range t.Solve {
		if _, ok := lab.action(st.Action); !ok {
			need(ld.serviceFor(func(s *service.Spec) bool { _, ok := s.Action(st.Action); return ok }, st.Action), "its solve step "+st.Action)
		}
	}
	if !ownHints {
		for _, h := range t.Hints {
			for _, s := range h {
				for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
					if !listeners[m[1]] {
						need(ld.serviceFor(func(s *service.Spec) bool {
							for _, l := range s.Listeners {
								if l.Name == m[1] {
									return true
								}
							}
							return false
						}, m[1]), "its hints name "+m[0])
					}
				}
			}
		}
	}
	if len(missing) > 0 {
		names := make([]string, len(missing))
		for i, m := range missing {
			names[i], _, _ = strings.Cut(m, " ")
		}
		adds := make([]string, len(names))
		for i, s := range names {
			adds[i] = fmt.Sprintf("%s: {use: %s}", s, labID)
			if !src.runs(s) {
				adds[i] = s + ":"
			}
		}
		ld.errf(n.Line, "use: %s needs the service %s, which this lab does not run: add %s to services:",
			ref, strings.Join(missing, ", "), strings.Join(adds, " and "))
		return nil
	}
	if t.Check, err = checker.Compile(spec, cat); err != nil {
		ld.errf(n.Line, "use: %s: its check does not fit this lab: %s", ref, errMsg(err))
		return nil
	}
	return &t
}

// serviceFor names the service of the registry that has what is sought,
// or what itself when none has.
func (ld *loader) serviceFor(has func(*service.Spec) bool, what string) string {
	for _, name := range ld.reg.Names() {
		if s, ok := ld.reg.Service(name); ok && has(s) {
			return name
		}
	}
	return what
}

// eventKinds lists the event kinds a check watches, each once.
func eventKinds(s checker.Spec) []string {
	var out []string
	var walk func(s checker.Spec)
	walk = func(s checker.Spec) {
		if s.Event != "" && !contains(out, s.Event) {
			out = append(out, s.Event)
		}
		for _, p := range s.Steps {
			walk(p)
		}
		for _, p := range s.Parts {
			walk(p)
		}
	}
	walk(s)
	return out
}

// errMsg is an error's message without its file and line.
func errMsg(err error) string {
	var ye *yamlx.Error
	if errors.As(err, &ye) {
		return ye.Msg
	}
	return err.Error()
}

func (l *Lab) runs(svc string) bool {
	for _, s := range l.Services {
		if s.Name == svc {
			return true
		}
	}
	return false
}

func serviceNames(l *Lab) []string {
	out := make([]string, len(l.Services))
	for i, s := range l.Services {
		out[i] = s.Name
	}
	return out
}

func taskIDs(l *Lab) string {
	ids := make([]string, len(l.Tasks))
	for i, t := range l.Tasks {
		ids[i] = t.ID
	}
	return strings.Join(ids, ", ")
}

func (ld *loader) solve(lab *Lab, n *yaml.Node) []service.Step {
	items, err := yamlx.Sequence(n, "solve")
	if err != nil {
		ld.add(err)
		return nil
	}
	var steps []service.Step
	for _, it := range items {
		fields, order, err := yamlx.Mapping(it, "solve step")
		if err != nil {
			ld.add(err)
			continue
		}
		f, ok := fields["do"]
		if !ok {
			ld.errf(it.Line, "solve step: missing do: (an action such as dns.query)")
			continue
		}
		name, err := yamlx.String(f.Value, "do")
		if err != nil {
			ld.add(err)
			continue
		}
		act, ok := lab.action(name)
		if !ok {
			ld.errf(f.Value.Line, "solve step: unknown action %q (this lab's actions: %s)", name, strings.Join(lab.actionNames(), ", "))
			continue
		}
		st := service.Step{Action: name, Args: map[string]string{}}
		for _, k := range order {
			if k == "do" {
				continue
			}
			if !contains(act.Required, k) && !contains(act.Optional, k) {
				ld.errf(fields[k].Key.Line, "solve step %s: unknown argument %q (it takes: %s)", name, k, strings.Join(append(append([]string{}, act.Required...), act.Optional...), ", "))
				continue
			}
			v, err := yamlx.String(fields[k].Value, k)
			if err != nil {
				ld.add(err)
				continue
			}
			st.Args[k] = v
		}
		for _, r := range act.Required {
			if _, ok := fields[r]; !ok {
				ld.errf(it.Line, "solve step %s: missing argument %s:", name, r)
			}
		}
		steps = append(steps, st)
	}
	return steps
}

// lessonSrc is where a lesson comes from: a file of the lab's directory, or
// Markdown written in the lab file itself (at line, in the lab file).
type lessonSrc struct {
	file   string
	inline string
	line   int
}

// lessonSpec reads lesson: a file for every language, or per language
// (fr:, en:) a file name or the lesson itself: a value of several lines
// (a YAML block, "|") is Markdown, a one-line value names a file.
func (ld *loader) lessonSpec(n *yaml.Node) map[string]lessonSrc {
	out := map[string]lessonSrc{}
	n = yamlx.Resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		for _, l := range Langs {
			out[l] = lessonValue(n)
		}
		return out
	}
	fields, order, err := yamlx.Mapping(n, "lesson", Langs...)
	if err != nil {
		ld.add(err)
		return out
	}
	for _, l := range order {
		v := yamlx.Resolve(fields[l].Value)
		if _, err := yamlx.String(v, "lesson."+l); err != nil {
			ld.add(err)
			continue
		}
		out[l] = lessonValue(v)
	}
	if len(order) == 0 {
		ld.errf(n.Line, "lesson: give a lesson file (or the lesson itself) in at least one language (fr:, en:)")
	}
	return out
}

func lessonValue(n *yaml.Node) lessonSrc {
	if strings.Contains(strings.TrimSpace(n.Value), "\n") {
		line := n.Line
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			line++ // the text starts on the line after "|"
		}
		return lessonSrc{inline: n.Value, line: line}
	}
	return lessonSrc{file: strings.TrimSpace(n.Value)}
}

func (ld *loader) lessons(lab *Lab, srcs map[string]lessonSrc) {
	for _, lang := range Langs {
		ls, ok := srcs[lang]
		if !ok {
			continue
		}
		var (
			src    []byte
			shown  = ld.file
			offset = ls.line - 1 // the lesson's line 1 is this line of shown
		)
		if ls.file != "" {
			b, err := fs.ReadFile(ld.data, ls.file)
			if err != nil {
				ld.errf(0, "lesson %s: cannot read %s: %v", lang, ls.file, err)
				continue
			}
			src, shown, offset = b, path.Join(path.Dir(ld.file), ls.file), 0
		} else {
			src = []byte(ls.inline)
		}
		src = ld.substituteText(src, shown, offset)
		doc, err := lesson.Parse(src)
		if err != nil {
			var le *lesson.Error
			if errors.As(err, &le) {
				ld.errs = append(ld.errs, &yamlx.Error{File: shown, Line: le.Line + offset, Msg: le.Msg})
			} else {
				ld.errs = append(ld.errs, &yamlx.Error{File: shown, Msg: err.Error()})
			}
			continue
		}
		for _, link := range doc.Links() {
			if _, ok := lab.Task(link.Task); !ok {
				ld.errs = append(ld.errs, &yamlx.Error{File: shown, Line: link.Line + offset,
					Msg: fmt.Sprintf("=> %s: no task has this id (tasks: %s)", link.Task, taskIDs(lab))})
			}
		}
		lab.Lessons[lang] = doc
	}
}

func (l *Lab) action(name string) (service.Action, bool) {
	for _, s := range l.Services {
		if a, ok := s.Spec.Action(name); ok {
			return a, true
		}
	}
	return service.Action{}, false
}

func (l *Lab) actionNames() []string {
	var out []string
	for _, s := range l.Services {
		for _, a := range s.Spec.Actions {
			out = append(out, a.Name)
		}
	}
	return out
}

// ServiceFor returns the lab service that performs the named action.
func (l *Lab) ServiceFor(action string) (*Service, bool) {
	for i := range l.Services {
		if _, ok := l.Services[i].Spec.Action(action); ok {
			return &l.Services[i], true
		}
	}
	return nil, false
}

// catalog is the checker's view of the events a lab's services emit.
type catalog struct{ specs map[string]event.Spec }

func newCatalog(svcs []Service) *catalog {
	c := &catalog{specs: map[string]event.Spec{}}
	for _, e := range service.TransportEvents {
		c.specs[e.Kind] = e
	}
	for _, s := range svcs {
		for _, e := range s.Spec.Events {
			c.specs[e.Kind] = e
		}
	}
	return c
}

func (c *catalog) EventSpec(kind string) (event.Spec, bool) {
	s, ok := c.specs[kind]
	return s, ok
}

func (c *catalog) EventKinds() []string {
	return sortedKeys(c.specs)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func yamlLine(err error) int {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	var n int
	fmt.Sscanf(m[1], "%d", &n)
	return n
}

var yamlLinePrefixRE = regexp.MustCompile(`^line \d+: `)

// yamlMsg is a YAML error without its "yaml: line N: " prefix (the line is
// given apart).
func yamlMsg(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	return yamlLinePrefixRE.ReplaceAllString(s, "")
}

// RenderHint replaces the placeholders {LISTENER.host}, {LISTENER.port} and
// {LISTENER.addr} with the running lab's real addresses.
func RenderHint(s string, eps service.Endpoints) string {
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		p := placeholderRE.FindStringSubmatch(m)
		for _, e := range eps {
			if e.Listener != p[1] {
				continue
			}
			host, port, err := net.SplitHostPort(e.Addr)
			if err != nil {
				return m
			}
			switch p[2] {
			case "host":
				return host
			case "port":
				return port
			default:
				return e.Addr
			}
		}
		return m
	})
}

// refs loads the built-in labs a lab file uses ("use: dns",
// "use: dns/resolve-a"), each once per load, and refuses labs that use
// each other in a circle.
type refs struct {
	reg     Registry
	fsys    fs.FS // the built-in labs, one directory each
	loaded  map[string]*Lab
	failed  map[string]error
	loading []string // the built-in labs being loaded, outermost first
	learner string   // whose values of the labs' variables are drawn ("" : the local learner)
}

func newRefs(reg Registry, learner string) *refs {
	return &refs{reg: reg, fsys: builtin, loaded: map[string]*Lab{}, failed: map[string]error{}, learner: learner}
}

// builtin loads the built-in lab id.
func (r *refs) builtin(id string) (*Lab, error) {
	if l, ok := r.loaded[id]; ok {
		return l, nil
	}
	if err, ok := r.failed[id]; ok {
		return nil, err
	}
	if contains(r.loading, id) {
		return nil, fmt.Errorf("the labs %s use each other in a circle", strings.Join(append(r.loading, id), " → "))
	}
	if known := labIDs(r.fsys); !contains(known, id) {
		return nil, &UnknownLabError{ID: id, Known: known}
	}
	sub, err := fs.Sub(r.fsys, id)
	if err != nil {
		return nil, err
	}
	r.loading = append(r.loading, id)
	l, err := load(sub, "lab.yaml", "labs/"+id+"/lab.yaml", r, loadOpts{builtin: true, learner: r.learner})
	r.loading = r.loading[:len(r.loading)-1]
	if err != nil {
		r.failed[id] = err
		return nil, err
	}
	r.loaded[id] = l
	return l, nil
}

// use loads the built-in lab id for a "use:" in a lab file.
func (r *refs) use(id string) (*Lab, error) {
	l, err := r.builtin(id)
	var (
		unknown *UnknownLabError
		list    Errors
	)
	switch {
	case errors.As(err, &unknown):
		return nil, fmt.Errorf("no built-in lab is named %s (the labs are: %s)", id, strings.Join(unknown.Known, ", "))
	case errors.As(err, &list) && len(list) > 0:
		// Named with its first problem: the rest are in that lab's file.
		return nil, fmt.Errorf("the lab %s does not load: %v", id, list[0])
	}
	return l, err
}
