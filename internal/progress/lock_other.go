//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package progress

import (
	"errors"
	"fmt"
)

// Lock would take the state directory's lock; this system has no flock, and
// labs run on Linux and macOS.
func Lock(dir string) (unlock func() error, err error) {
	return nil, fmt.Errorf("progress: lock state directory: %w", errors.ErrUnsupported)
}

func lockHeld(dir string) (bool, error) {
	return false, fmt.Errorf("progress: probe state directory lock: %w", errors.ErrUnsupported)
}
