package runner

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"protolab/internal/api"
	"protolab/internal/console"
	"protolab/internal/event"
	"protolab/internal/service"
	"protolab/labs"
)

// ClassOptions say who the learners of a class are (lab serve).
type ClassOptions struct {
	Class    string // the class's name, for the dashboard
	Learners []Learner
	// Variant loads a learner's own lab: the lab or exercise with the
	// learner's values of its variables. Nil: every learner gets
	// Options.Lab. The services run once, for the whole class; those whose
	// data holds variables answer each learner from the learner's own lab
	// (service.Runtime.Variants).
	Variant func(learner string) (*labs.Lab, error)
	// Token guards the instructor's dashboard; empty: a random one.
	Token string
}

// Learner is one learner of a roster and how the class tells them apart.
// Any of MAC, Address and Host may be empty.
type Learner struct {
	ID      string
	Name    string
	MAC     string     // lower case, colon-separated
	Address netip.Addr // a fixed address
	Host    string     // a host name, resolved at start (best effort)
}

// Class is a lab run for a whole class: one set of services, a view of the
// lab per learner (own checker, own progress), and the instructor's
// dashboard. Each learner has an own mail account and SNMPv3 user, named
// by the learner's id, with a password derived from a secret the class
// keeps in its state directory. Events are attributed to a learner as they
// are published: by the identity a client authenticated with (a learner's
// own account), else by the client's address (the roster's address, or what its host resolves
// to), else by a DHCP event's mac or hostname attribute; the others stay
// unattributed and are counted.
type Class struct {
	lab      *Lab // the running lab: store, bus, services
	opts     ClassOptions
	learners []*Lab // in roster order
	byID     map[string]*Lab
	info     map[string]Learner
	byAddr   map[netip.Addr]string
	byMAC    map[string]string
	byHost   map[string]string
	accts    []service.Account            // the learners' own accounts, in roster order
	byMail   map[string]string            // lower-case mail user → learner
	bySNMP   map[string]string            // SNMPv3 user → learner
	values   map[string]map[string]string // each learner's values of the lab's variables

	token   string
	server  *console.ClassServer
	unknown atomic.Uint64

	seenMu sync.Mutex
	seen   map[string]time.Time // each learner's latest event this run

	// leased are the addresses the lab's DHCP server gave learners (see
	// learnLease); leaseMu orders the writers.
	leaseMu sync.Mutex
	leased  atomic.Pointer[map[netip.Addr]string]
}

// newClass builds the class of l: each learner's view, with its progress.
func newClass(l *Lab, opts ClassOptions) (*Class, error) {
	if len(opts.Learners) == 0 {
		return nil, errors.New("runner: a class needs at least one learner")
	}
	c := &Class{lab: l, opts: opts, byID: map[string]*Lab{}, info: map[string]Learner{},
		byAddr: map[netip.Addr]string{}, byMAC: map[string]string{}, byHost: map[string]string{},
		byMail: map[string]string{}, bySNMP: map[string]string{}, seen: map[string]time.Time{},
		values: map[string]map[string]string{}}
	key, err := loadClassSecret(l.opts.StateDir)
	if err != nil {
		return nil, err
	}
	c.token = opts.Token
	if c.token == "" {
		c.token = console.NewToken()
	}
	for _, ln := range opts.Learners {
		if ln.ID == "" {
			return nil, errors.New("runner: a learner without an id")
		}
		if _, dup := c.byID[ln.ID]; dup {
			return nil, fmt.Errorf("runner: learner %q twice in the class", ln.ID)
		}
		def := l.lab
		if opts.Variant != nil {
			v, err := opts.Variant(ln.ID)
			if err != nil {
				return nil, fmt.Errorf("learner %s: %w", ln.ID, err)
			}
			if v.ID != def.ID {
				return nil, fmt.Errorf("learner %s: the exercise is lab %q for this learner, %q for the class", ln.ID, v.ID, def.ID)
			}
			def = v
		}
		m := &Lab{opts: l.opts, lab: def, store: l.store, bus: l.bus, started: l.started, feedMu: l.feedMu,
			changed: l.changed, learner: ln.ID}
		id := ln.ID
		m.notify = func() { c.changed(id) }
		if err := m.loadProgress(); err != nil {
			return nil, err
		}
		c.learners = append(c.learners, m)
		c.values[ln.ID] = def.LearnerValues()
		c.byID[ln.ID] = m
		c.info[ln.ID] = ln
		acct := service.Account{Learner: ln.ID, User: ln.ID, Secret: learnerPassword(key, ln.ID)}
		c.accts = append(c.accts, acct)
		m.account = &api.Account{User: acct.User, Password: acct.Secret}
		c.byMail[strings.ToLower(ln.ID)] = ln.ID
		c.bySNMP[ln.ID] = ln.ID
		if ln.Address.IsValid() {
			c.byAddr[ln.Address.Unmap()] = ln.ID
		}
		if ln.MAC != "" {
			c.byMAC[strings.ToLower(ln.MAC)] = ln.ID
		}
		if ln.Host != "" {
			h := strings.ToLower(strings.TrimSuffix(ln.Host, "."))
			c.byHost[h] = ln.ID
		}
	}
	c.resolveHosts()
	return c, nil
}

