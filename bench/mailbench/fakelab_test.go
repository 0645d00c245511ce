package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"

	"protolab/internal/api"
	"protolab/internal/service"
)

// TestMain lets the test binary stand in for the lab command: with
// MAILBENCH_FAKE_LAB=1 it runs fakeLab instead of the tests. The fake
// speaks the lab's command line (start mail ... / status --json --state
// DIR) and serves SMTP and IMAP over one in-memory mailbox, so the
// harness's lab path is tested apart from the real lab.
// MAILBENCH_FAKE_DROP=N makes it lose every Nth message it accepts.
func TestMain(m *testing.M) {
	if os.Getenv("MAILBENCH_FAKE_LAB") == "1" {
		if err := fakeLab(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "fake lab:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func fakeLab(args []string) error {
	if len(args) < 1 {
		return errors.New("no command")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	state := fs.String("state", "", "")
	fs.String("ports", "high", "")
	fs.String("web", "127.0.0.1:8080", "")
	port := fs.String("port", "smtp=2525", "")
	fs.Bool("json", false, "")
	rest := args[1:]
	if args[0] == "start" {
		if len(args) < 2 || args[1] != "mail" {
			return fmt.Errorf("no lab named %q", strings.Join(args[1:2], ""))
		}
		rest = args[2:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	file := filepath.Join(*state, "fake.json")
	switch args[0] {
	case "status":
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("no lab running: %w", err)
		}
		_, err = os.Stdout.Write(b)
		return err
	case "start":
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
	p, ok := strings.CutPrefix(*port, "smtp=")
	if !ok {
		return fmt.Errorf("--port %q: no such listener", *port)
	}
	var drop int
	fmt.Sscan(os.Getenv("MAILBENCH_FAKE_DROP"), &drop)

	store, bob, err := newStore(1) // one message before the load, as a lab's welcome message
	if err != nil {
		return err
	}
	imapLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	imapSrv := serveIMAP(imapLn, store, nil)
	smtpLn, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", p))
	if err != nil {
		return err
	}
	smtpSrv := smtp.NewServer(&fakeBackend{user: bob, drop: int64(drop)})
	smtpSrv.Domain = "lab.test"
	go func() { _ = smtpSrv.Serve(smtpLn) }()

	st := api.Status{Lab: "mail", Running: true, PID: os.Getpid(), Events: 42, Dropped: 7,
		Endpoints: []service.Endpoint{
			{Service: "smtp", Listener: "smtp", Network: "tcp", Addr: smtpLn.Addr().String()},
			{Service: "imap", Listener: "imap", Network: "tcp", Addr: imapLn.Addr().String()},
		}}
	b, _ := json.Marshal(st)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	smtpSrv.Close()
	return imapSrv.Close()
}

// newStore is an in-memory mail store with bob's INBOX holding n messages.
func newStore(n int) (*imapmemserver.Server, *imapmemserver.User, error) {
	store := imapmemserver.New()
	bob := imapmemserver.NewUser(imapUser, imapPass)
	if err := bob.Create(inbox, nil); err != nil {
		return nil, nil, err
	}
	for i := range n {
		if err := deliver(bob, fmt.Appendf(nil, "Subject: %d\r\n\r\nhello\r\n", i)); err != nil {
			return nil, nil, err
		}
	}
	store.AddUser(bob)
	return store, bob, nil
}

// serveIMAP serves the store on ln: LOGIN allowed in clear text without a
// TLS configuration, only after STARTTLS with one.
func serveIMAP(ln net.Listener, store *imapmemserver.Server, conf *tls.Config) *imapserver.Server {
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return store.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: conf == nil,
		TLSConfig:    conf,
		Logger:       log.New(io.Discard, "", 0),
	})
	go func() { _ = srv.Serve(ln) }()
	return srv
}

func deliver(u *imapmemserver.User, msg []byte) error {
	_, err := u.Append(inbox, bytes.NewReader(msg), &imap.AppendOptions{Time: time.Now()})
	return err
}

// fakeBackend takes mail for @lab.test and puts it in bob's INBOX, losing
// every drop-th message when drop > 0.
type fakeBackend struct {
	user     *imapmemserver.User
	drop     int64
	accepted atomic.Int64
}

func (b *fakeBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &fakeSession{b: b}, nil }

type fakeSession struct{ b *fakeBackend }

func (s *fakeSession) Reset()        {}
func (s *fakeSession) Logout() error { return nil }
func (s *fakeSession) Mail(string, *smtp.MailOptions) error {
	return nil
}

func (s *fakeSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !strings.HasSuffix(to, "@lab.test") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relay denied"}
	}
	return nil
}

func (s *fakeSession) Data(r io.Reader) error {
	msg, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if n := s.b.accepted.Add(1); s.b.drop > 0 && n%s.b.drop == 0 {
		return nil // lost: accepted, never stored
	}
	return deliver(s.b.user, msg)
}

// fakeLabEnv makes the test binary a fake lab in the processes it starts.
// Under -race, a process sleeps 1 s at exit unless told not to.
func fakeLabEnv(t *testing.T) string {
	t.Helper()
	t.Setenv("MAILBENCH_FAKE_LAB", "1")
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}
