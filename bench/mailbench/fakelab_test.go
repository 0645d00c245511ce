package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"

	"protolab/bench/internal/fakelab"
	"protolab/internal/service"
)

// fakeEnv, set to 1, makes the test binary a fake lab.
const fakeEnv = "MAILBENCH_FAKE_LAB"

// TestMain lets the test binary stand in for the lab command (see
// fakelab): the fake serves SMTP and IMAP over one in-memory mailbox, so
// the harness's lab path is tested apart from the real lab.
// MAILBENCH_FAKE_DROP=N makes it lose every Nth message it accepts.
func TestMain(m *testing.M) { fakelab.Main(m, fakeEnv, "smtp=2525", serveFakeLab) }

func serveFakeLab(a fakelab.Args) ([]service.Endpoint, func() error, error) {
	if a.Lab != "mail" {
		return nil, nil, fmt.Errorf("no lab named %q", a.Lab)
	}
	p, err := fakelab.PortOf(a.Port, "smtp")
	if err != nil {
		return nil, nil, err
	}
	var drop int
	fmt.Sscan(os.Getenv("MAILBENCH_FAKE_DROP"), &drop)

	store, bob, err := newStore(1) // one message before the load, as a lab's welcome message
	if err != nil {
		return nil, nil, err
	}
	imapLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	imapSrv := serveIMAP(imapLn, store, nil)
	smtpLn, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", p))
	if err != nil {
		return nil, nil, err
	}
	smtpSrv := smtp.NewServer(&fakeBackend{user: bob, drop: int64(drop)})
	smtpSrv.Domain = "lab.test"
	go func() { _ = smtpSrv.Serve(smtpLn) }()

	return []service.Endpoint{
			{Service: "smtp", Listener: "smtp", Network: "tcp", Addr: smtpLn.Addr().String()},
			{Service: "imap", Listener: "imap", Network: "tcp", Addr: imapLn.Addr().String()},
		}, func() error {
			smtpSrv.Close()
			return imapSrv.Close()
		}, nil
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
