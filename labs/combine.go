package labs

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"

	"protolab/internal/lesson"
	"protolab/internal/yamlx"
)

// CombinedID is the id of the lab that runs the built-in labs ids together:
// their ids joined by dashes, in the order given ("dns-mail"). The order
// counts: dns,mail and mail,dns are two labs, each with its own progress.
func CombinedID(ids []string) string { return strings.Join(ids, "-") }

// SplitID returns the built-in labs an id names: the lab itself when id is
// a built-in lab's, else the labs of the combination it is the id of
// ("dns-mail": dns and mail). It reports false when id names neither, or
// could be read as two different combinations.
func SplitID(id string) ([]string, bool) { return splitID(labIDs(builtin), id) }

func splitID(known []string, id string) ([]string, bool) {
	if contains(known, id) {
		return []string{id}, true
	}
	parts := splitCombined(known, id)
	if len(parts) != 1 {
		return nil, false
	}
	return parts[0], true
}

// splitCombined lists the ways id reads as two or more known ids joined
// by dashes: none, one, or two when there are more (one is the answer, two
// are too many). It counts the ways of reading each suffix once, so that
// ids made of many parts cost little.
func splitCombined(known []string, id string) [][]string {
	// ways[i] is how many ways id[i:] reads as known ids joined by dashes
	// (at most 2); i starts a part.
	ways := make([]int, len(id)+1)
	next := func(i int, k string) int { // where the part after k starts, or -1
		switch rest := id[i:]; {
		case rest == k:
			return len(id)
		case strings.HasPrefix(rest, k+"-") && i+len(k)+1 < len(id):
			return i + len(k) + 1
		}
		return -1
	}
	count := func(i int, top bool) int {
		n := 0
		for _, k := range known {
			j := next(i, k)
			switch {
			case j == len(id) && !top:
				n++
			case j >= 0 && j < len(id):
				n += ways[j]
			}
		}
		return min(n, 2)
	}
	for i := len(id) - 1; i > 0; i-- {
		if id[i-1] == '-' {
			ways[i] = count(i, false)
		}
	}
	switch count(0, true) {
	case 0:
		return nil
	case 2:
		return [][]string{nil, nil}
	}
	var parts []string
	for i, top := 0, true; i < len(id); top = false {
		found := false
		for _, k := range known {
			if j := next(i, k); (j == len(id) && !top) || (j >= 0 && j < len(id) && ways[j] > 0) {
				parts, i, found = append(parts, k), j, true
				break
			}
		}
		if !found {
			return nil
		}
	}
	return [][]string{parts}
}

// LoadID loads a built-in lab, or the combination of built-in labs whose
// id is given (see CombinedID), so that a combination run by id ("lab
// start dns-mail", "lab report --lab dns-mail") is found again.
func LoadID(id string, reg Registry) (*Lab, error) { return LoadIDFor(id, "", reg) }

// LoadIDFor is LoadID with a learner's values of the labs' variables (""
// : the local learner's), and of those of the labs they use.
func LoadIDFor(id, learner string, reg Registry) (*Lab, error) {
	r := newRefs(reg, learner)
	ids, ok := splitID(labIDs(r.fsys), id)
	if !ok || len(ids) == 1 {
		return r.builtin(id)
	}
	return combine(ids, r)
}

// Combine returns the lab that runs the built-in labs ids together, for a
// class working on several labs at once. It is written as a lab file made
// of references and read by the ordinary loader:
//
//   - its id is CombinedID(ids), its title and summary name the labs;
//   - its services are every service of the labs, each as the first lab in
//     the list that runs it runs it ("dns: {use: dns}"), in an order that
//     keeps each service after those it needs (mailstore before smtp);
//   - its tasks are every task of every lab, by reference, in the labs'
//     order; a task two labs share (the same task of the same lab) is
//     there once, and a task whose id another lab's task already has is
//     renamed LAB-TASK;
//   - its lesson is each lab's lesson in turn, in every language, below an
//     introduction that says what the combination changed.
//
// When two labs run the same service with different data, the first lab
// listed wins: the summary and the lesson's introduction say so. One lab
// given is that lab, unchanged. An unknown lab is an *UnknownLabError; a
// lab named twice is an error.
func Combine(ids []string, reg Registry) (*Lab, error) {
	return combine(ids, newRefs(reg, ""))
}

