// Package catalog decides which services are compiled into Protolab: the
// one place that imports every service package.
package catalog

import (
	"sort"

	"protolab/internal/service"
	"protolab/services/dhcp"
	"protolab/services/dns"
	"protolab/services/echo"
	"protolab/services/imap"
	"protolab/services/mailstore"
	"protolab/services/pop3"
	"protolab/services/smtp"
	"protolab/services/snmp"
	"protolab/services/ws"
)

// Registry is the set of services a lab can name.
type Registry struct {
	specs map[string]*service.Spec
}

// New returns the registry of every built-in service.
func New() *Registry {
	r := &Registry{specs: map[string]*service.Spec{}}
	for _, s := range []*service.Spec{&dns.Spec, &dhcp.Spec, &mailstore.Spec, &pop3.Spec, &imap.Spec, &smtp.Spec, &snmp.Spec, &echo.Spec, &ws.Spec} {
		r.specs[s.Name] = s
	}
	return r
}

// Service returns the spec of the named service.
func (r *Registry) Service(name string) (*service.Spec, bool) {
	s, ok := r.specs[name]
	return s, ok
}

// Names lists the services, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.specs))
	for n := range r.specs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
