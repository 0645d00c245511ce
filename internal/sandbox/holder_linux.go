package sandbox

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"protolab/internal/service"
)

// controlFD is where the holder finds its end of the socket pair.
const controlFD = 3

// RunHolder is the holder process's main function (the lab binary started
// with HolderArg; args are the arguments after it). It builds the lab
// network, answers the lab's socket requests until the lab closes the
// control connection (or dies), and runs `lab shell` programs in the
// learner's namespace. It returns the process's exit code.
func RunHolder(args []string) int {
	fs := flag.NewFlagSet(HolderArg, flag.ContinueOnError)
	dir := fs.String("dir", "", "state directory")
	noV4 := fs.Bool("no-ipv4", false, "leave lab0 without IPv4")
	if err := fs.Parse(args); err != nil || *dir == "" {
		fmt.Fprintln(os.Stderr, "sandbox holder: this is started by `lab start --sandbox`, not by hand")
		return 2
	}
	f := os.NewFile(controlFD, "sandbox-control")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox holder: no control connection:", err)
		return 2
	}
	ctl := c.(*net.UnixConn)
	h := &holder{dir: *dir, noV4: *noV4, tracked: map[int]chan unix.WaitStatus{}}
	if err := h.setup(); err != nil {
		send(ctl, errorReply(err))
		return 1
	}
	ln, err := h.listenShells()
	if err != nil {
		send(ctl, errorReply(err))
		return 1
	}
	if err := send(ctl, reply{}); err != nil {
		return 1
	}
	go h.reap()
	go h.serveShells(ln)
	h.serveControl(ctl)
	ln.Close()
	os.Remove(filepath.Join(h.dir, SocketName))
	return 0
}

type holder struct {
	dir     string
	noV4    bool
	server  netns.NsHandle // the lab server's namespace (the holder's own)
	learner netns.NsHandle

	mu      sync.Mutex
	tracked map[int]chan unix.WaitStatus // children started by the holder, by pid
}

// setup builds the network, the learner's namespace and the view of the
// files the learner's programs get.
func (h *holder) setup() error {
	// Nothing mounted here may reach the host's mount namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("private mounts: %w", err)
	}
	// A /proc of this PID namespace, so that ps in `lab shell` shows the
	// lab's processes only. Not fatal: the host's /proc still works.
	_ = unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	_ = unix.Sethostname([]byte(LearnerHost))

	var err error
	if h.server, err = netns.Get(); err != nil {
		return fmt.Errorf("network namespace: %w", err)
	}
	if h.learner, err = newNamespace(h.server); err != nil {
		return fmt.Errorf("learner's network namespace: %w", err)
	}
	if err := h.link(); err != nil {
		return fmt.Errorf("lab network: %w", err)
	}
	if err := h.resolvConf(); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: /etc/resolv.conf of the lab shell not set:", err)
	}
	// DHCP clients keep leases and pid files here: in the lab network they
	// get empty directories of their own, gone with the lab, so that a
	// lease of the lab never reaches the host's files.
	dirs := clientStateDirs
	if abs, err := filepath.Abs(h.dir); err == nil && !strings.HasPrefix(abs+"/", "/run/") {
		// Pid files (/run/dhclient.pid, /run/dhcpcd/...) too; not when the
		// state directory itself is under /run: lab shell must reach it.
		dirs = append([]string{"/run"}, dirs...)
	}
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			if err := unix.Mount("tmpfs", d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=4m"); err != nil {
				fmt.Fprintf(os.Stderr, "sandbox: %s stays the host's: %v\n", d, err)
			}
		}
	}
	return nil
}

// clientStateDirs are where DHCP clients write their leases and pid files.
var clientStateDirs = []string{"/var/lib/dhcp", "/var/lib/dhclient", "/var/lib/dhcpcd"}

// newNamespace makes a network namespace and returns to back, on a thread
// that is not reused if it cannot return.
func newNamespace(back netns.NsHandle) (netns.NsHandle, error) {
	type result struct {
		ns  netns.NsHandle
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := netns.New()
		if err != nil {
			ch <- result{err: err}
			runtime.UnlockOSThread()
			return
		}
		if err := netns.Set(back); err != nil {
			ch <- result{err: err}
			return // the thread stays locked and ends with the goroutine
		}
		runtime.UnlockOSThread()
		ch <- result{ns: ns}
	}()
	r := <-ch
	return r.ns, r.err
}

