package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"protolab/labs"
)

type listOptions struct {
	lang string
	json bool
}

func (c *cli) listCmd() *cobra.Command {
	opts := &listOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the labs",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, args []string) error { return c.runList(opts) },
	}
	cmd.Flags().StringVar(&opts.lang, "lang", "", "language of the titles: fr or en")
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON")
	return cmd
}

type labEntry struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Services []string `json:"services"`
	Tasks    int      `json:"tasks"`
}

func (c *cli) runList(opts *listOptions) error {
	lang, err := c.lang(opts.lang)
	if err != nil {
		return err
	}
	var entries []labEntry
	for _, id := range labs.IDs() {
		lab, err := labs.LoadBuiltin(id, c.reg)
		if err != nil {
			return fmt.Errorf("built-in lab %s: %w", id, err)
		}
		e := labEntry{ID: lab.ID, Title: lab.Title.In(lang), Tasks: len(lab.Tasks), Services: []string{}}
		for _, s := range lab.Services {
			e.Services = append(e.Services, s.Name)
		}
		entries = append(entries, e)
	}
	if opts.json {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LAB\tTITLE\tSERVICES\tTASKS")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", e.ID, e.Title, strings.Join(e.Services, ", "), e.Tasks)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "\nStart one with: lab start <lab>   (its lesson: lab lesson <lab>)")
	return nil
}
