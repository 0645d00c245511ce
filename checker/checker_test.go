package checker

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"protolab/internal/event"
)

type testCatalog map[string][]string

func (c testCatalog) EventSpec(kind string) (event.Spec, bool) {
	attrs, ok := c[kind]
	if !ok {
		return event.Spec{}, false
	}
	s := event.Spec{Kind: kind}
	for _, a := range attrs {
		s.Attrs = append(s.Attrs, event.Attr{Name: a})
	}
	return s, true
}

func (c testCatalog) EventKinds() []string {
	var out []string
	for k := range c {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var cat = testCatalog{
	"dns.query":     {"qname", "qtype", "rcode", "transport", "answers"},
	"dhcp.discover": {"mac", "xid"},
	"dhcp.ack":      {"mac", "xid", "ip"},
	"tcp.accept":    {"port"},
}

func compile(t *testing.T, src string) (*Check, error) {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	s, err := ParseSpec(&n)
	if err != nil {
		return nil, err
	}
	return Compile(s, cat)
}

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func q(sec int, attrs ...string) event.Event {
	e := event.Event{Time: t0.Add(time.Duration(sec) * time.Second), Service: "dns", Kind: "dns.query", Client: "127.0.0.1:5300", Attrs: map[string]string{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.Attrs[attrs[i]] = attrs[i+1]
	}
	return e
}

func ev(kind string, sec int, attrs ...string) event.Event {
	e := q(sec, attrs...)
	e.Kind = kind
	return e
}

func TestMatchers(t *testing.T) {
	tests := []struct {
		name   string
		check  string
		events []event.Event
		want   []bool // result after each event
	}{
		{
			name:   "equality on several attributes",
			check:  "event: dns.query\nwhere: {qname: www.lab.test., qtype: A, rcode: NOERROR}",
			events: []event.Event{q(0, "qname", "ww.lab.test.", "qtype", "A", "rcode", "NXDOMAIN"), q(1, "qname", "www.lab.test.", "qtype", "AAAA", "rcode", "NOERROR"), q(2, "qname", "www.lab.test.", "qtype", "A", "rcode", "NOERROR")},
			want:   []bool{false, false, true},
		},
		{
			name:   "stays done",
			check:  "event: dns.query\nwhere: {qtype: A}",
			events: []event.Event{q(0, "qtype", "A"), q(1, "qtype", "MX")},
			want:   []bool{true, true},
		},
		{
			name:   "one of a list",
			check:  "event: dns.query\nwhere: {qtype: [A, AAAA]}",
			events: []event.Event{q(0, "qtype", "MX"), q(1, "qtype", "AAAA")},
			want:   []bool{false, true},
		},
		{
			name:   "min on a number, missing attribute does not hold",
			check:  "event: dns.query\nwhere: {answers: {min: 1}}",
			events: []event.Event{q(0), q(1, "answers", "0"), q(2, "answers", "x"), q(3, "answers", "3")},
			want:   []bool{false, false, false, true},
		},
		{
			name:   "max",
			check:  "event: dns.query\nwhere: {answers: {max: 0}}",
			events: []event.Event{q(0, "answers", "2"), q(1, "answers", "0")},
			want:   []bool{false, true},
		},
		{
			name:   "regular expression",
			check:  "event: dns.query\nwhere: {qname: {matches: '\\.(in-addr|ip6)\\.arpa\\.$'}}",
			events: []event.Event{q(0, "qname", "arpa.lab.test."), q(1, "qname", "80.2.0.192.in-addr.arpa.")},
			want:   []bool{false, true},
		},
		{
			name:   "not",
			check:  "event: dns.query\nwhere: {rcode: {not: [NOERROR, NXDOMAIN]}}",
			events: []event.Event{q(0, "rcode", "NOERROR"), q(1, "rcode", "NXDOMAIN"), q(2, "rcode", "REFUSED")},
			want:   []bool{false, false, true},
		},
		{
			name:   "exists false",
			check:  "event: dns.query\nwhere: {transport: {exists: false}}",
			events: []event.Event{q(0, "transport", "udp"), q(1)},
			want:   []bool{false, true},
		},
		{
			name:   "client envelope field",
			check:  "event: dns.query\nwhere: {client: {matches: '^127\\.'}}",
			events: []event.Event{q(0)},
			want:   []bool{true},
		},
		{
			name:   "count",
			check:  "event: dns.query\ncount: 3",
			events: []event.Event{q(0), q(1), q(2)},
			want:   []bool{false, false, true},
		},
		{
			name:   "count within a window slides",
			check:  "event: dns.query\ncount: 2\nwithin: 10s",
			events: []event.Event{q(0), q(20), q(25)},
			want:   []bool{false, false, true},
		},
		{
			name:   "distinct values",
			check:  "event: tcp.accept\ndistinct: port\ncount: 3\nwithin: 1m",
			events: []event.Event{ev("tcp.accept", 0, "port", "25"), ev("tcp.accept", 1, "port", "25"), ev("tcp.accept", 2, "port", "110"), ev("tcp.accept", 100, "port", "143"), ev("tcp.accept", 101, "port", "53"), ev("tcp.accept", 102, "port", "7")},
			want:   []bool{false, false, false, false, false, true},
		},
		{
			name:   "wrong kind never matches",
			check:  "event: dhcp.ack",
			events: []event.Event{q(0)},
			want:   []bool{false},
		},
		{
			name:  "sequence with same attribute",
			check: "sequence:\n  - event: dhcp.discover\n  - event: dhcp.ack\nsame: [mac]",
			events: []event.Event{
				ev("dhcp.ack", 0, "mac", "aa"),      // ack before discover
				ev("dhcp.discover", 1, "mac", "aa"), //
				ev("dhcp.ack", 2, "mac", "bb"),      // another client
				ev("dhcp.ack", 3, "mac", "aa"),      // done
			},
			want: []bool{false, false, false, true},
		},
		{
			name:   "sequence within a window",
			check:  "sequence:\n  - event: dhcp.discover\n  - event: dhcp.ack\nsame: mac\nwithin: 5s",
			events: []event.Event{ev("dhcp.discover", 0, "mac", "aa"), ev("dhcp.ack", 10, "mac", "aa"), ev("dhcp.discover", 11, "mac", "aa"), ev("dhcp.ack", 12, "mac", "aa")},
			want:   []bool{false, false, false, true},
		},
		{
			name:   "sequence step with conditions",
			check:  "sequence:\n  - event: dns.query\n    where: {transport: udp}\n  - event: dns.query\n    where: {transport: tcp}\nsame: qname",
			events: []event.Event{q(0, "qname", "a.", "transport", "tcp"), q(1, "qname", "a.", "transport", "udp"), q(2, "qname", "b.", "transport", "tcp"), q(3, "qname", "a.", "transport", "tcp")},
			want:   []bool{false, false, false, true},
		},
		{
			name:   "all",
			check:  "all:\n  - event: dns.query\n    where: {qtype: A}\n  - event: dns.query\n    where: {qtype: AAAA}",
			events: []event.Event{q(0, "qtype", "A"), q(1, "qtype", "A"), q(2, "qtype", "AAAA")},
			want:   []bool{false, false, true},
		},
		{
			name:   "any",
			check:  "any:\n  - event: dhcp.ack\n  - event: dns.query\n    where: {qtype: MX}",
			events: []event.Event{q(0, "qtype", "A"), q(1, "qtype", "MX")},
			want:   []bool{false, true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := compile(t, tt.check)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			m := c.NewMatcher()
			for i, e := range tt.events {
				if got := m.Observe(&e); got != tt.want[i] {
					t.Fatalf("after event %d (%s): got %v, want %v", i, e.Summary(), got, tt.want[i])
				}
			}
			// A fresh matcher starts over.
			if len(tt.events) > 0 && c.NewMatcher().Observe(&event.Event{Kind: "none"}) {
				t.Fatal("a fresh matcher is already satisfied")
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		check string
		want  string // substring of the error, with the line
	}{
		{"where: {qname: x}", "line 1: check: say what to watch for"},
		{"event: dns.querry", "line 1: check: unknown event kind \"dns.querry\"; this lab's services emit: dhcp.ack, dhcp.discover, dns.query, tcp.accept"},
		{"event: dns.query\nwhere:\n  qnam: www.lab.test.", "line 3: check: where: \"qnam\" is not an attribute of dns.query"},
		{"event: dns.query\nwhere: {qname: {matches: '('}}", "line 2: where.qname.matches: not a valid regular expression"},
		{"event: dns.query\ncount: 0", "line 2: count must be 1 or more"},
		{"event: dns.query\ncount: many", "line 2: count must be a whole number"},
		{"event: dns.query\nwithin: soon", "line 2: within must be a duration"},
		{"event: dns.query\nwhen: now", "line 2: check: unknown field \"when\""},
		{"event: dns.query\nwhere: {answers: {min: lots}}", "line 2: where.answers.min must be a number"},
		{"event: dns.query\nwhere: {answers: {above: 1}}", "line 2: where.answers: unknown field \"above\""},
		{"event: dns.query\ndistinct: port", "check: distinct: \"port\" is not an attribute of dns.query"},
		{"kind: magic\nevent: dns.query", "line 1: check: unknown kind \"magic\""},
		{"sequence:\n  - event: dhcp.discover", "line 1: check: a sequence needs at least two steps"},
		{"sequence:\n  - event: dhcp.discover\n  - event: dhcp.ack\nsame: [ip]", "same: \"ip\" is not an attribute of dhcp.discover"},
		{"sequence:\n  - event: dhcp.discover\n  - event: dhcp.ack\n    count: 2", "line 3: check: count, distinct and within go on the sequence"},
		{"event: dns.query\nsame: qname", "check: an event check takes"},
		{"all: []", "line 1: all needs at least one item"},
		{"event: dns.query\nevent: dns.query", "line 2: check: field \"event\" is given twice"},
		{"- event: dns.query", "line 1: check must be a mapping"},
	}
	for _, tt := range tests {
		_, err := compile(t, tt.check)
		if err == nil {
			t.Errorf("%q: no error, want %q", tt.check, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q:\n got  %v\n want %q", tt.check, err, tt.want)
		}
	}
}

func TestChecker(t *testing.T) {
	mk := func(id, src string) Task {
		c, err := compile(t, src)
		if err != nil {
			t.Fatal(err)
		}
		return Task{ID: id, Check: c}
	}
	tasks := []Task{
		mk("resolve-a", "event: dns.query\nwhere: {qname: www.lab.test., qtype: A, rcode: NOERROR}"),
		mk("tcp", "event: dns.query\nwhere: {transport: tcp}"),
		mk("nxdomain", "event: dns.query\nwhere: {rcode: NXDOMAIN}"),
		mk("two", "event: dns.query\ncount: 2"),
	}
	c := New(tasks, map[string]bool{"nxdomain": true})
	steps := []struct {
		e    event.Event
		want []string
	}{
		{q(0, "qname", "www.lab.test.", "qtype", "A", "rcode", "NOERROR", "transport", "tcp"), []string{"resolve-a", "tcp"}},
		{q(1, "qname", "ww.lab.test.", "qtype", "A", "rcode", "NXDOMAIN", "transport", "udp"), []string{"two"}},
		{q(2, "qname", "www.lab.test.", "qtype", "A", "rcode", "NOERROR", "transport", "tcp"), nil},
	}
	for i, s := range steps {
		if got := c.Observe(s.e); !reflect.DeepEqual(got, s.want) {
			t.Fatalf("step %d: ticked %v, want %v", i, got, s.want)
		}
	}
	if !c.Done("nxdomain") || !c.Done("resolve-a") || c.Done("nope") {
		t.Fatal("Done reports the wrong state")
	}
	c.Reset()
	if c.Done("resolve-a") || c.Done("nxdomain") {
		t.Fatal("Reset kept progress")
	}
	if got := c.Observe(q(3, "rcode", "NXDOMAIN")); !reflect.DeepEqual(got, []string{"nxdomain"}) {
		t.Fatalf("after reset: ticked %v", got)
	}
}

func TestDistinctIsBounded(t *testing.T) {
	c, err := compile(t, "event: tcp.accept\ndistinct: port\ncount: 5000")
	if err != nil {
		t.Fatal(err)
	}
	m := c.NewMatcher().(*distinctMatcher)
	for i := 0; i < 3*maxTracked; i++ {
		e := ev("tcp.accept", i, "port", strconv.Itoa(i))
		m.Observe(&e)
	}
	if len(m.seen) > maxTracked {
		t.Fatalf("tracked %d values, bound is %d", len(m.seen), maxTracked)
	}
}

func FuzzParseSpec(f *testing.F) {
	f.Add("event: dns.query\nwhere: {qname: www.lab.test., qtype: [A, AAAA], answers: {min: 1}}\ncount: 2\nwithin: 1m")
	f.Add("sequence:\n  - event: dhcp.discover\n  - event: dhcp.ack\nsame: [mac]")
	f.Add("all:\n  - event: dns.query\n  - any:\n    - event: dhcp.ack")
	f.Fuzz(func(t *testing.T, src string) {
		var n yaml.Node
		if yaml.Unmarshal([]byte(src), &n) != nil {
			return
		}
		s, err := ParseSpec(&n)
		if err != nil {
			return
		}
		c, err := Compile(s, cat)
		if err != nil {
			return
		}
		m := c.NewMatcher()
		for i := 0; i < 3; i++ {
			e := q(i, "qname", "www.lab.test.", "qtype", "A", "answers", "1", "mac", "aa")
			m.Observe(&e)
		}
	})
}
