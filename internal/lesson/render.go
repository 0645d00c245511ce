package lesson

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TextOptions says how RenderText lays a lesson out.
type TextOptions struct {
	// Width is the width paragraphs are wrapped to, in columns; 0 means 80.
	// Widths under 20 are taken as 20 and over 1000 as 1000. Code lines
	// are never wrapped.
	Width int
	// Lang is "fr" or "en" (the default): the language of the few words the
	// renderer adds itself.
	Lang string
	// Reveal shows which options are right; otherwise every option gets an
	// empty box.
	Reveal bool
	// TaskState, if set, says what a linked task is called and whether it is
	// done; ok is false for a task it does not know.
	TaskState func(id string) (title string, done bool, ok bool)
}

// words are the few phrases the renderer writes itself.
type words struct {
	answeredBy string // before a linked task
	task       string
	done       string
	todo       string
}

var wordsByLang = map[string]words{
	"en": {answeredBy: "→ answered by doing:", task: "task", done: "done ✓", todo: "to do"},
	"fr": {answeredBy: "→ on y répond en pratiquant :", task: "tâche", done: "faite ✓", todo: "à faire"},
}

// RenderText writes a lesson for a terminal: headings underlined, paragraphs
// and lists wrapped to opt.Width, code indented, boxes framed, questions with
// their options and the tasks that answer them. The output depends only on
// d and opt.
func RenderText(w io.Writer, d *Doc, opt TextOptions) error {
	if d == nil {
		return errors.New("lesson: render: no lesson to render")
	}
	if opt.Width <= 0 {
		opt.Width = 80
	}
	opt.Width = min(max(opt.Width, 20), 1000)
	wd, ok := wordsByLang[opt.Lang]
	if !ok {
		wd = wordsByLang["en"]
	}
	r := &renderer{opt: opt, words: wd}
	var b strings.Builder
	for _, l := range r.blocks(d.Blocks, opt.Width) {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("lesson: render: %w", err)
	}
	return nil
}

type renderer struct {
	opt   TextOptions
	words words
}

// blocks renders blocks to lines at most width wide (code and unbreakable
// words excepted), with one blank line between blocks.
func (r *renderer) blocks(bs []Block, width int) []string {
	var out []string
	for _, b := range bs {
		ls := r.block(b, width)
		if len(ls) == 0 {
			continue
		}
		if len(out) > 0 {
			out = append(out, "")
		}
		for _, l := range ls {
			out = append(out, strings.TrimRight(l, " "))
		}
	}
	return out
}

func (r *renderer) block(b Block, width int) []string {
	switch b := b.(type) {
	case *Heading:
		return r.heading(b, width)
	case *Paragraph:
		return wrap(b.Text, width, "", "")
	case *List:
		return r.list(b, width)
	case *Code:
		return r.code(b)
	case *Table:
		return r.table(b, width)
	case *Rule:
		return []string{strings.Repeat("─", width)}
	case *Question:
		return r.question(b, width)
	case *Box:
		return r.box(b, width)
	}
	return nil
}

func (r *renderer) heading(h *Heading, width int) []string {
	if h.Level >= 3 {
		return wrap(h.Text, width, "▸ ", "  ")
	}
	ls := wrap(h.Text, width, "", "")
	if len(ls) == 0 {
		return nil
	}
	w := 0
	for _, l := range ls {
		w = max(w, textWidth(l))
	}
	under := "═"
	if h.Level == 2 {
		under = "─"
	}
	return append(ls, strings.Repeat(under, w))
}

func (r *renderer) list(l *List, width int) []string {
	var out []string
	markerWidth := 2
	if l.Ordered {
		markerWidth = len(strconv.Itoa(l.Start+len(l.Items)-1)) + 2
	}
	for i, item := range l.Items {
		marker := "• "
		if l.Ordered {
			marker = strconv.Itoa(l.Start+i) + ". "
		}
		marker += strings.Repeat(" ", markerWidth-textWidth(marker))
		ls := wrap(item, width, marker, strings.Repeat(" ", markerWidth))
		if len(ls) == 0 {
			ls = []string{marker}
		}
		out = append(out, ls...)
	}
	return out
}

func (r *renderer) code(c *Code) []string {
	if c.Text == "" {
		return nil
	}
	var out []string
	for _, l := range strings.Split(c.Text, "\n") {
		out = append(out, "    "+sanitize(expandTabs(l)))
	}
	return out
}

func (r *renderer) table(t *Table, width int) []string {
	n := len(t.Header)
	if n == 0 {
		return nil
	}
	const gap = 2
	widths := make([]int, n)
	measure := func(row []string) {
		for i := 0; i < n && i < len(row); i++ {
			widths[i] = max(widths[i], textWidth(strings.Join(fields(row[i]), " ")))
		}
	}
	measure(t.Header)
	for _, row := range t.Rows {
		measure(row)
	}
	for i := range widths {
		widths[i] = max(widths[i], 1)
	}
	// Shrink the widest column until the table fits, down to a floor.
	const floor = 8
	total := func() int {
		s := gap * (n - 1)
		for _, w := range widths {
			s += w
		}
		return s
	}
	for total() > width {
		wi := 0
		for i, w := range widths {
			if w > widths[wi] {
				wi = i
			}
		}
		if widths[wi] <= floor {
			break
		}
		widths[wi]--
	}
	row := func(cells []string) []string {
		cols := make([][]string, n)
		height := 1
		for i := 0; i < n; i++ {
			if i < len(cells) {
				cols[i] = wrap(cells[i], widths[i], "", "")
			}
			height = max(height, len(cols[i]))
		}
		out := make([]string, height)
		for k := range out {
			var b strings.Builder
			for i := 0; i < n; i++ {
				cell := ""
				if k < len(cols[i]) {
					cell = cols[i][k]
				}
				b.WriteString(cell)
				if i < n-1 {
					b.WriteString(strings.Repeat(" ", max(widths[i]-textWidth(cell), 0)+gap))
				}
			}
			out[k] = b.String()
		}
		return out
	}
	out := row(t.Header)
	seps := make([]string, n)
	for i, w := range widths {
		seps[i] = strings.Repeat("─", w)
	}
	out = append(out, strings.Join(seps, strings.Repeat(" ", gap)))
	for _, cells := range t.Rows {
		out = append(out, row(cells)...)
	}
	return out
}

