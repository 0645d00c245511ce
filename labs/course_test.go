package labs

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	builtins "protolab/internal/catalog"
	"protolab/internal/lesson"
)

// seedCopy is the byte-identical copy of the original course that the
// lesson package's tests keep (and check against the original).
var seedCopy = filepath.Join("..", "internal", "lesson", "testdata", "seed.md")

// courseTasks are the course lab's tasks: one or two per section of the
// original course, in its order.
var courseTasks = []string{"tcp-echo", "snmp-get", "dhcp-lease", "resolve-a", "smtp-send", "pop3-retr", "imap-fetch", "soap-call"}

func parseLesson(t *testing.T, src []byte, name string) *lesson.Doc {
	t.Helper()
	d, err := lesson.Parse(src)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

// The course lab follows the original course: the French lesson has every
// heading of the course, with the same text, at the same level, in the same
// order, and nothing else; the English one the same outline; both keep the
// course's two questions, each linked to the task that answers it, and end
// with the summary box.
func TestCourseFollowsTheSeed(t *testing.T) {
	raw, err := os.ReadFile(seedCopy)
	if err != nil {
		t.Fatal(err)
	}
	seed := parseLesson(t, raw, "seed")
	seedHeads := seed.Headings()
	if len(seedHeads) != 10 {
		t.Fatalf("the seed has %d headings, want 10: is %s the course?", len(seedHeads), seedCopy)
	}
	links := []string{"smtp-send", "resolve-a"}
	for _, lang := range Langs {
		name := "course/lesson." + lang + ".md"
		src, err := fs.ReadFile(Builtin(), name)
		if err != nil {
			t.Fatal(err)
		}
		d := parseLesson(t, src, name)
		heads := d.Headings()
		if len(heads) != len(seedHeads) {
			t.Errorf("%s: %d headings, the seed has %d", name, len(heads), len(seedHeads))
		}
		for i := 0; i < min(len(heads), len(seedHeads)); i++ {
			got, want := heads[i], seedHeads[i]
			if got.Level != want.Level {
				t.Errorf("%s:%d: heading %q is at level %d, the seed's %q at %d", name, got.Line, got.Text, got.Level, want.Text, want.Level)
			}
			if lang == "fr" && got.Text != want.Text {
				t.Errorf("%s:%d: heading %q, the seed has %q", name, got.Line, got.Text, want.Text)
			}
		}
		qs, seedQs := d.Questions(), seed.Questions()
		if len(qs) != len(seedQs) {
			t.Fatalf("%s: %d questions, the seed has %d", name, len(qs), len(seedQs))
		}
		for i, q := range qs {
			sq := seedQs[i]
			if len(q.Options) != len(sq.Options) {
				t.Errorf("%s:%d: %d options, the seed's question has %d", name, q.Line, len(q.Options), len(sq.Options))
				continue
			}
			for j, o := range q.Options {
				if o.Text != sq.Options[j].Text || o.Correct != sq.Options[j].Correct {
					t.Errorf("%s:%d: option %q (right: %v), the seed has %q (right: %v)", name, o.Line, o.Text, o.Correct, sq.Options[j].Text, sq.Options[j].Correct)
				}
			}
			if len(q.Tasks) != 1 || q.Tasks[0].Task != links[i] {
				t.Errorf("%s:%d: question linked to %v, want => %s", name, q.Line, q.Tasks, links[i])
			}
		}
		if box, ok := d.Blocks[len(d.Blocks)-1].(*lesson.Box); !ok || box.Title == "" || len(box.Body) == 0 {
			t.Errorf("%s: does not end with the summary box", name)
		}
		// Each section tells which task to do.
		for _, id := range courseTasks {
			if !strings.Contains(string(src), "`"+id+"`") {
				t.Errorf("%s never names the task `%s`", name, id)
			}
		}
	}
}

// The course lab runs every service and uses the other labs' tasks, in the
// course's order, by reference.
func TestCourseLab(t *testing.T) {
	lab, err := LoadBuiltin("course", builtins.New())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tk := range lab.Tasks {
		ids = append(ids, tk.ID)
		if tk.From == "" {
			t.Errorf("task %s is written out in the course lab: use it from its own lab (use: LAB/%s)", tk.ID, tk.ID)
		}
	}
	if strings.Join(ids, " ") != strings.Join(courseTasks, " ") {
		t.Fatalf("tasks %v, want %v", ids, courseTasks)
	}
	want := "echo snmp dhcp dns mailstore smtp pop3 imap ws"
	if got := strings.Join(serviceNames(lab), " "); got != want {
		t.Fatalf("services %q, want %q", got, want)
	}
}
