package benchkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startSh starts sh -c script with its output in a log file.
func startSh(t *testing.T, script string) *Child {
	t.Helper()
	log := filepath.Join(t.TempDir(), "child.log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("sh", "-c", script)
	cmd.Stdout, cmd.Stderr = f, f
	c, err := StartChild(cmd, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

func TestChildStop(t *testing.T) {
	c := startSh(t, "echo one; echo two; echo three; echo four; exec sleep 60")
	deadline := time.Now().Add(10 * time.Second)
	for c.Tail() != "; its last lines: two | three | four" {
		if time.Now().After(deadline) {
			t.Fatalf("tail = %q", c.Tail())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !c.Alive() || c.Err() != nil || c.Pid() <= 0 {
		t.Fatalf("alive %v err %v pid %d; want a running process", c.Alive(), c.Err(), c.Pid())
	}
	c.Stop()
	if c.Alive() {
		t.Fatal("still alive after Stop")
	}
	if c.Err() == nil {
		t.Error("Err is nil after a SIGTERM")
	}
	c.Stop() // a second Stop is harmless
}

func TestChildExits(t *testing.T) {
	c := startSh(t, "exit 3")
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the process did not end")
	}
	if c.Alive() || c.Err() == nil || !strings.Contains(c.Err().Error(), "exit status 3") {
		t.Fatalf("alive %v err %v; want ended with status 3", c.Alive(), c.Err())
	}
	if c.Tail() != "" {
		t.Errorf("tail of an empty log = %q", c.Tail())
	}
}

func TestStartChildFails(t *testing.T) {
	if _, err := StartChild(exec.Command(filepath.Join(t.TempDir(), "missing")), ""); err == nil {
		t.Fatal("no error for a missing program")
	}
}

func TestTail(t *testing.T) {
	tests := []struct{ log, want string }{
		{"", ""},
		{"\n \n", ""},
		{"one\n", "; its last lines: one"},
		{"a\nb\nc\nd\n\n", "; its last lines: b | c | d"},
	}
	for _, tt := range tests {
		if got := tail(tt.log); got != tt.want {
			t.Errorf("tail(%q) = %q, want %q", tt.log, got, tt.want)
		}
	}
}

func TestFirstLineAndIsExec(t *testing.T) {
	if got := FirstLine("\n  usage: x\nmore\n"); got != "usage: x" {
		t.Errorf("FirstLine = %q", got)
	}
	dir := t.TempDir()
	plain, prog := filepath.Join(dir, "plain"), filepath.Join(dir, "prog")
	if os.WriteFile(plain, nil, 0o644) != nil || os.WriteFile(prog, nil, 0o755) != nil {
		t.Fatal("cannot write test files")
	}
	for path, want := range map[string]bool{plain: false, prog: true, dir: false, filepath.Join(dir, "none"): false} {
		if IsExec(path) != want {
			t.Errorf("IsExec(%s) = %v, want %v", filepath.Base(path), !want, want)
		}
	}
}
