package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxMsg bounds one message between the lab, `lab shell` and the holder.
const maxMsg = 64 << 10

// maxFDs is the most descriptors one message carries (stdin, stdout,
// stderr).
const maxFDs = 3

// send writes v as one message with the descriptors attached.
func send(c *net.UnixConn, v any, fds ...int) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > maxMsg {
		return fmt.Errorf("message of %d bytes is too large", len(b))
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	n, _, err := c.WriteMsgUnix(b, oob, nil)
	if err == nil && n != len(b) {
		err = errors.New("short write")
	}
	return err
}

// recv reads one message into v and returns the descriptors that came
// with it, which the caller owns.
func recv(c *net.UnixConn, v any) ([]*os.File, error) {
	buf := make([]byte, maxMsg)
	oob := make([]byte, unix.CmsgSpace(maxFDs*4))
	n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	files, ferr := parseRights(oob[:oobn])
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	if ferr != nil {
		closeAll()
		return nil, ferr
	}
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		closeAll()
		return nil, errors.New("message truncated")
	}
	if n == 0 {
		closeAll()
		return nil, errEOF
	}
	if err := json.Unmarshal(buf[:n], v); err != nil {
		closeAll()
		return nil, fmt.Errorf("bad message: %w", err)
	}
	return files, nil
}

var errEOF = errors.New("connection closed")

func parseRights(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			files = append(files, os.NewFile(uintptr(fd), "passed"))
		}
	}
	return files, nil
}

// socketRequest asks the holder for a socket in the lab server's namespace.
type socketRequest struct {
	Op        string `json:"op"` // "listen" or "listen-packet"
	Network   string `json:"network"`
	Addr      string `json:"addr"`
	Device    string `json:"device,omitempty"`
	Broadcast bool   `json:"broadcast,omitempty"`
	ReuseAddr bool   `json:"reuse_addr,omitempty"`
}

// reply is the holder's answer; a socket or a terminal comes attached.
type reply struct {
	Error string `json:"error,omitempty"`
	Errno int    `json:"errno,omitempty"` // the system error behind Error, if any
	Exit  *int   `json:"exit,omitempty"`  // a started program's exit code
}

func errorReply(err error) reply {
	r := reply{Error: err.Error()}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		r.Errno = int(errno)
	}
	return r
}

// err turns a reply's error back into an error (keeping the errno, so that
// callers can test for EADDRINUSE).
func (r reply) err(op string) error {
	if r.Error == "" {
		return nil
	}
	if r.Errno != 0 {
		return &remoteError{msg: r.Error, errno: syscall.Errno(r.Errno)}
	}
	return fmt.Errorf("%s: %s", op, r.Error)
}

type remoteError struct {
	msg   string
	errno syscall.Errno
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.errno }

// socketPair returns the two ends of a SOCK_SEQPACKET pair: one as a
// connection, the other as a file for a child process.
func socketPair() (*net.UnixConn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socket pair: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "sandbox-control")
	defer mine.Close()
	c, err := net.FileConn(mine)
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), "sandbox-control"), nil
}
