package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"protolab/internal/progress"
	"protolab/internal/runner"
	"protolab/internal/sandbox"
	"protolab/internal/service"
	"protolab/internal/termview"
	"protolab/labs"
)

type startOptions struct {
	labs     []string
	file     string
	exercise string
	lang     string
	bind     string
	ports    string
	port     []string
	web      string
	keep     int
	sandbox  bool
	dhcpIf   string
}

func (c *cli) startCmd() *cobra.Command {
	opts := &startOptions{}
	cmd := &cobra.Command{
		Use:   "start <lab> | --labs ID,ID... | --file FILE | --exercise FILE",
		Short: "Run a lab in the foreground until Ctrl-C",
		Long: `Start the lab's servers, print where they listen, and tick the tasks live
as you do them with the real tools. Ctrl-C (or SIGTERM) stops every server and
keeps your progress for next time.`,
		Example: `  lab start dns
  lab start dns --lang fr
  lab start dns --ports standard           # DNS on port 53 (needs root or CAP_NET_BIND_SERVICE)
  lab start dns --port dns=5353 --web 127.0.0.1:9090
  lab start --labs dns,tcpip               # two labs at once: the lab dns-tcpip (lab start dns-tcpip resumes it)
  lab start --file my-lab.yaml
  lab start --exercise my-exercise.yaml    # then: lab report
  lab start dhcp --sandbox                 # a virtual LAN on Linux; then: lab shell`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runStart(cmd.Context(), labArg(args), opts)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&opts.labs, "labs", nil, "run several built-in labs at once, as one lab: ids separated by commas (dns,tcpip); its id is theirs joined by dashes, in this order")
	f.StringVar(&opts.file, "file", "", "run a lab from a file (an instructor's own lab) instead of a built-in one")
	f.StringVar(&opts.exercise, "exercise", "", "run an exercise file (order, deadline, your own variables; results with lab report)")
	f.StringVar(&opts.lang, "lang", "", "language of the lesson, tasks and hints: fr or en (default from $LANG)")
	f.StringVar(&opts.bind, "bind", "127.0.0.1", "address the servers listen on")
	f.StringVar(&opts.ports, "ports", runner.PortsHigh, "port set: high (unprivileged: DNS 1053...), standard (DNS 53...) or auto (free ports)")
	f.StringArrayVar(&opts.port, "port", nil, "set one listener's port, NAME=PORT (e.g. dns=5353; 0 picks a free port); repeatable")
	f.StringVar(&opts.web, "web", "127.0.0.1:8080", "address of the web console and its API")
	f.IntVar(&opts.keep, "journal", 10000, "how many events the journal keeps (older ones are pruned)")
	f.BoolVar(&opts.sandbox, "sandbox", false, "run the servers on a virtual lab network (Linux): the lab server at 192.0.2.1 on standard ports, "+
		"and a learner side (interface lab0) that `lab shell` opens a shell in")
	f.StringVar(&opts.dhcpIf, "dhcp-interface", "", "let the DHCP server answer on this real interface (port 67); only on a network of your own")
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if opts.dhcpIf != "" && opts.sandbox {
			return usagef("--dhcp-interface and --sandbox do not go together: in the lab network DHCP answers on its own link")
		}
		if !opts.sandbox {
			return nil
		}
		if cmd.Flags().Changed("bind") {
			return usagef("--bind has no meaning with --sandbox: the servers listen on the lab server's addresses (192.0.2.1...)")
		}
		if !cmd.Flags().Changed("ports") {
			opts.ports = runner.PortsStandard // nothing else listens in the lab network
		}
		return nil
	}
	return cmd
}

