//go:build !linux

package sandbox

import (
	"context"
	"os"

	"protolab/internal/service"
)

// Sandbox is a lab network; there is none outside Linux.
type Sandbox struct{}

// ErrNoSandbox means the running lab has no lab network.
var ErrNoSandbox = ErrUnsupported

// Supported reports whether this system can build a lab network at all.
func Supported() bool { return false }

// Start fails: the lab network needs Linux.
func Start(context.Context, Options) (*Sandbox, error) { return nil, ErrUnsupported }

func (*Sandbox) Net() service.Net  { return service.HostNet{} }
func (*Sandbox) Advertise() string { return "" }
func (*Sandbox) Interface() string { return "" }
func (*Sandbox) Socket() string    { return "" }
func (*Sandbox) Learner() string   { return "" }
func (*Sandbox) Close() error      { return nil }

// RunHolder does not exist outside Linux.
func RunHolder([]string) int { return 2 }

// Exec fails: the lab network needs Linux.
func Exec(context.Context, string, ExecRequest, *os.File, *os.File, *os.File) (int, error) {
	return 0, ErrUnsupported
}
