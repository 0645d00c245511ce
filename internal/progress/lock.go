package progress

import (
	"errors"
	"fmt"
)

// LockName is the lock file inside a state directory.
const LockName = "lock"

// LockedError says that another running lab holds the state directory.
type LockedError struct {
	Dir string
	Run RunInfo // the holder's run file, zero when it could not be read
}

func (e *LockedError) Error() string {
	if e.Run.PID > 0 {
		return fmt.Sprintf("a lab is already running with this state directory (lab %s, pid %d); stop it or pass --state DIR",
			e.Run.Lab, e.Run.PID)
	}
	return fmt.Sprintf("a lab is already running with this state directory (%s); stop it or pass --state DIR", e.Dir)
}

// ErrNotRunning says that no lab holds the state directory.
var ErrNotRunning = errors.New("no lab is running with this state directory; start one with `lab start <lab>` or pass --state DIR")

// Running returns the run file of the lab that holds dir. When no lab holds
// it, the error wraps ErrNotRunning, even if a run file is left over from a
// killed lab: such a file is stale.
//
// Running takes the lock in shared mode for an instant to learn whether it
// is free; a lab starting in that instant is told the directory is in use.
func Running(dir string) (RunInfo, error) {
	held, err := lockHeld(dir)
	if err != nil {
		return RunInfo{}, err
	}
	if !held {
		return RunInfo{}, fmt.Errorf("progress: %w", ErrNotRunning)
	}
	ri, err := ReadRunFile(dir)
	if err != nil {
		return RunInfo{}, fmt.Errorf("%w (the lab may still be starting)", err)
	}
	return ri, nil
}