func (c *cli) runStart(ctx context.Context, id string, opts *startOptions) error {
	// A running lab is a server: trade a little memory for less time in the
	// garbage collector (unless GOGC says otherwise).
	if c.getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	lang, err := c.lang(opts.lang)
	if err != nil {
		return err
	}
	var lab *labs.Lab
	if len(opts.labs) > 0 {
		if id != "" || opts.file != "" || opts.exercise != "" {
			return usagef("give a lab name, --labs ID,ID..., --file FILE or --exercise FILE: one of them")
		}
		lab, err = c.loadLabs(opts.labs)
	} else {
		lab, err = c.loadLabOrExercise(id, opts.file, opts.exercise)
	}
	if err != nil {
		return err
	}
	overrides, err := checkServerFlags(lab, opts.ports, opts.keep, opts.port, opts.bind, opts.web)
	if err != nil {
		return err
	}
	dir, err := c.state()
	if err != nil {
		return err
	}
	file := ""
	if opts.exercise != "" {
		opts.file = opts.exercise // run and recorded like a lab file
	}
	if opts.file != "" {
		if file, err = filepath.Abs(opts.file); err != nil {
			return err
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	ro := runner.Options{Lab: lab, Lang: lang, Bind: opts.bind, Ports: opts.ports, PortOverrides: overrides,
		Web: opts.web, StateDir: dir, LabFile: file, Retention: opts.keep}
	if opts.dhcpIf != "" {
		if err := c.checkDHCPInterface(lab, opts, overrides); err != nil {
			return err
		}
		ro.Interface = opts.dhcpIf
	}
	if opts.sandbox {
		if !sandbox.Supported() {
			return sandbox.ErrUnsupported
		}
		ro.Network = labNetwork(lab)
	}
	running, err := runner.Start(ctx, ro)
	if err != nil {
		return c.explainStartError(err, &ro)
	}
	c.printHeader(running, dir, lang)
	c.printExercise(lab, lang)
	c.watch(ctx, running)

	fmt.Fprintln(c.stdout, "\n"+tr(lang, "Stopping…", "Arrêt…"))
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := running.Close(sctx); err != nil {
		return fmt.Errorf("stopping the lab: %w", err)
	}
	st := running.Status()
	fmt.Fprintf(c.stdout, tr(lang,
		"Stopped. %d/%d tasks done; progress is kept in %s (lab start %s picks it up again).\n",
		"Arrêté. %d/%d tâches faites ; la progression est gardée dans %s (lab start %s la reprend).\n"),
		st.Done, st.Total, dir, startArg(lab, opts.file))
	return nil
}

// checkDHCPInterface accepts --dhcp-interface for a lab with a DHCP server
// and an interface that exists, puts DHCP on port 67 unless --port says
// otherwise, and warns: a second DHCP server on a real network harms its
// users.
func (c *cli) checkDHCPInterface(lab *labs.Lab, opts *startOptions, overrides map[string]int) error {
	has := false
	for _, s := range lab.Services {
		has = has || s.Name == "dhcp"
	}
	if !has {
		return usagef("--dhcp-interface: lab %s has no DHCP server", lab.ID)
	}
	if _, err := net.InterfaceByName(opts.dhcpIf); err != nil {
		return usagef("--dhcp-interface %q: no such interface here (ip link lists them)", opts.dhcpIf)
	}
	if _, ok := overrides["dhcp"]; !ok {
		overrides["dhcp"] = 67
	}
	fmt.Fprintf(c.stderr, "Warning: the lab's DHCP server answers on %s. A second DHCP server on a real network hands out wrong\n"+
		"addresses to its users: use this only on a network of your own (a lab switch, a virtual network).\n", opts.dhcpIf)
	return nil
}

// labNetwork builds the lab network for a lab: in a lab with a DHCP server
// the learner's lab0 waits for DHCP to get an IPv4 address.
func labNetwork(lab *labs.Lab) func(context.Context, string) (runner.Network, error) {
	return func(ctx context.Context, dir string) (runner.Network, error) {
		noV4 := false
		for _, s := range lab.Services {
			noV4 = noV4 || s.Name == "dhcp"
		}
		sb, err := sandbox.Start(ctx, sandbox.Options{Dir: dir, NoIPv4: noV4})
		if err != nil {
			return nil, err
		}
		return sb, nil
	}
}

func startArg(lab *labs.Lab, file string) string {
	if file != "" && lab.Exercise != nil {
		return "--exercise " + file
	}
	if file != "" {
		return "--file " + file
	}
	return lab.ID
}

// checkServerFlags checks the flags lab start and lab serve share (the port
// set, the journal size, --port values, the bind and web addresses) and
// returns the --port overrides.
func checkServerFlags(lab *labs.Lab, ports string, keep int, port []string, bind, web string) (map[string]int, error) {
	switch ports {
	case runner.PortsHigh, runner.PortsStandard, runner.PortsAuto:
	default:
		return nil, usagef("--ports %q: choose high, standard or auto", ports)
	}
	if keep < 1 {
		return nil, usagef("--journal %d: keep at least 1 event", keep)
	}
	overrides, err := parsePortFlags(port, lab)
	if err != nil {
		return nil, err
	}
	if net.ParseIP(bind) == nil {
		return nil, usagef("--bind %q: give an IP address such as 127.0.0.1 or ::1", bind)
	}
	if _, _, err := net.SplitHostPort(web); err != nil {
		return nil, usagef("--web %q: give an address such as 127.0.0.1:8080", web)
	}
	return overrides, nil
}

// parsePortFlags reads --port NAME=PORT values, checking the names against
// the lab's listeners.
func parsePortFlags(vals []string, lab *labs.Lab) (map[string]int, error) {
	known := map[string]bool{}
	var names []string
	for _, l := range lab.Listeners() {
		known[l.Name] = true
		names = append(names, l.Name)
	}
	sort.Strings(names)
	out := map[string]int{}
	for _, v := range vals {
		name, p, ok := strings.Cut(v, "=")
		port, err := strconv.Atoi(p)
		if !ok || err != nil || port < 0 || port > 65535 {
			return nil, usagef("--port %q: write NAME=PORT, e.g. --port dns=5353", v)
		}
		if !known[name] {
			return nil, usagef("--port %q: this lab has no listener %q (its listeners: %s)", v, name, strings.Join(names, ", "))
		}
		out[name] = port
	}
	return out, nil
}

// explainStartError turns a start failure into advice.
func (c *cli) explainStartError(err error, ro *runner.Options) error {
	if be, ok := service.AsBindError(err); ok {
		_, port, _ := net.SplitHostPort(be.Addr)
		advice := fmt.Sprintf("choose another port with --port %s=PORT, or --ports auto for free ports", be.Listener)
		if errors.Is(err, syscall.EACCES) {
			advice = fmt.Sprintf("ports below 1024 need root or CAP_NET_BIND_SERVICE; use --ports high (the default) or --port %s=PORT", be.Listener)
		}
		reason := "it is already in use"
		if !errors.Is(err, syscall.EADDRINUSE) {
			reason = be.Err.Error()
		}
		return fmt.Errorf("cannot start %s on port %s/%s (%s): %s; %s", be.Service, port, be.Network, be.Addr, reason, advice)
	}
	var we *runner.WebError
	if errors.As(err, &we) {
		return fmt.Errorf("cannot start the web console on %s: %v; choose another address with --web ADDR (e.g. --web 127.0.0.1:0 for a free port)", we.Addr, we.Err)
	}
	var le *progress.LockedError
	if errors.As(err, &le) {
		return err
	}
	return err
}

func (c *cli) printHeader(l *runner.Lab, dir, lang string) {
	lab := l.Definition()
	w := c.stdout
	fmt.Fprintf(w, "Protolab — %s (lab %s)\n", lab.Title.In(lang), lab.ID)
	if s := lab.Summary.In(lang); s != "" {
		fmt.Fprintf(w, "%s\n", s)
	}
	fmt.Fprintln(w)
	label := map[string]string{"fr": "Serveurs :", "en": "Servers:"}[lang]
	fmt.Fprintln(w, label)
	// One line per listener: "smtp  tcp 127.0.0.1:2525", "dns  udp+tcp 127.0.0.1:1053".
	for _, s := range lab.Services {
		for _, li := range s.Spec.Listeners {
			var nets []string
			addr := ""
			for _, e := range l.Endpoints() {
				if e.Service == s.Name && e.Listener == li.Name {
					nets = append(nets, e.Network)
					addr = e.Addr
				}
			}
			if addr != "" {
				fmt.Fprintf(w, "  %-11s %-7s %s\n", li.Name, strings.Join(nets, "+"), addr)
			}
		}
	}

	if creds := l.Credentials(); len(creds) > 0 {
		fmt.Fprintln(w, tr(lang, "Accounts:", "Comptes :"))
		uw := 0
		for _, c := range creds {
			uw = max(uw, len(c.User)+len(c.Secret)+3)
		}
		for _, c := range creds {
			who := c.User
			if c.Secret != "" {
				who += " / " + c.Secret
			}
			line := fmt.Sprintf("  %-10s %-*s", c.Kind, uw, who)
			if c.Note != "" {
				line += "   (" + c.Note + ")"
			}
			fmt.Fprintln(w, line)
		}
	}
	if l.Sandboxed() {
		fmt.Fprintln(w, tr(lang,
			"Lab network: the lab server is 192.0.2.1 (rtr1, mail, ns1, www.lab.test); your side is the interface lab0.\n"+
				"  Open a shell there with:  lab shell      (one command: lab shell -c 'dig www.lab.test')",
			"Réseau du labo : le serveur du labo est 192.0.2.1 (rtr1, mail, ns1, www.lab.test) ; votre côté est l'interface lab0.\n"+
				"  Ouvrez-y un shell avec :  lab shell      (une commande : lab shell -c 'dig www.lab.test')"))
		for _, s := range lab.Services {
			if s.Name == "dhcp" {
				fmt.Fprintln(w, tr(lang,
					"  lab0 has no IPv4 address yet: ask the lab's DHCP server for one (in lab shell: udhcpc -i lab0).",
					"  lab0 n'a pas encore d'adresse IPv4 : demandez-en une au serveur DHCP du labo (dans lab shell : udhcpc -i lab0)."))
			}
		}
	}
	if lang == "fr" {
		fmt.Fprintf(w, "Console web : %s/\n", l.WebURL())
		fmt.Fprintf(w, "État :        %s\n", dir)
		fmt.Fprintf(w, "Leçon :       lab lesson %s --lang fr\n\n", lab.ID)
	} else {
		fmt.Fprintf(w, "Web console: %s/\n", l.WebURL())
		fmt.Fprintf(w, "State:       %s\n", dir)
		fmt.Fprintf(w, "Lesson:      lab lesson %s\n\n", lab.ID)
	}
}

// watch shows the task list live until ctx ends: redrawn in place on a
// terminal, one line per change when piped.
func (c *cli) watch(ctx context.Context, l *runner.Lab) {
	tty, width := terminal(c.stdout)
	if !tty {
		p := termview.NewPrinter(c.stdout)
		st := l.Status()
		idw := 0
		for _, t := range st.Tasks {
			idw = max(idw, len(t.ID))
		}
		for _, t := range st.Tasks {
			fmt.Fprintln(c.stdout, termview.TaskLine(t, idw))
		}
		p.Update(st)
		for {
			select {
			case <-ctx.Done():
				return
			case <-l.Changed():
				p.Update(l.Status())
			}
		}
	}
	sub := l.Subscribe(256)
	defer l.Unsubscribe(sub)
	brief := briefs(l.Definition())
	var recent []string
	painter := termview.NewPainter(c.stdout)
	paint := func() {
		_, width = terminal(c.stdout)
		painter.Paint(termview.Lines(l.Status(), recent, width))
	}
	paint()
	throttle := time.NewTicker(100 * time.Millisecond)
	defer throttle.Stop()
	dirty := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.Changed():
			dirty = true
		case e, ok := <-sub.C():
			if !ok {
				return
			}
			recent = append(recent, termview.EventLine(e, brief[e.Kind]))
			if len(recent) > 5 {
				recent = recent[len(recent)-5:]
			}
			dirty = true
		case <-throttle.C:
			if dirty {
				paint()
				dirty = false
			}
		}
	}
}

func briefs(lab *labs.Lab) map[string][]string {
	out := map[string][]string{}
	for _, s := range lab.Services {
		for _, e := range s.Spec.Events {
			out[e.Kind] = e.Brief
		}
	}
	return out
}

// terminal reports whether w is a terminal, and its width.
func terminal(w io.Writer) (bool, int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width <= 0 {
		width = 80
	}
	return true, width
}
