package labs

import (
	"errors"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	builtins "protolab/internal/catalog"
	"protolab/internal/lesson"
)

func serviceList(l *Lab) []string {
	var out []string
	for _, s := range l.Services {
		out = append(out, s.Name+"<"+s.From)
	}
	return out
}

func taskList(l *Lab) []string {
	var out []string
	for _, t := range l.Tasks {
		out = append(out, t.ID+"<"+t.From)
	}
	return out
}

func TestCombineServices(t *testing.T) {
	reg := builtins.New()
	for _, tt := range []struct {
		ids  []string
		want []string // name<the lab it is used from
	}{
		{[]string{"dns", "tcpip"}, []string{"dns<dns", "echo<tcpip", "mailstore<tcpip", "smtp<tcpip", "pop3<tcpip", "imap<tcpip"}},
		{[]string{"tcpip", "dns"}, []string{"echo<tcpip", "dns<tcpip", "mailstore<tcpip", "smtp<tcpip", "pop3<tcpip", "imap<tcpip"}},
		// mailstore comes from ws, before the mail servers that need it.
		{[]string{"ws", "mail"}, []string{"mailstore<ws", "ws<ws", "smtp<mail", "pop3<mail", "imap<mail"}},
		{[]string{"pop", "smtp", "snmp"}, []string{"mailstore<pop", "pop3<pop", "smtp<smtp", "snmp<snmp"}},
		{[]string{"dhcp", "snmp"}, []string{"dhcp<dhcp", "snmp<snmp"}},
	} {
		t.Run(strings.Join(tt.ids, ","), func(t *testing.T) {
			l, err := Combine(tt.ids, reg)
			if err != nil {
				t.Fatal(err)
			}
			if l.ID != strings.Join(tt.ids, "-") {
				t.Errorf("id %q", l.ID)
			}
			if got := serviceList(l); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("services %v, want %v", got, tt.want)
			}
			for _, s := range l.Services {
				if s.Prepared == nil {
					t.Errorf("service %s has no options", s.Name)
				}
			}
		})
	}
}

func TestCombineTasks(t *testing.T) {
	reg := builtins.New()
	// refsOf lists a lab's tasks as the combination uses them: ID<LAB/ID.
	refsOf := func(labID string, drop ...string) []string {
		l, err := LoadBuiltin(labID, reg)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, t := range l.Tasks {
			if !slices.Contains(drop, t.ID) {
				out = append(out, t.ID+"<"+labID+"/"+t.ID)
			}
		}
		return out
	}
	rename := func(list []string, from, to string) []string {
		out := slices.Clone(list)
		for i, s := range out {
			if strings.HasPrefix(s, from+"<") {
				out[i] = to + strings.TrimPrefix(s, from)
			}
		}
		return out
	}
	for _, tt := range []struct {
		ids  []string
		want []string // id<the task used
		note string   // a note the summary and the lesson have
	}{
		{[]string{"dns", "tcpip"}, append(refsOf("dns"), refsOf("tcpip")...), ""},
		// smtp-send is a task of smtp and another of mail: the second is renamed.
		{[]string{"smtp", "mail"}, append(refsOf("smtp"), rename(refsOf("mail"), "smtp-send", "mail-smtp-send")...),
			"The task smtp-send of the lab mail is mail-smtp-send here"},
		{[]string{"pop", "mail"}, append(refsOf("pop"), rename(refsOf("mail"), "pop3-retr", "mail-pop3-retr")...),
			"The task pop3-retr of the lab mail is mail-pop3-retr here"},
		// The course uses mail's tasks and dns's resolve-a: each is there once.
		{[]string{"mail", "course"}, append(refsOf("mail"), refsOf("course", "smtp-send", "pop3-retr", "imap-fetch")...), ""},
		{[]string{"course", "dns"}, append(refsOf("course"), refsOf("dns", "resolve-a")...), ""},
		{[]string{"smtp", "mail", "course"}, append(append(refsOf("smtp"), rename(refsOf("mail"), "smtp-send", "mail-smtp-send")...),
			refsOf("course", "smtp-send", "pop3-retr", "imap-fetch")...), "The task smtp-send of the lab mail is mail-smtp-send here"},
	} {
		t.Run(strings.Join(tt.ids, ","), func(t *testing.T) {
			l, err := Combine(tt.ids, reg)
			if err != nil {
				t.Fatal(err)
			}
			if got := taskList(l); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tasks\n%v\nwant\n%v", got, tt.want)
			}
			for _, task := range l.Tasks {
				if task.Check == nil {
					t.Errorf("task %s without a check", task.ID)
				}
			}
			if tt.note != "" {
				if !strings.Contains(l.Summary.In("en"), tt.note) {
					t.Errorf("summary %q lacks %q", l.Summary.In("en"), tt.note)
				}
				if !strings.Contains(lessonText(t, l, "en"), tt.note) {
					t.Errorf("the lesson lacks %q", tt.note)
				}
			} else if strings.Contains(l.Summary.In("en"), " here (") {
				t.Errorf("a task renamed: %q", l.Summary.In("en"))
			}
		})
	}
}

