package benchkit

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main runs a benchmark's run with a context that SIGINT and SIGTERM
// cancel, and exits with the code run returns.
func Main(run func(ctx context.Context) int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx)
	stop()
	os.Exit(code)
}

// ParseArgs parses a benchmark's command line args with fs, then checks
// the settings with validate. On an error it exits with status 2: fs has
// printed what was wrong with the flags; a validation error is printed as
// "NAME: ERROR", NAME being fs's name.
func ParseArgs(fs *flag.FlagSet, args []string, validate func() error) {
	if err := parseArgs(fs, args, validate); err != nil {
		if !errors.Is(err, errFlags) {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(2)
	}
}

// errFlags marks a command line fs could not parse.
var errFlags = errors.New("bad flags")

func parseArgs(fs *flag.FlagSet, args []string, validate func() error) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errFlags, err)
	}
	if err := validate(); err != nil {
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	return nil
}

// WorkDir makes a fresh temporary directory whose name starts with prefix.
// When keep is set it stays, and a line "NAME: work directory kept: DIR" on
// stderr says where; otherwise remove deletes it.
func WorkDir(name, prefix string, keep bool, stderr io.Writer) (dir string, remove func(), err error) {
	dir, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	if keep {
		fmt.Fprintln(stderr, name+": work directory kept:", dir)
		return dir, func() {}, nil
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}
