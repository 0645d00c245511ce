package snmp

import (
	"context"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"protolab/internal/eventtest"
	"protolab/internal/service"
	"protolab/internal/servicetest"
)

// labOptions are the options of the router lab.
const labOptions = `mib: router.snmprec
communities: [{name: public, access: ro}, {name: private, access: rw}]
users:
  - {name: learner, auth: SHA, auth_pass: labauthpass, priv: AES, priv_pass: labprivpass}
  - {name: learner-md5, auth: MD5, auth_pass: labauthpass, priv: DES, priv_pass: labprivpass}
  - {name: watcher, auth: SHA, auth_pass: labauthpass}
`

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
	p, err := Spec.Load(servicetest.YAML(t, labOptions+extra), labFS(t))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return p.(*prepared)
}

// collector keeps the events a test's server publishes, and checks them
// against Spec.Events.
type collector = eventtest.Collector

func newCollector() *collector { return eventtest.New(&Spec) }

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
		col.CheckDeclared(t)
	})
	addr, _ := inst.Endpoints().Find("snmp", "udp")
	return &running{inst: inst.(*instance), addr: addr, events: col}
}