// resolveHosts adds the addresses of the roster's host names, best effort
// and briefly: a name that does not resolve now only attributes DHCP
// events by their hostname attribute.
func (c *Class) resolveHosts() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, ln := range c.opts.Learners {
		if ln.Host == "" {
			continue
		}
		addrs, err := net.DefaultResolver.LookupHost(ctx, ln.Host)
		if err != nil {
			c.lab.opts.Log.Info("roster host does not resolve: attributed by DHCP hostname only", "learner", ln.ID, "host", ln.Host)
			continue
		}
		for _, a := range addrs {
			if ip, err := netip.ParseAddr(a); err == nil {
				if _, taken := c.byAddr[ip.Unmap()]; !taken {
					c.byAddr[ip.Unmap()] = ln.ID
				}
			}
		}
	}
}

// reservations are the roster's fixed addresses, for the DHCP server
// (service.Runtime.Reservations): one per learner with both a MAC and an
// address, told the learner's host name, else its id.
func (c *Class) reservations() []service.Reservation {
	var out []service.Reservation
	for _, ln := range c.opts.Learners {
		if ln.MAC == "" || !ln.Address.IsValid() {
			continue
		}
		host := ln.Host
		if host == "" {
			host = ln.ID
		}
		out = append(out, service.Reservation{MAC: strings.ToLower(ln.MAC), IP: ln.Address.Unmap(), Host: host, Learner: ln.ID})
	}
	return out
}

// variants are each learner's own instance of the service name, prepared
// with the learner's values of the lab's variables; nil when the learners
// all run the class's lab.
func (c *Class) variants(name string) map[string]service.Prepared {
	if c.opts.Variant == nil {
		return nil
	}
	out := make(map[string]service.Prepared, len(c.learners))
	for _, m := range c.learners {
		for _, s := range m.lab.Services {
			if s.Name == name {
				out[m.learner] = s.Prepared
			}
		}
	}
	return out
}

// Attribute names the learner of the roster an event comes from, or "".
// It is called on the servers' path: map lookups only.
func (c *Class) Attribute(e event.Event) string {
	if u, snmp := authUser(e); u != "" {
		by := c.byMail
		if snmp {
			by = c.bySNMP
		}
		if id, ok := by[u]; ok {
			return id
		}
	}
	if ip, ok := clientIP(e.Client); ok {
		if id := c.LearnerAt(ip); id != "" {
			return id
		}
	}
	if mac := e.Attrs["mac"]; mac != "" {
		if id, ok := c.byMAC[strings.ToLower(mac)]; ok {
			return id
		}
	}
	if h := e.Attrs["hostname"]; h != "" {
		if id, ok := c.byHost[strings.ToLower(strings.TrimSuffix(h, "."))]; ok {
			return id
		}
	}
	return ""
}

