//go:build !linux

package service

import (
	"errors"
	"syscall"
)

// control supports no options outside Linux, where the lab network and its
// DHCP server do not exist.
func (o PacketOptions) control(_, _ string, _ syscall.RawConn) error {
	if o.Device != "" || o.Broadcast || o.ReuseAddr {
		return errors.New("socket options for a lab network need Linux")
	}
	return nil
}
