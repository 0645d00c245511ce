package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// ErrNoSandbox means the running lab has no lab network.
var ErrNoSandbox = errors.New("the running lab has no lab network: start it with --sandbox")

// Exec runs a program in the learner's namespace of the lab network whose
// state directory is dir, and returns its exit code. Without req.TTY the
// program gets stdin, stdout and stderr as they are; with it, a terminal
// of its own that Exec joins to stdin and stdout (raw mode, window size
// followed), as an interactive shell needs. Cancelling ctx ends the
// program.
func Exec(ctx context.Context, dir string, req ExecRequest, stdin, stdout, stderr *os.File) (int, error) {
	path := filepath.Join(dir, SocketName)
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return 0, ErrNoSandbox
		}
		return 0, fmt.Errorf("lab network: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	if req.TTY {
		if ws, err := pty.GetsizeFull(stdin); err == nil {
			req.Rows, req.Cols = ws.Rows, ws.Cols
		}
		err = send(c, req)
	} else {
		err = send(c, req, int(stdin.Fd()), int(stdout.Fd()), int(stderr.Fd()))
	}
	if err != nil {
		return 0, fmt.Errorf("lab network: %w", err)
	}
	var r reply
	files, err := recv(c, &r)
	if err != nil {
		return 0, fmt.Errorf("lab network: %w", err)
	}
	if err := r.err("lab shell"); err != nil {
		return 0, err
	}
	var relayed chan struct{}
	if req.TTY {
		if len(files) != 1 {
			return 0, errors.New("lab network: no terminal came back")
		}
		master := files[0]
		defer master.Close()
		relayed = relay(master, stdin, stdout)
	}
	var end reply
	_, err = recv(c, &end)
	if relayed != nil {
		select { // the rest of the output, if any, is on its way
		case <-relayed:
		case <-time.After(time.Second):
		}
	}
	if err != nil || end.Exit == nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, errors.New("lab network: the lab stopped while the program ran")
	}
	return *end.Exit, nil
}

// relay joins the terminal the caller sits at to the program's terminal,
// and returns a channel closed when the program's output has ended.
func relay(master, stdin, stdout *os.File) chan struct{} {
	fd := int(stdin.Fd())
	if term.IsTerminal(fd) {
		if old, err := term.MakeRaw(fd); err == nil {
			done := make(chan struct{})
			winch := make(chan os.Signal, 1)
			signal.Notify(winch, syscall.SIGWINCH)
			go func() {
				for {
					select {
					case <-winch:
						pty.InheritSize(stdin, master)
					case <-done:
						signal.Stop(winch)
						term.Restore(fd, old)
						return
					}
				}
			}()
			out := make(chan struct{})
			go func() { io.Copy(stdout, master); close(out); close(done) }()
			go io.Copy(master, stdin)
			return out
		}
	}
	out := make(chan struct{})
	go func() { io.Copy(stdout, master); close(out) }()
	go io.Copy(master, stdin)
	return out
}
