package console

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"protolab/internal/event"
	"protolab/internal/explain"
	"protolab/internal/lesson"
)

// Lesson is GET /api/lesson: the lab's lesson as blocks, for the page to
// lay out, and the state of the tasks its questions link to.
type Lesson struct {
	Lang   string                `json:"lang"` // the lesson's language (another when it is not written in the one asked for)
	Title  string                `json:"title"`
	Blocks []Block               `json:"blocks"`
	Tasks  map[string]LinkedTask `json:"tasks"` // by id, every task a question links to
}

// Block is one block of a lesson. Type says which fields are set:
//
//	heading    Level, Text
//	paragraph  Text
//	list       Ordered, Start, Items
//	code       Lang, Text
//	table      Header, Rows
//	rule       -
//	question   N (1-based), Text (the prompt), Options, Links (task ids)
//	box        Title, Body
//
// Text is as written: inline markup (`code`) is left for the page.
type Block struct {
	Type    string     `json:"type"`
	Level   int        `json:"level,omitempty"`
	Text    string     `json:"text,omitempty"`
	Ordered bool       `json:"ordered,omitempty"`
	Start   int        `json:"start,omitempty"`
	Items   []string   `json:"items,omitempty"`
	Lang    string     `json:"lang,omitempty"`
	Header  []string   `json:"header,omitempty"`
	Rows    [][]string `json:"rows,omitempty"`
	N       int        `json:"n,omitempty"`
	Options []Option   `json:"options,omitempty"`
	Links   []string   `json:"links,omitempty"`
	Title   string     `json:"title,omitempty"`
	Body    []Block    `json:"body,omitempty"`
}

// Option is an answer of a question.
type Option struct {
	Text    string `json:"text"`
	Correct bool   `json:"correct"`
}

// LinkedTask is the state of a task a question is answered by: when it is
// done, the question is "answered by doing", and Did says what the learner
// did ("you asked the lab DNS for www.lab.test (A)"; empty when the
// journal no longer holds the event).
type LinkedTask struct {
	Title  string     `json:"title"`
	Known  bool       `json:"known"` // the lab has this task
	Done   bool       `json:"done"`
	DoneAt *time.Time `json:"done_at"`
	Did    string     `json:"did,omitempty"`
}

// Journal is GET /api/journal.
type Journal struct {
	Events []event.Event `json:"events"`
}

// Bounds of GET /api/journal.
const (
	defaultJournal = 200
	maxJournal     = 1000
)

// langParam reads ?lang=: "" when absent, else "fr" or "en" (anything else
// is answered 400 and reported false).
func (s *Server) langParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	lang := r.URL.Query().Get("lang")
	switch lang {
	case "", "fr", "en":
		return lang, true
	}
	writeError(w, http.StatusBadRequest, "lang "+strconv.Quote(lang)+" is not offered: use lang=fr or lang=en")
	return "", false
}

// needLab answers 404 when the source offers only the basic API.
func (s *Server) needLab(w http.ResponseWriter, what string) bool {
	if s.lab == nil {
		writeError(w, http.StatusNotFound, "this lab offers no "+what+": use /api/status and /api/events")
		return false
	}
	return true
}

// lang is the language asked for, else the lab's.
func (s *Server) lang(asked string) string {
	if asked != "" {
		return asked
	}
	return s.src.Status().Lang
}

func (s *Server) lesson(w http.ResponseWriter, r *http.Request) {
	asked, ok := s.langParam(w, r)
	if !ok || !s.needLab(w, "lesson") {
		return
	}
	lang := s.lang(asked)
	doc, got := s.lab.Lesson(lang)
	if doc == nil {
		writeError(w, http.StatusNotFound, "this lab has no lesson: its tasks are on the page and in lab status")
		return
	}
	st := s.lab.StatusIn(lang)
	out := Lesson{Lang: got, Title: doc.Title(), Blocks: blocks(doc.Blocks, new(int)), Tasks: map[string]LinkedTask{}}
	did := s.lab.Did(lang)
	for _, l := range doc.Links() {
		lt := LinkedTask{Title: l.Task}
		for _, t := range st.Tasks {
			if t.ID == l.Task {
				lt = LinkedTask{Title: t.Title, Known: true, Done: t.Done, DoneAt: t.DoneAt, Did: did[t.ID]}
				break
			}
		}
		out.Tasks[l.Task] = lt
	}
	writeJSON(w, http.StatusOK, out)
}

// blocks converts a lesson's blocks; n counts the questions.
func blocks(bs []lesson.Block, n *int) []Block {
	out := make([]Block, 0, len(bs))
	for _, b := range bs {
		switch b := b.(type) {
		case *lesson.Heading:
			out = append(out, Block{Type: "heading", Level: b.Level, Text: b.Text})
		case *lesson.Paragraph:
			out = append(out, Block{Type: "paragraph", Text: b.Text})
		case *lesson.List:
			out = append(out, Block{Type: "list", Ordered: b.Ordered, Start: b.Start, Items: b.Items})
		case *lesson.Code:
			out = append(out, Block{Type: "code", Lang: b.Lang, Text: b.Text})
		case *lesson.Table:
			out = append(out, Block{Type: "table", Header: b.Header, Rows: b.Rows})
		case *lesson.Rule:
			out = append(out, Block{Type: "rule"})
		case *lesson.Question:
			*n++
			q := Block{Type: "question", N: *n, Text: b.Prompt, Options: make([]Option, len(b.Options))}
			for i, o := range b.Options {
				q.Options[i] = Option{Text: o.Text, Correct: o.Correct}
			}
			for _, l := range b.Tasks {
				q.Links = append(q.Links, l.Task)
			}
			out = append(out, q)
		case *lesson.Box:
			out = append(out, Block{Type: "box", Title: b.Title, Body: blocks(b.Body, n)})
		}
	}
	return out
}

func (s *Server) journal(w http.ResponseWriter, r *http.Request) {
	if !s.needLab(w, "journal") {
		return
	}
	limit := defaultJournal
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxJournal {
			writeError(w, http.StatusBadRequest, "limit "+strconv.Quote(v)+" is not a number of events from 1 to "+strconv.Itoa(maxJournal))
			return
		}
		limit = n
	}
	evs, err := s.lab.Journal(limit)
	if err != nil {
		s.log.Warn("console: journal failed", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if evs == nil {
		evs = []event.Event{}
	}
	for i := range evs {
		evs[i].Render()
	}
	writeJSON(w, http.StatusOK, Journal{Events: evs})
}

func (s *Server) explain(w http.ResponseWriter, r *http.Request) {
	asked, ok := s.langParam(w, r)
	if !ok || !s.needLab(w, "layer view") {
		return
	}
	ex, err := s.lab.Explain(r.URL.Query().Get("service"), s.lang(asked))
	switch {
	case errors.Is(err, explain.ErrNothing):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		s.log.Warn("console: explain failed", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, ex)
	}
}
