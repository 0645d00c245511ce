//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package mailstore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// helperEnv tells the test binary, run again as a child, what to do.
const helperEnv = "MAILSTORE_TEST_HELPER"

// crashMessages are what the child delivers: small, binary, big, empty.
func crashMessages() [][]byte {
	bin := make([]byte, 4096)
	for i := range bin {
		bin[i] = byte(i * 31)
	}
	return [][]byte{
		mail("first", "hello\n.\n"),
		bin,
		bytes.Repeat([]byte("0123456789abcdef\r\n"), 200000), // 3.6 MB
		{},
		testMessage(3, 4),
	}
}

// TestHelperProcess is not a test: it is the child of the crash test. It
// changes the store, says "ready" and waits to be killed (or for its stdin
// to close, should the parent die first).
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		return
	}
	fail := func(err error) {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	s, err := Open(os.Getenv(helperEnv+"_DIR"), Options{Welcome: true})
	if err != nil {
		fail(err)
	}
	for _, m := range crashMessages() {
		if _, err := s.Deliver(ctx, "alice", "INBOX", m, []string{"$Crash"}, t0); err != nil {
			fail(err)
		}
	}
	if err := s.CreateMailbox("alice", "Kept/Safe"); err != nil {
		fail(err)
	}
	if _, err := s.Move("alice", "INBOX", []uint32{3}, "Kept/Safe"); err != nil {
		fail(err)
	}
	if _, err := s.StoreFlags("alice", "INBOX", []uint32{1}, FlagsAdd, []string{`\Seen`}); err != nil {
		fail(err)
	}
	// The store is deliberately not closed.
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// startHelper runs the child on dir, waits for "ready" and returns it,
// still running.
func startHelper(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", helperEnv+"_DIR="+dir)
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

// TestCrashKeepsMail kills a process that has just delivered mail with
// SIGKILL, then reopens the store: every message is there, byte for byte,
// with its flags, folder and UIDs.
func TestCrashKeepsMail(t *testing.T) {
	dir := t.TempDir()
	cmd := startHelper(t, dir)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("child ended with %v, want killed by a signal", err)
	}

	s, err := Open(dir, Options{Welcome: true})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer s.Close()
	msgs := crashMessages()
	// INBOX: the 2 welcome messages, then the 5 delivered (UIDs 3..7), the
	// first of which went to Kept/Safe.
	list, err := s.List("alice", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var got []uint32
	for _, m := range list {
		got = append(got, m.UID)
	}
	if !slices.Equal(got, []uint32{1, 2, 4, 5, 6, 7}) {
		t.Fatalf("INBOX after kill -9 holds UIDs %v", got)
	}
	for k, m := range list[2:] {
		want := msgs[k+1]
		b, err := s.Read("alice", "INBOX", m.UID)
		if err != nil || !bytes.Equal(b, want) {
			t.Errorf("UID %d after kill -9: %d bytes (%v), want %d exact bytes", m.UID, len(b), err, len(want))
		}
		if !m.InternalDate.Equal(t0) {
			t.Errorf("UID %d: date %v", m.UID, m.InternalDate)
		}
	}
	if !slices.Equal(list[0].Flags, []string{`\Seen`}) || !slices.Equal(list[2].Flags, []string{"$Crash"}) {
		t.Errorf("flags after kill -9: %v, %v", list[0].Flags, list[2].Flags)
	}
	if b, err := s.Read("alice", "Kept/Safe", 1); err != nil || !bytes.Equal(b, msgs[0]) {
		t.Errorf("moved message after kill -9: %q, %v", b, err)
	}
	if mi := info(t, s, "alice", "INBOX"); mi.UIDNext != 8 {
		t.Errorf("UIDNEXT after kill -9 = %d, want 8", mi.UIDNext)
	}
	if names := mailboxNames(t, s, "alice"); !slices.Equal(names, []string{"INBOX", "Kept", "Kept/Safe"}) {
		t.Errorf("mailboxes after kill -9: %v", names)
	}
	// And the store goes on: the next UID follows.
	if uid := deliver(t, s, "alice", "INBOX", mail("after", "crash")); uid != 8 {
		t.Errorf("first UID after kill -9 = %d, want 8", uid)
	}
}