// combineTask is one task of the combination: the reference and, when it
// had to be renamed, its id.
type combineTask struct {
	lab, task string // the lab of the list and the task's id there
	id        string // its id in the combination
}

func combine(ids []string, r *refs) (*Lab, error) {
	known := labIDs(r.fsys)
	if len(ids) == 0 {
		return nil, fmt.Errorf("name at least one lab (the labs are: %s)", strings.Join(known, ", "))
	}
	for i, id := range ids {
		if !contains(known, id) {
			return nil, &UnknownLabError{ID: id, Known: known}
		}
		if contains(ids[:i], id) {
			return nil, fmt.Errorf("the lab %s is named twice in the list %s: name each lab once", id, strings.Join(ids, ","))
		}
	}
	if len(ids) == 1 {
		return r.builtin(ids[0])
	}
	cid := CombinedID(ids)
	if got, ok := splitID(known, cid); !ok || len(got) != len(ids) {
		// A built-in lab has this id, or it reads as another list.
		return nil, fmt.Errorf("the labs %s cannot be combined under the id %s, which names another lab or list of labs", strings.Join(ids, ", "), cid)
	}
	list := make([]*Lab, len(ids))
	for i, id := range ids {
		l, err := r.builtin(id)
		if err != nil {
			return nil, err
		}
		list[i] = l
	}

	// Services: the union, each from the first lab that runs it.
	var (
		svcOrder []string
		svcFrom  = map[string]string{} // service → the lab it comes from
		svcData  = map[string]string{} // service → where its data is from
		clashes  []Text
	)
	for i, l := range list {
		for _, s := range l.Services {
			origin := serviceOrigin(r.fsys, ids[i], s.Name, 0)
			first, ok := svcFrom[s.Name]
			if !ok {
				svcOrder = append(svcOrder, s.Name)
				svcFrom[s.Name], svcData[s.Name] = ids[i], origin
				continue
			}
			if svcData[s.Name] != origin {
				clashes = append(clashes, Text{
					"en": fmt.Sprintf("the %s server runs as in the lab %s, not as in the lab %s (its data differs: the lab listed first wins)", s.Name, first, ids[i]),
					"fr": fmt.Sprintf("le serveur %s tourne comme dans le labo %s, pas comme dans le labo %s (ses données diffèrent : le labo cité en premier l'emporte)", s.Name, first, ids[i]),
				})
			}
		}
	}

	// Tasks: every task of every lab; a task shared is kept once, a task
	// whose id is taken is renamed.
	var (
		tasks   []combineTask
		byFrom  = map[string]string{} // the task's origin → its id here
		taken   = map[string]bool{}
		finalID = make([]map[string]string, len(list)) // per lab: its task id → the id here
		renamed []Text
	)
	for i, l := range list {
		finalID[i] = map[string]string{}
		for _, t := range l.Tasks {
			from := t.From
			if from == "" {
				from = ids[i] + "/" + t.ID
			}
			if id, ok := byFrom[from]; ok {
				finalID[i][t.ID] = id
				continue
			}
			id := t.ID
			if taken[id] {
				id = ids[i] + "-" + t.ID
				for n := 2; taken[id]; n++ {
					id = fmt.Sprintf("%s-%s-%d", ids[i], t.ID, n)
				}
				renamed = append(renamed, Text{
					"en": fmt.Sprintf("the task %s of the lab %s is %s here (another lab has a task %s)", t.ID, ids[i], id, t.ID),
					"fr": fmt.Sprintf("la tâche %s du labo %s s'appelle ici %s (un autre labo a une tâche %s)", t.ID, ids[i], id, t.ID),
				})
			}
			taken[id] = true
			byFrom[from] = id
			finalID[i][t.ID] = id
			tasks = append(tasks, combineTask{lab: ids[i], task: t.ID, id: id})
		}
	}

	notes := append(clashes, renamed...)
	title, summary := Text{}, Text{}
	for _, lang := range Langs {
		var names []string
		for i, l := range list {
			names = append(names, fmt.Sprintf("%s (%s)", l.Title.In(lang), ids[i]))
		}
		switch lang {
		case "fr":
			title[lang] = "Labos réunis : " + strings.Join(ids, " + ")
			summary[lang] = "Plusieurs labos à la fois, leurs serveurs ensemble et toutes leurs tâches : " + strings.Join(names, " ; ") + "."
		default:
			title[lang] = "Labs together: " + strings.Join(ids, " + ")
			summary[lang] = "Several labs at once, their servers together and every task of each: " + strings.Join(names, "; ") + "."
		}
		for _, n := range notes {
			summary[lang] += " " + capitalize(n.In(lang)) + "."
		}
	}

	lessons := map[string]string{}
	for _, lang := range Langs {
		var b strings.Builder
		fmt.Fprintf(&b, "# %s\n\n", title.In(lang))
		b.WriteString(tr(lang, "This lab runs several labs together: their servers at once, and every task of each. Their lessons follow, one after the other: ",
			"Ce labo en réunit plusieurs : leurs serveurs à la fois, et toutes leurs tâches. Leurs leçons suivent, l'une après l'autre : "))
		var names []string
		for i, l := range list {
			names = append(names, fmt.Sprintf("%s (%s)", l.Title.In(lang), ids[i]))
		}
		b.WriteString(strings.Join(names, tr(lang, "; ", " ; ")) + ".\n\n")
		if len(notes) > 0 {
			b.WriteString("::: " + tr(lang, "What changes when the labs run together", "Ce qui change quand les labos tournent ensemble") + "\n")
			for _, n := range notes {
				b.WriteString("- " + capitalize(n.In(lang)) + ".\n")
			}
			b.WriteString(":::\n\n")
		}
		for i, l := range list {
			src, err := lessonSource(r.fsys, ids[i], lang)
			if err != nil {
				return nil, fmt.Errorf("the lesson of the lab %s: %w", ids[i], err)
			}
			part, err := nestLesson(withValues(src, l.Values), l.Title.In(lang), finalID[i])
			if err != nil {
				return nil, fmt.Errorf("the lesson of the lab %s: %w", ids[i], err)
			}
			b.WriteString(part)
			b.WriteString("\n")
		}
		lessons[lang] = b.String()
	}

	src, err := combinedFile(cid, title, summary, svcOrder, svcFrom, tasks, lessons)
	if err != nil {
		return nil, err
	}
	shown := "--labs " + strings.Join(ids, ",")
	return parse(src, emptyFS{}, shown, r, loadOpts{builtin: true, learner: r.learner})
}