// LearnerAt names the learner of the roster at a remote address, or "":
// the roster's address (or its host's), else the address the lab's DHCP
// server leased to the learner's MAC.
func (c *Class) LearnerAt(ip netip.Addr) string {
	ip = ip.Unmap()
	if id, ok := c.byAddr[ip]; ok {
		return id
	}
	if m := c.leased.Load(); m != nil {
		return (*m)[ip]
	}
	return ""
}

// learnLease follows the lab's DHCP server: an address acknowledged to a
// learner (attributed by MAC or host name) is theirs until released or
// given to someone else, so that what they do from it is attributed to
// them. Acks are rare: the map is copied on write, and read without a lock.
func (c *Class) learnLease(e event.Event) {
	if e.Service != "dhcp" || (e.Kind != "dhcp.ack" && e.Kind != "dhcp.release") {
		return
	}
	ip, err := netip.ParseAddr(e.Attrs["ip"])
	if err != nil || !ip.IsValid() || ip.IsUnspecified() {
		return
	}
	ip = ip.Unmap()
	if _, fixed := c.byAddr[ip]; fixed {
		return // the roster says whose it is
	}
	c.leaseMu.Lock()
	defer c.leaseMu.Unlock()
	old := c.leased.Load()
	cur := ""
	if old != nil {
		cur = (*old)[ip]
	}
	want := cur
	switch {
	case e.Kind == "dhcp.ack" && e.Learner != "":
		want = e.Learner
	case e.Kind == "dhcp.ack" || (e.Kind == "dhcp.release" && e.Learner == cur):
		want = "" // another client's now, or given back
	}
	if want == cur {
		return
	}
	m := map[netip.Addr]string{}
	if old != nil {
		m = maps.Clone(*old)
	}
	if want == "" {
		delete(m, ip)
	} else {
		m[ip] = want
	}
	c.leased.Store(&m)
}

// clientIP reads an event's client address: host:port or a bare address.
func clientIP(client string) (netip.Addr, bool) {
	if client == "" {
		return netip.Addr{}, false
	}
	if ap, err := netip.ParseAddrPort(client); err == nil {
		return ap.Addr().WithZone("").Unmap(), true
	}
	ip, err := netip.ParseAddr(client)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.WithZone("").Unmap(), true
}

// attributing publishes events with their learner filled in.
type attributing struct {
	c    *Class
	next event.Publisher
}

func (a attributing) Publish(e event.Event) {
	if e.Learner == "" {
		e.Learner = a.c.Attribute(e)
	}
	a.c.learnLease(e)
	a.next.Publish(e)
}

// publisher is where the services publish: the bus, through attribution
// in a class.
func (l *Lab) publisher() event.Publisher {
	if l.class == nil {
		return l.bus
	}
	return attributing{c: l.class, next: l.bus}
}

// view is the view of the lab of the event's learner, whose checker the
// event goes to; nil (and counted) for an event of no learner.
func (c *Class) view(e event.Event) *Lab {
	m, ok := c.byID[e.Learner]
	if !ok {
		c.unknown.Add(1)
		return nil
	}
	c.seenMu.Lock()
	if e.Time.After(c.seen[e.Learner]) {
		c.seen[e.Learner] = e.Time
	}
	c.seenMu.Unlock()
	return m
}

// publishEvent shows an event to its learner's console and to the
// instructor.
func (c *Class) publishEvent(e event.Event) {
	if m, ok := c.byID[e.Learner]; ok && m.console != nil {
		m.console.PublishEvent(e)
	}
	if c.server != nil {
		c.server.PublishEvent(e)
	}
}

// changed tells the instructor's dashboard that a learner's progress
// changed.
func (c *Class) changed(learner string) {
	if c.server != nil {
		c.server.PublishLearner(c.row(c.byID[learner]))
	}
}

// serve starts the web server: the instructor's dashboard and each
// learner's console, chosen by the request's source address.
func (c *Class) serve(ln net.Listener) {
	l := c.lab
	for _, m := range c.learners {
		m.webURL = l.webURL
		m.endpoints = l.endpoints
		m.instances = l.instances
		m.network = l.network
		m.console = console.New(m, console.Options{Log: l.opts.Log.With("component", "console", "learner", m.learner)})
	}
	c.server = console.NewClass(c, console.ClassOptions{Token: c.token, Log: l.opts.Log.With("component", "instructor")})
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		if err := c.server.Serve(ln); err != nil {
			l.opts.Log.Error("web server stopped", "err", err)
		}
	}()
}

