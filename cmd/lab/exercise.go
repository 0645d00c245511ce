package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"protolab/labs"
)

// learner is the local learner: $LAB_LEARNER, else the login name, else
// "me" (labs.LocalLearner). A $LAB_LEARNER that is not a valid id is a
// usage error rather than silently another learner.
func (c *cli) learner() (string, error) {
	if s := c.getenv("LAB_LEARNER"); s != "" {
		if err := labs.CheckLearner(s); err != nil {
			return "", usagef("LAB_LEARNER: %v", err)
		}
	}
	return labs.LocalLearner(c.getenv), nil
}

// loadExercise loads an exercise file for the local learner. Problems in
// the file are usage errors (exit 2), each as file:line.
func (c *cli) loadExercise(file string) (*labs.Lab, error) {
	learner, err := c.learner()
	if err != nil {
		return nil, err
	}
	return c.loadExerciseFor(file, learner)
}

// loadExerciseFor loads an exercise file for a learner.
func (c *cli) loadExerciseFor(file, learner string) (*labs.Lab, error) {
	lab, err := labs.LoadExercise(file, learner, c.reg)
	if err != nil {
		var list labs.Errors
		if errors.As(err, &list) {
			return nil, &usageError{err: fmt.Errorf("the exercise has %d problem(s):\n%w", len(list), err)}
		}
		return nil, &usageError{err: err}
	}
	return lab, nil
}

// loadLabOrExercise loads a built-in lab, a lab file (--file) or an
// exercise file (--exercise): one of the three.
func (c *cli) loadLabOrExercise(id, file, exercise string) (*labs.Lab, error) {
	if exercise == "" {
		return c.loadLab(id, file)
	}
	if id != "" || file != "" {
		return nil, usagef("give a lab name, --file FILE or --exercise FILE: one of them")
	}
	return c.loadExercise(exercise)
}

// printExercise says, at lab start, what an exercise adds: who the learner
// is, the order and the deadline.
func (c *cli) printExercise(lab *labs.Lab, lang string) {
	x := lab.Exercise
	if x == nil {
		return
	}
	parts := []string{tr(lang, "learner ", "apprenant ") + lab.Learner}
	if lab.Sequential() {
		parts = append(parts, tr(lang, "tasks in order", "tâches dans l'ordre"))
	}
	if !x.Deadline.IsZero() {
		parts = append(parts, tr(lang, "deadline ", "échéance ")+x.Deadline.Format(time.RFC3339))
	}
	fmt.Fprintf(c.stdout, "%s %s — %s\n", tr(lang, "Exercise", "Exercice"), lab.ID, strings.Join(parts, " · "))
	fmt.Fprintln(c.stdout, tr(lang, "Your results: lab report", "Vos résultats : lab report"))
	fmt.Fprintln(c.stdout)
}

type exerciseCheckOptions struct {
	lang    string
	learner string
}

func (c *cli) exerciseCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exercise",
		Short: "Work on exercise files: an instructor's lab file with order, deadline, variables",
		Long: `An exercise is a lab file with a few more keys: order (free or sequential),
deadline, per-learner variables (vars:) and, per task, required. It can use the
built-in labs' services and tasks by reference. Check it with
'lab exercise check FILE', prove it can be solved with 'lab solve --exercise FILE',
run it with 'lab start --exercise FILE' and see the results with 'lab report'.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("lab exercise: say what to do: lab exercise check FILE")
		},
	}
	opts := &exerciseCheckOptions{}
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Check an exercise file: every problem as file:line, else a summary",
		Long: `Load the exercise file as 'lab start --exercise' would and report every problem
as file:line (exit 2). When there is none, print a summary: tasks, points, order,
deadline, services, variables (with the learner's values) and lessons (exit 0).`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return c.runExerciseCheck(args[0], opts) },
	}
	check.Flags().StringVar(&opts.lang, "lang", "", "language of the titles: fr or en (default from $LANG)")
	check.Flags().StringVar(&opts.learner, "learner", "", "draw the variables for this learner (default $LAB_LEARNER, else your login name)")
	cmd.AddCommand(check)
	return cmd
}

func (c *cli) runExerciseCheck(file string, opts *exerciseCheckOptions) error {
	lang, err := c.lang(opts.lang)
	if err != nil {
		return err
	}
	learner := opts.learner
	if learner == "" {
		if learner, err = c.learner(); err != nil {
			return err
		}
	} else if err := labs.CheckLearner(learner); err != nil {
		return usagef("--learner: %v", err)
	}
	lab, err := c.loadExerciseFor(file, learner)
	if err != nil {
		return err
	}
	x := lab.Exercise
	w := c.stdout
	fmt.Fprintf(w, "%s: exercise %s — %s\n", file, lab.ID, lab.Title.In(lang))
	order := "free (any task at any time)"
	if lab.Sequential() {
		order = "sequential (each task once the required ones before it are done)"
	}
	fmt.Fprintf(w, "  order:     %s\n", order)
	if x.Deadline.IsZero() {
		fmt.Fprintln(w, "  deadline:  none")
	} else {
		fmt.Fprintf(w, "  deadline:  %s (ticks after it are recorded late and earn no points)\n", x.Deadline.Format(time.RFC3339))
	}
	var svcs []string
	for _, s := range lab.Services {
		if s.From != "" {
			svcs = append(svcs, s.Name+" (as lab "+s.From+")")
		} else {
			svcs = append(svcs, s.Name)
		}
	}
	fmt.Fprintf(w, "  services:  %s\n", strings.Join(svcs, ", "))
	if len(lab.Vars) == 0 {
		fmt.Fprintln(w, "  variables: none")
	} else {
		var vals []string
		for _, v := range lab.Vars {
			vals = append(vals, v.Name+"="+lab.Values[v.Name])
		}
		fmt.Fprintf(w, "  variables: %s (for learner %s; each learner draws their own)\n", strings.Join(vals, ", "), lab.Learner)
	}
	var langs []string
	for _, l := range labs.Langs {
		if _, ok := lab.Lessons[l]; ok {
			langs = append(langs, l)
		}
	}
	if len(langs) == 0 {
		langs = []string{"none"}
	}
	fmt.Fprintf(w, "  lessons:   %s\n", strings.Join(langs, ", "))
	points, required, reqPoints := 0, 0, 0
	for _, t := range lab.Tasks {
		points += t.Points
		if !t.Optional {
			required++
			reqPoints += t.Points
		}
	}
	fmt.Fprintf(w, "  tasks:     %d (%d required), %d points (%d from required tasks)\n", len(lab.Tasks), required, points, reqPoints)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var noSolve []string
	for i, t := range lab.Tasks {
		req := "required"
		if t.Optional {
			req = "optional"
		}
		from := t.From
		if from == "" {
			from = "(own)"
		}
		fmt.Fprintf(tw, "    %d.\t%s\t%s\t%d pt\t%s\t%s\n", i+1, t.ID, from, t.Points, req, t.Title.In(lang))
		if len(t.Solve) == 0 {
			noSolve = append(noSolve, t.ID)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(noSolve) > 0 {
		fmt.Fprintf(w, "Warning: no solve steps for %s: lab solve --exercise cannot prove that they can be done.\n", strings.Join(noSolve, ", "))
	}
	fmt.Fprintf(w, "OK. Prove it can be solved: lab solve --exercise %s\n", file)
	return nil
}
