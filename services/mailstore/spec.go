package mailstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"protolab/internal/service"
)

// SharedName is the name the store is shared under in service.Shared.
const SharedName = "mailstore"

// Spec describes the mailstore service to the runner: no listeners and no
// events; it opens the store that smtp, pop3 and imap share.
var Spec = service.Spec{
	Name: "mailstore",
	Doc:  "the mail store shared by smtp, pop3 and imap: accounts, mailboxes and messages, kept in the lab's state",
	Load: load,
}

var (
	_ service.Prepared     = (*prepared)(nil)
	_ service.Instance     = (*instance)(nil)
	_ service.Resetter     = (*instance)(nil)
	_ service.Credentialed = (*instance)(nil)
)

// prepared holds checked options, ready to open the store.
type prepared struct{ opts Options }

// Start opens the store in the lab's state directory and shares it under
// SharedName.
func (p *prepared) Start(_ context.Context, rt service.Runtime) (service.Instance, error) {
	if rt.Shared == nil {
		return nil, errors.New("mailstore: no registry to share the store in")
	}
	opts, err := withAccounts(p.opts, rt.Accounts)
	if err != nil {
		return nil, err
	}
	st, err := Open(rt.State, opts)
	if err != nil {
		return nil, err
	}
	rt.Shared.Put(SharedName, st)
	own := map[string]bool{}
	for _, u := range opts.Users[:len(opts.Users)-len(rt.Accounts)] {
		own[strings.ToLower(u.Name)] = true
	}
	return &instance{st: st, own: own}, nil
}

// withAccounts adds the learners' own accounts (lab serve) to the lab's
// users; a learner named like a lab account is an error.
func withAccounts(o Options, accts []service.Account) (Options, error) {
	if len(accts) == 0 {
		return o, nil
	}
	users := o.Users
	if users == nil {
		users = DefaultUsers()
	}
	lab := map[string]bool{}
	for _, u := range users {
		lab[strings.ToLower(u.Name)] = true
	}
	out := append([]User(nil), users...)
	for _, a := range accts {
		if lab[strings.ToLower(a.User)] {
			return o, fmt.Errorf("mailstore: learner %s: the lab already has a mail account %q; give the learner another id in the roster", a.Learner, strings.ToLower(a.User))
		}
		out = append(out, User{Name: a.User, Password: a.Secret})
	}
	o.Users = out
	return o, nil
}

// instance is the running service: the open store. own names the lab's
// own accounts, the ones Credentials lists (not the learners').
type instance struct {
	st  *Store
	own map[string]bool
}

// Endpoints is empty: the store listens on nothing.
func (in *instance) Endpoints() service.Endpoints { return nil }

// Shutdown closes the store.
func (in *instance) Shutdown(context.Context) error { return in.st.Close() }

// Reset brings the mailboxes back to their initial state (lab reset).
func (in *instance) Reset(ctx context.Context) error { return in.st.Reset(ctx) }

// Credentials lists the mail accounts, for `lab start` to print.
func (in *instance) Credentials() []service.Credential {
	var out []service.Credential
	for _, u := range in.st.Users() {
		if in.own != nil && !in.own[u.Name] {
			continue
		}
		out = append(out, service.Credential{Kind: "mail", User: u.Name, Secret: u.Password, Note: u.Name + "@" + in.st.Domain()})
	}
	return out
}

// FromShared returns the store the mailstore service shared, for smtp,
// pop3 and imap.
func FromShared(sh *service.Shared) (*Store, error) {
	if sh != nil {
		if v, ok := sh.Get(SharedName); ok {
			if st, ok := v.(*Store); ok && st != nil {
				return st, nil
			}
		}
	}
	return nil, errors.New("mailstore: the mail store is not running: add mailstore: before smtp:, pop3: and imap: in the lab's services")
}
