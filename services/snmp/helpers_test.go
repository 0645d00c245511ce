package snmp

import (
	"context"
	"os"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"go.yaml.in/yaml/v3"

	"protolab/internal/event"
	"protolab/internal/service"
)

// labOptions are the options of the router lab.
const labOptions = `mib: router.snmprec
communities: [{name: public, access: ro}, {name: private, access: rw}]
users:
  - {name: learner, auth: SHA, auth_pass: labauthpass, priv: AES, priv_pass: labprivpass}
  - {name: learner-md5, auth: MD5, auth_pass: labauthpass, priv: DES, priv_pass: labprivpass}
  - {name: watcher, auth: SHA, auth_pass: labauthpass}
`

// yamlNode parses a YAML document into the node Load is given.
func yamlNode(t testing.TB, text string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	return &doc
}

// labFS is a lab directory holding the router's MIB.
func labFS(t testing.TB) fstest.MapFS {
	t.Helper()
	text, err := os.ReadFile("testdata/router.snmprec")
	if err != nil {
		t.Fatal(err)
	}
	return fstest.MapFS{"router.snmprec": {Data: text}}
}

// loadLab loads the router lab with extra options appended.
func loadLab(t testing.TB, extra string) *prepared {
	t.Helper()
	p, err := Spec.Load(yamlNode(t, labOptions+extra), labFS(t))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return p.(*prepared)
}

// collector is a Publisher for tests: it keeps every event, in order, and
// notes attributes the Spec does not declare.
type collector struct {
	c          chan event.Event
	mu         sync.Mutex
	undeclared []string
}

func newCollector() *collector { return &collector{c: make(chan event.Event, 10000)} }

func (c *collector) Publish(e event.Event) {
	spec, ok := Spec.Event(e.Kind)
	for k := range e.Attrs {
		if !ok || !spec.HasAttr(k) {
			c.mu.Lock()
			c.undeclared = append(c.undeclared, e.Kind+" "+k)
			c.mu.Unlock()
		}
	}
	select {
	case c.c <- e:
	default:
		panic("test collector full")
	}
}

// next returns the next event of the given kind, waiting up to 5 s.
func (c *collector) next(t testing.TB, kind string) event.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-c.c:
			if e.Kind == kind {
				e.Render()
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event within 5s", kind)
			return event.Event{}
		}
	}
}

// running is an agent on 127.0.0.1:0 with its events.
type running struct {
	inst   *instance
	addr   string
	events *collector
}

// start runs the router lab with extra options.
func start(t testing.TB, extra string) *running {
	t.Helper()
	p := loadLab(t, extra)
	col := newCollector()
	inst, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Events: col})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := inst.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		col.mu.Lock()
		defer col.mu.Unlock()
		if len(col.undeclared) > 0 {
			t.Errorf("attributes not declared in Spec.Events: %v", col.undeclared)
		}
	})
	addr, _ := inst.Endpoints().Find("snmp", "udp")
	return &running{inst: inst.(*instance), addr: addr, events: col}
}