func (r *renderer) question(q *Question, width int) []string {
	out := wrap(q.Prompt, width, "? ", "  ")
	for _, o := range q.Options {
		box := "[ ] "
		if r.opt.Reveal && o.Correct {
			box = "[x] "
		}
		out = append(out, wrap(o.Text, width, "  "+box, "      ")...)
	}
	for _, t := range q.Tasks {
		s := r.words.answeredBy + " " + r.words.task + " `" + t.Task + "`"
		if r.opt.TaskState != nil {
			if title, done, ok := r.opt.TaskState(t.Task); ok {
				if title != "" {
					s += " — " + title
				}
				if done {
					s += " (" + r.words.done + ")"
				} else {
					s += " (" + r.words.todo + ")"
				}
			}
		}
		out = append(out, wrap(s, width, "  ", "    ")...)
	}
	return out
}

func (r *renderer) box(b *Box, width int) []string {
	body := r.blocks(b.Body, width-4)
	title := strings.Join(fields(b.Title), " ")
	inner := width - 4
	for _, l := range body {
		inner = max(inner, textWidth(l))
	}
	if title != "" {
		inner = max(inner, textWidth(title)+2)
	}
	top := strings.Repeat("─", inner+2)
	if title != "" {
		top = "─ " + title + " " + strings.Repeat("─", inner+2-3-textWidth(title))
	}
	out := []string{"┌" + top + "┐"}
	for _, l := range body {
		out = append(out, "│ "+l+strings.Repeat(" ", inner-textWidth(l))+" │")
	}
	return append(out, "└"+strings.Repeat("─", inner+2)+"┘")
}

// wrap fills text's words into lines at most width columns wide, the first
// starting with first and the others with rest. A word too long for a line
// gets a line of its own. Words are separated by ASCII white space only, so
// that a no-break space keeps its neighbours together; a lone French
// punctuation sign (":", "?", "»"...) stays with the word before it.
func wrap(text string, width int, first, rest string) []string {
	ws := fields(text)
	if len(ws) == 0 {
		return nil
	}
	var out []string
	line := first + ws[0]
	lw := textWidth(line)
	for _, w := range ws[1:] {
		ww := textWidth(w)
		if lw+1+ww > width {
			out = append(out, line)
			line = rest + w
			lw = textWidth(rest) + ww
			continue
		}
		line += " " + w
		lw += 1 + ww
	}
	return append(out, line)
}

// fields splits text into words, sanitized. It keeps an inline code span
// (`lab start dns`) in one piece, so that a command is never cut in two, and
// glues French punctuation that stands alone to its neighbour.
func fields(text string) []string {
	raw := strings.FieldsFunc(text, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
	})
	var ws []string
	glueNext := false // the previous word opened a code span or was "«"
	inCode := false
	for _, w := range raw {
		w = sanitize(w)
		switch {
		case glueNext && len(ws) > 0:
			ws[len(ws)-1] += " " + w
		case len(ws) > 0 && (w == ":" || w == ";" || w == "!" || w == "?" || w == "»"):
			ws[len(ws)-1] += " " + w
		default:
			ws = append(ws, w)
		}
		if strings.Count(w, "`")%2 == 1 {
			inCode = !inCode
		}
		glueNext = inCode || w == "«"
	}
	return ws
}

// sanitize replaces control characters, which could move the cursor or
// recolour the terminal, and invalid UTF-8 with U+FFFD.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

// expandTabs replaces tabs with spaces up to the next multiple of 4 columns.
func expandTabs(s string) string {
	if !strings.Contains(s, "\t") {
		return s
	}
	var b strings.Builder
	col := 0
	for _, r := range s {
		if r == '\t' {
			n := 4 - col%4
			b.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		b.WriteRune(r)
		col += runeWidth(r)
	}
	return b.String()
}

// textWidth is the number of terminal columns s takes.
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// runeWidth is the number of columns r takes: 0 for combining marks and
// format characters, 2 for East Asian wide characters and most emoji, else 1.
func runeWidth(r rune) int {
	switch {
	case unicode.Is(unicode.Mn, r), unicode.Is(unicode.Me, r), unicode.Is(unicode.Cf, r):
		return 0
	case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0x303E, r >= 0x3041 && r <= 0x33FF,
		r >= 0x3400 && r <= 0x4DBF, r >= 0x4E00 && r <= 0x9FFF, r >= 0xA000 && r <= 0xA4CF,
		r >= 0xAC00 && r <= 0xD7A3, r >= 0xF900 && r <= 0xFAFF, r >= 0xFE30 && r <= 0xFE4F,
		r >= 0xFF00 && r <= 0xFF60, r >= 0xFFE0 && r <= 0xFFE6, r >= 0x1F300 && r <= 0x1F64F,
		r >= 0x1F900 && r <= 0x1F9FF, r >= 0x20000 && r <= 0x3FFFD:
		return 2
	}
	return 1
}
