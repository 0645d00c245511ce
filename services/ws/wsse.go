package ws

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"sync"
	"time"
)

// Bounds of WS-Security.
const (
	// tokenWindow is how far a digest token's Created may be from the
	// server's clock, either way; its nonce is remembered that long.
	tokenWindow = 5 * time.Minute
	maxNonces   = 4096
	maxNonceLen = 64 // bytes, decoded
)

// token is a UsernameToken as read from a Security header.
type token struct {
	user     string
	password string
	typed    bool // a Password was given, of a known type
	digest   bool // PasswordDigest rather than PasswordText
	nonce    []byte
	created  string
}

// readToken finds the Security header block meant for this service and
// reads its UsernameToken. ok is false when there is no such block.
func (env *envelope) readToken() (tok token, ok bool, f *fault) {
	var sec *element
	for _, h := range env.headers {
		if h.name.Space != nsWSSE || h.name.Local != "Security" || !env.forUs(h) {
			continue
		}
		if sec != nil {
			return tok, true, wssef("InvalidSecurity", "invalid-security", "the message carries two Security header blocks for this service: send one")
		}
		sec = h
	}
	if sec == nil {
		return tok, false, nil
	}
	ut := sec.child(nsWSSE, "UsernameToken")
	if ut == nil {
		return tok, true, wssef("UnsupportedSecurityToken", "unsupported-token", "the Security header holds no UsernameToken (in the namespace %s): this service takes only that kind of token", nsWSSE)
	}
	u := ut.child(nsWSSE, "Username")
	if u == nil || strings.TrimSpace(u.text.String()) == "" {
		return tok, true, wssef("InvalidSecurity", "invalid-security", "the UsernameToken has no Username")
	}
	tok.user = strings.TrimSpace(u.text.String())
	p := ut.child(nsWSSE, "Password")
	if p == nil {
		return tok, true, wssef("FailedAuthentication", "failed-authentication", "the UsernameToken has no Password: add <wsse:Password Type=\"%s\">", passwordText)
	}
	tok.password = p.text.String()
	switch t, _ := p.attr("", "Type"); t {
	case "", passwordText:
		tok.typed = true
	case passwordDigest:
		tok.typed, tok.digest = true, true
	default:
		return tok, true, wssef("UnsupportedSecurityToken", "unsupported-token", "the password Type %q is unknown: use %s or %s", t, passwordText, passwordDigest)
	}
	if n := ut.child(nsWSSE, "Nonce"); n != nil {
		if enc, _ := n.attr("", "EncodingType"); enc != "" && enc != base64Binary {
			return tok, true, wssef("UnsupportedSecurityToken", "unsupported-token", "the Nonce's EncodingType %q is unknown: use %s", enc, base64Binary)
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(n.text.String()))
		if err != nil || len(b) == 0 || len(b) > maxNonceLen {
			return tok, true, wssef("InvalidSecurity", "invalid-security", "the Nonce is not 1 to %d bytes in Base64", maxNonceLen)
		}
		tok.nonce = b
	}
	if c := ut.child(nsWSU, "Created"); c != nil {
		tok.created = strings.TrimSpace(c.text.String())
	}
	return tok, true, nil
}

// authenticator checks tokens against the lab's accounts and remembers the
// nonces of digest tokens, so that a captured message cannot be replayed.
type authenticator struct {
	users map[string]string
	now   func() time.Time

	mu     sync.Mutex
	nonces map[string]time.Time
	order  []string // nonces, oldest first
}

func newAuthenticator(users []user, now func() time.Time) *authenticator {
	a := &authenticator{users: map[string]string{}, now: now, nonces: map[string]time.Time{}}
	for _, u := range users {
		a.users[u.Name] = u.Password
	}
	return a
}

// check authenticates a token: a PasswordText is compared with the
// account's password (white space around it aside); a PasswordDigest must equal
// Base64(SHA-1(nonce + created + password)), be fresh and new.
func (a *authenticator) check(tok token) *fault {
	want, known := a.users[tok.user]
	if !tok.digest {
		if !known || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok.password)), []byte(want)) != 1 {
			return failedAuth()
		}
		return nil
	}
	if tok.nonce == nil || tok.created == "" {
		return wssef("InvalidSecurity", "invalid-security", "a PasswordDigest needs a Nonce and a wsu:Created in the UsernameToken: the digest is Base64(SHA-1(nonce + created + password))")
	}
	created, err := time.Parse(time.RFC3339Nano, tok.created)
	if err != nil {
		return wssef("InvalidSecurity", "invalid-security", "wsu:Created %q is not a UTC date and time such as 2026-01-31T12:00:00Z", tok.created)
	}
	now := a.now()
	if d := now.Sub(created); d > tokenWindow || d < -tokenWindow {
		return wssef("FailedAuthentication", "failed-authentication", "the token was created at %s, more than %v away from the server's clock (%s): build a new one", tok.created, tokenWindow, now.UTC().Format(time.RFC3339))
	}
	sum := digestPassword(tok.nonce, tok.created, want)
	if !known || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok.password)), []byte(sum)) != 1 {
		return failedAuth()
	}
	if !a.fresh(string(tok.nonce), now) {
		return wssef("FailedAuthentication", "failed-authentication", "this nonce was already used: a digest token is good once; build a new one with a new nonce")
	}
	return nil
}

// fresh records a nonce, reporting false when it was seen within the
// window. The oldest nonces are forgotten first.
func (a *authenticator) fresh(nonce string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(a.order) > 0 && (now.Sub(a.nonces[a.order[0]]) > tokenWindow || len(a.order) >= maxNonces) {
		delete(a.nonces, a.order[0])
		a.order = a.order[1:]
	}
	if _, seen := a.nonces[nonce]; seen {
		return false
	}
	a.nonces[nonce] = now
	a.order = append(a.order, nonce)
	return true
}

// failedAuth is the answer to a wrong user or password: the same for both,
// so that it tells nothing about which accounts exist.
func failedAuth() *fault {
	return wssef("FailedAuthentication", "failed-authentication", "the security token could not be authenticated: the user name or the password is wrong (lab start prints the lab's account)")
}

// digestPassword computes a PasswordDigest, for clients (solve, tests).
func digestPassword(nonce []byte, created, password string) string {
	h := sha1.New()
	h.Write(nonce)
	h.Write([]byte(created))
	h.Write([]byte(password))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}
