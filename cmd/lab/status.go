package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"protolab/internal/api"
	"protolab/internal/progress"
	"protolab/internal/runner"
	"protolab/internal/termview"
)

type statusOptions struct {
	json bool
	lang string
}

func (c *cli) statusCmd() *cobra.Command {
	opts := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the tasks of the running lab (or the last one run) and which are done",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, args []string) error { return c.runStatus(opts) },
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, `print JSON: {"lab": ID, "tasks": [{"id", "title", "done", "done_at"}...], ...}`)
	cmd.Flags().StringVar(&opts.lang, "lang", "", "language of the titles when the lab is not running: fr or en")
	return cmd
}

func (c *cli) runStatus(opts *statusOptions) error {
	st, err := c.currentStatus(opts.lang)
	if err != nil {
		return err
	}
	if opts.json {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	state := "running"
	if !st.Running {
		state = "not running"
	}
	fmt.Fprintf(c.stdout, "%s (lab %s, %s) — %d/%d tasks, %d/%d points\n", st.Title, st.Lab, state, st.Done, st.Total, st.Points, st.MaxPoints)
	idw := 0
	for _, t := range st.Tasks {
		idw = max(idw, len(t.ID))
	}
	for _, t := range st.Tasks {
		fmt.Fprintln(c.stdout, termview.TaskLine(t, idw))
	}
	if st.Running {
		for _, e := range st.Endpoints {
			fmt.Fprintf(c.stdout, "  %s %s %s\n", e.Service, e.Network, e.Addr)
		}
		fmt.Fprintf(c.stdout, "  web %s/\n", st.Web)
	}
	return nil
}

// currentStatus asks the running lab; when none runs, it reads the saved
// progress of the last lab run with this state directory.
func (c *cli) currentStatus(langFlag string) (api.Status, error) {
	_, client, err := c.running()
	if err == nil {
		ctx, cancel := timeout()
		defer cancel()
		return client.Status(ctx)
	}
	dir, derr := c.state()
	if derr != nil {
		return api.Status{}, derr
	}
	if _, rerr := progress.Running(dir); !errors.Is(rerr, progress.ErrNotRunning) {
		return api.Status{}, err
	}
	store, oerr := progress.Open(dir)
	if oerr != nil {
		return api.Status{}, oerr
	}
	defer store.Close()
	id, ok, merr := store.Meta("last_lab")
	if merr != nil {
		return api.Status{}, merr
	}
	if !ok || id == "" {
		return api.Status{}, err
	}
	file, _, _ := store.Meta("last_lab_file")
	if file != "" {
		id = ""
	}
	lab, lerr := c.loadLab(id, file)
	if lerr != nil {
		return api.Status{}, lerr
	}
	lang, lerr := c.lang(langFlag)
	if lerr != nil {
		return api.Status{}, lerr
	}
	done, derr := store.Done(lab.ID)
	if derr != nil {
		return api.Status{}, derr
	}
	hints, herr := store.HintsShown(lab.ID)
	if herr != nil {
		return api.Status{}, herr
	}
	return runner.BuildStatus(lab, lang, done, hints), nil
}