// combinedFile writes the combination's lab file.
func combinedFile(id string, title, summary Text, svcs []string, from map[string]string, tasks []combineTask, lessons map[string]string) ([]byte, error) {
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	mapping := func(kv ...*yaml.Node) *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Content: kv} }
	text := func(t Text) *yaml.Node {
		m := mapping()
		for _, l := range Langs {
			if s, ok := t[l]; ok {
				m.Content = append(m.Content, str(l), str(s))
			}
		}
		return m
	}
	services := mapping()
	for _, s := range svcs {
		use := mapping(str("use"), str(from[s]))
		use.Style = yaml.FlowStyle
		services.Content = append(services.Content, str(s), use)
	}
	taskList := &yaml.Node{Kind: yaml.SequenceNode}
	for _, t := range tasks {
		m := mapping(str("use"), str(t.lab+"/"+t.task))
		if t.id != t.task {
			m.Content = append(m.Content, str("id"), str(t.id))
		}
		taskList.Content = append(taskList.Content, m)
	}
	lessonNode := mapping()
	for _, l := range Langs {
		n := str(lessons[l])
		n.Style = yaml.LiteralStyle
		lessonNode.Content = append(lessonNode.Content, str(l), n)
	}
	doc := mapping(
		str("id"), str(id),
		str("title"), text(title),
		str("summary"), text(summary),
		str("services"), services,
		str("tasks"), taskList,
		str("lesson"), lessonNode,
	)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("writing the combined lab: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("writing the combined lab: %w", err)
	}
	return buf.Bytes(), nil
}

// rawLab is what the combination reads of a built-in lab's file itself:
// how its services are given and where its lesson is.
type rawLab struct {
	Services map[string]yaml.Node `yaml:"services"`
	Lesson   yaml.Node            `yaml:"lesson"`
}

func readRaw(fsys fs.FS, id string) (*rawLab, error) {
	src, err := fs.ReadFile(fsys, path.Join(id, "lab.yaml"))
	if err != nil {
		return nil, err
	}
	var raw rawLab
	if err := yaml.Unmarshal(src, &raw); err != nil {
		return nil, err
	}
	return &raw, nil
}

