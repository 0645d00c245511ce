package sandbox

import (
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzRecv feeds the holder's message reader whatever a local client could
// send: any bytes must give a message or an error, never a panic.
func FuzzRecv(f *testing.F) {
	f.Add([]byte(`{"argv":["/bin/sh","-c","true"],"env":["A=b"],"dir":"/","tty":true,"rows":24,"cols":80}`))
	f.Add([]byte(`{"op":"listen","network":"tcp","addr":"[::]:25"}`))
	f.Add([]byte(`{"argv":null}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || len(b) > maxMsg {
			return
		}
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Skip(err)
		}
		a, bEnd := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
		defer a.Close()
		defer bEnd.Close()
		if _, err := a.Write(b); err != nil {
			return
		}
		c, err := net.FileConn(bEnd)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var req ExecRequest
		files, _ := recv(c.(*net.UnixConn), &req)
		for _, f := range files {
			f.Close()
		}
	})
}
