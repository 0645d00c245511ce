package dns

import (
	"bytes"
	"context"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/miekg/dns"

	"protolab/internal/eventtest"
	"protolab/internal/service"
	"protolab/internal/servicetest"
)

// labOptions is how the built-in lab names its zones.
const labOptions = `zones: [zones/lab.test.zone, zones/2.0.192.in-addr.arpa.zone, zones/0.0.0.0.9.8.0.0.8.b.d.0.1.0.0.2.ip6.arpa.zone]`

// loadLab loads the built-in lab zones with extra options appended.
func loadLab(t testing.TB, extra string) *prepared {
	t.Helper()
	p, err := Spec.Load(servicetest.YAML(t, labOptions+"\n"+extra), labDir(t))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return p.(*prepared)
}

// collector keeps the events a test's server publishes, and checks them
// against Spec.Events.
type collector = eventtest.Collector

func newCollector() *collector { return eventtest.New(&Spec) }

// server is a running instance on 127.0.0.1:0 with its events.
type server struct {
	inst   service.Instance
	events *collector
	udp    string
	tcp    string
}

func startServer(t testing.TB, p service.Prepared) *server {
	t.Helper()
	return startServerWith(t, p, service.Runtime{})
}

// startServerWith starts p on 127.0.0.1 with rt's other fields.
func startServerWith(t testing.TB, p service.Prepared, rt service.Runtime) *server {
	t.Helper()
	col := newCollector()
	rt.Bind, rt.Ports, rt.Events = "127.0.0.1", map[string]int{}, col
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
	})
	s := &server{inst: inst, events: col}
	var ok1, ok2 bool
	s.udp, ok1 = inst.Endpoints().Find("dns", "udp")
	s.tcp, ok2 = inst.Endpoints().Find("dns", "tcp")
	if !ok1 || !ok2 {
		t.Fatalf("endpoints: %v", inst.Endpoints())
	}
	return s
}

// query is a question and how to ask it.
type query struct {
	name      string
	qtype     uint16
	transport string // "udp" (default) or "tcp"
	edns      int    // UDP size to announce; 0: no EDNS
	mutate    func(*dns.Msg)
}

func (s *server) ask(t testing.TB, q query) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(q.name, q.qtype)
	if q.edns > 0 {
		m.SetEdns0(uint16(q.edns), false)
	}
	if q.mutate != nil {
		q.mutate(m)
	}
	transport, addr := "udp", s.udp
	if q.transport == "tcp" {
		transport, addr = "tcp", s.tcp
	}
	c := &dns.Client{Net: transport, Timeout: 5 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", q.name, dns.TypeToString[q.qtype], transport, err)
	}
	return r
}

// rrStrings formats records the way the zone file shows them.
func rrStrings(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	return out
}

// sendRaw writes raw bytes over UDP from a fresh socket.
func sendRaw(t testing.TB, addr string, b []byte) net.Addr {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	return c.LocalAddr()
}

// labSecret is the flag a learner finds in the built-in zone: the lab draws
// one per learner ({var.secret} in the zone file).
const labSecret = "tournesol"

// labDir is the built-in lab's directory as the lab's loader gives it to
// the service: the zone files with a learner's flag in place.
func labDir(t testing.TB) fs.FS {
	t.Helper()
	return labDirWith(t, labSecret)
}

// labDirWith is labDir with another learner's flag.
func labDirWith(t testing.TB, secret string) fs.FS {
	t.Helper()
	files := fstest.MapFS{}
	err := fs.WalkDir(os.DirFS("../../labs/dns"), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(filepath.Join("../../labs/dns", name))
		if err != nil {
			return err
		}
		files[name] = &fstest.MapFile{Data: bytes.ReplaceAll(b, []byte("{var.secret}"), []byte(secret)), Mode: 0o644}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
