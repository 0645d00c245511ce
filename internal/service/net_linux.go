package service

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// control sets the options on the raw socket before it is bound.
func (o PacketOptions) control(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if o.ReuseAddr {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
				return
			}
		}
		if o.Broadcast {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1); serr != nil {
				return
			}
		}
		if o.Device != "" {
			serr = unix.BindToDevice(int(fd), o.Device)
		}
	})
	if err != nil {
		return err
	}
	return serr
}
