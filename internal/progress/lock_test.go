//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package progress

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLock(t *testing.T) {
	dir := t.TempDir()
	if _, err := Running(dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Running on a fresh directory = %v, want ErrNotRunning", err)
	}
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Held, but the run file is not written yet.
	if _, err := Running(dir); err == nil || errors.Is(err, ErrNotRunning) {
		t.Errorf("Running while locked without a run file = %v, want a read error", err)
	}
	// A second open file description in the same process conflicts.
	_, err = Lock(dir)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Lock = %v, want *LockedError", err)
	}
	if le.Dir != dir || le.Run.PID != 0 || !strings.Contains(err.Error(), "pass --state DIR") {
		t.Errorf("LockedError without run file = %+v: %v", le, err)
	}

	ri := RunInfo{PID: os.Getpid(), Lab: "dns", API: "http://127.0.0.1:8080", Started: time.Now()}
	if err := WriteRunFile(dir, ri); err != nil {
		t.Fatal(err)
	}
	_, err = Lock(dir)
	if !errors.As(err, &le) {
		t.Fatalf("Lock with run file = %v, want *LockedError", err)
	}
	if le.Run.PID != ri.PID || le.Run.Lab != "dns" {
		t.Errorf("LockedError.Run = %+v, want %+v", le.Run, ri)
	}
	want := "a lab is already running with this state directory (lab dns, pid " + strconv.Itoa(ri.PID) + "); stop it or pass --state DIR"
	if err.Error() != want {
		t.Errorf("message = %q, want %q", err.Error(), want)
	}
	if got, err := Running(dir); err != nil || got.PID != ri.PID {
		t.Errorf("Running = %+v, %v; want pid %d", got, err, ri.PID)
	}

	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Errorf("second unlock = %v, want nil", err)
	}
	// The run file is still there but nobody holds the lock: stale.
	if _, err := Running(dir); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Running after unlock = %v, want ErrNotRunning", err)
	}
	unlock2, err := Lock(dir)
	if err != nil {
		t.Fatalf("Lock after unlock = %v", err)
	}
	if err := unlock2(); err != nil {
		t.Fatal(err)
	}
}
