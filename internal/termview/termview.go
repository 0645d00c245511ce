// Package termview draws a running lab's task list in a terminal. Lines is a
// pure function of the state; Painter redraws it in place on a terminal, and
// Printer writes one line per change when the output is piped.
package termview

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"protolab/internal/api"
	"protolab/internal/event"
)

var words = map[string]map[string]string{
	"fr": {"tasks": "tâches", "points": "points", "recent": "Derniers échanges :", "none": "(aucun pour l'instant : à vous de jouer)", "all": "Toutes les tâches sont faites. Bravo !", "hint": "Un indice ? lab hint <tâche>   ·   Arrêter : Ctrl-C (la progression est gardée)"},
	"en": {"tasks": "tasks", "points": "points", "recent": "Recent exchanges:", "none": "(none yet: your turn)", "all": "Every task is done. Well done!", "hint": "Need a hint? lab hint <task>   ·   Stop: Ctrl-C (progress is kept)"},
}

func word(lang, key string) string {
	if w, ok := words[lang][key]; ok {
		return w
	}
	return words["en"][key]
}

// Lines renders the checklist and the recent events, each line at most width
// runes wide (0: no limit).
func Lines(st api.Status, recent []string, width int) []string {
	var out []string
	out = append(out, fmt.Sprintf("%s — %d/%d %s · %d/%d %s", st.Title, st.Done, st.Total, word(st.Lang, "tasks"), st.Points, st.MaxPoints, word(st.Lang, "points")))
	idw := 0
	for _, t := range st.Tasks {
		idw = max(idw, len(t.ID))
	}
	for _, t := range st.Tasks {
		out = append(out, TaskLine(t, idw))
	}
	if st.Total > 0 && st.Done == st.Total {
		out = append(out, "", word(st.Lang, "all"))
	}
	out = append(out, "", word(st.Lang, "recent"))
	if len(recent) == 0 {
		out = append(out, "  "+word(st.Lang, "none"))
	}
	for _, r := range recent {
		out = append(out, "  "+r)
	}
	out = append(out, "", word(st.Lang, "hint"))
	if width > 0 {
		for i, l := range out {
			out[i] = truncate(l, width)
		}
	}
	return out
}

// TaskLine is one task of the checklist: "[✓] resolve-a  title  10:02:03".
func TaskLine(t api.Task, idWidth int) string {
	box := "[ ]"
	when := ""
	if t.Done {
		box = "[✓]"
		if t.DoneAt != nil {
			when = "  " + t.DoneAt.Local().Format("15:04:05")
		}
	}
	return fmt.Sprintf(" %s %-*s  %s%s", box, idWidth, t.ID, t.Title, when)
}

// EventLine is one event in a short form: time, kind, the values of the
// brief attributes (all attributes when brief is empty), and the client.
func EventLine(e event.Event, brief []string) string {
	var b strings.Builder
	b.WriteString(e.Time.Local().Format("15:04:05 "))
	if len(brief) == 0 {
		b.WriteString(e.Summary())
	} else {
		b.WriteString(e.Kind)
		for _, k := range brief {
			if v, ok := e.Attrs[k]; ok {
				b.WriteString(" ")
				b.WriteString(k)
				b.WriteString("=")
				b.WriteString(v)
			}
		}
	}
	if e.Client != "" {
		b.WriteString(" ← ")
		b.WriteString(e.Client)
	}
	return b.String()
}

func truncate(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	if width <= 1 {
		return string(r[:width])
	}
	return string(r[:width-1]) + "…"
}

// Painter redraws a block of lines in place on a terminal.
type Painter struct {
	w     io.Writer
	drawn int
}

// NewPainter returns a painter writing ANSI sequences to w.
func NewPainter(w io.Writer) *Painter { return &Painter{w: w} }

// Paint replaces the previously painted lines with lines.
func (p *Painter) Paint(lines []string) {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	for _, l := range lines {
		b.WriteString("\r\x1b[2K")
		b.WriteString(l)
		b.WriteString("\n")
	}
	// Clear what is left of a longer previous drawing.
	for i := len(lines); i < p.drawn; i++ {
		b.WriteString("\r\x1b[2K\n")
	}
	if extra := p.drawn - len(lines); extra > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", extra)
	}
	io.WriteString(p.w, b.String())
	p.drawn = len(lines)
}

// Printer writes one line per task change, for piped output.
type Printer struct {
	w    io.Writer
	done map[string]bool
	init bool
}

// NewPrinter returns a printer writing to w.
func NewPrinter(w io.Writer) *Printer { return &Printer{w: w, done: map[string]bool{}} }

// Update prints a line for each task whose state changed since the last
// call (the first call only records the state).
func (p *Printer) Update(st api.Status) {
	for _, t := range st.Tasks {
		was, seen := p.done[t.ID]
		p.done[t.ID] = t.Done
		if !p.init || (seen && was == t.Done) {
			continue
		}
		at := time.Now()
		if t.DoneAt != nil {
			at = *t.DoneAt
		}
		state := "done"
		if !t.Done {
			state = "reset"
		}
		fmt.Fprintf(p.w, "%s %s %s: %s (%d/%d)\n", at.Local().Format("15:04:05"), state, t.ID, t.Title, st.Done, st.Total)
	}
	p.init = true
}