// lessonText renders the combination's lesson as plain text.
func lessonText(t *testing.T, l *Lab, lang string) string {
	t.Helper()
	d, _ := l.Lesson(lang)
	if d == nil {
		t.Fatalf("no %s lesson", lang)
	}
	var b strings.Builder
	if err := lesson.RenderText(&b, d, lesson.TextOptions{Width: 1000, Lang: lang}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// A renamed task's lesson links follow it.
func TestCombineLessonLinks(t *testing.T) {
	reg := builtins.New()
	l, err := Combine([]string{"smtp", "mail"}, reg)
	if err != nil {
		t.Fatal(err)
	}
	smtp, _ := LoadBuiltin("smtp", reg)
	mail, _ := LoadBuiltin("mail", reg)
	for _, lang := range Langs {
		d := l.Lessons[lang]
		var got []string
		for _, k := range d.Links() {
			got = append(got, k.Task)
		}
		var want []string
		for _, k := range smtp.Lessons[lang].Links() {
			want = append(want, k.Task)
		}
		for _, k := range mail.Lessons[lang].Links() {
			if k.Task == "smtp-send" {
				k.Task = "mail-smtp-send"
			}
			want = append(want, k.Task)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s links %v, want %v", lang, got, want)
		}
	}
}

func TestCombineLesson(t *testing.T) {
	reg := builtins.New()
	ids := []string{"dns", "tcpip", "snmp"}
	l, err := Combine(ids, reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range Langs {
		d := l.Lessons[lang]
		if d == nil {
			t.Fatalf("no %s lesson", lang)
		}
		if d.Title() != l.Title.In(lang) || !strings.Contains(d.Title(), "dns + tcpip + snmp") {
			t.Errorf("%s title %q, lab title %q", lang, d.Title(), l.Title.In(lang))
		}
		// One title; each lab's lesson below it, its own title a level down.
		var level1, level2 []string
		for _, h := range d.Headings() {
			switch h.Level {
			case 1:
				level1 = append(level1, h.Text)
			case 2:
				level2 = append(level2, h.Text)
			}
		}
		if len(level1) != 1 {
			t.Errorf("%s: level-1 headings %q", lang, level1)
		}
		pos := -1
		for _, id := range ids {
			src, _ := LoadBuiltin(id, reg)
			title := src.Lessons[lang].Title()
			i := slices.Index(level2, title)
			if title == "" || i <= pos {
				t.Errorf("%s: the lesson of %s (%q) is not in order among %q", lang, id, title, level2)
			}
			pos = i
			if n, m := len(d.Questions()), len(src.Lessons[lang].Questions()); n < m {
				t.Errorf("%s: %d questions, fewer than the %d of %s", lang, n, m, id)
			}
		}
		for _, id := range ids {
			if !strings.Contains(l.Summary.In(lang), "("+id+")") {
				t.Errorf("%s summary %q does not name %s", lang, l.Summary.In(lang), id)
			}
		}
	}
	if !strings.Contains(lessonText(t, l, "fr"), "Ce labo en réunit plusieurs") {
		t.Error("the French lesson has no French introduction")
	}
}

func TestCombineOne(t *testing.T) {
	reg := builtins.New()
	one, err := Combine([]string{"dns"}, reg)
	if err != nil {
		t.Fatal(err)
	}
	dns, err := LoadBuiltin("dns", reg)
	if err != nil {
		t.Fatal(err)
	}
	if one.ID != "dns" || one.File != dns.File || !reflect.DeepEqual(taskList(one), taskList(dns)) ||
		!reflect.DeepEqual(one.Title, dns.Title) || one.Lessons["en"].Title() != dns.Lessons["en"].Title() {
		t.Fatalf("one lab: %s %s %v", one.ID, one.File, taskList(one))
	}
}

func TestCombineErrors(t *testing.T) {
	reg := builtins.New()
	for _, tt := range []struct {
		ids     []string
		want    string
		unknown bool
	}{
		{nil, "name at least one lab", false},
		{[]string{"dns", "nosuch"}, `no lab named "nosuch"; the labs are: course, dhcp, dns`, true},
		{[]string{"Dns"}, `no lab named "Dns"`, true},
		{[]string{"dns", "mail", "dns"}, "the lab dns is named twice in the list dns,mail,dns", false},
	} {
		t.Run(strings.Join(tt.ids, ","), func(t *testing.T) {
			_, err := Combine(tt.ids, reg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			var u *UnknownLabError
			if errors.As(err, &u) != tt.unknown {
				t.Errorf("%T: an UnknownLabError: %v", err, !tt.unknown)
			}
		})
	}
}

// Every pair of built-in labs, in both orders, combines, and so do all of
// them at once; the id names the combination again.
func TestCombineEveryPair(t *testing.T) {
	reg := builtins.New()
	all := IDs()
	lists := [][]string{all}
	for _, a := range all {
		for _, b := range all {
			if a != b {
				lists = append(lists, []string{a, b})
			}
		}
	}
	for _, ids := range lists {
		l, err := Combine(ids, reg)
		if err != nil {
			t.Fatalf("%v: %v", ids, err)
		}
		if got, ok := SplitID(l.ID); !ok || !reflect.DeepEqual(got, ids) {
			t.Fatalf("%v: id %s splits into %v %v", ids, l.ID, got, ok)
		}
		if len(l.Lessons) != len(Langs) {
			t.Fatalf("%v: lessons in %d languages", ids, len(l.Lessons))
		}
	}
}

func TestSplitID(t *testing.T) {
	for _, tt := range []struct {
		known []string
		id    string
		want  []string
	}{
		{[]string{"dns", "mail", "tcpip"}, "dns", []string{"dns"}},
		{[]string{"dns", "mail", "tcpip"}, "dns-mail", []string{"dns", "mail"}},
		{[]string{"dns", "mail", "tcpip"}, "mail-dns-tcpip", []string{"mail", "dns", "tcpip"}},
		{[]string{"dns", "mail", "tcpip"}, "dns-nope", nil},
		{[]string{"dns", "mail", "tcpip"}, "dns-", nil},
		{[]string{"dns", "mail", "tcpip"}, "-dns", nil},
		{[]string{"dns", "mail", "tcpip"}, "", nil},
		{[]string{"dns", "mail", "tcpip"}, "dnsmail", nil},
		// A lab with a dash: read one way only, else not at all.
		{[]string{"a", "a-b", "c"}, "a-b-c", []string{"a-b", "c"}},
		{[]string{"a", "a-b", "b", "c"}, "a-b-c", nil},
		{[]string{"a", "a-b", "b"}, "a-b", []string{"a-b"}},
		{[]string{"a", "a-a"}, "a-a-a", nil},
		{[]string{"a", "a-a"}, strings.Repeat("a-", 200) + "b", nil},
		{[]string{"a", "a-a", "b"}, strings.Repeat("a-", 200) + "b", nil},
		{[]string{"a", "b"}, strings.Repeat("a-", 3) + "b", []string{"a", "a", "a", "b"}},
	} {
		got, ok := splitID(tt.known, tt.id)
		if ok != (tt.want != nil) || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitID(%v, %q) = %v %v, want %v", tt.known, tt.id, got, ok, tt.want)
		}
	}
}

// FuzzSplitID reads ids as the command line gives them: an id that splits
// is the combination of its parts, each a built-in lab.
func FuzzSplitID(f *testing.F) {
	for _, s := range []string{"dns", "dns-mail", "mail-dns-tcpip", "dns-", "-dns", "", "dns--mail", "dns-dns", "course-dhcp-dns-imap-mail-pop-smtp-snmp-tcpip-ws"} {
		f.Add(s)
	}
	known := IDs()
	f.Fuzz(func(t *testing.T, id string) {
		parts, ok := SplitID(id)
		if !ok {
			return
		}
		if CombinedID(parts) != id || len(parts) == 0 {
			t.Fatalf("%q splits into %q", id, parts)
		}
		for _, p := range parts {
			if !slices.Contains(known, p) {
				t.Fatalf("%q splits into %q: %s is no lab", id, parts, p)
			}
		}
	})
}

func TestLoadID(t *testing.T) {
	reg := builtins.New()
	for _, tt := range []struct {
		id, want string
		tasks    int
	}{
		{"dns", "dns", 9},
		{"dns-tcpip", "dns-tcpip", 13},
		{"tcpip-dns", "tcpip-dns", 13},
		{"dns-nosuch", "", 0},
		{"nosuch", "", 0},
	} {
		l, err := LoadID(tt.id, reg)
		switch {
		case tt.want == "":
			var u *UnknownLabError
			if !errors.As(err, &u) || u.ID != tt.id {
				t.Errorf("LoadID(%q): %v, want an unknown lab", tt.id, err)
			}
		case err != nil:
			t.Errorf("LoadID(%q): %v", tt.id, err)
		case l.ID != tt.want || len(l.Tasks) != tt.tasks:
			t.Errorf("LoadID(%q): %s with %d tasks, want %s with %d", tt.id, l.ID, len(l.Tasks), tt.want, tt.tasks)
		}
	}
}

// withLab is the built-in labs and one more, id, whose lab.yaml is src and
// whose other files are files.
func withLab(t *testing.T, id, src string, files map[string]string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(builtin, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(builtin, p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	m[id+"/lab.yaml"] = &fstest.MapFile{Data: []byte(src)}
	for name, data := range files {
		m[id+"/"+name] = &fstest.MapFile{Data: []byte(data)}
	}
	return m
}

// A lab with a DNS zone of its own, and a task named as one of the dns
// lab's.
const ownZoneLab = `id: own
title: {fr: Ma zone, en: My zone}
services:
  dns:
    zones: [own.zone]
tasks:
  - id: resolve-a
    title: {fr: Le A de www.own.test, en: The A of www.own.test}
    check:
      event: dns.query
      where: {qname: www.own.test., qtype: A}
lesson:
  en: |
    Not a title first.

    ?[Q]
    -[x] a
    => resolve-a
`

const ownZone = `$ORIGIN own.test.
$TTL 300
@ IN SOA ns1.own.test. hostmaster.own.test. 1 3600 600 86400 300
  IN NS ns1
ns1 IN A 192.0.2.53
www IN A 192.0.2.99
`

func TestCombineConflict(t *testing.T) {
	reg := builtins.New()
	for _, tt := range []struct {
		ids       []string
		dnsFrom   string
		notes     []string
		renamedTo string // the id of own's resolve-a
		link      int    // where own's link is in the lesson: 0 first, -1 last
	}{
		{[]string{"dns", "own"}, "dns", []string{
			"The dns server runs as in the lab dns, not as in the lab own (its data differs: the lab listed first wins)",
			"The task resolve-a of the lab own is own-resolve-a here"}, "own-resolve-a", -1},
		{[]string{"own", "tcpip"}, "own", []string{
			"The dns server runs as in the lab own, not as in the lab tcpip"}, "resolve-a", 0},
		// tcpip runs the dns lab's server: no conflict.
		{[]string{"tcpip", "dns"}, "tcpip", nil, "", 0},
	} {
		t.Run(strings.Join(tt.ids, ","), func(t *testing.T) {
			r := newRefs(reg, "")
			r.fsys = withLab(t, "own", ownZoneLab, map[string]string{"own.zone": ownZone})
			l, err := combine(tt.ids, r)
			if err != nil {
				t.Fatal(err)
			}
			if l.Services[slices.IndexFunc(l.Services, func(s Service) bool { return s.Name == "dns" })].From != tt.dnsFrom {
				t.Errorf("services %v", serviceList(l))
			}
			sum := l.Summary.In("en")
			for _, n := range tt.notes {
				if !strings.Contains(sum, n) {
					t.Errorf("summary %q lacks %q", sum, n)
				}
				if !strings.Contains(lessonText(t, l, "en"), n) {
					t.Errorf("lesson lacks %q", n)
				}
			}
			if tt.notes == nil && strings.Contains(sum, "runs as in") {
				t.Errorf("a conflict where there is none: %q", sum)
			}
			if tt.renamedTo != "" {
				task, ok := l.Task(tt.renamedTo)
				if !ok || task.From != "own/resolve-a" {
					t.Fatalf("tasks %v", taskList(l))
				}
				// own's lesson links its own task, and gets a title.
				at := func(links []lesson.TaskLink) string {
					if len(links) == 0 {
						return ""
					}
					if tt.link < 0 {
						return links[len(links)-1].Task
					}
					return links[tt.link].Task
				}
				if k := at(l.Lessons["en"].Links()); k != tt.renamedTo {
					t.Errorf("own's link goes to %s", k)
				}
				if !slices.ContainsFunc(l.Lessons["en"].Headings(), func(h *lesson.Heading) bool { return h.Level == 2 && h.Text == "My zone" }) {
					t.Error("own's lesson has no title")
				}
				// own has no French lesson: its English one stands in.
				if k := at(l.Lessons["fr"].Links()); k != tt.renamedTo {
					t.Errorf("the French lesson lacks own's: %s", k)
				}
			}
		})
	}
}
