package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"protolab/internal/progress"
)

type resetOptions struct {
	lab string
}

func (c *cli) resetCmd() *cobra.Command {
	opts := &resetOptions{}
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Clear the progress, hints and event journal of the running lab (or of the last one run)",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, args []string) error { return c.runReset(opts) },
	}
	cmd.Flags().StringVar(&opts.lab, "lab", "", "the lab whose progress to clear, when none is running (default: the last one run)")
	return cmd
}

func (c *cli) runReset(opts *resetOptions) error {
	ri, client, err := c.running()
	if err == nil {
		if opts.lab != "" && opts.lab != ri.Lab {
			return usagef("lab %s is running, not %s; stop it first to reset %s", ri.Lab, opts.lab, opts.lab)
		}
		ctx, cancel := timeout()
		defer cancel()
		st, err := client.Reset(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Progress of lab %s cleared: 0/%d tasks done.\n", st.Lab, st.Total)
		return nil
	}
	dir, derr := c.state()
	if derr != nil {
		return derr
	}
	if _, rerr := progress.Running(dir); !errors.Is(rerr, progress.ErrNotRunning) {
		return err
	}
	store, err := progress.Open(dir)
	if err != nil {
		return err
	}
	defer store.Close()
	id := opts.lab
	if id == "" {
		last, ok, err := store.Meta("last_lab")
		if err != nil {
			return err
		}
		if !ok || last == "" {
			fmt.Fprintf(c.stdout, "Nothing to reset: no lab has been run with the state directory %s.\n", dir)
			return nil
		}
		id = last
	}
	if err := store.Reset(id); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Progress of lab %s cleared.\n", id)
	return nil
}
