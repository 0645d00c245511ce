// Command lab runs Protolab's hands-on protocol labs: `lab start dns` brings
// up small servers with a lesson and tasks, and ticks each task as the
// learner really does it with the real tools (dig, swaks, curl...).
//
// Exit codes: 0 ok, 1 runtime failure, 2 usage error.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"protolab/internal/catalog"
	"protolab/internal/sandbox"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	if len(os.Args) > 1 && os.Args[1] == sandbox.HolderArg {
		// This process holds a lab network for `lab start --sandbox`.
		os.Exit(sandbox.RunHolder(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// cli is what every subcommand shares: output streams, the environment and
// the services compiled in. Nothing lives in package globals.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	reg            *catalog.Registry
	stateDir       string // --state
}

func run(args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr, getenv: os.Getenv, reg: catalog.New()}
	root := c.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	var ue *usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") {
		fmt.Fprintf(stderr, "lab: %v\n", err)
		if ue == nil || ue.hint {
			fmt.Fprintln(stderr, "Run 'lab --help' for usage.")
		}
		return 2
	}
	fmt.Fprintf(stderr, "lab: %v\n", err)
	return 1
}

// usageError is a mistake in how the command was called: exit code 2.
type usageError struct {
	err  error
	hint bool // add "run lab --help"
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...), hint: true}
}

// usageArgs turns cobra's argument checks into usage errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{err: fmt.Errorf("%s: %w", cmd.CommandPath(), err), hint: true}
		}
		return nil
	}
}

func (c *cli) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "lab",
		Short: "Hands-on protocol labs: learn DNS, mail, SNMP, DHCP by doing",
		Long: `Protolab runs small protocol servers on your machine with a lesson and tasks.
You work with the real tools (dig, swaks, curl, nc, snmpwalk...) and each task
ticks as the servers see you really do it.

Start with:  lab list   then   lab start dns`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{err: err, hint: true}
	})
	root.PersistentFlags().StringVar(&c.stateDir, "state", "", "state directory (default $LAB_STATE_DIR, else $XDG_STATE_HOME/lab, else ~/.local/state/lab)")
	root.AddCommand(c.listCmd(), c.startCmd(), c.statusCmd(), c.hintCmd(), c.resetCmd(), c.lessonCmd(), c.solveCmd(), c.shellCmd(), c.solveStepCmd(), c.dhcpClientCmd())
	root.AddCommand(c.quizCmd())
	root.AddCommand(c.explainCmd())
	root.AddCommand(c.healthzCmd(), c.classroomCmd())
	root.AddCommand(c.exerciseCmd(), c.reportCmd())
	root.AddCommand(c.serveCmd())
	root.CompletionOptions.HiddenDefaultCmd = true
	return root
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			if dirty {
				rev += "+dirty"
			}
			return "dev-" + rev
		}
	}
	return "dev"
}
