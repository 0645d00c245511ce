// Package api holds the JSON shapes of a running lab's HTTP API, shared by
// the server side (internal/console) and the command line (lab status, lab
// hint, lab reset, lab solve), which reach the lab through it.
package api

import (
	"time"

	"protolab/internal/service"
)

// Status is GET /api/status and `lab status --json`. The fields "lab" and
// "tasks" (with id, title, done, done_at) are a contract; more may be added.
type Status struct {
	Lab       string             `json:"lab"`
	Title     string             `json:"title"`
	Lang      string             `json:"lang"`
	Running   bool               `json:"running"`
	Started   time.Time          `json:"started,omitzero"`
	PID       int                `json:"pid,omitempty"`
	Web       string             `json:"web,omitempty"` // console URL
	Endpoints []service.Endpoint `json:"endpoints"`
	Tasks     []Task             `json:"tasks"`
	Done      int                `json:"done"`
	Total     int                `json:"total"`
	Points    int                `json:"points"`
	MaxPoints int                `json:"max_points"`
	Events    uint64             `json:"events"`         // events published
	Dropped   uint64             `json:"events_dropped"` // deliveries lost by slow subscribers
	// An exercise's: its order ("free", "sequential") and deadline.
	Order    string     `json:"order,omitempty"`
	Deadline *time.Time `json:"deadline,omitempty"`
	// Account is the learner's own account on a classroom server (lab
	// serve), shown only on that learner's console.
	Account *Account `json:"account,omitempty"`
}

// Account is a learner's own account on a classroom server: a mailbox
// (User@ the lab's mail domain) and an SNMPv3 user (SHA and AES), both
// with Password.
type Account struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// Task is one task's state.
type Task struct {
	ID         string     `json:"id"`
	Title      string     `json:"title"`
	Done       bool       `json:"done"`
	DoneAt     *time.Time `json:"done_at"` // null until done
	Points     int        `json:"points"`
	Hints      int        `json:"hints"`       // how many hints the task has
	HintsShown int        `json:"hints_shown"` // how many the learner asked for
	// In an exercise: a task that is not needed to complete it, the task to
	// do first (sequential order; the task cannot tick before), and a task
	// done after the deadline (it earns no points).
	Optional   bool   `json:"optional,omitempty"`
	WaitingFor string `json:"waiting_for,omitempty"`
	Late       bool   `json:"late,omitempty"`
}

// Hint is POST /api/hint?task=ID: the next hint of a task.
type Hint struct {
	Task  string `json:"task"`
	Level int    `json:"level"` // 1-based
	Of    int    `json:"of"`    // number of hints
	Text  string `json:"text"`
	Lang  string `json:"lang"` // the language of Text
}

// Change is sent on /api/events (SSE event "task") when a task's state
// changes.
type Change struct {
	Task Task `json:"task"`
}

// Error is the body of every non-2xx answer.
type Error struct {
	Error string `json:"error"`
}
