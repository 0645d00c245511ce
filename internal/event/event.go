// Package event defines what a service saw a client do: the one record that
// flows from the servers through the bus to the checker, the progress store
// and the views. Services know nothing about tasks; they only describe.
package event

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Event is one thing a client did to a lab server, e.g. a DNS query or an
// SMTP delivery. Attribute values are strings so that checks, the journal
// and the web console treat every service alike.
//
// An event is read-only once published: the bus hands the same Attrs map to
// every subscriber, and a server may share one map between events with the
// same values.
type Event struct {
	Seq     uint64            `json:"seq"`
	Time    time.Time         `json:"time"`
	Service string            `json:"service"`
	Kind    string            `json:"kind"`
	Client  string            `json:"client,omitempty"`  // the client's address, host:port
	Learner string            `json:"learner,omitempty"` // empty when solo
	Attrs   map[string]string `json:"attrs,omitempty"`
	// Transcript is what the learner would want to see of the exchange,
	// secrets masked (for DNS: the answer the way dig prints it).
	Transcript string `json:"transcript,omitempty"`
	// TranscriptFrom lets a server hand over the transcript unrendered, so the
	// formatting cost is paid by subscribers, off the server's hot path. The
	// value must not be changed after Publish.
	TranscriptFrom fmt.Stringer `json:"-"`
}

// Render fills Transcript from TranscriptFrom, once.
func (e *Event) Render() {
	if e.Transcript == "" && e.TranscriptFrom != nil {
		e.Transcript = e.TranscriptFrom.String()
	}
	e.TranscriptFrom = nil
}

// Summary is a one-line description for logs and piped output:
// "dns.query qname=www.lab.test. qtype=A rcode=NOERROR".
func (e Event) Summary() string {
	var b strings.Builder
	b.WriteString(e.Kind)
	keys := make([]string, 0, len(e.Attrs))
	for k := range e.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, e.Attrs[k])
	}
	return b.String()
}

// Publisher takes events from a server. Publish must never block the caller.
type Publisher interface {
	Publish(Event)
}

// Discard is a Publisher that drops everything (benchmarks, tools).
type Discard struct{}

// Publish drops e.
func (Discard) Publish(Event) {}

// Spec documents one kind of event a service emits and the attributes it
// carries; lab files are validated against it.
type Spec struct {
	Kind  string
	Doc   string
	Attrs []Attr
	// Brief names the attributes worth showing in a one-line view.
	Brief []string
}

// Attr documents one attribute of an event kind.
type Attr struct {
	Name string
	Doc  string
}

// HasAttr reports whether the kind carries the named attribute.
func (s Spec) HasAttr(name string) bool {
	for _, a := range s.Attrs {
		if a.Name == name {
			return true
		}
	}
	return false
}

// AttrNames lists the attribute names, in declaration order.
func (s Spec) AttrNames() []string {
	names := make([]string, len(s.Attrs))
	for i, a := range s.Attrs {
		names[i] = a.Name
	}
	return names
}