// shutdown stops the web server and every learner's console.
func (c *Class) shutdown(ctx context.Context) error {
	var errs []error
	if c.server != nil {
		errs = append(errs, c.server.Shutdown(ctx))
	}
	for _, m := range c.learners {
		if m.console != nil {
			errs = append(errs, m.console.Shutdown(ctx))
		}
	}
	return errors.Join(errs...)
}

// Token is the instructor's token.
func (c *Class) Token() string { return c.token }

// InstructorURL is the dashboard's address, token included.
func (c *Class) InstructorURL() string {
	return c.lab.webURL + "/instructor?token=" + c.token
}

// Learners lists the learners' ids in roster order.
func (c *Class) Learners() []string {
	out := make([]string, len(c.learners))
	for i, m := range c.learners {
		out[i] = m.learner
	}
	return out
}

// Unknown is how many events no learner of the roster was found for.
func (c *Class) Unknown() uint64 { return c.unknown.Load() }

// LearnerStatus is one learner's status, as their console shows it.
func (c *Class) LearnerStatus(id string) (api.Status, bool) {
	m, ok := c.byID[id]
	if !ok {
		return api.Status{}, false
	}
	return m.Status(), true
}

// Snapshot implements console.ClassSource: the learners by the tasks.
func (c *Class) Snapshot() api.Class {
	lab, lang := c.lab.lab, c.lab.opts.Lang
	out := api.Class{Class: c.opts.Class, Lab: lab.ID, Title: lab.Title.In(lang), Started: c.lab.started,
		Tasks: []api.ClassTask{}, Learners: []api.ClassLearner{},
		Events: c.lab.bus.Published(), Unknown: c.unknown.Load()}
	for _, t := range lab.Tasks {
		out.Tasks = append(out.Tasks, api.ClassTask{ID: t.ID, Title: t.Title.In(lang), Points: t.Points, Optional: t.Optional})
	}
	for _, m := range c.learners {
		out.Learners = append(out.Learners, c.row(m))
	}
	return out
}

// row is one learner's line of the grid.
func (c *Class) row(m *Lab) api.ClassLearner {
	m.mu.Lock()
	st := BuildStatus(m.lab, m.opts.Lang, m.done, m.hints)
	m.mu.Unlock()
	info := c.info[m.learner]
	r := api.ClassLearner{ID: m.learner, Name: info.Name, Done: st.Done, Total: st.Total,
		Points: st.Points, MaxPoints: st.MaxPoints, Cells: []api.ClassCell{}}
	if info.Address.IsValid() {
		r.Address = info.Address.String()
	}
	if m.account != nil {
		r.User, r.Password = m.account.User, m.account.Password
	}
	if v := c.values[m.learner]; len(v) > 0 {
		r.Values = v
	}
	c.seenMu.Lock()
	if t, ok := c.seen[m.learner]; ok {
		r.LastSeen = &t
	}
	c.seenMu.Unlock()
	for i, t := range st.Tasks {
		cell := api.ClassCell{Task: t.ID, Done: t.Done, DoneAt: t.DoneAt, Hints: t.HintsShown, Late: t.Late}
		if t.Done && i < len(m.lab.Tasks) {
			cell.Points = m.lab.Earned(&m.lab.Tasks[i], *t.DoneAt)
		}
		r.Cells = append(r.Cells, cell)
	}
	return r
}

// Timeline implements console.ClassSource: a learner's newest events,
// oldest first.
func (c *Class) Timeline(id string, limit int) ([]event.Event, error) {
	m, ok := c.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", console.ErrUnknownLearner, id)
	}
	return m.journalCaughtUp(limit)
}

