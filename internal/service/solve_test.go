package service

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestStartSolve(t *testing.T) {
	actions := []Action{{Name: "x.do", Required: []string{"name"}, Optional: []string{"type"}}}
	tests := []struct {
		step Step
		want string
	}{
		{Step{Action: "x.do", Args: map[string]string{"name": "a", "type": "b"}}, ""},
		{Step{Action: "x.undo"}, `x: unknown action "x.undo" (known: x.do)`},
		{Step{Action: "x.do", Args: map[string]string{"type": "b"}}, `x: x.do: argument "name" is required`},
		{Step{Action: "x.do", Args: map[string]string{"name": "a", "port": "1", "zz": "2"}}, `x: x.do: unknown argument "port" (known: name, type)`},
	}
	for _, tt := range tests {
		ctx, cancel, a, err := StartSolve(context.Background(), "x", actions, tt.step, time.Minute)
		cancel()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: %v", tt.step, err)
		case tt.want == "":
			if _, ok := ctx.Deadline(); !ok || a.Name != "x.do" {
				t.Errorf("%+v: no deadline set or wrong action %q", tt.step, a.Name)
			}
		case err == nil || !strings.Contains(err.Error(), tt.want):
			t.Errorf("%+v: got %v, want %q", tt.step, err, tt.want)
		}
	}
	parent, cancelParent := context.WithTimeout(context.Background(), time.Hour)
	defer cancelParent()
	ctx, cancel, _, _ := StartSolve(parent, "x", actions, tests[0].step, time.Second)
	defer cancel()
	if d, _ := ctx.Deadline(); time.Until(d) < 30*time.Minute {
		t.Error("a deadline the caller set was shortened")
	}
}
