package main

import (
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"protolab/internal/progress"
	"protolab/labs"
)

type reportOptions struct {
	learner  string
	format   string
	lab      string
	labs     []string
	exercise string
	lang     string
}

func (c *cli) reportCmd() *cobra.Command {
	opts := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Report who did which task, when, for how many points (exit 0 when every required task is done)",
		Long: `Read the saved progress of the state directory (the lab may be running or not)
and print one row per learner and task: learner, task, title, done, when (RFC 3339),
points earned and possible, required. The lab is the last one run with the state
directory, unless --lab or --exercise names it.

Solo, the learner is you: $LAB_LEARNER, else your login name. A task done after
an exercise's deadline is done but late, and earns no points.

Exit code: 0 when every required task is done (by every learner reported), 1
otherwise, 2 for a usage error: for scripts and CI.`,
		Example: `  lab report
  lab report --format junit > results.xml
  lab report --exercise dns-courrier.yaml --format csv
  lab report --lab dns --format json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return c.runReport(opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.learner, "learner", "", "report on this learner only")
	f.StringVar(&opts.format, "format", "table", "table, json, csv or junit (JUnit XML: one testsuite per learner, one testcase per task)")
	f.StringVar(&opts.lab, "lab", "", "the lab to report on (a built-in lab, labs run together as in dns-mail, or the id of the lab last run from a file)")
	f.StringSliceVar(&opts.labs, "labs", nil, "the built-in labs run together to report on, in the order they were given (dns,mail: the lab dns-mail)")
	f.StringVar(&opts.exercise, "exercise", "", "the exercise file to report on")
	f.StringVar(&opts.lang, "lang", "", "language of the titles: fr or en (default from $LANG)")
	return cmd
}

// Report is what lab report --format json prints.
type Report struct {
	Lab      string          `json:"lab"`
	Title    string          `json:"title"`
	Order    string          `json:"order,omitempty"`    // an exercise's: free or sequential
	Deadline string          `json:"deadline,omitempty"` // an exercise's, RFC 3339
	Complete bool            `json:"complete"`           // every required task done by every learner
	Learners []ReportLearner `json:"learners"`
}

// ReportLearner is one learner's results.
type ReportLearner struct {
	Learner  string      `json:"learner"`
	Done     int         `json:"done"`
	Total    int         `json:"total"`
	Points   int         `json:"points"`
	Possible int         `json:"possible"`
	Complete bool        `json:"complete"` // every required task done
	Tasks    []ReportRow `json:"tasks"`
}

// ReportRow is one learner's result on one task.
type ReportRow struct {
	Learner  string `json:"learner"`
	Task     string `json:"task"`
	Title    string `json:"title"`
	Done     bool   `json:"done"`
	When     string `json:"when"`     // RFC 3339, UTC; empty when not done
	Points   int    `json:"points"`   // earned: none when not done or late
	Possible int    `json:"possible"` // the task's points
	Required bool   `json:"required"`
	Late     bool   `json:"late"` // done after the deadline
}

var reportFormats = []string{"table", "json", "csv", "junit"}

func (c *cli) runReport(opts *reportOptions) error {
	if !slices.Contains(reportFormats, opts.format) {
		return usagef("--format %q: choose %s", opts.format, strings.Join(reportFormats, ", "))
	}
	if len(opts.labs) > 0 {
		if opts.lab != "" {
			return usagef("give --lab ID or --labs ID,ID..., not both")
		}
		opts.lab = labs.CombinedID(opts.labs)
	}
	if opts.lab != "" && opts.exercise != "" {
		return usagef("give --lab ID or --exercise FILE, not both")
	}
	if opts.learner != "" {
		if err := labs.CheckLearner(opts.learner); err != nil {
			return usagef("--learner: %v", err)
		}
	}
	lang, err := c.lang(opts.lang)
	if err != nil {
		return err
	}
	local, err := c.learner()
	if err != nil {
		return err
	}
	dir, err := c.state()
	if err != nil {
		return err
	}
	// Open the store only if there is one: a report creates nothing.
	var store *progress.Store
	if _, err := os.Stat(filepath.Join(dir, progress.DBName)); err == nil {
		if store, err = progress.Open(dir); err != nil {
			return err
		}
		defer store.Close()
	}
	load, err := c.reportLab(opts, store, dir)
	if err != nil {
		return err
	}
	lab, err := load(local)
	if err != nil {
		return err
	}
	var stored []string
	if store != nil {
		if stored, err = store.Learners(lab.ID); err != nil {
			return err
		}
	}
	ids := stored
	switch {
	case opts.learner != "" && slices.Contains(stored, opts.learner):
		ids = []string{opts.learner}
	case opts.learner != "" && opts.learner == local:
		ids = []string{progress.LocalLearner}
	case opts.learner != "":
		fmt.Fprintf(c.stderr, "No progress is recorded for learner %s in %s: every task is shown not done.\n", opts.learner, lab.ID)
		ids = []string{opts.learner}
	case len(ids) == 0:
		ids = []string{progress.LocalLearner}
	}

	r := Report{Lab: lab.ID, Title: lab.Title.In(lang), Complete: true}
	if x := lab.Exercise; x != nil {
		r.Order = string(x.Order)
		if !x.Deadline.IsZero() {
			r.Deadline = x.Deadline.Format(time.RFC3339)
		}
	}
	for _, id := range ids {
		name := id
		if id == progress.LocalLearner {
			name = local
		}
		ll := lab
		if len(lab.Vars) > 0 && name != local {
			// Titles hold the learner's own values.
			if ll, err = load(name); err != nil {
				return err
			}
		}
		done := map[string]time.Time{}
		if store != nil {
			if done, err = store.DoneBy(lab.ID, id); err != nil {
				return err
			}
		}
		rl := learnerReport(ll, name, lang, done)
		r.Complete = r.Complete && rl.Complete
		r.Learners = append(r.Learners, rl)
	}

	if err := writeReport(c.stdout, &r, opts.format); err != nil {
		return err
	}
	if !r.Complete {
		return &exitCodeError{code: 1}
	}
	return nil
}

// reportLab finds the lab to report on and returns how to load it for a
// learner (an exercise's titles depend on the learner's variables).
func (c *cli) reportLab(opts *reportOptions, store *progress.Store, dir string) (func(learner string) (*labs.Lab, error), error) {
	if opts.exercise != "" {
		return func(l string) (*labs.Lab, error) { return c.loadExerciseFor(opts.exercise, l) }, nil
	}
	var lastLab, lastFile string
	if store != nil {
		var err error
		if lastLab, _, err = store.Meta("last_lab"); err != nil {
			return nil, err
		}
		if lastFile, _, err = store.Meta("last_lab_file"); err != nil {
			return nil, err
		}
	}
	id := opts.lab
	switch {
	case id != "" && isBuiltinID(id):
		return func(string) (*labs.Lab, error) { return c.loadLab(id, "") }, nil
	case id != "" && (id != lastLab || lastFile == ""):
		return nil, usagef("--lab %s: no built-in lab has this id, and it is not the lab last run from a file here; for an exercise pass --exercise FILE (the labs are: %s)", id, strings.Join(labs.IDs(), ", "))
	case lastLab == "":
		return nil, usagef("no lab has been run with the state directory %s: pass --lab ID or --exercise FILE (or --state DIR)", dir)
	case lastFile == "":
		return func(string) (*labs.Lab, error) { return c.loadLab(lastLab, "") }, nil
	}
	return func(l string) (*labs.Lab, error) {
		lab, err := c.loadLab("", lastFile)
		if err != nil || lab.Exercise == nil || len(lab.Vars) == 0 {
			return lab, err
		}
		return c.loadExerciseFor(lastFile, l)
	}, nil
}

// isBuiltinID reports whether id names a built-in lab, or built-in labs
// run together (dns-mail).
func isBuiltinID(id string) bool {
	_, ok := labs.SplitID(id)
	return ok
}

// learnerReport is one learner's results on the lab's tasks.
func learnerReport(lab *labs.Lab, learner, lang string, done map[string]time.Time) ReportLearner {
	rl := ReportLearner{Learner: learner, Complete: true, Tasks: []ReportRow{}}
	for i := range lab.Tasks {
		t := &lab.Tasks[i]
		row := ReportRow{Learner: learner, Task: t.ID, Title: t.Title.In(lang), Possible: t.Points, Required: !t.Optional}
		if at, ok := done[t.ID]; ok {
			row.Done, row.When, row.Late = true, at.UTC().Format(time.RFC3339), lab.Late(at)
			row.Points = lab.Earned(t, at)
			rl.Done++
		} else if row.Required {
			rl.Complete = false
		}
		rl.Total++
		rl.Points += row.Points
		rl.Possible += row.Possible
		rl.Tasks = append(rl.Tasks, row)
	}
	return rl
}

func writeReport(w io.Writer, r *Report, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "csv":
		return writeReportCSV(w, r)
	case "junit":
		return writeReportJUnit(w, r)
	}
	return writeReportTable(w, r)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func writeReportTable(w io.Writer, r *Report) error {
	head := fmt.Sprintf("%s (%s)", r.Title, r.Lab)
	if r.Order == string(labs.OrderSequential) {
		head += " — tasks in order"
	}
	if r.Deadline != "" {
		head += " — deadline " + r.Deadline
	}
	fmt.Fprintln(w, head)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LEARNER\tTASK\tTITLE\tDONE\tWHEN\tPOINTS\tREQUIRED")
	for _, l := range r.Learners {
		for _, t := range l.Tasks {
			done := yesNo(t.Done)
			if t.Late {
				done = "late"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", t.Learner, t.Task, shorten(t.Title, 48), done, t.When, t.Points, t.Possible, yesNo(t.Required))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range r.Learners {
		state := "complete"
		if !l.Complete {
			var missing []string
			for _, t := range l.Tasks {
				if t.Required && !t.Done {
					missing = append(missing, t.Task)
				}
			}
			state = "incomplete: to do " + strings.Join(missing, ", ")
		}
		fmt.Fprintf(w, "%s: %d/%d tasks, %d/%d points — %s\n", l.Learner, l.Done, l.Total, l.Points, l.Possible, state)
	}
	return nil
}

// shorten cuts s to n runes with an ellipsis.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// reportCSVHeader is the first line of lab report --format csv.
var reportCSVHeader = []string{"learner", "task", "title", "done", "when", "points", "possible", "required", "late"}

func writeReportCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(reportCSVHeader); err != nil {
		return err
	}
	for _, l := range r.Learners {
		for _, t := range l.Tasks {
			if err := cw.Write([]string{t.Learner, t.Task, t.Title, strconv.FormatBool(t.Done), t.When,
				strconv.Itoa(t.Points), strconv.Itoa(t.Possible), strconv.FormatBool(t.Required), strconv.FormatBool(t.Late)}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// JUnit XML, as CI servers read it: one testsuite per learner, one testcase
// per task; a required task not done is a failure, an optional one skipped.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure"`
	Skipped   *junitMessage `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func writeReportJUnit(w io.Writer, r *Report) error {
	out := junitSuites{Name: r.Lab}
	for _, l := range r.Learners {
		s := junitSuite{Name: l.Learner, Properties: []junitProperty{
			{Name: "lab", Value: r.Lab},
			{Name: "points", Value: fmt.Sprintf("%d/%d", l.Points, l.Possible)},
		}}
		if r.Deadline != "" {
			s.Properties = append(s.Properties, junitProperty{Name: "deadline", Value: r.Deadline})
		}
		for _, t := range l.Tasks {
			tc := junitCase{Name: t.Task + ": " + t.Title, Classname: r.Lab + "." + l.Learner, Time: "0"}
			switch {
			case t.Done && t.Late:
				tc.SystemOut = fmt.Sprintf("done late at %s, after the deadline: 0/%d points", t.When, t.Possible)
			case t.Done:
				tc.SystemOut = fmt.Sprintf("done at %s: %d/%d points", t.When, t.Points, t.Possible)
			case t.Required:
				tc.Failure = &junitMessage{Message: "not done", Text: fmt.Sprintf("%s has not done the required task %s (%s).", l.Learner, t.Task, t.Title)}
				s.Failures++
			default:
				tc.Skipped = &junitMessage{Message: "optional, not done"}
				s.Skipped++
			}
			s.Cases = append(s.Cases, tc)
			s.Tests++
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Skipped += s.Skipped
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return errors.Join(err, enc.Close())
}
