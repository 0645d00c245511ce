package console

import (
	"encoding/json"
	"testing"

	"protolab/internal/lesson"
)

// FuzzLessonBlocks feeds any lesson the parser accepts to the conversion
// behind GET /api/lesson: it must not panic, must keep every question
// (numbered 1, 2, ... in order) and must encode as JSON.
func FuzzLessonBlocks(f *testing.F) {
	for _, s := range []string{
		"# T\n\ntext `code`\n\n?[Q?]\n-[x] a\n-[ ] b\n=> task-a\n",
		"::: box\n?[In a box?]\n- [X] yes\n:::\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
		"```go\n?[not a question]\n```\n---\n3. three\n4. four\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		doc, err := lesson.Parse(src)
		if err != nil {
			return
		}
		bs := blocks(doc.Blocks, new(int))
		want := len(doc.Questions())
		n := 0
		var walk func([]Block)
		walk = func(bs []Block) {
			for _, b := range bs {
				if b.Type == "question" {
					n++
					if b.N != n {
						t.Fatalf("question %d numbered %d", n, b.N)
					}
				}
				walk(b.Body)
			}
		}
		walk(bs)
		if n != want {
			t.Fatalf("%d questions converted, the lesson has %d", n, want)
		}
		if _, err := json.Marshal(Lesson{Blocks: bs}); err != nil {
			t.Fatal(err)
		}
	})
}