// serviceOrigin names where the service svc of the built-in lab id gets
// its options and data: "" for the service's defaults (no options), else
// the lab whose file writes them, following "use:".
func serviceOrigin(fsys fs.FS, id, svc string, depth int) string {
	raw, err := readRaw(fsys, id)
	if err != nil || depth > 16 {
		return id
	}
	n, ok := raw.Services[svc]
	if !ok {
		return id
	}
	v := yamlx.Resolve(&n)
	if v == nil || v.Tag == "!!null" || (v.Kind == yaml.MappingNode && len(v.Content) == 0) {
		return ""
	}
	if v.Kind == yaml.MappingNode && len(v.Content) == 2 && v.Content[0].Value == "use" {
		return serviceOrigin(fsys, v.Content[1].Value, svc, depth+1)
	}
	return id
}

// lessonSource reads the source of the built-in lab id's lesson in lang,
// where the loader finds it (lesson: in the file, else lesson.LANG.md),
// falling back to English then any language as Lab.Lesson does; nil when
// the lab has no lesson.
func lessonSource(fsys fs.FS, id, lang string) ([]byte, error) {
	raw, err := readRaw(fsys, id)
	if err != nil {
		return nil, err
	}
	srcs := map[string]lessonSrc{}
	if n := yamlx.Resolve(&raw.Lesson); n != nil && n.Tag != "!!null" {
		switch n.Kind {
		case yaml.ScalarNode:
			for _, l := range Langs {
				srcs[l] = lessonValue(n)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if v := yamlx.Resolve(n.Content[i+1]); v != nil && v.Kind == yaml.ScalarNode {
					srcs[n.Content[i].Value] = lessonValue(v)
				}
			}
		}
	} else {
		for _, l := range Langs {
			name := "lesson." + l + ".md"
			if _, err := fs.Stat(fsys, path.Join(id, name)); err == nil {
				srcs[l] = lessonSrc{file: name}
			}
		}
	}
	for _, l := range append([]string{lang, "en"}, Langs...) {
		ls, ok := srcs[l]
		if !ok {
			continue
		}
		if ls.file == "" {
			return []byte(ls.inline), nil
		}
		return fs.ReadFile(fsys, path.Join(id, ls.file))
	}
	return nil, nil
}

// nestLesson puts a lab's lesson below the combination's title: every
// heading one level down (a lesson without a title of its own gets the
// lab's), and each link to a task renamed in the combination following it
// (ids maps the lab's task ids to the combination's).
func nestLesson(src []byte, title string, ids map[string]string) (string, error) {
	if len(src) == 0 {
		return "## " + title + "\n", nil
	}
	src = bytes.TrimPrefix(src, []byte("\ufeff"))
	doc, err := lesson.Parse(src)
	if err != nil {
		return "", err
	}
	lines := strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
	for _, h := range doc.Headings() {
		if h.Level < 6 && h.Line >= 1 && h.Line <= len(lines) {
			l := lines[h.Line-1]
			i := strings.Index(l, "#")
			lines[h.Line-1] = l[:i] + "#" + l[i:]
		}
	}
	for _, link := range doc.Links() {
		to, ok := ids[link.Task]
		if !ok || to == link.Task || link.Line < 1 || link.Line > len(lines) {
			continue
		}
		lines[link.Line-1] = "=> " + to
	}
	out := strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
	if hs := doc.Headings(); len(hs) == 0 || hs[0].Level != 1 || firstBlockLine(doc) != hs[0].Line {
		out = "## " + title + "\n\n" + out
	}
	return out, nil
}

// withValues puts the lab's values of its variables in place of
// {var.NAME} in its lesson: the combination has no variables of its own.
func withValues(src []byte, values map[string]string) []byte {
	if len(values) == 0 || !bytes.Contains(src, []byte("{var.")) {
		return src
	}
	s := string(src)
	for name, v := range values {
		s = strings.ReplaceAll(s, "{var."+name+"}", v)
	}
	return []byte(s)
}

// firstBlockLine is the line of the lesson's first block.
func firstBlockLine(d *lesson.Doc) int {
	if len(d.Blocks) == 0 {
		return 0
	}
	return d.Blocks[0].Pos()
}

// capitalize puts the first letter of s in upper case (the notes are ASCII
// at their start).
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// tr picks the English or the French wording.
func tr(lang, en, fr string) string {
	if lang == "fr" {
		return fr
	}
	return en
}

// emptyFS is the data directory of a combination: it has no files of its
// own, everything it runs comes from the labs it uses.
type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
