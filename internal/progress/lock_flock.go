//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package progress

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// Lock takes <dir>/lock exclusively, so that only one lab runs with dir. It
// is an flock: the kernel releases it when the process dies, kill -9
// included. When a running process holds it the error is a *LockedError.
func Lock(dir string) (unlock func() error, err error) {
	f, err := openLock(dir)
	if err != nil {
		return nil, err
	}
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			le := &LockedError{Dir: dir}
			if ri, err := ReadRunFile(dir); err == nil {
				le.Run = ri
			}
			return nil, le
		}
		return nil, fmt.Errorf("progress: lock state directory: %w", err)
	}
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			// Closing the last descriptor releases the lock too; unlocking
			// first makes it independent of descriptors leaked to children.
			uerr = flock(f, syscall.LOCK_UN)
			if err := f.Close(); uerr == nil {
				uerr = err
			}
			if uerr != nil {
				uerr = fmt.Errorf("progress: unlock state directory: %w", uerr)
			}
		})
		return uerr
	}, nil
}

// lockHeld reports whether a lab holds the lock of dir.
func lockHeld(dir string) (bool, error) {
	f, err := os.Open(filepath.Join(dir, LockName))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("progress: probe state directory lock: %w", err)
	}
	defer f.Close()
	err = flock(f, syscall.LOCK_SH|syscall.LOCK_NB)
	switch {
	case err == nil:
		return false, nil // closing f releases it
	case errors.Is(err, syscall.EWOULDBLOCK):
		return true, nil
	}
	return false, fmt.Errorf("progress: probe state directory lock: %w", err)
}

func openLock(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("progress: create state directory: %w; pass --state DIR to use another one", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, LockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("progress: open lock: %w; pass --state DIR to use another directory", err)
	}
	return f, nil
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
