// Package lesson reads the lessons that come with a lab: Markdown in the
// dialect of the original course, so that an existing course can be pasted
// in unchanged. Besides ordinary Markdown (ATX headings, paragraphs, lists,
// fenced code, tables, rules) the dialect has three constructs:
//
//	?[Which service maps a name to an address?]   a question
//	-[ ] DHCP                                     its options, [x] marks
//	-[x] DNS                                      the right ones
//	=> resolve-a                                  answered by doing a task
//
//	::: A short summary                           a boxed block, closed
//	Body in Markdown.                             by a line ":::"
//	:::
//
// Parse turns a lesson into a Doc; RenderText prints a Doc for a terminal.
// Both are pure functions.
package lesson

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxSize is the largest lesson Parse accepts, in bytes.
const MaxSize = 1 << 20

// Error is a mistake in a lesson, at a 1-based line (0 when the mistake is
// not on one line, such as a file too large).
type Error struct {
	Line int
	Msg  string
}

// Error formats the mistake as "line N: what is wrong and what to do".
func (e *Error) Error() string {
	if e.Line <= 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// Doc is a parsed lesson: its blocks in order.
type Doc struct {
	Blocks []Block
}

// Block is one element of a lesson. Pos is the 1-based line of the block's
// first line. The concrete types are *Heading, *Paragraph, *List, *Code,
// *Table, *Rule, *Question and *Box.
type Block interface {
	Pos() int
}

// Heading is an ATX heading, "# Title" (Level 1) to "###### Title" (Level 6).
type Heading struct {
	Line  int
	Level int
	Text  string
}

// Paragraph is a run of consecutive text lines, trimmed and joined with "\n".
type Paragraph struct {
	Line int
	Text string
}

// List is a run of bullet ("- ", "* ", "+ ") or numbered ("1. ", "1) ")
// items. An item's continuation lines are joined to it with "\n". Start is
// the number of the first item of an ordered list.
type List struct {
	Line    int
	Ordered bool
	Start   int
	Items   []string
}

// Code is a fenced code block; nothing inside it is interpreted. Lang is the
// first word after the opening fence, if any.
type Code struct {
	Line int
	Lang string
	Text string
}

// Table is a pipe table: a header row, a delimiter row ("|---|---|") and
// body rows. Every row has as many cells as the header.
type Table struct {
	Line   int
	Header []string
	Rows   [][]string
}

// Rule is a thematic break: a line of three or more '-', '*' or '_'.
type Rule struct {
	Line int
}

// Question is a quiz question, "?[prompt]", with its options and the tasks
// that answer it by doing.
type Question struct {
	Line    int
	Prompt  string
	Options []Option
	Tasks   []TaskLink
}

// Option is one answer of a question, "-[x] text" when it is right and
// "-[ ] text" when it is not.
type Option struct {
	Line    int
	Text    string
	Correct bool
}

// TaskLink is a line "=> task-id" under a question: the question is
// answered by doing that task of the lab.
type TaskLink struct {
	Line int
	Task string
}

// Box is a boxed block, "::: title" up to a line ":::"; Title may be empty.
type Box struct {
	Line  int
	Title string
	Body  []Block
}

// Pos returns the line of the heading.
func (b *Heading) Pos() int { return b.Line }

// Pos returns the first line of the paragraph.
func (b *Paragraph) Pos() int { return b.Line }

// Pos returns the line of the list's first item.
func (b *List) Pos() int { return b.Line }

// Pos returns the line of the opening fence.
func (b *Code) Pos() int { return b.Line }

// Pos returns the line of the table's header row.
func (b *Table) Pos() int { return b.Line }

// Pos returns the line of the rule.
func (b *Rule) Pos() int { return b.Line }

// Pos returns the line of the question's prompt.
func (b *Question) Pos() int { return b.Line }

// Pos returns the line that opens the box.
func (b *Box) Pos() int { return b.Line }

// walk calls fn for every block in document order, boxes before their body.
func walk(blocks []Block, fn func(Block)) {
	for _, b := range blocks {
		fn(b)
		if box, ok := b.(*Box); ok {
			walk(box.Body, fn)
		}
	}
}

// Questions returns every question of the lesson, boxes included, in order.
func (d *Doc) Questions() []*Question {
	var qs []*Question
	walk(d.Blocks, func(b Block) {
		if q, ok := b.(*Question); ok {
			qs = append(qs, q)
		}
	})
	return qs
}

// Links returns every "=> task" line of the lesson in order, so that a lab
// loader can check each against the lab's tasks and name the line.
func (d *Doc) Links() []TaskLink {
	var ls []TaskLink
	for _, q := range d.Questions() {
		ls = append(ls, q.Tasks...)
	}
	return ls
}

// Headings returns every heading of the lesson, boxes included, in order.
func (d *Doc) Headings() []*Heading {
	var hs []*Heading
	walk(d.Blocks, func(b Block) {
		if h, ok := b.(*Heading); ok {
			hs = append(hs, h)
		}
	})
	return hs
}

// Title returns the text of the first level-1 heading, or "".
func (d *Doc) Title() string {
	for _, h := range d.Headings() {
		if h.Level == 1 {
			return h.Text
		}
	}
	return ""
}

// ValidTaskID reports whether id can name a task: a lower-case letter or a
// digit, then lower-case letters, digits and '-'.
func ValidTaskID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Parse reads a lesson. It accepts CRLF line endings and a leading UTF-8
// byte order mark. The error, if any, is an *Error naming the line.
func Parse(src []byte) (*Doc, error) {
	if len(src) > MaxSize {
		return nil, &Error{Msg: fmt.Sprintf("lesson is %d bytes, more than the limit of %d: split it into smaller lessons", len(src), MaxSize)}
	}
	src = bytes.TrimPrefix(src, []byte("\ufeff"))
	var lines []string
	if len(src) > 0 {
		lines = strings.Split(strings.TrimSuffix(string(src), "\n"), "\n")
	}
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if !utf8.ValidString(l) {
			return nil, &Error{Line: i + 1, Msg: "the text is not valid UTF-8: save the lesson as UTF-8"}
		}
		lines[i] = l
	}
	p := &parser{lines: lines}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return &p.doc, nil
}

