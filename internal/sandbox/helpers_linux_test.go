package sandbox

import (
	"errors"
	"strconv"
	"syscall"

	"protolab/internal/service"
)

func servicePacketOptions() service.PacketOptions {
	return service.PacketOptions{Device: ServerLink, Broadcast: true, ReuseAddr: true}
}

func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }

func itoa(n int) string { return strconv.Itoa(n) }
