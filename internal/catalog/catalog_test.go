package catalog

import (
	"strings"
	"testing"

	"protolab/labs"
)

// Every built-in lab loads, is written in both languages, gives every task
// a nudge and then an exact command, and says how to solve each task.
func TestBuiltinLabs(t *testing.T) {
	reg := New()
	ids := labs.IDs()
	if len(ids) == 0 {
		t.Fatal("no built-in labs")
	}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			lab, err := labs.LoadBuiltin(id, reg)
			if err != nil {
				t.Fatal(err)
			}
			for _, lang := range labs.Langs {
				if lab.Title[lang] == "" || lab.Summary[lang] == "" {
					t.Errorf("title or summary missing in %s", lang)
				}
				if _, got := lab.Lesson(lang); got != lang {
					t.Errorf("no lesson in %s", lang)
				}
			}
			for _, task := range lab.Tasks {
				for _, lang := range labs.Langs {
					if task.Title[lang] == "" {
						t.Errorf("task %s: no title in %s", task.ID, lang)
					}
					for i, h := range task.Hints {
						if h[lang] == "" {
							t.Errorf("task %s: hint %d has no %s text", task.ID, i+1, lang)
						}
					}
				}
				if len(task.Hints) < 2 {
					t.Errorf("task %s: want at least a nudge and the exact command, got %d hints", task.ID, len(task.Hints))
				} else if last := task.Hints[len(task.Hints)-1].In("en"); !strings.Contains(last, ".port}") {
					t.Errorf("task %s: the last hint should be the exact command with the lab's port: %q", task.ID, last)
				}
				if len(task.Solve) == 0 {
					t.Errorf("task %s: no solve steps", task.ID)
				}
			}
		})
	}
}

func TestDNSLabTaskIDs(t *testing.T) {
	lab, err := labs.LoadBuiltin("dns", New())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, task := range lab.Tasks {
		got = append(got, task.ID)
	}
	// These ids are a contract with scripts and instructors.
	want := "resolve-a resolve-aaaa mx cname reverse tcp nxdomain txt-secret axfr"
	if strings.Join(got, " ") != want {
		t.Fatalf("task ids %q, want %q", strings.Join(got, " "), want)
	}
}
