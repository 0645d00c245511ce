package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// StartSolve is how a service's Solve begins: it finds the step's action
// among the service's actions, checks the step's arguments (every required
// one given, none unknown), and bounds ctx by timeout when it has no
// deadline. Errors name the service: "dns: dns.query: argument "name" is
// required".
func StartSolve(ctx context.Context, service string, actions []Action, step Step, timeout time.Duration) (context.Context, context.CancelFunc, Action, error) {
	i := slices.IndexFunc(actions, func(a Action) bool { return a.Name == step.Action })
	if i < 0 {
		names := make([]string, len(actions))
		for j, a := range actions {
			names[j] = a.Name
		}
		return ctx, func() {}, Action{}, fmt.Errorf("%s: unknown action %q (known: %s)", service, step.Action, strings.Join(names, ", "))
	}
	a := actions[i]
	for _, r := range a.Required {
		if step.Args[r] == "" {
			return ctx, func() {}, a, fmt.Errorf("%s: %s: argument %q is required", service, a.Name, r)
		}
	}
	known := append(slices.Clone(a.Required), a.Optional...)
	var unknown []string
	for k := range step.Args {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return ctx, func() {}, a, fmt.Errorf("%s: %s: unknown argument %q (known: %s)", service, a.Name, unknown[0], strings.Join(known, ", "))
	}
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}, a, nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, cancel, a, nil
}