// link creates the veth pair, moves lab0 into the learner's namespace and
// configures both ends.
func (h *holder) link() error {
	if err := linkUp(nil, "lo"); err != nil {
		return err
	}
	srvMAC, _ := net.ParseMAC(ServerMAC)
	learnerMAC, _ := net.ParseMAC(LearnerMAC)
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: ServerLink, HardwareAddr: srvMAC},
		PeerName:         LearnerLink,
		PeerHardwareAddr: learnerMAC,
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("veth %s-%s: %w", ServerLink, LearnerLink, err)
	}
	peer, err := netlink.LinkByName(LearnerLink)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetNsFd(peer, int(h.learner)); err != nil {
		return fmt.Errorf("move %s: %w", LearnerLink, err)
	}
	srv, err := netlink.LinkByName(ServerLink)
	if err != nil {
		return err
	}
	for _, a := range ServerAddrs() {
		bits := PrefixV6
		if a.Is4() {
			bits = PrefixV4
		}
		if err := addAddr(nil, srv, a.String(), bits); err != nil {
			return err
		}
	}
	if err := netlink.LinkSetUp(srv); err != nil {
		return err
	}

	lh, err := netlink.NewHandleAt(h.learner)
	if err != nil {
		return err
	}
	defer lh.Close()
	if err := linkUp(lh, "lo"); err != nil {
		return err
	}
	lab0, err := lh.LinkByName(LearnerLink)
	if err != nil {
		return err
	}
	if !h.noV4 {
		if err := addAddr(lh, lab0, LearnerIPv4, PrefixV4); err != nil {
			return err
		}
	}
	if err := addAddr(lh, lab0, LearnerIPv6, PrefixV6); err != nil {
		return err
	}
	if err := lh.LinkSetUp(lab0); err != nil {
		return err
	}
	gws := []string{ServerIPv6}
	if !h.noV4 {
		gws = append(gws, ServerIPv4)
	}
	for _, gw := range gws {
		if err := lh.RouteAdd(&netlink.Route{LinkIndex: lab0.Attrs().Index, Gw: net.ParseIP(gw)}); err != nil {
			return fmt.Errorf("default route via %s: %w", gw, err)
		}
	}
	return nil
}

func linkUp(h *netlink.Handle, name string) error {
	if h == nil {
		h = &netlink.Handle{}
	}
	l, err := h.LinkByName(name)
	if err != nil {
		return err
	}
	return h.LinkSetUp(l)
}

// addAddr adds an address without duplicate address detection, so that
// IPv6 works at once.
func addAddr(h *netlink.Handle, l netlink.Link, ip string, bits int) error {
	if h == nil {
		h = &netlink.Handle{}
	}
	p := net.ParseIP(ip)
	size := 128
	if p.To4() != nil {
		size = 32
	}
	a := &netlink.Addr{IPNet: &net.IPNet{IP: p, Mask: net.CIDRMask(bits, size)}}
	if size == 128 {
		a.Flags = unix.IFA_F_NODAD
	}
	if err := h.AddrAdd(l, a); err != nil {
		return fmt.Errorf("address %s/%d: %w", ip, bits, err)
	}
	return nil
}

// resolvConf points the learner's resolver at the lab DNS, by mounting a
// file of the state directory over /etc/resolv.conf in the holder's mount
// namespace only.
func (h *holder) resolvConf() error {
	path := filepath.Join(h.dir, "resolv.conf")
	text := "# The lab network's resolver: the lab DNS on the lab server.\n" +
		"nameserver " + ServerIPv4 + "\nnameserver " + ServerIPv6 + "\nsearch " + Domain + "\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return err
	}
	if err := unix.Mount(path, "/etc/resolv.conf", "", unix.MS_BIND, ""); err != nil {
		return err
	}
	// The lab's names also without the lab DNS (the mail and SNMP labs run
	// no DNS server): swaks --server mail.lab.test works everywhere.
	hosts := filepath.Join(h.dir, "hosts")
	if err := os.WriteFile(hosts, []byte(hostsFile()), 0o644); err != nil {
		return err
	}
	return unix.Mount(hosts, "/etc/hosts", "", unix.MS_BIND, "")
}

// serveControl answers the lab's socket requests until it goes away.
func (h *holder) serveControl(ctl *net.UnixConn) {
	for {
		var req socketRequest
		files, err := recv(ctl, &req)
		for _, f := range files {
			f.Close()
		}
		if err != nil {
			return
		}
		f, err := openSocket(req)
		if err != nil {
			if send(ctl, errorReply(err)) != nil {
				return
			}
			continue
		}
		err = send(ctl, reply{}, int(f.Fd()))
		f.Close()
		if err != nil {
			return
		}
	}
}

// openSocket opens the socket asked for, in the holder's (the lab
// server's) namespace, and returns it as a file.
func openSocket(req socketRequest) (*os.File, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	type filer interface{ File() (*os.File, error) }
	var (
		s   filer
		err error
	)
	switch req.Op {
	case "listen":
		var ln net.Listener
		ln, err = service.HostNet{}.Listen(ctx, req.Network, req.Addr)
		if err == nil {
			defer ln.Close()
			s, _ = ln.(filer)
		}
	case "listen-packet":
		var pc net.PacketConn
		pc, err = service.HostNet{}.ListenPacket(ctx, req.Network, req.Addr,
			service.PacketOptions{Device: req.Device, Broadcast: req.Broadcast, ReuseAddr: req.ReuseAddr})
		if err == nil {
			defer pc.Close()
			s, _ = pc.(filer)
		}
	default:
		return nil, fmt.Errorf("unknown request %q", req.Op)
	}
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errors.New("socket cannot be passed on")
	}
	return s.File()
}

