package progress

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// RunFileName is the run file inside a state directory.
const RunFileName = "running.json"

// maxRunFile bounds what ReadRunFile reads; a real run file is a few hundred
// bytes.
const maxRunFile = 64 << 10

// DefaultDir is the state directory when none is given: $LAB_STATE_DIR, else
// $XDG_STATE_HOME/lab, else ~/.local/state/lab.
func DefaultDir() (string, error) {
	if d := os.Getenv("LAB_STATE_DIR"); d != "" {
		return d, nil
	}
	// The XDG spec says a relative path is invalid and must be ignored.
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "lab"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", errors.New("progress: no home directory to keep state in; set LAB_STATE_DIR or pass --state DIR")
	}
	return filepath.Join(home, ".local", "state", "lab"), nil
}

// RunInfo is what the run file says about the running lab.
type RunInfo struct {
	PID     int       `json:"pid"`
	Lab     string    `json:"lab"`
	API     string    `json:"api"` // base URL of the console API, e.g. "http://127.0.0.1:8080"
	Started time.Time `json:"started"`
	File    string    `json:"file,omitempty"` // lab file path when run with --file
	// Sandbox is the lab network's socket, for lab shell, when the lab
	// runs with --sandbox.
	Sandbox string `json:"sandbox,omitempty"`
}

// validate rejects run files that cannot lead anywhere.
func (ri RunInfo) validate() error {
	if ri.PID <= 0 {
		return fmt.Errorf("bad pid %d", ri.PID)
	}
	if ri.Lab == "" {
		return errors.New("no lab id")
	}
	u, err := url.Parse(ri.API)
	if err != nil {
		return fmt.Errorf("bad api address: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("bad api address %q: want http://host:port", ri.API)
	}
	return nil
}

// WriteRunFile writes <dir>/running.json atomically: a reader sees the old
// file or the new one, never a part, even after a crash.
func WriteRunFile(dir string, ri RunInfo) error {
	if err := ri.validate(); err != nil {
		return fmt.Errorf("progress: write run file: %w", err)
	}
	b, err := json.MarshalIndent(ri, "", "  ")
	if err != nil {
		return fmt.Errorf("progress: write run file: %w", err)
	}
	b = append(b, '\n')
	if err := writeFileAtomic(dir, RunFileName, b); err != nil {
		return fmt.Errorf("progress: write run file: %w", err)
	}
	return nil
}

// writeFileAtomic writes a temporary file in dir, syncs it, renames it over
// name and syncs the directory so that the rename itself is durable.
func writeFileAtomic(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	// Some file systems cannot sync a directory; the rename is done anyway.
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// ReadRunFile reads <dir>/running.json. When there is none the error wraps
// os.ErrNotExist. A run file only says that a lab ran: whether it still runs
// is the lock's business (see Running).
func ReadRunFile(dir string) (RunInfo, error) {
	f, err := os.Open(filepath.Join(dir, RunFileName))
	if err != nil {
		return RunInfo{}, fmt.Errorf("progress: read run file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRunFile+1))
	if err != nil {
		return RunInfo{}, fmt.Errorf("progress: read run file: %w", err)
	}
	ri, err := parseRunFile(b)
	if err != nil {
		return RunInfo{}, fmt.Errorf("progress: read run file %s: %w; stop the lab and start it again", f.Name(), err)
	}
	return ri, nil
}

func parseRunFile(b []byte) (RunInfo, error) {
	if len(b) > maxRunFile {
		return RunInfo{}, fmt.Errorf("larger than %d bytes", maxRunFile)
	}
	var ri RunInfo
	if err := json.Unmarshal(b, &ri); err != nil {
		return RunInfo{}, err
	}
	if err := ri.validate(); err != nil {
		return RunInfo{}, err
	}
	return ri, nil
}

// RemoveRunFile removes <dir>/running.json; a missing file is not an error.
func RemoveRunFile(dir string) error {
	err := os.Remove(filepath.Join(dir, RunFileName))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("progress: remove run file: %w", err)
	}
	return nil
}
