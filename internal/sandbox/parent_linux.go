package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"protolab/internal/service"
)

// Sandbox is a running lab network, held by its holder process.
type Sandbox struct {
	opts    Options
	ctl     *net.UnixConn
	mu      sync.Mutex // one socket request at a time
	cmd     *exec.Cmd
	exited  chan struct{}
	stderr  *tailBuffer
	closeMu sync.Mutex
	closed  bool
}

// Supported reports whether this system can build a lab network at all.
func Supported() bool { return true }

// Start builds the lab network. Close removes it; if the lab process dies,
// the kernel removes it.
func Start(ctx context.Context, o Options) (*Sandbox, error) {
	if o.Dir == "" {
		return nil, errors.New("sandbox: a state directory is required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	ctl, child, err := socketPair()
	if err != nil {
		return nil, err
	}
	args := []string{"lab", HolderArg, "--dir", o.Dir}
	if o.NoIPv4 {
		args = append(args, "--no-ipv4")
	}
	s := &Sandbox{opts: o, ctl: ctl, exited: make(chan struct{}), stderr: &tailBuffer{max: 4096, log: o.Log}}
	s.cmd = &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       args,
		Env:        []string{"PATH=" + os.Getenv("PATH"), "LANG=C"},
		ExtraFiles: []*os.File{child},
		Stdout:     s.stderr,
		Stderr:     s.stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS | syscall.CLONE_NEWPID,
			// If the lab dies, so does the holder, and with it the
			// namespaces, the veth pair and every program in them.
			Pdeathsig: syscall.SIGKILL,
			Setpgid:   true, // Ctrl-C is for the lab, which then closes the network
		},
	}
	rootless := os.Geteuid() != 0
	if rootless {
		a := s.cmd.SysProcAttr
		a.Cloneflags |= syscall.CLONE_NEWUSER
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		a.GidMappingsEnableSetgroups = false
	}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal follows the thread that started the
		// holder: keep this one alive as long as the holder.
		runtime.LockOSThread()
		defer close(s.exited)
		if err := s.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.cmd.Wait()
	}()
	err = <-started
	child.Close()
	if err != nil {
		ctl.Close()
		return nil, explainStartError(err, rootless)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	ctl.SetReadDeadline(deadline)
	var r reply
	_, err = recv(ctl, &r)
	ctl.SetReadDeadline(time.Time{})
	if err == nil {
		err = r.err("lab network")
	}
	if err != nil {
		s.Close()
		if msg := strings.TrimSpace(s.stderr.String()); msg != "" && !strings.Contains(err.Error(), msg) {
			err = fmt.Errorf("%w (%s)", err, msg)
		}
		if rootless {
			err = fmt.Errorf("%w; running as root works: sudo lab start … --sandbox", err)
		}
		return nil, fmt.Errorf("cannot build the lab network: %w", err)
	}
	return s, nil
}

// Net returns the factory of sockets in the lab server's namespace.
func (s *Sandbox) Net() service.Net { return sandboxNet{s} }

// Advertise is the address learners reach the lab server at.
func (s *Sandbox) Advertise() string { return ServerIPv4 }

// Interface is the lab server's end of the link (DHCP binds to it).
func (s *Sandbox) Interface() string { return ServerLink }

// Learner is the learner's address on lab0 (fixed: 192.0.2.10).
func (s *Sandbox) Learner() string { return LearnerIPv4 }

// Socket is the path `lab shell` connects to.
func (s *Sandbox) Socket() string { return filepath.Join(s.opts.Dir, SocketName) }

// Close takes the lab network down: the holder sees its control
// connection close and exits, and the kernel removes the namespaces.
func (s *Sandbox) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.ctl.Close()
	select {
	case <-s.exited:
	case <-time.After(3 * time.Second):
		if s.cmd.Process != nil {
			s.cmd.Process.Kill()
		}
		<-s.exited
	}
	os.Remove(s.Socket())
	return nil
}

// request sends one socket request and returns the socket as a file.
func (s *Sandbox) request(req socketRequest) (*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := send(s.ctl, req); err != nil {
		return nil, fmt.Errorf("lab network: %w", err)
	}
	var r reply
	files, err := recv(s.ctl, &r)
	if err != nil {
		return nil, fmt.Errorf("lab network: %w", err)
	}
	if err := r.err(req.Op); err != nil {
		for _, f := range files {
			f.Close()
		}
		return nil, err
	}
	if len(files) != 1 {
		for _, f := range files {
			f.Close()
		}
		return nil, errors.New("lab network: no socket came back")
	}
	return files[0], nil
}

type sandboxNet struct{ s *Sandbox }

func (n sandboxNet) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	f, err := n.s.request(socketRequest{Op: "listen", Network: network, Addr: addr})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return net.FileListener(f)
}

func (n sandboxNet) ListenPacket(ctx context.Context, network, addr string, o service.PacketOptions) (net.PacketConn, error) {
	f, err := n.s.request(socketRequest{Op: "listen-packet", Network: network, Addr: addr,
		Device: o.Device, Broadcast: o.Broadcast, ReuseAddr: o.ReuseAddr})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return net.FilePacketConn(f)
}

// explainStartError says why the holder could not start, and what to do.
func explainStartError(err error, rootless bool) error {
	if !rootless {
		return fmt.Errorf("cannot build the lab network: %w", err)
	}
	if why := userNamespacesBlocked(); why != "" {
		return fmt.Errorf("cannot build the lab network without root: user namespaces are disabled here (%s); run as root (sudo lab start … --sandbox) or allow them", why)
	}
	return fmt.Errorf("cannot build the lab network without root (%w); running as root works: sudo lab start … --sandbox", err)
}

// procSys is where the kernel's settings are read (a test points it
// elsewhere).
var procSys = "/proc/sys"

// userNamespacesBlocked names the setting that forbids unprivileged user
// namespaces, if one does.
func userNamespacesBlocked() string {
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(procSys, strings.TrimPrefix(p, "/proc/sys/")))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	switch {
	case read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
		return "an AppArmor restriction: sysctl kernel.apparmor_restrict_unprivileged_userns=1"
	case read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
		return "sysctl kernel.unprivileged_userns_clone=0"
	case read("/proc/sys/user/max_user_namespaces") == "0":
		return "sysctl user.max_user_namespaces=0"
	}
	return ""
}

// tailBuffer keeps the start of what the holder writes (for an error
// message) and logs each write.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
	log *slog.Logger
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := t.max - t.buf.Len(); room > 0 {
		t.buf.Write(p[:min(len(p), room)])
	}
	if msg := strings.TrimSpace(string(p)); msg != "" {
		t.log.Warn("lab network", "msg", msg)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
