package main

import (
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"protolab/internal/catalog"
	"protolab/internal/progress"
	"protolab/labs"
)

const reportExercise = `id: rep-ex
title: {en: Report exercise, fr: Exercice du rapport}
deadline: 2030-01-01T00:00:00Z
vars:
  word: {one_of: [alpha, beta, gamma, delta, epsilon, zeta, eta, theta]}
services:
  dns: {use: dns}
tasks:
  - use: dns/mx
    points: 2
  - id: word
    title: Ask for {var.word}.lab.test
    points: 3
    check: {event: dns.query, where: {qname: "{var.word}.lab.test."}}
  - use: dns/txt-secret
    required: false
`

var (
	beforeDeadline = time.Date(2029, 12, 31, 10, 0, 0, 0, time.UTC)
	afterDeadline  = time.Date(2030, 1, 2, 9, 30, 0, 0, time.UTC)
)

// reportState writes the exercise and a state directory where it was run,
// with the given ticks: learner -> task -> time.
func reportState(t *testing.T, ticks map[string]map[string]time.Time) (state, file string) {
	t.Helper()
	dir := t.TempDir()
	file = filepath.Join(dir, "rep.yaml")
	if err := os.WriteFile(file, []byte(reportExercise), 0o600); err != nil {
		t.Fatal(err)
	}
	state = filepath.Join(dir, "state")
	s, err := progress.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetMeta("last_lab", "rep-ex"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta("last_lab_file", file); err != nil {
		t.Fatal(err)
	}
	for learner, tasks := range ticks {
		for task, at := range tasks {
			if _, err := s.MarkDoneBy("rep-ex", learner, task, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	return state, file
}

// report runs lab report in this process.
func report(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb strings.Builder
	code := run(append([]string{"report"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

// The local learner did mx in time and word after the deadline: done, but
// late and worth nothing; the optional txt-secret is not done. Every format
// says so, and is read back by its own parser.
func TestReportFormats(t *testing.T) {
	t.Setenv("LAB_LEARNER", "alice")
	state, _ := reportState(t, map[string]map[string]time.Time{
		progress.LocalLearner: {"mx": beforeDeadline, "word": afterDeadline},
	})
	want := []ReportRow{
		{Learner: "alice", Task: "mx", Done: true, When: "2029-12-31T10:00:00Z", Points: 2, Possible: 2, Required: true},
		{Learner: "alice", Task: "word", Done: true, When: "2030-01-02T09:30:00Z", Points: 0, Possible: 3, Required: true, Late: true},
		{Learner: "alice", Task: "txt-secret", Possible: 1},
	}
	tests := []struct {
		format string
		check  func(t *testing.T, out string)
	}{
		{"json", func(t *testing.T, out string) {
			var r Report
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			if r.Lab != "rep-ex" || r.Title != "Report exercise" || r.Deadline != "2030-01-01T00:00:00Z" || r.Order != "free" || !r.Complete || len(r.Learners) != 1 {
				t.Fatalf("report: %+v", r)
			}
			l := r.Learners[0]
			if l.Learner != "alice" || l.Done != 2 || l.Total != 3 || l.Points != 2 || l.Possible != 6 || !l.Complete {
				t.Fatalf("learner: %+v", l)
			}
			for i := range l.Tasks {
				l.Tasks[i].Title = ""
			}
			if !reflect.DeepEqual(l.Tasks, want) {
				t.Fatalf("rows:\n got %+v\nwant %+v", l.Tasks, want)
			}
		}},
		{"csv", func(t *testing.T, out string) {
			recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 4 || !reflect.DeepEqual(recs[0], reportCSVHeader) {
				t.Fatalf("records: %q", recs)
			}
			if got := recs[2]; got[0] != "alice" || got[1] != "word" || !strings.HasPrefix(got[2], "Ask for ") || got[3] != "true" || got[4] != "2030-01-02T09:30:00Z" || got[5] != "0" || got[6] != "3" || got[7] != "true" || got[8] != "true" {
				t.Fatalf("the late row: %q", got)
			}
			if got := recs[3]; got[3] != "false" || got[4] != "" || got[7] != "false" {
				t.Fatalf("the optional row: %q", got)
			}
		}},
		{"junit", func(t *testing.T, out string) {
			var s junitSuites
			if err := xml.Unmarshal([]byte(out), &s); err != nil {
				t.Fatal(err)
			}
			if s.Name != "rep-ex" || s.Tests != 3 || s.Failures != 0 || s.Skipped != 1 || len(s.Suites) != 1 {
				t.Fatalf("testsuites: %+v", s)
			}
			suite := s.Suites[0]
			if suite.Name != "alice" || len(suite.Cases) != 3 || suite.Cases[2].Skipped == nil || suite.Cases[0].Failure != nil {
				t.Fatalf("testsuite: %+v", suite)
			}
			if !strings.Contains(suite.Cases[1].SystemOut, "done late at 2030-01-02T09:30:00Z") {
				t.Fatalf("the late case: %+v", suite.Cases[1])
			}
			if !reflect.DeepEqual(suite.Properties[1], junitProperty{Name: "points", Value: "2/6"}) {
				t.Fatalf("properties: %+v", suite.Properties)
			}
		}},
		{"table", func(t *testing.T, out string) {
			for _, w := range []string{"Report exercise (rep-ex) — deadline 2030-01-01T00:00:00Z", "LEARNER", "late  2030-01-02T09:30:00Z  0/3", "alice: 2/3 tasks, 2/6 points — complete"} {
				if !strings.Contains(out, w) {
					t.Errorf("the table lacks %q:\n%s", w, out)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			out, stderr, code := report(t, "--format", tt.format, "--state", state, "--lang", "en")
			if code != 0 {
				t.Fatalf("exit %d, want 0 (every required task done, one late)\n%s%s", code, out, stderr)
			}
			tt.check(t, out)
		})
	}
}

// A required task not done: exit 1, and a failure in JUnit.
func TestReportIncomplete(t *testing.T) {
	t.Setenv("LAB_LEARNER", "alice")
	state, _ := reportState(t, map[string]map[string]time.Time{progress.LocalLearner: {"mx": beforeDeadline, "txt-secret": beforeDeadline}})
	out, _, code := report(t, "--format", "junit", "--state", state)
	var s junitSuites
	if code != 1 || xml.Unmarshal([]byte(out), &s) != nil || s.Failures != 1 || s.Suites[0].Cases[1].Failure == nil {
		t.Fatalf("exit %d, want 1 and one failure:\n%s", code, out)
	}
	out, _, code = report(t, "--state", state)
	if code != 1 || !strings.Contains(out, "alice: 2/3 tasks, 3/6 points — incomplete: to do word") {
		t.Fatalf("table: exit %d\n%s", code, out)
	}
}

// Progress kept per learner (as a classroom will): one suite and one set of
// rows per learner, each with the titles of their own variables.
func TestReportLearners(t *testing.T) {
	t.Setenv("LAB_LEARNER", "alice")
	state, file := reportState(t, map[string]map[string]time.Time{
		"bob":   {"mx": beforeDeadline, "word": beforeDeadline},
		"carol": {"mx": beforeDeadline},
	})
	out, _, code := report(t, "--format", "json", "--state", state)
	var r Report
	if code != 1 || json.Unmarshal([]byte(out), &r) != nil || len(r.Learners) != 2 || r.Complete {
		t.Fatalf("exit %d, want 1 (carol is not done):\n%s", code, out)
	}
	reg := catalog.New()
	for _, l := range r.Learners {
		lab, err := labs.LoadExercise(file, l.Learner, reg)
		if err != nil {
			t.Fatal(err)
		}
		word, _ := lab.Task("word")
		if l.Tasks[1].Title != word.Title.In("en") || l.Complete != (l.Learner == "bob") {
			t.Errorf("learner %s: title %q, want %q; complete %v", l.Learner, l.Tasks[1].Title, word.Title.In("en"), l.Complete)
		}
	}
	tests := []struct {
		learner string
		code    int
		stderr  string
	}{
		{"bob", 0, ""},
		{"carol", 1, ""},
		{"dave", 1, "No progress is recorded for learner dave"},
	}
	for _, tt := range tests {
		out, stderr, code := report(t, "--format", "csv", "--learner", tt.learner, "--state", state)
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if code != tt.code || err != nil || len(recs) != 4 || recs[1][0] != tt.learner || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("--learner %s: exit %d (want %d), stderr %q, records %q", tt.learner, code, tt.code, stderr, recs)
		}
	}
}

func TestReportUsage(t *testing.T) {
	t.Setenv("LAB_LEARNER", "alice")
	empty := filepath.Join(t.TempDir(), "state")
	_, file := reportState(t, nil)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"format", []string{"--format", "xml"}, 2, `--format "xml": choose table, json, csv, junit`},
		{"lab and exercise", []string{"--lab", "dns", "--exercise", file}, 2, "not both"},
		{"nothing run", nil, 2, "no lab has been run with the state directory"},
		{"unknown lab", []string{"--lab", "nope"}, 2, "--lab nope: no built-in lab has this id"},
		{"bad learner", []string{"--learner", "no body"}, 2, `--learner: learner "no body"`},
		{"broken exercise", []string{"--exercise", filepath.Join(t.TempDir(), "none.yaml")}, 2, "cannot read the exercise file"},
		{"a built-in lab never run", []string{"--lab", "dns"}, 1, ""},
		{"an exercise never run", []string{"--exercise", file}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := report(t, append(tt.args, "--state", empty)...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Fatalf("lab report created the state directory: %v", err)
	}
}