// ResetLearner implements console.ClassSource: one learner's progress and
// hints are cleared, the others' kept.
func (c *Class) ResetLearner(id string) error {
	m, ok := c.byID[id]
	if !ok {
		return fmt.Errorf("%w %q", console.ErrUnknownLearner, id)
	}
	st, err := m.Reset()
	if err != nil {
		return err
	}
	m.console.PublishStatus(st)
	return nil
}

// LearnerConsole implements console.ClassSource: the console of the
// learner at a remote address.
func (c *Class) LearnerConsole(ip netip.Addr) (string, http.Handler, bool) {
	id := c.LearnerAt(ip)
	m, ok := c.byID[id]
	if !ok || m.console == nil {
		return "", nil, false
	}
	return id, m.console.Handler(), true
}

// Overview implements console.ClassSource: the lab's status without any
// learner's progress.
func (c *Class) Overview() api.Status { return c.lab.Status() }

// Class is the class of a lab started with Options.Class, else nil.
func (l *Lab) Class() *Class { return l.class }

// classSecretFile holds, in the state directory, the secret the learners'
// passwords are derived from, so that they stay the same across restarts.
const classSecretFile = "class-secret"

// loadClassSecret reads the class's secret, creating it (0600) on the
// first start.
func loadClassSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, classSecretFile)
	b, err := os.ReadFile(path)
	if err == nil {
		key, derr := hex.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(key) < 16 {
			return nil, fmt.Errorf("class secret %s is damaged: remove it to make a new one (the learners' passwords change)", path)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("class secret: %w", err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadClassSecret(dir)
		}
		return nil, fmt.Errorf("class secret: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("class secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("class secret: %w", err)
	}
	return key, nil
}

// Letters of the derived passwords: syllables of a consonant and a vowel,
// without letters that are easily confused.
const (
	consonants = "bdfghjkmnprstvwz"
	vowels     = "aeiou"
)

// learnerPassword derives a learner's password from the class's secret and
// the learner's id: five pronounceable syllables and two digits, such as
// "tamodirevu42" (12 characters, as SNMPv3 needs at least 8).
func learnerPassword(key []byte, learner string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("protolab learner account\x00" + learner))
	sum := m.Sum(nil)
	var b strings.Builder
	for i := range 5 {
		b.WriteByte(consonants[int(sum[2*i])%len(consonants)])
		b.WriteByte(vowels[int(sum[2*i+1])%len(vowels)])
	}
	fmt.Fprintf(&b, "%02d", int(sum[10])%100)
	return b.String()
}

// accounts are the learners' own accounts (service.Runtime.Accounts), in
// roster order.
func (c *Class) accounts() []service.Account {
	return append([]service.Account(nil), c.accts...)
}

// Accounts returns the learners' own accounts, in roster order, for the
// instructor.
func (c *Class) Accounts() []service.Account { return c.accounts() }

// AccountOf returns a learner's own account.
func (c *Class) AccountOf(learner string) (service.Account, bool) {
	for _, a := range c.accts {
		if a.Learner == learner {
			return a, true
		}
	}
	return service.Account{}, false
}

// authUser returns the identity an event was authenticated with, or "": a successful login's user, the logged-in user of a mail
// session, the authenticated sender of SMTP, an SNMPv3 user whose request
// passed authentication. Claimed addresses (MAIL FROM, RCPT TO) and failed
// logins are not identities. Mail user names are lower case; an SNMPv3
// user name is kept as given (snmp is then true).
func authUser(e event.Event) (user string, snmp bool) {
	var u string
	switch e.Service {
	case "pop3", "imap":
		if e.Kind == e.Service+".login" {
			if e.Attrs["result"] != "ok" {
				return "", false
			}
		}
		u = e.Attrs["user"]
	case "smtp":
		if e.Kind == "smtp.auth" {
			if e.Attrs["result"] == "ok" {
				u = e.Attrs["user"]
			}
		} else {
			u = e.Attrs["auth_user"]
		}
	case "snmp":
		if e.Kind == "snmp.request" && e.Attrs["version"] == "3" && e.Attrs["level"] != "" && e.Attrs["level"] != "noAuthNoPriv" {
			return e.Attrs["user"], true
		}
		return "", false
	}
	return strings.ToLower(u), false
}
