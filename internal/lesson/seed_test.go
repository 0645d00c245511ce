package lesson

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// seedName is the original course the lessons come from; the parser must
// read it unchanged. testdata/seed.md is a byte-identical copy, so that the
// test never depends on a file outside the repository.
const seedName = "000_25ee4478d1774ce1.txt"

// outsideSeed looks for the original course in shared/seed/ beside the
// repository or in any directory above the package.
func outsideSeed(t *testing.T) (string, bool) {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "seed", seedName)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func TestSeed(t *testing.T) {
	paths := []string{filepath.Join("testdata", "seed.md")}
	copyData, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := outsideSeed(t); ok {
		orig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(orig, copyData) {
			t.Errorf("testdata/seed.md differs from %s: copy it again, byte for byte", p)
		}
		paths = append(paths, p)
	} else {
		t.Logf("shared/seed/%s not found above the package; testing the testdata copy only", seedName)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			d, err := Parse(src)
			if err != nil {
				t.Fatalf("the seed must parse unchanged: %v", err)
			}
			checkSeed(t, d)
		})
	}
}

func checkSeed(t *testing.T, d *Doc) {
	t.Helper()
	type head struct {
		Level int
		Text  string
	}
	want := []head{{1, "Protocole & Service"}}
	for _, h := range []string{"Protocole", "Modèle OSI", "TCP/IP", "SNMP", "Service", "DHCP", "DNS", "SMTP, POP & IMAP", "WEB WS-*"} {
		want = append(want, head{2, h})
	}
	var got []head
	for _, h := range d.Headings() {
		got = append(got, head{h.Level, h.Text})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("headings:\n got %v\nwant %v", got, want)
	}
	if d.Title() != "Protocole & Service" {
		t.Errorf("Title = %q", d.Title())
	}

	qs := d.Questions()
	wantQ := []Question{
		{Line: 41, Prompt: "Quels protocol sert a envoyer des Mail ?", Options: []Option{
			{Line: 42, Text: "SMTP", Correct: true}, {Line: 43, Text: "POP"}, {Line: 44, Text: "IMAP"}, {Line: 45, Text: "CARAMAIL"},
		}},
		{Line: 47, Prompt: "Quels service permet de faire le liens entre un nom de domaine et une adresse ip ?", Options: []Option{
			{Line: 48, Text: "DHCP"}, {Line: 49, Text: "DNS", Correct: true}, {Line: 50, Text: "POSTAL"}, {Line: 51, Text: "POP"},
		}},
	}
	if len(qs) != len(wantQ) {
		t.Fatalf("%d questions, want %d", len(qs), len(wantQ))
	}
	for i := range wantQ {
		if !reflect.DeepEqual(*qs[i], wantQ[i]) {
			t.Errorf("question %d:\n got %+v\nwant %+v", i+1, *qs[i], wantQ[i])
		}
	}
	if l := d.Links(); len(l) != 0 {
		t.Errorf("the seed has no task links, got %v", l)
	}

	last, ok := d.Blocks[len(d.Blocks)-1].(*Box)
	if !ok {
		t.Fatalf("last block is %T, want the summary *Box", d.Blocks[len(d.Blocks)-1])
	}
	if last.Line != 53 || last.Title != "Un rapide résumer ?" {
		t.Errorf("box at line %d titled %q, want line 53 titled %q", last.Line, last.Title, "Un rapide résumer ?")
	}
	wantBody := []Block{&Paragraph{Line: 54, Text: "Ce qu'il est important de comprendre c'est que si vous vouliez réussir à contourner une sécuriser, il vous faut connaitre chacun de ses rouages.\nComprendre comment elle fonctionne."}}
	if !reflect.DeepEqual(last.Body, wantBody) {
		t.Errorf("box body:\n got %s\nwant %s", dump(last.Body), dump(wantBody))
	}

	// The unfinished last paragraph of the course stays a paragraph.
	var paras int
	for _, b := range d.Blocks {
		if p, ok := b.(*Paragraph); ok {
			paras++
			if strings.HasPrefix(p.Text, "Les Services WEB") && !strings.HasSuffix(p.Text, "hétérog") {
				t.Errorf("WS-* paragraph = %q", p.Text)
			}
		}
	}
	if paras != 10 {
		t.Errorf("%d top-level paragraphs, want 10", paras)
	}
}

