// Package service is the contract between the runner and the protocol
// servers under services/: how a server describes itself (listeners, events,
// solve actions), how it reads its options from a lab file, and how it is
// started and stopped. A service knows nothing about tasks or progress.
package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"go.yaml.in/yaml/v3"

	"protolab/internal/event"
)

// Spec describes a kind of server. Each service package exports one.
type Spec struct {
	Name      string       // "dns"; also the prefix of its event kinds
	Doc       string       // one line for `lab list` and the docs
	Listeners []Listener   // what it listens on
	Events    []event.Spec // what it emits
	Actions   []Action     // what `lab solve` can make a client do
	// Load reads and validates the service's options from the lab file
	// (opts may be nil) with the lab's files in data. It is called when a
	// lab is loaded, so errors surface before anything listens; errors
	// should name file:line.
	Load func(opts *yaml.Node, data fs.FS) (Prepared, error)
	// Requires names services that must come before this one in the lab's
	// services (e.g. smtp requires mailstore, whose store it delivers to).
	Requires []string
	// Solve performs one solve step against a running instance, as a
	// learner's client would. It is given the instance's endpoints.
	Solve func(ctx context.Context, eps Endpoints, step Step) error
}

// Event returns the spec of the named event kind.
func (s *Spec) Event(kind string) (event.Spec, bool) {
	for _, e := range s.Events {
		if e.Kind == kind {
			return e, true
		}
	}
	return event.Spec{}, false
}

// Action returns the spec of the named solve action.
func (s *Spec) Action(name string) (Action, bool) {
	for _, a := range s.Actions {
		if a.Name == name {
			return a, true
		}
	}
	return Action{}, false
}

// Listener is one socket a service opens (possibly over UDP and TCP on the
// same port, as DNS does).
type Listener struct {
	Name     string   // "dns", "smtp", "submission"; used in --port NAME=PORT
	Networks []string // "udp", "tcp"
	High     int      // default port, unprivileged
	Standard int      // the protocol's well-known port (--ports standard)
}

// Action documents a solve step a service can perform.
type Action struct {
	Name     string   // "dns.query"
	Doc      string   //
	Required []string // argument names that must be given
	Optional []string
}

// Step is one solve step from a lab file: an action and its arguments.
type Step struct {
	Action string
	Args   map[string]string
}

// Prepared is a service whose options are loaded and valid, ready to start.
type Prepared interface {
	Start(ctx context.Context, rt Runtime) (Instance, error)
}

// Runtime is what the runner gives a starting service.
type Runtime struct {
	Bind   string          // IP address to listen on, e.g. "127.0.0.1"
	Ports  map[string]int  // listener name -> port; 0 picks a free one
	Events event.Publisher // never blocks
	Log    *slog.Logger    //
	State  string          // the lab's state directory, for services that keep data
	// Shared holds what services of one running lab share, such as the
	// mail store that smtp, pop3 and imap all use. A service puts it there
	// when it starts; those that require it (Spec.Requires) find it there.
	Shared *Shared
	// Net opens the service's sockets; nil means the host's (HostNet).
	Net Net
	// Advertise, when set, is the address learners reach the service at
	// (the lab server's address in the sandbox); Endpoint uses it.
	Advertise string
	// Interface names the lab network's link, for a server that must be
	// bound to one (DHCP). Empty without a lab network: DHCP then serves
	// on loopback only.
	Interface string
	// Learner is the learner's address in the lab network, for a server
	// that sends to the learner unasked (SNMP notifications to a lab
	// file's loopback target go there instead). Empty without one.
	Learner string
	// Transport, when set, wraps every TCP listener the service opens so
	// that each connection publishes tcp.accept and tcp.close (the tcpip
	// lab's transport view). Service names the service in those events.
	Transport bool
	Service   string
	// Reservations are fixed addresses the runner asks for, one per
	// learner of a class's roster with a MAC and an address (lab serve).
	// The DHCP server adds those inside its network to the lab file's
	// own; others ignore them. Nil outside a class.
	Reservations []Reservation
	// Accounts are the learners' own accounts, one per learner of a
	// class's roster (lab serve): the mail store gives each a mailbox and
	// the SNMP agent a v3 user, beside the lab file's own accounts. Nil
	// outside a class.
	Accounts []Account
	// Variants are the service as each learner of a class has it, by the
	// learner's id: the lab loaded with that learner's values of its
	// variables (their own secret TXT record, their own weak community).
	// A service whose data holds variables answers a client with the
	// variant of the learner Who names at the client's address, else with
	// its own. Nil outside a class, or when the lab has no variables.
	Variants map[string]Prepared
	Who      func(netip.Addr) string
}

