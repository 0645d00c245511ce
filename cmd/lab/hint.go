package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (c *cli) hintCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "hint <task>",
		Short: "Show the next hint for a task of the running lab (first a nudge, then the exact command)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE:  func(cmd *cobra.Command, args []string) error { return c.runHint(args[0]) },
	}
}

func (c *cli) runHint(task string) error {
	_, client, err := c.running()
	if err != nil {
		return err
	}
	ctx, cancel := timeout()
	defer cancel()
	h, err := client.Hint(ctx, task)
	if err != nil {
		return err
	}
	if h.Of == 0 {
		fmt.Fprintf(c.stdout, tr(h.Lang, "Task %s has no hints.\n", "La tâche %s n'a pas d'indice.\n"), task)
		return nil
	}
	fmt.Fprintf(c.stdout, tr(h.Lang, "Hint %d/%d for %s:\n  %s\n", "Indice %d/%d pour %s :\n  %s\n"), h.Level, h.Of, task, h.Text)
	if h.Level < h.Of {
		fmt.Fprintf(c.stdout, tr(h.Lang, "(run 'lab hint %s' again for the next one)\n", "(relancez « lab hint %s » pour le suivant)\n"), task)
	}
	return nil
}