type parser struct {
	lines []string
	i     int       // index of the next line to read
	doc   Doc       // what has been parsed
	box   *Box      // the open box, if any
	q     *Question // the question whose options may still follow, if any
}

func (p *parser) errorf(line int, format string, args ...any) error {
	return &Error{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// add appends a block to the open box, or to the document.
func (p *parser) add(b Block) {
	if p.box != nil {
		p.box.Body = append(p.box.Body, b)
	} else {
		p.doc.Blocks = append(p.doc.Blocks, b)
	}
}

// endQuestion closes the current question, which must have options.
func (p *parser) endQuestion() error {
	q := p.q
	p.q = nil
	if q != nil && len(q.Options) == 0 {
		return p.errorf(q.Line, "question %q has no options: add lines such as \"-[x] right answer\" and \"-[ ] wrong answer\" below it", q.Prompt)
	}
	return nil
}

func (p *parser) parse() error {
	for p.i < len(p.lines) {
		raw := p.lines[p.i]
		line := p.i + 1
		t := strings.TrimSpace(raw)
		if t == "" {
			p.i++
			continue
		}
		if opt, ok := parseOption(t); ok {
			if p.q == nil {
				return p.errorf(line, "option %q is not under a question: put it right after a line \"?[question]\", or write \"- \" without a box for a plain list", t)
			}
			if opt.Text == "" {
				return p.errorf(line, "option has no text: write the answer after the box, as in \"-[ ] DHCP\"")
			}
			opt.Line = line
			p.q.Options = append(p.q.Options, opt)
			p.i++
			continue
		}
		if strings.HasPrefix(t, "=>") {
			if p.q == nil {
				return p.errorf(line, "%q is not under a question: a task link goes below a question's options", t)
			}
			id := strings.TrimSpace(t[2:])
			if id == "" {
				return p.errorf(line, "\"=>\" names no task: write the task's id after it, as in \"=> resolve-a\"")
			}
			if !ValidTaskID(id) {
				return p.errorf(line, "%q is not a task id: ids are lower-case letters, digits and '-', starting with a letter or digit, as in \"=> resolve-a\"", id)
			}
			p.q.Tasks = append(p.q.Tasks, TaskLink{Line: line, Task: id})
			p.i++
			continue
		}
		// Any other line ends the current question.
		if err := p.endQuestion(); err != nil {
			return err
		}
		if err := p.block(raw, t, line); err != nil {
			return err
		}
	}
	if err := p.endQuestion(); err != nil {
		return err
	}
	if p.box != nil {
		return p.errorf(p.box.Line, "box %q is never closed: add a line \":::\" after its body", p.box.Title)
	}
	return nil
}

// block parses the block that starts at the current line, which is neither
// blank, an option nor a task link.
func (p *parser) block(raw, t string, line int) error {
	if fence, info, ok := openFence(raw); ok {
		return p.code(fence, info, leadingSpaces(raw), line)
	}
	if title, ok := boxMarker(t); ok {
		switch {
		case p.box != nil && title == "":
			box := p.box
			p.box = nil
			p.add(box)
		case p.box != nil:
			return p.errorf(line, "a box cannot open inside the box opened on line %d: close that one with a line \":::\" first", p.box.Line)
		default:
			p.box = &Box{Line: line, Title: title}
		}
		p.i++
		return nil
	}
	if strings.HasPrefix(t, "?[") {
		if !strings.HasSuffix(t, "]") || len(t) < 3 {
			return p.errorf(line, "question is not closed: write it on one line as \"?[your question]\"")
		}
		prompt := strings.TrimSpace(t[2 : len(t)-1])
		if prompt == "" {
			return p.errorf(line, "question is empty: write it between \"?[\" and \"]\"")
		}
		p.q = &Question{Line: line, Prompt: prompt}
		p.add(p.q)
		p.i++
		return nil
	}
	if level, text, ok := heading(t); ok {
		p.add(&Heading{Line: line, Level: level, Text: text})
		p.i++
		return nil
	}
	if isRule(t) {
		p.add(&Rule{Line: line})
		p.i++
		return nil
	}
	if p.i+1 < len(p.lines) && strings.HasPrefix(t, "|") && isDelimiterRow(p.lines[p.i+1]) {
		p.table(t, line)
		return nil
	}
	if _, _, _, ok := listItem(t); ok {
		p.list(line)
		return nil
	}
	p.paragraph(t, line)
	return nil
}

// startsBlock reports whether the line at index i interrupts a paragraph or
// a list item.
func (p *parser) startsBlock(i int) bool {
	raw := p.lines[i]
	t := strings.TrimSpace(raw)
	if _, _, ok := openFence(raw); ok {
		return true
	}
	if _, ok := boxMarker(t); ok {
		return true
	}
	if _, ok := parseOption(t); ok {
		return true
	}
	if strings.HasPrefix(t, "?[") || strings.HasPrefix(t, "=>") || isRule(t) {
		return true
	}
	if _, _, ok := heading(t); ok {
		return true
	}
	if strings.HasPrefix(t, "|") && i+1 < len(p.lines) && isDelimiterRow(p.lines[i+1]) {
		return true
	}
	return false
}

func (p *parser) paragraph(t string, line int) {
	parts := []string{t}
	p.i++
	for p.i < len(p.lines) {
		next := strings.TrimSpace(p.lines[p.i])
		if next == "" || p.startsBlock(p.i) {
			break
		}
		// Bullets interrupt a paragraph; numbers only from 1, so that a
		// line starting with a year does not.
		if ordered, start, _, ok := listItem(next); ok && (!ordered || start == 1) {
			break
		}
		parts = append(parts, next)
		p.i++
	}
	p.add(&Paragraph{Line: line, Text: strings.Join(parts, "\n")})
}

func (p *parser) list(line int) {
	first := strings.TrimSpace(p.lines[p.i])
	ordered, start, _, _ := listItem(first)
	l := &List{Line: line, Ordered: ordered}
	if ordered {
		l.Start = start
	}
	for p.i < len(p.lines) {
		t := strings.TrimSpace(p.lines[p.i])
		if t == "" {
			// A blank line ends the list unless an item of the same kind follows.
			j := p.i
			for j < len(p.lines) && strings.TrimSpace(p.lines[j]) == "" {
				j++
			}
			if j == len(p.lines) || p.startsBlock(j) {
				break
			}
			o, _, _, ok := listItem(strings.TrimSpace(p.lines[j]))
			if !ok || o != ordered {
				break
			}
			p.i = j
			continue
		}
		if p.startsBlock(p.i) {
			break
		}
		o, _, text, ok := listItem(t)
		switch {
		case ok && o == ordered:
			l.Items = append(l.Items, text)
		case ok:
			// An item of the other kind starts another list.
			p.add(l)
			return
		default:
			// A continuation of the current item.
			l.Items[len(l.Items)-1] += "\n" + t
		}
		p.i++
	}
	p.add(l)
}

func (p *parser) table(t string, line int) {
	tb := &Table{Line: line, Header: splitRow(t)}
	p.i += 2 // header and delimiter rows
	for p.i < len(p.lines) {
		r := strings.TrimSpace(p.lines[p.i])
		if !strings.HasPrefix(r, "|") {
			break
		}
		cells := splitRow(r)
		row := make([]string, len(tb.Header))
		copy(row, cells)
		tb.Rows = append(tb.Rows, row)
		p.i++
	}
	p.add(tb)
}

func (p *parser) code(fence, info string, indent, line int) error {
	lang := ""
	if f := strings.Fields(info); len(f) > 0 {
		lang = f[0]
	}
	var body []string
	for j := p.i + 1; j < len(p.lines); j++ {
		raw := p.lines[j]
		if closesFence(raw, fence) {
			p.add(&Code{Line: line, Lang: lang, Text: strings.Join(body, "\n")})
			p.i = j + 1
			return nil
		}
		// Remove the opening fence's indentation from the content.
		n := min(indent, leadingSpaces(raw))
		body = append(body, raw[n:])
	}
	return p.errorf(line, "code block is never closed: add a line %q after it", fence)
}

// parseOption recognises "-[x] text", "- [ ] text", "-[X] text" and "-[] text".
func parseOption(t string) (Option, bool) {
	if !strings.HasPrefix(t, "-") {
		return Option{}, false
	}
	s := strings.TrimLeft(t[1:], " \t")
	if !strings.HasPrefix(s, "[") {
		return Option{}, false
	}
	var correct bool
	switch {
	case strings.HasPrefix(s, "[]"):
		s = s[2:]
	case strings.HasPrefix(s, "[ ]"):
		s = s[3:]
	case strings.HasPrefix(s, "[x]"), strings.HasPrefix(s, "[X]"):
		correct = true
		s = s[3:]
	default:
		return Option{}, false
	}
	return Option{Text: strings.TrimSpace(s), Correct: correct}, true
}

// boxMarker recognises a line of three or more colons, followed by the box's
// title if it opens one. A closing run of three or more colons after the
// title ("::: Title :::") is dropped.
func boxMarker(t string) (title string, ok bool) {
	if !strings.HasPrefix(t, ":::") {
		return "", false
	}
	title = strings.TrimSpace(strings.TrimLeft(t, ":"))
	if strings.HasSuffix(title, ":::") {
		title = strings.TrimSpace(strings.TrimRight(title, ":"))
	}
	return title, true
}

// heading recognises an ATX heading and strips an optional closing sequence.
func heading(t string) (level int, text string, ok bool) {
	for level < len(t) && t[level] == '#' {
		level++
	}
	if level == 0 || level > 6 {
		return 0, "", false
	}
	rest := t[level:]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return 0, "", false
	}
	rest = strings.TrimSpace(rest)
	trimmed := strings.TrimRight(rest, "#")
	switch {
	case trimmed == "":
		rest = ""
	case trimmed != rest && (strings.HasSuffix(trimmed, " ") || strings.HasSuffix(trimmed, "\t")):
		rest = strings.TrimSpace(trimmed)
	}
	return level, rest, true
}

// isRule recognises a thematic break: three or more of the same '-', '*' or
// '_', possibly spaced.
func isRule(t string) bool {
	if len(t) < 3 {
		return false
	}
	c := t[0]
	if c != '-' && c != '*' && c != '_' {
		return false
	}
	n := 0
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case c:
			n++
		case ' ', '\t':
		default:
			return false
		}
	}
	return n >= 3
}

