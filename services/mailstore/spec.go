package mailstore

import (
	"context"
	"errors"

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
	st, err := Open(rt.State, p.opts)
	if err != nil {
		return nil, err
	}
	rt.Shared.Put(SharedName, st)
	return &instance{st: st}, nil
}

// instance is the running service: the open store.
type instance struct{ st *Store }

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
