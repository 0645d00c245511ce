package lesson

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// states is a TaskState for the tests: resolve-a is done, mx is not, and
// any other task is unknown.
func states(id string) (string, bool, bool) {
	switch id {
	case "resolve-a":
		return "", true, true
	case "mx":
		return "Find the mail server", false, true
	}
	return "", false, false
}

func TestRenderText(t *testing.T) {
	const quiz = "?[Which service links a domain name to an IP address?]\n-[ ] DHCP\n-[x] DNS\n=> resolve-a\n=> mx\n=> axfr\n"
	tests := []struct {
		name string
		src  string
		opt  TextOptions
		want string
	}{
		{
			"headings and a wrapped paragraph",
			"# Title\n## Section\n### Sub part\nA paragraph that is long enough\nto be wrapped   again.",
			TextOptions{Width: 24},
			"Title\n" +
				"═════\n" +
				"\n" +
				"Section\n" +
				"───────\n" +
				"\n" +
				"▸ Sub part\n" +
				"\n" +
				"A paragraph that is long\n" +
				"enough to be wrapped\n" +
				"again.\n",
		},
		{
			"a long heading is wrapped and underlined to its widest line",
			"## A heading much wider than the page",
			TextOptions{Width: 20},
			"A heading much wider\n" +
				"than the page\n" +
				"────────────────────\n",
		},
		{
			"lists",
			"- first item that wraps\n- second\n\n9. nine\n10. ten, which wraps too",
			TextOptions{Width: 20},
			"• first item that\n" +
				"  wraps\n" +
				"• second\n" +
				"\n" +
				"9.  nine\n" +
				"10. ten, which wraps\n" +
				"    too\n",
		},
		{
			"code is indented, never wrapped, tabs expanded",
			"Run:\n```sh\ndig @127.0.0.1 -p 1053 lab.test SOA +norec +noall +answer\n\tindented  \n```",
			TextOptions{Width: 20},
			"Run:\n" +
				"\n" +
				"    dig @127.0.0.1 -p 1053 lab.test SOA +norec +noall +answer\n" +
				"        indented\n",
		},
		{
			"inline code and French punctuation are not split",
			"Lancez `lab start dns --ports standard` : voilà « tout » !",
			TextOptions{Width: 20},
			"Lancez\n" +
				"`lab start dns --ports standard` :\n" +
				"voilà « tout » !\n",
		},
		{
			"question hidden, English, task states",
			quiz,
			TextOptions{Width: 40, TaskState: states},
			"? Which service links a domain name to\n" +
				"  an IP address?\n" +
				"  [ ] DHCP\n" +
				"  [ ] DNS\n" +
				"  → answered by doing: task `resolve-a`\n" +
				"    (done ✓)\n" +
				"  → answered by doing: task `mx` — Find\n" +
				"    the mail server (to do)\n" +
				"  → answered by doing: task `axfr`\n",
		},
		{
			"question revealed, French, no task states",
			quiz,
			TextOptions{Width: 80, Lang: "fr", Reveal: true},
			"? Which service links a domain name to an IP address?\n" +
				"  [ ] DHCP\n" +
				"  [x] DNS\n" +
				"  → on y répond en pratiquant : tâche `resolve-a`\n" +
				"  → on y répond en pratiquant : tâche `mx`\n" +
				"  → on y répond en pratiquant : tâche `axfr`\n",
		},
		{
			"French task states",
			quiz,
			TextOptions{Lang: "fr", TaskState: states},
			"? Which service links a domain name to an IP address?\n" +
				"  [ ] DHCP\n" +
				"  [ ] DNS\n" +
				"  → on y répond en pratiquant : tâche `resolve-a` (faite ✓)\n" +
				"  → on y répond en pratiquant : tâche `mx` — Find the mail server (à faire)\n" +
				"  → on y répond en pratiquant : tâche `axfr`\n",
		},
		{
			"an unknown language falls back to English",
			"?[Q]\n-[x] a\n=> resolve-a",
			TextOptions{Lang: "de", TaskState: states},
			"? Q\n" +
				"  [ ] a\n" +
				"  → answered by doing: task `resolve-a` (done ✓)\n",
		},
		{
			"box with a title",
			"::: In short\nDNS maps names to data.\n- UDP first\n:::",
			TextOptions{Width: 24},
			"┌─ In short ───────────┐\n" +
				"│ DNS maps names to    │\n" +
				"│ data.                │\n" +
				"│                      │\n" +
				"│ • UDP first          │\n" +
				"└──────────────────────┘\n",
		},
		{
			"box without a title, empty, and grown to fit",
			":::\n:::\n\n::: A title too long for it\n```\na code line longer than the box\n```\n:::",
			TextOptions{Width: 20},
			"┌──────────────────┐\n" +
				"└──────────────────┘\n" +
				"\n" +
				"┌─ A title too long for it ───────────┐\n" +
				"│     a code line longer than the box │\n" +
				"└─────────────────────────────────────┘\n",
		},
		{
			"table",
			"| Type | Role |\n|---|---|\n| A | IPv4 address of a name |\n| MX | mail server |",
			TextOptions{Width: 20},
			"Type  Role\n" +
				"────  ──────────────\n" +
				"A     IPv4 address\n" +
				"      of a name\n" +
				"MX    mail server\n",
		},
		{
			"rule at the default width",
			"---",
			TextOptions{},
			strings.Repeat("─", 80) + "\n",
		},
		{
			"width under 20 is taken as 20",
			"***",
			TextOptions{Width: 5},
			strings.Repeat("─", 20) + "\n",
		},
		{
			"control characters are neutralised",
			"Bold \x1b[1mtext\x1b[0m\n```\nbell\x07\n```",
			TextOptions{},
			"Bold \ufffd[1mtext\ufffd[0m\n" +
				"\n" +
				"    bell\ufffd\n",
		},
		{
			"width over 1000 is taken as 1000",
			"___",
			TextOptions{Width: 1 << 30},
			strings.Repeat("─", 1000) + "\n",
		},
		{"empty lesson", "", TextOptions{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := RenderText(&b, d, tt.opt); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s\n(got %q)", got, tt.want, got)
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRenderTextErrors(t *testing.T) {
	if err := RenderText(&bytes.Buffer{}, nil, TextOptions{}); err == nil {
		t.Error("RenderText(nil doc) succeeded, want an error")
	}
	d, err := Parse([]byte("# T"))
	if err != nil {
		t.Fatal(err)
	}
	err = RenderText(failingWriter{}, d, TextOptions{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("RenderText to a failing writer = %v, want the writer's error wrapped", err)
	}
}

// TestRenderLessons renders the seed and the DNS lab's lessons and checks
// what must hold for any lesson: deterministic output, no trailing spaces,
// lines within the width except code, valid UTF-8.
func TestRenderLessons(t *testing.T) {
	files := []string{filepath.Join("testdata", "seed.md")}
	more, _ := filepath.Glob(filepath.Join("..", "..", "labs", "dns", "lesson.*.md"))
	files = append(files, more...)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Parse(src)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, width := range []int{40, 80} {
			opt := TextOptions{Width: width, Lang: "fr", Reveal: true, TaskState: states}
			var a, b bytes.Buffer
			if err := RenderText(&a, d, opt); err != nil {
				t.Fatal(err)
			}
			if err := RenderText(&b, d, opt); err != nil {
				t.Fatal(err)
			}
			if a.String() != b.String() {
				t.Fatalf("%s: two renderings differ", f)
			}
			out := a.String()
			if !utf8.ValidString(out) {
				t.Errorf("%s: output is not valid UTF-8", f)
			}
			for i, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if strings.TrimRight(l, " ") != l {
					t.Errorf("%s width %d: line %d has trailing spaces: %q", f, width, i+1, l)
				}
				if w := textWidth(l); w > width && !strings.HasPrefix(l, "    ") && !strings.HasPrefix(l, "│") {
					// A single word longer than the width (an IPv6 reverse
					// name) may overflow; nothing else may.
					if len(strings.Fields(l)) > 1 {
						t.Errorf("%s width %d: line %d is %d wide: %q", f, width, i+1, w, l)
					}
				}
			}
			for _, q := range d.Questions() {
				if !strings.Contains(out, "? "+strings.Fields(q.Prompt)[0]) {
					t.Errorf("%s: question on line %d not rendered", f, q.Line)
				}
			}
		}
	}
}

func TestTextWidth(t *testing.T) {
	tests := map[string]int{
		"":          0,
		"abc":       3,
		"é":         1,
		"e\u0301":   1, // e + combining acute
		"日本":        4,
		"→ ✓":       3,
		"a\u00a0:":  3,
		"🙂":         2,
		"\u200bzwj": 3,
	}
	for s, want := range tests {
		if got := textWidth(s); got != want {
			t.Errorf("textWidth(%q) = %d, want %d", s, got, want)
		}
	}
}