// listItem recognises "- item", "* item", "+ item", "1. item" and "1) item".
func listItem(t string) (ordered bool, start int, text string, ok bool) {
	if len(t) >= 2 && (t[0] == '-' || t[0] == '*' || t[0] == '+') && (t[1] == ' ' || t[1] == '\t') {
		return false, 0, strings.TrimSpace(t[2:]), true
	}
	n := 0
	for n < len(t) && n < 9 && t[n] >= '0' && t[n] <= '9' {
		n++
	}
	if n == 0 || n+1 >= len(t) || (t[n] != '.' && t[n] != ')') || (t[n+1] != ' ' && t[n+1] != '\t') {
		return false, 0, "", false
	}
	start, err := strconv.Atoi(t[:n])
	if err != nil {
		return false, 0, "", false
	}
	return true, start, strings.TrimSpace(t[n+2:]), true
}

// isDelimiterRow recognises a table's delimiter row, such as "|---|:--:|".
func isDelimiterRow(raw string) bool {
	t := strings.TrimSpace(raw)
	if !strings.Contains(t, "|") || !strings.Contains(t, "-") {
		return false
	}
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case '|', '-', ':', ' ', '\t':
		default:
			return false
		}
	}
	return true
}

// splitRow splits a table row into trimmed cells; "\|" is a literal '|'.
func splitRow(t string) []string {
	t = strings.TrimPrefix(t, "|")
	if strings.HasSuffix(t, "|") && !strings.HasSuffix(t, `\|`) {
		t = t[:len(t)-1]
	}
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(t); i++ {
		switch {
		case t[i] == '\\' && i+1 < len(t) && t[i+1] == '|':
			cur.WriteByte('|')
			i++
		case t[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(t[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// openFence recognises an opening code fence: up to three spaces, then three
// or more '`' or '~', then an info string (without '`' for a '`' fence).
func openFence(raw string) (fence, info string, ok bool) {
	n := leadingSpaces(raw)
	if n > 3 {
		return "", "", false
	}
	s := raw[n:]
	if len(s) < 3 || (s[0] != '`' && s[0] != '~') {
		return "", "", false
	}
	c := s[0]
	k := 0
	for k < len(s) && s[k] == c {
		k++
	}
	if k < 3 {
		return "", "", false
	}
	info = strings.TrimSpace(s[k:])
	if c == '`' && strings.Contains(info, "`") {
		return "", "", false
	}
	return s[:k], info, true
}

// closesFence reports whether raw closes a fence opened with fence: the same
// character, at least as many times, and nothing else.
func closesFence(raw, fence string) bool {
	t := strings.TrimSpace(raw)
	if len(t) < len(fence) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] != fence[0] {
			return false
		}
	}
	return true
}

// leadingSpaces counts the spaces at the start of s.
func leadingSpaces(s string) int {
	n := 0
	for n < len(s) && s[n] == ' ' {
		n++
	}
	return n
}
