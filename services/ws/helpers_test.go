package ws

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"protolab/internal/eventtest"
	"protolab/internal/service"
	"protolab/internal/servicetest"
	"protolab/services/mailstore"
)

// labFS is a lab directory holding the lab's zone.
func labFS(t testing.TB) fstest.MapFS {
	t.Helper()
	text, err := os.ReadFile("testdata/lab.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	return fstest.MapFS{"lab.test.zone": {Data: text}}
}

// loadLab loads the service with the lab's zone and extra options.
func loadLab(t testing.TB, extra string) *prepared {
	t.Helper()
	p, err := Spec.Load(servicetest.YAML(t, "zone: lab.test.zone\n"+extra), labFS(t))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return p.(*prepared)
}

// running is the service on 127.0.0.1:0 with its events.
type running struct {
	inst   *instance
	url    string // http://127.0.0.1:port/directory
	events *eventtest.Collector
	store  *mailstore.Store // nil without mail
}

// start runs the service; with mail, a mail store is shared with it, as
// the mailstore service does in a lab.
func start(t testing.TB, extra string, mail bool) *running {
	t.Helper()
	p := loadLab(t, extra)
	col := eventtest.New(&Spec)
	rt := service.Runtime{Bind: "127.0.0.1", Events: col, Shared: service.NewShared()}
	r := &running{events: col}
	if mail {
		st, err := mailstore.Open(t.TempDir(), mailstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		rt.Shared.Put(mailstore.SharedName, st)
		r.store = st
	}
	inst, err := p.Start(context.Background(), rt)
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
	addr, ok := inst.Endpoints().Find("ws", "tcp")
	if !ok {
		t.Fatalf("no endpoint: %+v", inst.Endpoints())
	}
	r.inst = inst.(*instance)
	r.url = "http://" + addr + Path
	return r
}

// response is what came back from an HTTP request.
type response struct {
	status      int
	contentType string
	body        string
}

// do sends a request with the given headers (name, value pairs).
func do(t testing.TB, method, url, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(b)}
}

// soap11 posts a SOAP 1.1 request with a SOAPAction.
func soap11(t testing.TB, url, action, env string) response {
	t.Helper()
	return do(t, http.MethodPost, url, env, "Content-Type", "text/xml; charset=utf-8", "SOAPAction", `"`+action+`"`)
}

// soap12 posts a SOAP 1.2 request, with an action parameter when given.
func soap12(t testing.TB, url, action, env string) response {
	t.Helper()
	ct := "application/soap+xml; charset=utf-8"
	if action != "" {
		ct += `; action="` + action + `"`
	}
	return do(t, http.MethodPost, url, env, "Content-Type", ct)
}

// lookup is the Body of a LookupHost request.
func lookup(name string) string {
	return `<LookupHost xmlns="urn:lab.test:directory"><name>` + name + `</name></LookupHost>`
}

// wantAttrs fails unless the event has these attributes.
func wantAttrs(t testing.TB, attrs map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("event attribute %s = %q, want %q (all: %v)", k, attrs[k], v, attrs)
		}
	}
}
