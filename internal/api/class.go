package api

import "time"

// Class is GET /api/class on a classroom server (lab serve): the learners
// of the roster by the lab's tasks. The instructor's dashboard draws its
// grid from it; the SSE stream /api/class/events sends it again (event
// "class") whenever a learner's progress changes.
type Class struct {
	Class    string         `json:"class,omitempty"`
	Lab      string         `json:"lab"`
	Title    string         `json:"title"`
	Started  time.Time      `json:"started,omitzero"`
	Tasks    []ClassTask    `json:"tasks"`
	Learners []ClassLearner `json:"learners"`
	Events   uint64         `json:"events"`  // events published
	Unknown  uint64         `json:"unknown"` // events no learner of the roster made
}

// ClassTask is one column of the grid.
type ClassTask struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Points   int    `json:"points"`
	Optional bool   `json:"optional,omitempty"`
}

// ClassLearner is one row of the grid: a learner's progress, one cell per
// task in the order of Class.Tasks.
type ClassLearner struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Address  string `json:"address,omitempty"`
	User     string `json:"user,omitempty"`     // the learner's own account
	Password string `json:"password,omitempty"` // its password
	// Values are the learner's own values of the lab's variables (their
	// flag, their word), LAB.NAME for those of a lab it uses.
	Values    map[string]string `json:"values,omitempty"`
	Done      int               `json:"done"`
	Total     int               `json:"total"`
	Points    int               `json:"points"`
	MaxPoints int               `json:"max_points"`
	LastSeen  *time.Time        `json:"last_seen,omitempty"` // the learner's latest event this run
	Cells     []ClassCell       `json:"cells"`
}

// ClassCell is one learner's state on one task.
type ClassCell struct {
	Task   string     `json:"task"`
	Done   bool       `json:"done"`
	DoneAt *time.Time `json:"done_at"`
	Points int        `json:"points"` // earned: none when not done or late
	Hints  int        `json:"hints_shown"`
	Late   bool       `json:"late,omitempty"`
}
