package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"protolab/internal/sandbox"
)

type shellOptions struct {
	command string
}

func (c *cli) shellCmd() *cobra.Command {
	opts := &shellOptions{}
	cmd := &cobra.Command{
		Use:   "shell [-c COMMAND]",
		Short: "Open a shell on the learner's side of the lab network (lab start --sandbox)",
		Long: `Open a shell in the learner's side of the running lab's network: the interface
lab0, the lab server at 192.0.2.1, and a resolver that asks the lab DNS, so
that dig www.lab.test, swaks --server mail.lab.test, snmpget rtr1.lab.test or
udhcpc -i lab0 work with their default ports. Your files are there as usual;
only the network is the lab's. With -c, run one command there and exit with
its exit code.`,
		Example: `  lab shell
  lab shell -c 'dig +short www.lab.test'
  lab shell -c 'udhcpc -i lab0 -f -q'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runShell(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.command, "command", "c", "", "run this command (with /bin/sh) instead of an interactive shell")
	return cmd
}

// exitCodeError ends lab with a program's own exit code, saying nothing.
type exitCodeError struct{ code int }

func (e *exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func (c *cli) runShell(ctx context.Context, opts *shellOptions) error {
	ri, _, err := c.running()
	if err != nil {
		return err
	}
	if ri.Sandbox == "" {
		return fmt.Errorf("lab %s runs without a lab network; stop it and start it again with: lab start %s --sandbox", ri.Lab, ri.Lab)
	}
	dir := filepath.Dir(ri.Sandbox)
	cwd, _ := os.Getwd()
	req := sandbox.ExecRequest{Env: append(os.Environ(), "LAB_SHELL=1"), Dir: cwd}
	interactive := opts.command == "" && term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd()))
	switch {
	case opts.command != "":
		req.Argv = []string{"/bin/sh", "-c", opts.command}
	case interactive:
		req.TTY = true
		req.Argv, req.Env = interactiveShell(dir, req.Env, c.getenv("SHELL"))
		fmt.Fprintf(c.stderr, "Lab network of lab %s: you are on lab0; the lab server is %s. Type exit to leave.\n", ri.Lab, sandbox.ServerIPv4)
	default: // commands on stdin
		req.Argv = []string{"/bin/sh"}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if !req.TTY {
		// Ctrl-C goes to the program (it shares the terminal); lab shell
		// waits for it to end.
		signal.Ignore(os.Interrupt, syscall.SIGQUIT)
		defer signal.Reset(os.Interrupt, syscall.SIGQUIT)
	}
	code, err := sandbox.Exec(ctx, dir, req, os.Stdin, os.Stdout, os.Stderr)
	if errors.Is(err, sandbox.ErrNoSandbox) {
		return fmt.Errorf("lab %s's network is gone (did the lab stop?); start it again with: lab start %s --sandbox", ri.Lab, ri.Lab)
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitCodeError{code: code}
	}
	return nil
}

// interactiveShell picks the learner's shell, and marks its prompt with
// "(lab)" so that the lab network's shell is not mistaken for another.
func interactiveShell(dir string, env []string, shell string) ([]string, []string) {
	if st, err := os.Stat(shell); shell == "" || !filepath.IsAbs(shell) || err != nil || st.IsDir() {
		shell = "/bin/sh"
		if _, err := os.Stat("/bin/bash"); err == nil {
			shell = "/bin/bash"
		}
	}
	if filepath.Base(shell) == "bash" {
		rc := filepath.Join(dir, "shellrc")
		text := "[ -f ~/.bashrc ] && . ~/.bashrc\nPS1=\"(lab) ${PS1:-\\\\u@\\\\h:\\\\w\\\\$ }\"\n"
		if os.WriteFile(rc, []byte(text), 0o644) == nil {
			return []string{shell, "--rcfile", rc, "-i"}, env
		}
	}
	return []string{shell, "-i"}, append(env, "PS1=(lab) $ ")
}
