package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"protolab/internal/event"
	"protolab/internal/explain"
	"protolab/internal/progress"
)

type explainOptions struct {
	json    bool
	service string
	lang    string
}

func (c *cli) explainCmd() *cobra.Command {
	opts := &explainOptions{}
	cmd := &cobra.Command{
		Use:   "explain",
		Short: "Show your latest exchange with the lab layer by layer (OSI and TCP/IP)",
		Long: `Show the latest exchange between you and the lab's servers (a connection or a
datagram), layer by layer: application (protocol and data), transport (TCP or
UDP, ports, and for TCP the handshake and the close), network (IPv4 or IPv6,
addresses) and link (loopback, or the lab network's veth pair), with the OSI
and the TCP/IP model side by side. Only what the lab really knows is shown;
what the kernel keeps to itself is said to be hidden.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return c.runExplain(opts) },
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON: the layers, the facts and the events")
	cmd.Flags().StringVar(&opts.service, "service", "", "the latest exchange with this service (dns, echo, smtp...)")
	cmd.Flags().StringVar(&opts.lang, "lang", "", "fr or en (default: the running lab's language)")
	return cmd
}

// journalWindow is how many of the newest journal events are searched.
const journalWindow = 2000

func (c *cli) runExplain(opts *explainOptions) error {
	if opts.lang != "" {
		if _, err := c.lang(opts.lang); err != nil {
			return err
		}
	}
	if opts.service != "" {
		if _, ok := c.reg.Service(opts.service); !ok {
			return usagef("--service %q: no such service (known: %s)", opts.service, strings.Join(c.reg.Names(), ", "))
		}
	}
	dir, err := c.state()
	if err != nil {
		return err
	}
	x := explain.Context{}
	x.Brief, x.Networks = explain.SpecFuncs(c.reg.Service)
	var (
		published uint64
		started   time.Time
	)
	ri, client, err := c.running()
	switch {
	case err == nil:
		ctx, cancel := timeout()
		st, serr := client.Status(ctx)
		cancel()
		if serr != nil {
			return serr
		}
		x.Lab, x.Lang, x.Running, x.Sandboxed = ri.Lab, st.Lang, true, ri.Sandbox != ""
		x.Endpoints, published, started = st.Endpoints, st.Events, st.Started
	case errors.Is(err, progress.ErrNotRunning):
	default:
		return err
	}
	store, err := progress.Open(dir)
	if err != nil {
		return err
	}
	defer store.Close()
	if x.Lab == "" {
		id, ok, err := store.Meta("last_lab")
		if err != nil {
			return err
		}
		if !ok || id == "" {
			return fmt.Errorf("no lab has run with the state directory %s: start one with 'lab start tcpip', exchange something with it, then run 'lab explain'", dir)
		}
		x.Lab = id
	}
	if opts.lang != "" || x.Lang == "" {
		if x.Lang, err = c.lang(opts.lang); err != nil {
			return err
		}
	}
	evs, err := recentCaughtUp(store, x.Lab, published, started)
	if err != nil {
		return err
	}
	ex, ok := explain.Latest(evs, x, opts.service)
	if !ok {
		return explain.Nothing(x, opts.service)
	}
	if opts.json {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ex)
	}
	explain.Render(c.stdout, ex)
	return nil
}

// recentCaughtUp reads the newest events of the journal. The running lab
// writes its journal a quarter of a second at a time; when it has
// published events (published, since started) that the journal does not
// hold yet, it waits for them a little.
func recentCaughtUp(store *progress.Store, lab string, published uint64, started time.Time) ([]event.Event, error) {
	deadline := time.Now().Add(time.Second)
	for {
		evs, err := store.Recent(lab, journalWindow)
		if err != nil || published == 0 {
			return evs, err
		}
		if n := len(evs); n > 0 && evs[n-1].Seq >= published && !evs[n-1].Time.Before(started) {
			return evs, nil
		}
		if time.Now().After(deadline) {
			return evs, nil // some events were dropped under load: explain what is there
		}
		time.Sleep(50 * time.Millisecond)
	}
}
