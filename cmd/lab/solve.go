package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"protolab/internal/api"
	"protolab/internal/progress"
	"protolab/internal/runner"
	"protolab/internal/sandbox"
	"protolab/internal/service"
	"protolab/labs"
)

type solveOptions struct {
	file     string
	exercise string
	timeout  time.Duration
}

func (c *cli) solveCmd() *cobra.Command {
	opts := &solveOptions{}
	cmd := &cobra.Command{
		Use:   "solve <lab> | --file FILE | --exercise FILE",
		Short: "Solve every task of a lab with built-in clients, proving it can be solved",
		Long: `Run each task's solve steps (from the lab file) as a learner's client would,
and check that the task ticks. With the lab running (same --state), it solves
that lab; otherwise it starts the lab on free ports in a temporary state
directory, solves it and stops it. Exit code 0 when every task ticked.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runSolve(labArg(args), opts)
		},
	}
	cmd.Flags().StringVar(&opts.file, "file", "", "a lab file instead of a built-in lab")
	cmd.Flags().StringVar(&opts.exercise, "exercise", "", "an exercise file (solved in its order, with your variables)")
	cmd.Flags().DurationVar(&opts.timeout, "timeout", 5*time.Second, "how long to wait for each task to tick")
	return cmd
}

func (c *cli) runSolve(id string, opts *solveOptions) error {
	lab, err := c.loadLabOrExercise(id, opts.file, opts.exercise)
	if err != nil {
		return err
	}
	var (
		status    func(context.Context) (api.Status, error)
		endpoints service.Endpoints
		network   string // the lab network's state directory, when sandboxed
	)
	ri, client, err := c.running()
	switch {
	case err == nil:
		if ri.Lab != lab.ID {
			return fmt.Errorf("lab %s is running with this state directory, not %s; stop it, or solve %s", ri.Lab, lab.ID, ri.Lab)
		}
		ctx, cancel := timeout()
		st, err := client.Status(ctx)
		cancel()
		if err != nil {
			return err
		}
		endpoints = st.Endpoints
		status = client.Status
		if ri.Sandbox != "" {
			network = filepath.Dir(ri.Sandbox)
		}
		fmt.Fprintf(c.stdout, "Solving the running lab %s (%s)\n", lab.ID, ri.API)
	case errors.Is(err, progress.ErrNotRunning):
		tmp, err := os.MkdirTemp("", "lab-solve-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		l, err := runner.Start(context.Background(), runner.Options{Lab: lab, Lang: "en", Ports: runner.PortsAuto, Web: "127.0.0.1:0", StateDir: tmp})
		if err != nil {
			return err
		}
		defer l.Close(context.Background())
		endpoints = l.Endpoints()
		status = func(context.Context) (api.Status, error) { return l.Status(), nil }
		fmt.Fprintf(c.stdout, "No lab running: started %s on free ports to solve it\n", lab.ID)
	default:
		return err
	}

	failed := 0
	for _, t := range lab.Tasks {
		if err := c.solveTask(lab, &t, endpoints, network, status, opts.timeout); err != nil {
			failed++
			fmt.Fprintf(c.stdout, "  ✗ %s: %v\n", t.ID, err)
			continue
		}
		fmt.Fprintf(c.stdout, "  ✓ %s\n", t.ID)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d tasks could not be solved", failed, len(lab.Tasks))
	}
	fmt.Fprintf(c.stdout, "All %d tasks solved.\n", len(lab.Tasks))
	return nil
}

func (c *cli) solveTask(lab *labs.Lab, t *labs.Task, eps service.Endpoints, network string, status func(context.Context) (api.Status, error), wait time.Duration) error {
	done := func() (bool, error) {
		ctx, cancel := timeout()
		defer cancel()
		st, err := status(ctx)
		if err != nil {
			return false, err
		}
		for _, x := range st.Tasks {
			if x.ID == t.ID {
				return x.Done, nil
			}
		}
		return false, fmt.Errorf("the running lab has no task %s", t.ID)
	}
	if ok, err := done(); err != nil || ok {
		return err
	}
	if len(t.Solve) == 0 {
		return errors.New("the lab file gives no solve steps for this task")
	}
	for _, step := range t.Solve {
		svc, ok := lab.ServiceFor(step.Action)
		if !ok {
			return fmt.Errorf("no service performs %s", step.Action)
		}
		var mine service.Endpoints
		for _, e := range eps {
			if e.Service == svc.Name {
				mine = append(mine, e)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var err error
		if network != "" {
			err = solveInNetwork(ctx, network, svc.Name, mine, step)
		} else {
			err = svc.Spec.Solve(ctx, mine, step)
		}
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", step.Action, err)
		}
	}
	deadline := time.Now().Add(wait)
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("solved, but the task did not tick within %s: its check does not match what the solve steps do", wait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// solveStepArg is the hidden command that performs one solve step; lab solve
// runs it in the learner's side of a lab network, where a learner's client
// would run.
const solveStepArg = "__solve-step"

// solveInNetwork performs a solve step from the learner's side of the lab
// network: the lab binary, run there, does it.
func solveInNetwork(ctx context.Context, dir, svc string, eps service.Endpoints, step service.Step) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	epsJSON, _ := json.Marshal(eps)
	stepJSON, _ := json.Marshal(step)
	null, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer null.Close()
	errOut, err := os.CreateTemp("", "lab-solve-")
	if err != nil {
		return err
	}
	defer os.Remove(errOut.Name())
	defer errOut.Close()
	code, err := sandbox.Exec(ctx, dir, sandbox.ExecRequest{
		Argv: []string{exe, solveStepArg, svc, string(stepJSON), string(epsJSON)},
		Env:  os.Environ(), Dir: "/",
	}, null, null, errOut)
	if err != nil {
		return err
	}
	if code != 0 {
		msg, _ := os.ReadFile(errOut.Name())
		return fmt.Errorf("in the lab network: %s", strings.TrimSpace(string(msg)))
	}
	return nil
}

func (c *cli) solveStepCmd() *cobra.Command {
	return &cobra.Command{
		Use:    solveStepArg + " SERVICE STEP-JSON ENDPOINTS-JSON",
		Hidden: true,
		Args:   cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, ok := c.reg.Service(args[0])
			if !ok || spec.Solve == nil {
				return fmt.Errorf("no service %q solves steps", args[0])
			}
			var step service.Step
			var eps service.Endpoints
			if err := json.Unmarshal([]byte(args[1]), &step); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(args[2]), &eps); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return spec.Solve(ctx, eps, step)
		},
	}
}
