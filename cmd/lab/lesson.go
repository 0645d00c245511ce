package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"protolab/internal/api"
	"protolab/internal/lesson"
)

type lessonOptions struct {
	file   string
	lang   string
	reveal bool
	width  int
}

func (c *cli) lessonCmd() *cobra.Command {
	opts := &lessonOptions{}
	cmd := &cobra.Command{
		Use:   "lesson <lab> | --file FILE",
		Short: "Print a lab's lesson (questions linked to tasks are answered by doing them)",
		Args:  usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runLesson(labArg(args), opts)
		},
	}
	cmd.Flags().StringVar(&opts.file, "file", "", "a lab file instead of a built-in lab")
	cmd.Flags().StringVar(&opts.lang, "lang", "", "fr or en (default from $LANG)")
	cmd.Flags().BoolVar(&opts.reveal, "reveal", false, "show the right answers of the questions")
	cmd.Flags().IntVar(&opts.width, "width", 0, "wrap to this many columns (default: the terminal's width, else 80)")
	return cmd
}

func (c *cli) runLesson(id string, opts *lessonOptions) error {
	lang, err := c.lang(opts.lang)
	if err != nil {
		return err
	}
	lab, err := c.loadLab(id, opts.file)
	if err != nil {
		return err
	}
	doc, got := lab.Lesson(lang)
	if doc == nil {
		return fmt.Errorf("lab %s has no lesson", lab.ID)
	}
	if got != lang {
		fmt.Fprintf(c.stderr, "(this lesson is not written in %s; showing it in %s)\n", lang, got)
	}
	width := opts.width
	if width == 0 {
		if _, w := terminal(c.stdout); w > 0 {
			width = min(w, 100)
		}
	}
	// Mark linked tasks done when this lab is running (or was run).
	tasks := map[string]api.Task{}
	if st, err := c.currentStatus(lang); err == nil && st.Lab == lab.ID {
		for _, t := range st.Tasks {
			tasks[t.ID] = t
		}
	}
	return lesson.RenderText(c.stdout, doc, lesson.TextOptions{
		Width: width, Lang: got, Reveal: opts.reveal,
		TaskState: func(id string) (string, bool, bool) {
			if t, ok := tasks[id]; ok {
				return t.Title, t.Done, true
			}
			if t, ok := lab.Task(id); ok {
				return t.Title.In(got), false, true
			}
			return "", false, false
		},
	})
}
