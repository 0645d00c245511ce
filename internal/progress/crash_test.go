//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package progress

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// helperEnv tells the test binary, run again as a child, what to do.
const helperEnv = "PROGRESS_TEST_HELPER"

var crashTasks = []string{"a-record", "mx-record", "axfr"}

// TestHelperProcess is not a test: it is the child of the crash tests. It
// does its part, says "ready" and waits to be killed (or for its stdin to
// close, should the parent die first).
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return
	}
	dir := os.Getenv(helperEnv + "_DIR")
	fail := func(err error) {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	switch mode {
	case "store":
		s, err := Open(dir)
		if err != nil {
			fail(err)
		}
		for _, task := range crashTasks {
			if _, err := s.MarkDone("dns", task, t0); err != nil {
				fail(err)
			}
		}
		if err := s.Append("dns", testEvents(5)); err != nil {
			fail(err)
		}
	case "run":
		if _, err := Lock(dir); err != nil {
			fail(err)
		}
		ri := RunInfo{PID: os.Getpid(), Lab: "dns", API: "http://127.0.0.1:8080", Started: t0}
		if err := WriteRunFile(dir, ri); err != nil {
			fail(err)
		}
	default:
		fail(fmt.Errorf("unknown mode %q", mode))
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// startHelper runs the child in mode on dir, waits for "ready" and returns
// it, still running.
func startHelper(t *testing.T, mode, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperEnv+"_DIR="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("child said %q (%v), want ready", line, err)
	}
	return cmd
}

// kill9 kills the child with SIGKILL and reaps it.
func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("child ended with %v, want killed by a signal", err)
	}
}

func TestCrashKeepsProgress(t *testing.T) {
	dir := t.TempDir()
	kill9(t, startHelper(t, "store", dir))

	s, err := Open(dir)
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer s.Close()
	done, err := s.Done("dns")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range crashTasks {
		if !done[task].Equal(t0) {
			t.Errorf("task %s lost by kill -9: done = %v", task, done)
		}
	}
	if n, err := s.Count("dns"); err != nil || n != 5 {
		t.Errorf("journal after kill -9 has %d events (%v), want 5", n, err)
	}
}

func TestCrashReleasesLock(t *testing.T) {
	dir := t.TempDir()
	cmd := startHelper(t, "run", dir)
	pid := cmd.Process.Pid

	// While the child runs, the directory is taken and Running finds it.
	_, err := Lock(dir)
	var le *LockedError
	if !errors.As(err, &le) || le.Run.PID != pid {
		t.Fatalf("Lock while child runs = %v, want *LockedError naming pid %d", err, pid)
	}
	if ri, err := Running(dir); err != nil || ri.PID != pid {
		t.Fatalf("Running while child runs = %+v, %v", ri, err)
	}

	kill9(t, cmd)

	ri, err := ReadRunFile(dir)
	if err != nil {
		t.Fatalf("run file after kill -9: %v", err)
	}
	if ri.PID != pid || ri.Lab != "dns" || !ri.Started.Equal(t0) {
		t.Errorf("run file after kill -9 = %+v", ri)
	}
	if _, err := Running(dir); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Running after kill -9 = %v, want ErrNotRunning (stale run file)", err)
	}
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatalf("Lock after kill -9 = %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
}