// labTasks are the task ids of the DNS lab, a contract with its lab file.
var labTasks = []string{"resolve-a", "resolve-aaaa", "mx", "cname", "reverse", "tcp", "nxdomain", "txt-secret", "axfr"}

// shape is what must be the same in every language of a lesson.
type shape struct {
	Headings []int      // levels
	Options  [][]bool   // per question, which options are right
	Links    [][]string // per question, the tasks linked
	Boxes    int
}

func shapeOf(d *Doc) shape {
	var s shape
	for _, h := range d.Headings() {
		s.Headings = append(s.Headings, h.Level)
	}
	for _, q := range d.Questions() {
		var opts []bool
		for _, o := range q.Options {
			opts = append(opts, o.Correct)
		}
		var links []string
		for _, l := range q.Tasks {
			links = append(links, l.Task)
		}
		s.Options = append(s.Options, opts)
		s.Links = append(s.Links, links)
	}
	walk(d.Blocks, func(b Block) {
		if _, ok := b.(*Box); ok {
			s.Boxes++
		}
	})
	return s
}

func TestDNSLabLessons(t *testing.T) {
	dir := filepath.Join("..", "..", "labs", "dns")
	seed, err := os.ReadFile(filepath.Join("testdata", "seed.md"))
	if err != nil {
		t.Fatal(err)
	}
	shapes := map[string]shape{}
	for _, lang := range []string{"fr", "en"} {
		t.Run(lang, func(t *testing.T) {
			name := "lesson." + lang + ".md"
			src, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			d, err := Parse(src)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			lines := bytes.Count(src, []byte("\n"))
			if lines < 120 || lines > 210 {
				t.Errorf("%s has %d lines, want about 120 to 200", name, lines)
			}
			for _, l := range d.Links() {
				if !slices.Contains(labTasks, l.Task) {
					t.Errorf("%s:%d: => %s is not a task of the lab %v", name, l.Line, l.Task, labTasks)
				}
			}
			linked := map[string]*Question{}
			for _, q := range d.Questions() {
				for _, l := range q.Tasks {
					linked[l.Task] = q
				}
			}
			for _, id := range []string{"resolve-a", "axfr", "reverse", "nxdomain"} {
				if linked[id] == nil {
					t.Errorf("%s: no question is linked to %s", name, id)
				}
			}
			if q := linked["resolve-a"]; q != nil {
				want := map[string]string{
					"fr": "Quel service fait le lien entre un nom de domaine et une adresse IP ?",
					"en": "Which service links a domain name to an IP address?",
				}[lang]
				if got := strings.ReplaceAll(q.Prompt, "\u00a0", " "); got != want {
					t.Errorf("%s: resolve-a question = %q, want %q", name, got, want)
				}
				var opts []string
				for _, o := range q.Options {
					if o.Correct {
						opts = append(opts, "*"+o.Text)
					} else {
						opts = append(opts, o.Text)
					}
				}
				if want := []string{"DHCP", "*DNS", "POSTAL", "POP"}; !reflect.DeepEqual(opts, want) {
					t.Errorf("%s: resolve-a options = %q, want %q", name, opts, want)
				}
			}
			for _, q := range d.Questions() {
				right := 0
				for _, o := range q.Options {
					if o.Correct {
						right++
					}
				}
				if right != 1 {
					t.Errorf("%s:%d: question has %d right options, want 1", name, q.Line, right)
				}
			}
			if _, ok := d.Blocks[len(d.Blocks)-1].(*Box); !ok {
				t.Errorf("%s should end with a summary box", name)
			}
			if !bytes.Contains(src, []byte("dig @127.0.0.1 -p 1053 lab.test SOA")) {
				t.Errorf("%s should show the first dig command in full", name)
			}
			// Written afresh: no sentence of the seed is copied.
			for _, s := range strings.Split(string(seed), ". ") {
				if len(s) > 40 && bytes.Contains(src, []byte(s)) {
					t.Errorf("%s copies the seed: %q", name, s)
				}
			}
			shapes[lang] = shapeOf(d)
		})
	}
	if fr, en := shapes["fr"], shapes["en"]; !reflect.DeepEqual(fr, en) {
		t.Errorf("the French and English lessons differ in structure:\nfr %+v\nen %+v", fr, en)
	}
}
