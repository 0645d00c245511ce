package smtp

import (
	"net/netip"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// Replies of AUTH.
var (
	errAuthFailed = &gosmtp.SMTPError{Code: 535, EnhancedCode: gosmtp.EnhancedCode{5, 7, 8},
		Message: "Authentication failed: wrong user name or password"}
	errAuthSyntax = &gosmtp.SMTPError{Code: 501, EnhancedCode: gosmtp.EnhancedCode{5, 5, 2},
		Message: `Malformed AUTH PLAIN response: send the base64 of "\0user\0password"`}
	errAuthSequence = &gosmtp.SMTPError{Code: 503, EnhancedCode: gosmtp.EnhancedCode{5, 5, 1},
		Message: "Unexpected AUTH response"}
)

// plainServer is go-sasl's PLAIN server (RFC 4616) with the lab's reply to
// a malformed response (go-sasl's error would be answered 454, "try again
// later", which it is not).
type plainServer struct{ sasl.Server }

func (p plainServer) Next(resp []byte) ([]byte, bool, error) {
	ch, done, err := p.Server.Next(resp)
	if err != nil {
		if _, ok := err.(*gosmtp.SMTPError); !ok {
			err = errAuthSyntax
		}
	}
	return ch, done, err
}

// loginServer is the LOGIN mechanism (draft-murchison-sasl-login, what
// swaks, curl and Outlook call AUTH LOGIN): "Username:", "Password:", each
// answered in base64. An initial response is the user name.
type loginServer struct {
	step  int
	user  string
	check func(identity, user, password string) error
}

func (a *loginServer) Next(resp []byte) (challenge []byte, done bool, err error) {
	switch {
	case a.step == 0 && resp == nil:
		a.step = 1
		return []byte("Username:"), false, nil
	case a.step <= 1:
		a.user, a.step = string(resp), 2
		return []byte("Password:"), false, nil
	case a.step == 2:
		a.step = 3
		return nil, true, a.check("", a.user, string(resp))
	}
	return nil, false, errAuthSequence
}

// Bounds of the memory of failed logins by address.
const (
	throttleMemory  = 15 * time.Minute // failures are forgotten after this long
	throttleEntries = 4096
)

// authThrottle remembers recent failed logins by client address, so that
// reconnecting does not reset the delay a password guesser gets.
type authThrottle struct {
	now func() time.Time

	mu   sync.Mutex
	byIP map[netip.Addr]*failures
}

type failures struct {
	n    int
	last time.Time
}

func newAuthThrottle(now func() time.Time) *authThrottle {
	return &authThrottle{now: now, byIP: map[netip.Addr]*failures{}}
}

// failure records a failed login from ip and returns the recent failures
// from it, this one included.
func (t *authThrottle) failure(ip netip.Addr) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	f := t.byIP[ip]
	if f == nil || now.Sub(f.last) > throttleMemory {
		if len(t.byIP) >= throttleEntries {
			t.prune(now)
		}
		f = &failures{}
		t.byIP[ip] = f
	}
	f.n++
	f.last = now
	return f.n
}

// success forgets the failures of ip.
func (t *authThrottle) success(ip netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byIP, ip)
}

// prune drops forgotten entries, and if the table is still full, one more.
func (t *authThrottle) prune(now time.Time) {
	for ip, f := range t.byIP {
		if now.Sub(f.last) > throttleMemory {
			delete(t.byIP, ip)
		}
	}
	for ip := range t.byIP {
		if len(t.byIP) < throttleEntries {
			break
		}
		delete(t.byIP, ip)
	}
}

// Close forgets everything.
func (t *authThrottle) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.byIP)
}
