package lesson

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// lineCount counts the lines of src the way Parse does.
func lineCount(src []byte) int {
	src = bytes.TrimPrefix(src, []byte("\ufeff"))
	if len(src) == 0 {
		return 0
	}
	return bytes.Count(bytes.TrimSuffix(src, []byte("\n")), []byte("\n")) + 1
}

func FuzzParse(f *testing.F) {
	files := []string{filepath.Join("testdata", "seed.md")}
	more, _ := filepath.Glob(filepath.Join("..", "..", "labs", "dns", "lesson.*.md"))
	for _, p := range append(files, more...) {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	for _, s := range []string{
		"", "\ufeff", "\r\n", "# T\r\n", "?[Q]\n-[x] a\n=> resolve-a\n", "?[Q]\n", "-[x] a", "=> a",
		"::: T\nbody\n:::", ":::\n::: nested\n:::", "```\ncode", "~~~\n```\n~~~", "| a | b |\n|---|---|\n| 1 |",
		"- a\n  b\n\n- c\n1. d", "?[]", "?[Q", "---\n* * *", "#\n####### x", "\xff", "?[Q]\n-[ ]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		n := lineCount(src)
		d, err := Parse(src)
		if err != nil {
			var le *Error
			if !errors.As(err, &le) {
				t.Fatalf("error %v is a %T, want *Error", err, err)
			}
			if le.Line < 0 || le.Line > n || le.Msg == "" {
				t.Fatalf("error %q at line %d, input has %d lines", le.Msg, le.Line, n)
			}
			return
		}
		// Every block, option and link lies within the input, in order.
		last := 0
		check := func(what string, line int) {
			if line < 1 || line > n {
				t.Fatalf("%s at line %d, input has %d lines", what, line, n)
			}
			if line <= last {
				t.Fatalf("%s at line %d, after something at line %d", what, line, last)
			}
			last = line
		}
		walk(d.Blocks, func(b Block) {
			if b == nil {
				t.Fatal("nil block")
			}
			check("block", b.Pos())
			if q, ok := b.(*Question); ok {
				if len(q.Options) == 0 || q.Prompt == "" {
					t.Fatalf("question at line %d with no options or prompt", q.Line)
				}
				var lines []int
				for _, o := range q.Options {
					lines = append(lines, o.Line)
					if o.Text == "" {
						t.Fatalf("option at line %d has no text", o.Line)
					}
				}
				for _, l := range q.Tasks {
					lines = append(lines, l.Line)
					if !ValidTaskID(l.Task) {
						t.Fatalf("invalid task id %q accepted at line %d", l.Task, l.Line)
					}
				}
				slices.Sort(lines)
				for _, l := range lines {
					check("option or link", l)
				}
			}
		})
		// Rendering never fails and gives valid UTF-8 without control codes.
		for _, opt := range []TextOptions{{}, {Width: 20, Lang: "fr", Reveal: true, TaskState: states}} {
			var b bytes.Buffer
			if err := RenderText(&b, d, opt); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !utf8.ValidString(out) {
				t.Fatalf("rendering is not valid UTF-8: %q", out)
			}
			if strings.ContainsFunc(out, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }) {
				t.Fatalf("rendering holds a control character: %q", out)
			}
		}
		if err := RenderText(io.Discard, d, TextOptions{Width: 1 << 20}); err != nil {
			t.Fatal(err)
		}
	})
}