// Account is a learner's own account: the user name and the secret the
// runner derived for them.
type Account struct {
	Learner string // the roster's id
	User    string // the user name, the learner's id
	Secret  string // the password (at least 8 characters)
}

// Reservation is one client's fixed address: the MAC it comes from, the
// address it is given and the host name it is told.
type Reservation struct {
	MAC     string     // lower case, colon-separated
	IP      netip.Addr //
	Host    string     // a host name; may be empty
	Learner string     // who it is for (the roster's id), named in errors
}

// EventCountsKey is where the runner puts, in Shared, an EventCounts that
// tells how many events each service of the lab has emitted in this run
// (the SNMP agent shows them, so SNMP can watch the lab's own traffic).
const EventCountsKey = "event-counts"

// EventCounts returns the number of events the named service emitted.
type EventCounts func(service string) uint64

// Shared is a per-run registry of values shared between services.
type Shared struct {
	mu   sync.Mutex
	vals map[string]any
}

// NewShared returns an empty registry.
func NewShared() *Shared { return &Shared{vals: map[string]any{}} }

// Put stores v under name.
func (s *Shared) Put(name string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vals[name] = v
}

// Get returns the value stored under name.
func (s *Shared) Get(name string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vals[name]
	return v, ok
}

// Port returns the port for the named listener (0 if unset: a free port).
func (rt Runtime) Port(listener string) int { return rt.Ports[listener] }

// Addr joins the bind address and the listener's port.
func (rt Runtime) Addr(listener string) string {
	return net.JoinHostPort(rt.Bind, strconv.Itoa(rt.Port(listener)))
}

// Instance is a running service.
type Instance interface {
	// Endpoints lists the addresses really listened on (ports resolved).
	Endpoints() Endpoints
	// Shutdown stops listening and waits for in-flight work, up to ctx.
	Shutdown(ctx context.Context) error
}

// Credentialed is an Instance with accounts a learner uses (mail users,
// SNMP communities); `lab start` prints them.
type Credentialed interface {
	Credentials() []Credential
}

// Credential is one account, e.g. {Kind: "mail", User: "alice",
// Secret: "wonderland", Note: "alice@lab.test"}.
type Credential struct {
	Kind   string `json:"kind"`
	User   string `json:"user"`
	Secret string `json:"secret"`
	Note   string `json:"note,omitempty"`
}

// Resetter is an Instance that keeps state of its own (a mail store, DHCP
// leases): `lab reset` calls Reset to bring it back to its initial state.
type Resetter interface {
	Reset(ctx context.Context) error
}

// Endpoint is one address a running service listens on.
type Endpoint struct {
	Service  string `json:"service"`
	Listener string `json:"listener"`
	Network  string `json:"network"` // "udp" or "tcp"
	Addr     string `json:"addr"`    // host:port
}

// Endpoints is a service's list of endpoints.
type Endpoints []Endpoint

// Find returns the address of the named listener on the given network.
func (eps Endpoints) Find(listener, network string) (string, bool) {
	for _, e := range eps {
		if e.Listener == listener && e.Network == network {
			return e.Addr, true
		}
	}
	return "", false
}

// BindError reports a listener that could not open its socket. The command
// line turns it into advice (which flag changes the port).
type BindError struct {
	Service  string
	Listener string
	Network  string
	Addr     string
	Err      error
}

func (e *BindError) Error() string {
	return fmt.Sprintf("%s: cannot listen on %s/%s: %v", e.Service, e.Addr, e.Network, e.Err)
}

func (e *BindError) Unwrap() error { return e.Err }

// AsBindError is errors.As for *BindError.
func AsBindError(err error) (*BindError, bool) {
	var be *BindError
	ok := errors.As(err, &be)
	return be, ok
}