// listenShells opens the Unix socket `lab shell` connects to.
func (h *holder) listenShells() (*net.UnixListener, error) {
	path := filepath.Join(h.dir, SocketName)
	os.Remove(path)
	old := unix.Umask(0o077)
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("shell socket: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	return ln, nil
}

func (h *holder) serveShells(ln *net.UnixListener) {
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		go h.serveExec(c)
	}
}

// allowed admits only the user who started the lab (root in the holder's
// user namespace, whoever that is on the host).
func allowed(c *net.UnixConn) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	return err == nil && cred != nil && int(cred.Uid) == os.Geteuid()
}

// serveExec runs one program for `lab shell` or `lab solve`: with the
// caller's descriptors, or on a new terminal whose master end goes back to
// the caller. It reports the exit code when the program ends, and kills it
// if the caller goes away first.
func (h *holder) serveExec(c *net.UnixConn) {
	defer c.Close()
	var req ExecRequest
	files, err := recv(c, &req)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	if err != nil {
		return
	}
	if !allowed(c) {
		send(c, reply{Error: "only the user who started the lab may use its network (lab shell, lab solve)"})
		return
	}
	if len(req.Argv) == 0 || !filepath.IsAbs(req.Argv[0]) {
		send(c, reply{Error: "no program to run (want an absolute path)"})
		return
	}
	cmd := &exec.Cmd{Path: req.Argv[0], Args: req.Argv, Env: req.Env, Dir: req.Dir}
	if st, err := os.Stat(req.Dir); err != nil || !st.IsDir() {
		cmd.Dir = "/"
	}
	var master *os.File
	if req.TTY {
		ptmx, tty, err := pty.Open()
		if err != nil {
			send(c, errorReply(fmt.Errorf("terminal: %w", err)))
			return
		}
		defer tty.Close()
		if req.Rows > 0 && req.Cols > 0 {
			pty.Setsize(ptmx, &pty.Winsize{Rows: req.Rows, Cols: req.Cols})
		}
		master = ptmx
		defer master.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	} else {
		if len(files) != 3 {
			send(c, reply{Error: "want stdin, stdout and stderr"})
			return
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = files[0], files[1], files[2]
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	exited, err := h.startInLearner(cmd)
	if err != nil {
		send(c, errorReply(err))
		return
	}
	for _, f := range files {
		f.Close()
	}
	files = nil
	if master != nil {
		err = send(c, reply{}, int(master.Fd()))
		master.Close()
	} else {
		err = send(c, reply{})
	}
	if err != nil {
		cmd.Process.Kill()
	}
	gone := make(chan struct{})
	go func() {
		buf := make([]byte, 1)
		c.Read(buf) // returns when the caller closes or dies
		close(gone)
	}()
	waited := make(chan struct{})
	go func() {
		select {
		case <-gone:
			cmd.Process.Kill()
		case <-waited:
		}
	}()
	// The reaper, not cmd.Wait, collects the child (the descriptors are
	// plain files: exec.Cmd has no copying to wait for).
	ws := <-exited
	close(waited)
	code := ws.ExitStatus()
	if ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	send(c, reply{Exit: &code})
}

// startInLearner starts cmd with the learner's network namespace: the
// process is forked from a thread that has entered it.
func (h *holder) startInLearner(cmd *exec.Cmd) (<-chan unix.WaitStatus, error) {
	ch := make(chan error, 1)
	exited := make(chan unix.WaitStatus, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(h.learner); err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("enter the learner's namespace: %w", err)
			return
		}
		h.mu.Lock()
		err := cmd.Start()
		if err == nil {
			h.tracked[cmd.Process.Pid] = exited
		}
		h.mu.Unlock()
		if netns.Set(h.server) == nil {
			runtime.UnlockOSThread()
		}
		ch <- err
	}()
	return exited, <-ch
}

// reap collects every child of the holder: the programs it started (their
// status goes to the waiting serveExec) and, since the holder is the first
// process of its PID namespace, the orphans a learner leaves behind.
func (h *holder) reap() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGCHLD)
	tick := time.NewTicker(time.Second) // in case a signal was merged away
	defer tick.Stop()
	for {
		select {
		case <-sig:
		case <-tick.C:
		}
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err != nil || pid <= 0 {
				break
			}
			h.mu.Lock()
			ch := h.tracked[pid]
			delete(h.tracked, pid)
			h.mu.Unlock()
			if ch != nil {
				ch <- ws
			}
		}
	}
}
