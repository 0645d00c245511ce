package lesson

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseBlocks(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []Block
	}{
		{"empty", "", nil},
		{"blank lines only", "\n  \n\t\n", nil},
		{
			"headings",
			"# One\n## Two ##\n### Three #\n#### Four\n##### Five\n###### Six\n####### Seven\n#hashtag\n#\n## C# #",
			[]Block{
				&Heading{Line: 1, Level: 1, Text: "One"},
				&Heading{Line: 2, Level: 2, Text: "Two"},
				&Heading{Line: 3, Level: 3, Text: "Three"},
				&Heading{Line: 4, Level: 4, Text: "Four"},
				&Heading{Line: 5, Level: 5, Text: "Five"},
				&Heading{Line: 6, Level: 6, Text: "Six"},
				&Paragraph{Line: 7, Text: "####### Seven\n#hashtag"},
				&Heading{Line: 9, Level: 1, Text: ""},
				&Heading{Line: 10, Level: 2, Text: "C#"},
			},
		},
		{
			"paragraphs",
			"First line  \n  second line\n\n\nThird\n# Head\nafter",
			[]Block{
				&Paragraph{Line: 1, Text: "First line\nsecond line"},
				&Paragraph{Line: 5, Text: "Third"},
				&Heading{Line: 6, Level: 1, Text: "Head"},
				&Paragraph{Line: 7, Text: "after"},
			},
		},
		{
			"bullet list with continuation and a loose item",
			"- one\n* two\n  continued\n\n+ three\n\nText",
			[]Block{
				&List{Line: 1, Items: []string{"one", "two\ncontinued", "three"}},
				&Paragraph{Line: 7, Text: "Text"},
			},
		},
		{
			"ordered lists",
			"3. three\n4) four\n- bullet\n\n1. again",
			[]Block{
				&List{Line: 1, Ordered: true, Start: 3, Items: []string{"three", "four"}},
				&List{Line: 3, Items: []string{"bullet"}},
				&List{Line: 5, Ordered: true, Start: 1, Items: []string{"again"}},
			},
		},
		{
			"a bullet interrupts a paragraph, a year does not",
			"Text\n- item\n\nIn\n2006. a year\n1. but one starts a list",
			[]Block{
				&Paragraph{Line: 1, Text: "Text"},
				&List{Line: 2, Items: []string{"item"}},
				&Paragraph{Line: 4, Text: "In\n2006. a year"},
				&List{Line: 6, Ordered: true, Start: 1, Items: []string{"but one starts a list"}},
			},
		},
		{
			"fenced code is not interpreted",
			"```sh extra\n?[not a question]\n-[x] not an option\n=> not-a-link\n::: not a box\n# not a heading\n\n```\nafter",
			[]Block{
				&Code{Line: 1, Lang: "sh", Text: "?[not a question]\n-[x] not an option\n=> not-a-link\n::: not a box\n# not a heading\n"},
				&Paragraph{Line: 9, Text: "after"},
			},
		},
		{
			"tilde fence, longer closing fence, indentation removed",
			"  ~~~\n    indented\n  two\n~~~~~\n````\n```\n````",
			[]Block{
				&Code{Line: 1, Text: "  indented\ntwo"},
				&Code{Line: 5, Text: "```"},
			},
		},
		{
			"backticks with backticks after are inline code, not a fence",
			"```code``` in text",
			[]Block{&Paragraph{Line: 1, Text: "```code``` in text"}},
		},
		{
			"question with tolerated option forms",
			"?[ Which one? ]\n-[x] A  \n- [ ] B\n-[X] C\n-  [ ]   D\n-[] E\n",
			[]Block{&Question{Line: 1, Prompt: "Which one?", Options: []Option{
				{Line: 2, Text: "A", Correct: true},
				{Line: 3, Text: "B"},
				{Line: 4, Text: "C", Correct: true},
				{Line: 5, Text: "D"},
				{Line: 6, Text: "E"},
			}}},
		},
		{
			"question with brackets, blank lines and task links",
			"?[What does [x] mean?]\n\n-[ ] no\n-[x] yes\n\n=> resolve-a\n=>axfr\n  =>  0-tcp  \nNext",
			[]Block{
				&Question{Line: 1, Prompt: "What does [x] mean?",
					Options: []Option{{Line: 3, Text: "no"}, {Line: 4, Text: "yes", Correct: true}},
					Tasks:   []TaskLink{{Line: 6, Task: "resolve-a"}, {Line: 7, Task: "axfr"}, {Line: 8, Task: "0-tcp"}},
				},
				&Paragraph{Line: 9, Text: "Next"},
			},
		},
		{
			"a question ends its paragraph and the next question starts afresh",
			"Intro\n?[One]\n-[x] a\n?[Two]\n-[ ] b\n-[x] c",
			[]Block{
				&Paragraph{Line: 1, Text: "Intro"},
				&Question{Line: 2, Prompt: "One", Options: []Option{{Line: 3, Text: "a", Correct: true}}},
				&Question{Line: 4, Prompt: "Two", Options: []Option{{Line: 5, Text: "b"}, {Line: 6, Text: "c", Correct: true}}},
			},
		},
		{
			"boxes",
			"::: Summary\n# Inside\nSome *text*.\n- a\n?[Q]\n-[x] yes\n=> cname\n:::\n:::\n:::\n::::  Wide  ::::\n```\n:::\n```\n::::",
			[]Block{
				&Box{Line: 1, Title: "Summary", Body: []Block{
					&Heading{Line: 2, Level: 1, Text: "Inside"},
					&Paragraph{Line: 3, Text: "Some *text*."},
					&List{Line: 4, Items: []string{"a"}},
					&Question{Line: 5, Prompt: "Q", Options: []Option{{Line: 6, Text: "yes", Correct: true}}, Tasks: []TaskLink{{Line: 7, Task: "cname"}}},
				}},
				&Box{Line: 9, Title: ""},
				&Box{Line: 11, Title: "Wide", Body: []Block{&Code{Line: 12, Text: ":::"}}},
			},
		},
		{
			"table",
			"| Type | Role |\n|------|:----:|\n| A | IPv4 \\| v4 |\n| B |\n| C | x | extra |\nafter",
			[]Block{
				&Table{Line: 1, Header: []string{"Type", "Role"}, Rows: [][]string{
					{"A", "IPv4 | v4"}, {"B", ""}, {"C", "x"},
				}},
				&Paragraph{Line: 6, Text: "after"},
			},
		},
		{
			"a pipe line without a delimiter row is text",
			"| not | a table |\nmore",
			[]Block{&Paragraph{Line: 1, Text: "| not | a table |\nmore"}},
		},
		{
			"rules",
			"---\n* * *\n___\nText\n--\n-- -",
			[]Block{
				&Rule{Line: 1}, &Rule{Line: 2}, &Rule{Line: 3},
				&Paragraph{Line: 4, Text: "Text\n--"},
				&Rule{Line: 6},
			},
		},
		{
			"CRLF and byte order mark",
			"\ufeff# Title\r\n\r\n?[Q]\r\n-[x] yes\r\n=> mx\r\n",
			[]Block{
				&Heading{Line: 1, Level: 1, Text: "Title"},
				&Question{Line: 3, Prompt: "Q", Options: []Option{{Line: 4, Text: "yes", Correct: true}}, Tasks: []TaskLink{{Line: 5, Task: "mx"}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse([]byte(tt.src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(d.Blocks, tt.want) {
				t.Errorf("blocks:\n got %s\nwant %s", dump(d.Blocks), dump(tt.want))
			}
		})
	}
}

// dump prints blocks readably for a failure message.
func dump(bs []Block) string {
	var b strings.Builder
	for _, x := range bs {
		if box, ok := x.(*Box); ok {
			b.WriteString("Box{" + box.Title + ": " + dump(box.Body) + "} ")
			continue
		}
		b.WriteString(strings.TrimPrefix(strings.ReplaceAll(fmtBlock(x), "\n", `\n`), "&"))
		b.WriteString(" ")
	}
	return b.String()
}

func fmtBlock(x Block) string {
	return strings.ReplaceAll(strings.TrimSpace(sprintf("%#v", x)), "lesson.", "")
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		msg  string // a part of the message
	}{
		{"unclosed box", "# T\n\n::: Summary\ntext\n", 3, `box "Summary" is never closed`},
		{"stray box marker opens a box", "text\n:::\n", 2, "never closed"},
		{"nested box", "::: One\n::: Two\n:::\n:::", 2, "inside the box opened on line 1"},
		{"unclosed fence", "text\n\n```go\ncode\n", 3, "code block is never closed"},
		{"fence closed by a shorter fence", "````\ncode\n```\n", 1, "never closed"},
		{"unclosed fence inside a box", "::: Box\n```\n:::\n", 2, "code block is never closed"},
		{"option first", "-[x] SMTP\n", 1, "not under a question"},
		{"option after a paragraph", "?[Q]\n-[x] a\nText\n-[ ] b\n", 4, "not under a question"},
		{"option after a heading", "# T\n- [ ] task\n", 2, "not under a question"},
		{"link first", "=> resolve-a\n", 1, "not under a question"},
		{"link after a list", "- a\n=> resolve-a\n", 2, "not under a question"},
		{"link after a box", "::: B\n?[Q]\n-[x] a\n:::\n=> mx\n", 5, "not under a question"},
		{"invalid task id", "?[Q]\n-[x] a\n=> Resolve_A\n", 3, `"Resolve_A" is not a task id`},
		{"task id starting with a dash", "?[Q]\n-[x] a\n=> -a\n", 3, "is not a task id"},
		{"task id with a space", "?[Q]\n-[x] a\n=> resolve a\n", 3, "is not a task id"},
		{"empty task link", "?[Q]\n-[x] a\n=>\n", 3, "names no task"},
		{"question without options at the end", "?[Lonely]\n", 1, `question "Lonely" has no options`},
		{"question without options before text", "# T\n?[Q]\n\nText\n", 2, "has no options"},
		{"question with only a link", "?[Q]\n=> mx\n", 1, "has no options"},
		{"question without options in a box", "::: B\n?[Q]\n:::\n", 2, "has no options"},
		{"question not closed", "?[What\n-[x] a\n", 1, "question is not closed"},
		{"empty question", "?[  ]\n-[x] a\n", 1, "question is empty"},
		{"option without text", "?[Q]\n-[x]\n", 2, "option has no text"},
		{"invalid UTF-8", "# T\nbad \xff byte\n", 2, "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse([]byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded with %d blocks, want an error at line %d", len(d.Blocks), tt.line)
			}
			var le *Error
			if !errors.As(err, &le) {
				t.Fatalf("error %v is a %T, want *Error", err, err)
			}
			if le.Line != tt.line {
				t.Errorf("error line = %d, want %d (%v)", le.Line, tt.line, err)
			}
			if !strings.Contains(le.Msg, tt.msg) {
				t.Errorf("error %q does not contain %q", le.Msg, tt.msg)
			}
			if want := sprintf("line %d: ", tt.line); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
			if le.Msg != strings.ToLower(le.Msg[:1])+le.Msg[1:] {
				t.Errorf("error %q should start in lower case", le.Msg)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	src := []byte(strings.Repeat("a", MaxSize+1))
	_, err := Parse(src)
	var le *Error
	if !errors.As(err, &le) {
		t.Fatalf("Parse of %d bytes: error %v, want *Error", len(src), err)
	}
	if le.Line != 0 || strings.HasPrefix(err.Error(), "line") || !strings.Contains(err.Error(), "split it") {
		t.Errorf("error = %q (line %d), want a message without a line that says what to do", err, le.Line)
	}
	if _, err := Parse(src[:MaxSize]); err != nil {
		t.Errorf("Parse of exactly MaxSize bytes: %v", err)
	}
}

func TestDocAccessors(t *testing.T) {
	src := "# Title\n?[One]\n-[x] a\n=> resolve-a\n=> mx\n## Part\n::: Box\n### Inner\n?[Two]\n-[ ] b\n=> axfr\n:::\n# Second\n"
	d, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var prompts []string
	for _, q := range d.Questions() {
		prompts = append(prompts, q.Prompt)
	}
	if want := []string{"One", "Two"}; !reflect.DeepEqual(prompts, want) {
		t.Errorf("Questions = %q, want %q", prompts, want)
	}
	wantLinks := []TaskLink{{Line: 4, Task: "resolve-a"}, {Line: 5, Task: "mx"}, {Line: 11, Task: "axfr"}}
	if got := d.Links(); !reflect.DeepEqual(got, wantLinks) {
		t.Errorf("Links = %v, want %v", got, wantLinks)
	}
	var heads []string
	for _, h := range d.Headings() {
		heads = append(heads, sprintf("%d:%d:%s", h.Line, h.Level, h.Text))
	}
	if want := []string{"1:1:Title", "6:2:Part", "8:3:Inner", "13:1:Second"}; !reflect.DeepEqual(heads, want) {
		t.Errorf("Headings = %q, want %q", heads, want)
	}
	if got := d.Title(); got != "Title" {
		t.Errorf("Title = %q, want %q", got, "Title")
	}
	if got := (&Doc{}).Title(); got != "" {
		t.Errorf("Title of an empty doc = %q", got)
	}
	// Every block reports its first line.
	wantPos := []int{1, 2, 6, 7, 13}
	for i, b := range d.Blocks {
		if b.Pos() != wantPos[i] {
			t.Errorf("block %d Pos = %d, want %d", i, b.Pos(), wantPos[i])
		}
	}
}

func TestPos(t *testing.T) {
	blocks := []Block{&Heading{Line: 1}, &Paragraph{Line: 2}, &List{Line: 3}, &Code{Line: 4},
		&Table{Line: 5}, &Rule{Line: 6}, &Question{Line: 7}, &Box{Line: 8}}
	for i, b := range blocks {
		if b.Pos() != i+1 {
			t.Errorf("%T.Pos() = %d, want %d", b, b.Pos(), i+1)
		}
	}
}

func TestValidTaskID(t *testing.T) {
	tests := map[string]bool{
		"resolve-a": true, "axfr": true, "0": true, "a-": true, "txt-secret": true, "9lives": true,
		"": false, "-a": false, "A": false, "resolve_a": false, "résolve": false, "a b": false, "a.b": false,
	}
	for id, want := range tests {
		if got := ValidTaskID(id); got != want {
			t.Errorf("ValidTaskID(%q) = %v, want %v", id, got, want)
		}
	}
}
