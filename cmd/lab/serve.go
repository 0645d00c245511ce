package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"protolab/internal/runner"
	"protolab/labs"
)

type serveOptions struct {
	roster   string
	lab      string
	labs     []string
	exercise string
	lang     string
	bind     string
	ports    string
	port     []string
	web      string
	keep     int
	dhcpIf   string
}

func (c *cli) serveCmd() *cobra.Command {
	opts := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve --roster FILE (--lab ID | --labs ID,ID... | --exercise FILE)",
		Short: "Run one lab server for a whole class, with the instructor's live dashboard",
		Long: `Run a lab's servers once for every learner of the roster. Each event is
attributed to a learner by who did it: the learner's own account (each has a
mail account and an SNMPv3 user), else the client's address against the
roster's address (or what its host name resolves to at start, or what the lab's
DHCP server leased to the learner's MAC), else a DHCP request's MAC address or
host name. Each learner has their own progress, their own checker, their own
values of the lab's variables (their flag in the DNS, their weak community,
their word) and their own web console: the console shows the learner whose
address the browser comes from, and nobody else's. Events from no learner of
the roster are counted as unknown.

--labs runs several built-in labs at once, as one lab: every server of each
(a server two labs run is started once, as the lab listed first runs it), every
task of each (a task two labs share counts once; a task whose id is taken is
renamed LAB-TASK), and each lab's lesson in turn. The combination's id is the
labs' ids joined by dashes, in the order given: --labs dns,mail is the lab
dns-mail, whose progress is its own (mail,dns is another one). lab report --lab
dns-mail, or --labs dns,mail, reports on it.

The instructor's dashboard, at /instructor, shows the learners by the tasks,
live, each learner's timeline, and can reset a learner or export the grid. It is
guarded by a random token printed at start.

Progress and the event journal are kept in the state directory (SQLite, WAL):
a restart, even after kill -9, loses no tick. lab report lists every learner.`,
		Example: `  lab serve --roster roster.yaml --lab dns --bind 192.0.2.1 --ports standard --web 0.0.0.0:8080
  lab serve --roster roster.yaml --labs dns,mail,snmp     # three labs at once: the lab dns-mail-snmp
  lab serve --roster roster.yaml --exercise dns-courrier.yaml
  lab report --format csv`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runServe(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.roster, "roster", "", "the class's roster (YAML: class, learners with id, name, mac, address, host)")
	f.StringVar(&opts.lab, "lab", "", "the built-in lab the class works on")
	f.StringSliceVar(&opts.labs, "labs", nil, "built-in labs the class works on together: ids separated by commas (dns,mail), or the flag repeated; the order names the combination (dns-mail) and its progress")
	f.StringVar(&opts.exercise, "exercise", "", "the exercise (or lab) file the class works on; each learner gets their own variables")
	f.StringVar(&opts.lang, "lang", "", "language of the tasks and hints: fr or en (default from $LANG)")
	f.StringVar(&opts.bind, "bind", "127.0.0.1", "address the servers listen on")
	f.StringVar(&opts.ports, "ports", runner.PortsHigh, "port set: high (unprivileged: DNS 1053...), standard (DNS 53...) or auto (free ports)")
	f.StringArrayVar(&opts.port, "port", nil, "set one listener's port, NAME=PORT (e.g. dns=5353); repeatable")
	f.StringVar(&opts.web, "web", "127.0.0.1:8080", "address of the learners' consoles and the instructor's dashboard")
	f.IntVar(&opts.keep, "journal", 100000, "how many events the journal keeps, the whole class together (older ones are pruned)")
	f.StringVar(&opts.dhcpIf, "dhcp-interface", "", "let the DHCP server answer on this real interface (port 67); only on a network of your own")
	return cmd
}

func (c *cli) runServe(ctx context.Context, opts *serveOptions) error {
	if c.getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if opts.roster == "" {
		return usagef("--roster FILE is required: the class's learners (lab classroom compose writes one)")
	}
	given := 0
	for _, set := range []bool{opts.lab != "", len(opts.labs) > 0, opts.exercise != ""} {
		if set {
			given++
		}
	}
	if given != 1 {
		return usagef("give --lab ID or --exercise FILE: one of them (or --labs ID,ID... for several built-in labs at once)")
	}
	lang, err := c.lang(opts.lang)
	if err != nil {
		return err
	}
	src, err := os.ReadFile(opts.roster)
	if err != nil {
		return usagef("--roster: cannot read the roster: %v", err)
	}
	rost, err := parseRoster(src, opts.roster)
	if err != nil {
		return &usageError{err: fmt.Errorf("the roster has problems:\n%w", err)}
	}
	class := runner.ClassOptions{Class: rost.Class}
	for _, l := range rost.Learners {
		class.Learners = append(class.Learners, runner.Learner{ID: l.ID, Name: l.Name, MAC: l.MAC, Address: l.Address, Host: l.Host})
	}
	var lab *labs.Lab
	file := ""
	if opts.exercise != "" {
		if file, err = filepath.Abs(opts.exercise); err != nil {
			return err
		}
		// The class's own values (the local user's) serve the addresses of
		// no learner; each learner's checks, texts and servers have theirs.
		if lab, err = c.loadExerciseFor(opts.exercise, ""); err != nil {
			return err
		}
		class.Variant = func(learner string) (*labs.Lab, error) { return c.loadExerciseFor(opts.exercise, learner) }
	} else {
		if len(opts.labs) > 0 {
			lab, err = c.loadLabs(opts.labs)
		} else {
			lab, err = c.loadLab(opts.lab, "")
		}
		if err != nil {
			return err
		}
		// Each learner's servers hold the learner's own values of the
		// lab's variables (the secret TXT record, the weak community).
		// A lab without variables is the same for everyone: loaded once.
		if id := lab.ID; len(lab.LearnerValues()) > 0 {
			class.Variant = func(learner string) (*labs.Lab, error) { return labs.LoadIDFor(id, learner, c.reg) }
		}
	}
	overrides, err := checkServerFlags(lab, opts.ports, opts.keep, opts.port, opts.bind, opts.web)
	if err != nil {
		return err
	}
	dir, err := c.state()
	if err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	ro := runner.Options{Lab: lab, Lang: lang, Bind: opts.bind, Ports: opts.ports, PortOverrides: overrides,
		Web: opts.web, StateDir: dir, LabFile: file, Retention: opts.keep, Class: &class}
	if opts.dhcpIf != "" {
		so := &startOptions{dhcpIf: opts.dhcpIf}
		if err := c.checkDHCPInterface(lab, so, overrides); err != nil {
			return err
		}
		ro.Interface = opts.dhcpIf
	}
	running, err := runner.Start(ctx, ro)
	if err != nil {
		return c.explainStartError(err, &ro)
	}
	cl := running.Class()
	c.printHeader(running, dir, lang)
	name := rost.Class
	if name == "" {
		name = filepath.Base(opts.roster)
	}
	fmt.Fprintf(c.stdout, "Class %s: %d learners; each sees their own console at %s/ (from their own address).\n",
		name, len(rost.Learners), learnersURL(running.WebURL(), opts.web, opts.bind))
	var kinds []string
	for _, s := range running.Definition().Services {
		switch s.Name {
		case "mailstore":
			kinds = append(kinds, "a mail account")
		case "snmp":
			kinds = append(kinds, "an SNMPv3 user")
		}
	}
	if n := len(cl.Accounts()); n > 0 && len(kinds) > 0 {
		fmt.Fprintf(c.stdout, "Accounts: each learner has %s of their own (user = their id); their console\n"+
			"  shows them theirs, and the dashboard's export lists all %d.\n", strings.Join(kinds, " and "), n)
	}
	fmt.Fprintf(c.stdout, "Instructor dashboard: %s\n\n", cl.InstructorURL())
	c.watchClass(ctx, running, lang)

	fmt.Fprintln(c.stdout, "\n"+tr(lang, "Stopping…", "Arrêt…"))
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := running.Close(sctx); err != nil {
		return fmt.Errorf("stopping the lab: %w", err)
	}
	fmt.Fprintf(c.stdout, tr(lang,
		"Stopped. Every learner's progress is kept in %s (lab report lists it).\n",
		"Arrêté. La progression de chacun est gardée dans %s (lab report la liste).\n"), dir)
	return nil
}

// watchClass prints one line per learner whose progress changed, until ctx
// ends.
func (c *cli) watchClass(ctx context.Context, l *runner.Lab, lang string) {
	cl := l.Class()
	last := map[string]int{}
	for _, id := range cl.Learners() {
		st, _ := cl.LearnerStatus(id)
		last[id] = st.Done
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.Changed():
			for _, id := range cl.Learners() {
				st, _ := cl.LearnerStatus(id)
				if st.Done != last[id] {
					last[id] = st.Done
					fmt.Fprintf(c.stdout, tr(lang, "%s  %-16s %d/%d tasks done\n", "%s  %-16s %d/%d tâches faites\n"),
						time.Now().Format("15:04:05"), id, st.Done, st.Total)
				}
			}
		}
	}
}

// learnersURL is the consoles' address as the learners reach it: the lab's
// own, but with the servers' address (--bind) when the web server listens
// on every address (--web 0.0.0.0:8080, as in a classroom's container):
// the learners know the lab server by that address, not by loopback.
func learnersURL(local, web, bind string) string {
	host, port, err := net.SplitHostPort(web)
	if err != nil {
		return local
	}
	ip, err := netip.ParseAddr(host)
	if host != "" && (err != nil || !ip.IsUnspecified()) {
		return local
	}
	b, err := netip.ParseAddr(bind)
	if err != nil || b.IsUnspecified() || b.IsLoopback() {
		return local
	}
	if _, p, err := net.SplitHostPort(strings.TrimPrefix(local, "http://")); err == nil {
		port = p // the port the server got (web may say :0)
	}
	return "http://" + net.JoinHostPort(b.String(), port)
}
