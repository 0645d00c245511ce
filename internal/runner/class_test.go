package runner

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"protolab/internal/api"
	"protolab/internal/catalog"
	"protolab/internal/console"
	"protolab/internal/event"
	"protolab/labs"
	"protolab/services/dhcp"

	"github.com/gosnmp/gosnmp"
)

// classLearners map 127.0.0.1 to a and 127.0.0.2 to b: both loopback
// addresses answer on Linux without setup.
var classLearners = []Learner{
	{ID: "a", Name: "Ada", Address: netip.MustParseAddr("127.0.0.1")},
	{ID: "b", Name: "Bob", Address: netip.MustParseAddr("127.0.0.2"), MAC: "02:00:00:00:01:02"},
	{ID: "c", Host: "learner-c"},
}

const testToken = "0123456789abcdef0123456789abcdef"

func startClass(t *testing.T, lab *labs.Lab, dir string) *Lab {
	t.Helper()
	l, err := Start(context.Background(), Options{Lab: lab, StateDir: dir, Ports: PortsAuto, Web: "127.0.0.1:0",
		Class: &ClassOptions{Class: "net-101", Learners: classLearners, Token: testToken}})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func needDig(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("dig")
	if err != nil {
		if os.Getenv("LAB_REQUIRE_CLIENTS") == "1" {
			t.Fatalf("dig is required (LAB_REQUIRE_CLIENTS=1): %v", err)
		}
		t.Skip("dig not installed")
	}
	return p
}

// dig asks the lab's DNS server from the source address src.
func dig(t *testing.T, l *Lab, src string, args ...string) string {
	t.Helper()
	a, ok := l.Endpoints().Find("dns", "udp")
	if !ok {
		t.Fatalf("no DNS endpoint in %+v", l.Endpoints())
	}
	host, port, _ := net.SplitHostPort(a)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	all := append([]string{"-b", src, "@" + host, "-p", port, "+tries=1", "+time=3"}, args...)
	out, err := exec.CommandContext(ctx, needDig(t), all...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %s: %v\n%s", strings.Join(all, " "), err, out)
	}
	return string(out)
}

// client is an HTTP client whose connections come from src.
func client(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

type answer struct {
	code int
	body []byte
	hdr  http.Header
}

func call(t *testing.T, c *http.Client, method, url string, hdr map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, b, resp.Header}
}

var bearer = map[string]string{"Authorization": "Bearer " + testToken}

func grid(t *testing.T, l *Lab) api.Class {
	t.Helper()
	a := call(t, client("127.0.0.1"), "GET", l.WebURL()+"/api/class", bearer)
	if a.code != 200 {
		t.Fatalf("GET /api/class: %d %s", a.code, a.body)
	}
	var c api.Class
	if err := json.Unmarshal(a.body, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// doneOf is the tasks a learner has done, by the grid.
func doneOf(c api.Class, learner string) map[string]bool {
	out := map[string]bool{}
	for _, l := range c.Learners {
		if l.ID == learner {
			for _, cell := range l.Cells {
				if cell.Done {
					out[cell.Task] = true
				}
			}
		}
	}
	return out
}

// waitLearner waits until the learner has done the task.
func waitLearner(t *testing.T, l *Lab, learner, task string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if doneOf(l.Class().Snapshot(), learner)[task] {
			return
		}
		select {
		case <-l.Changed():
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s did not tick %s: %+v", learner, task, l.Class().Snapshot().Learners)
		}
	}
}

func TestClassAttributesPerLearner(t *testing.T) {
	needDig(t)
	lab, err := labs.LoadBuiltin("dns", catalog.New())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	l := startClass(t, lab, dir)
	defer func() { l.Close(context.Background()) }()
	base := l.WebURL()

	// a resolves www: only a's resolve-a ticks.
	if out := dig(t, l, "127.0.0.1", "www.lab.test", "A"); !strings.Contains(out, "192.0.2.80") {
		t.Fatalf("dig: %s", out)
	}
	waitLearner(t, l, "a", "resolve-a")
	if d := doneOf(grid(t, l), "b"); len(d) != 0 {
		t.Fatalf("b ticked %v from a's query", d)
	}
	// b asks for the MX from 127.0.0.2: b's mx only.
	dig(t, l, "127.0.0.2", "lab.test", "MX")
	waitLearner(t, l, "b", "mx")
	g := grid(t, l)
	if a, b := doneOf(g, "a"), doneOf(g, "b"); len(a) != 1 || !a["resolve-a"] || len(b) != 1 || !b["mx"] {
		t.Fatalf("grid: a %v, b %v", a, b)
	}
	// From an address no learner has: nobody ticks, counted as unknown.
	dig(t, l, "127.0.0.3", "webmail.lab.test", "A")
	deadline := time.Now().Add(5 * time.Second)
	for l.Class().Unknown() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if g := grid(t, l); g.Unknown == 0 || doneOf(g, "a")["cname"] || doneOf(g, "b")["cname"] || doneOf(g, "c")["cname"] {
		t.Fatalf("unknown query: unknown=%d grid %+v", g.Unknown, g.Learners)
	}
	if g.Class != "net-101" || g.Lab != "dns" || len(g.Tasks) != len(lab.Tasks) || len(g.Learners) != 3 || g.Learners[0].Name != "Ada" {
		t.Fatalf("grid header: %+v", g)
	}

	// The instructor's API wants the token.
	for _, tc := range []struct {
		name string
		url  string
		hdr  map[string]string
		want int
	}{
		{"no token", "/api/class", nil, 401},
		{"wrong bearer", "/api/class", map[string]string{"Authorization": "Bearer nope"}, 401},
		{"wrong query", "/api/class?token=" + strings.Repeat("0", 32), nil, 401},
		{"wrong cookie", "/api/class", map[string]string{"Cookie": "lab_instructor=x"}, 401},
		{"page without token", "/instructor", nil, 401},
		{"export without token", "/api/class/export", nil, 401},
		{"bearer", "/api/class", bearer, 200},
		{"query", "/api/class?token=" + testToken, nil, 200},
		{"cookie", "/api/class/learner?id=a", map[string]string{"Cookie": "lab_instructor=" + testToken}, 200},
		{"page", "/instructor?token=" + testToken, nil, 200},
		{"unknown learner", "/api/class/learner?id=zed", bearer, 404},
		{"bad format", "/api/class/export?format=xml", bearer, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a := call(t, client("127.0.0.1"), "GET", base+tc.url, tc.hdr); a.code != tc.want {
				t.Errorf("GET %s: %d, want %d: %s", tc.url, a.code, tc.want, a.body)
			}
		})
	}
	page := call(t, client("127.0.0.1"), "GET", base+"/instructor?token="+testToken, nil)
	if !strings.Contains(page.hdr.Get("Set-Cookie"), "lab_instructor="+testToken) || !strings.Contains(string(page.body), "instructor.js") {
		t.Fatalf("dashboard: cookie %q, page %.200s", page.hdr.Get("Set-Cookie"), page.body)
	}

	// Timeline: b's events only.
	a := call(t, client("127.0.0.1"), "GET", base+"/api/class/learner?id=b", bearer)
	var tl console.Timeline
	if err := json.Unmarshal(a.body, &tl); err != nil || len(tl.Events) == 0 {
		t.Fatalf("timeline of b: %v %s", err, a.body)
	}
	for _, e := range tl.Events {
		if e.Learner != "b" || !strings.HasPrefix(e.Client, "127.0.0.2:") {
			t.Errorf("b's timeline has %+v", e)
		}
	}

	// The learner console from 127.0.0.2 shows b, and b's events only.
	st := status(t, client("127.0.0.2"), base)
	if done := doneTasks(st); len(done) != 1 || !done["mx"] {
		t.Fatalf("b's console shows %v", done)
	}
	jb := call(t, client("127.0.0.2"), "GET", base+"/api/journal", nil)
	var jr struct{ Events []event.Event }
	if err := json.Unmarshal(jb.body, &jr); err != nil || len(jr.Events) == 0 {
		t.Fatalf("b's journal: %v %s", err, jb.body)
	}
	for _, e := range jr.Events {
		if e.Learner != "b" {
			t.Errorf("b's console journal shows %+v", e)
		}
	}
	if done := doneTasks(status(t, client("127.0.0.1"), base)); len(done) != 1 || !done["resolve-a"] {
		t.Fatalf("a's console shows %v", done)
	}
	// An address not on the roster sees no one's data.
	if st := status(t, client("127.0.0.3"), base); !st.Running || len(doneTasks(st)) != 0 || st.Done != 0 {
		t.Errorf("status from 127.0.0.3 shows progress: %+v", st)
	}
	for _, p := range []string{"/", "/api/journal", "/api/lesson"} {
		if a := call(t, client("127.0.0.3"), "GET", base+p, nil); a.code != 403 || !strings.Contains(string(a.body), "not on the") ||
			strings.Contains(string(a.body), "resolve-a") {
			t.Errorf("GET %s from 127.0.0.3: %d %s", p, a.code, a.body)
		}
	}

	// Export: CSV with a row per learner and task.
	ex := call(t, client("127.0.0.1"), "GET", base+"/api/class/export?format=csv", bearer)
	rows, err := csv.NewReader(strings.NewReader(string(ex.body))).ReadAll()
	if err != nil || len(rows) != 1+3*len(lab.Tasks) || strings.Join(rows[0], ",") != strings.Join(console.ExportColumns, ",") {
		t.Fatalf("export csv: %v, %d rows: %s", err, len(rows), ex.body)
	}
	found := false
	for _, r := range rows[1:] {
		found = found || (r[0] == "b" && r[2] == "mx" && r[4] == "true" && r[5] != "")
	}
	if !found {
		t.Fatalf("export has no done row for b/mx:\n%s", ex.body)
	}
	if js := call(t, client("127.0.0.1"), "GET", base+"/api/class/export?format=json", bearer); js.code != 200 || !json.Valid(js.body) {
		t.Fatalf("export json: %d %s", js.code, js.body)
	}

	// Reset b: b's progress goes, a's stays.
	if a := call(t, client("127.0.0.1"), "POST", base+"/api/class/reset?id=b", nil); a.code != 401 {
		t.Fatalf("reset without token: %d", a.code)
	}
	if a := call(t, client("127.0.0.1"), "POST", base+"/api/class/reset?id=b", bearer); a.code != 200 {
		t.Fatalf("reset b: %d %s", a.code, a.body)
	}
	g = grid(t, l)
	if a, b := doneOf(g, "a"), doneOf(g, "b"); len(a) != 1 || len(b) != 0 {
		t.Fatalf("after reset of b: a %v, b %v", a, b)
	}
	// b works again; a restart keeps every tick.
	dig(t, l, "127.0.0.2", "www.lab.test", "AAAA")
	waitLearner(t, l, "b", "resolve-aaaa")
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	l = startClass(t, lab, dir)
	g = l.Class().Snapshot()
	if a, b := doneOf(g, "a"), doneOf(g, "b"); len(a) != 1 || !a["resolve-a"] || len(b) != 1 || !b["resolve-aaaa"] {
		t.Fatalf("after restart: a %v, b %v", a, b)
	}
	// The journal kept the learners.
	evs, err := l.store.RecentBy("dns", "a", 100)
	if err != nil || len(evs) == 0 {
		t.Fatalf("a's journal: %v %v", evs, err)
	}
}

func status(t *testing.T, c *http.Client, base string) api.Status {
	t.Helper()
	a := call(t, c, "GET", base+"/api/status", nil)
	var st api.Status
	if a.code != 200 || json.Unmarshal(a.body, &st) != nil {
		t.Fatalf("GET /api/status: %d %s", a.code, a.body)
	}
	return st
}

func doneTasks(st api.Status) map[string]bool {
	out := map[string]bool{}
	for _, tk := range st.Tasks {
		if tk.Done {
			out[tk.ID] = true
		}
	}
	return out
}

func TestAttribute(t *testing.T) {
	c := &Class{byAddr: map[netip.Addr]string{}, byMAC: map[string]string{}, byHost: map[string]string{}}
	c.byAddr[netip.MustParseAddr("192.0.2.101")] = "ada"
	c.byAddr[netip.MustParseAddr("2001:db8::7")] = "eve"
	c.byMAC["02:00:00:00:01:02"] = "bob"
	c.byHost["learner-cy"] = "cy"
	for _, tt := range []struct {
		name string
		e    event.Event
		want string
	}{
		{"ipv4 host:port", event.Event{Client: "192.0.2.101:5353"}, "ada"},
		{"bare address", event.Event{Client: "192.0.2.101"}, "ada"},
		{"mapped ipv4", event.Event{Client: "[::ffff:192.0.2.101]:53"}, "ada"},
		{"ipv6", event.Event{Client: "[2001:db8::7]:53"}, "eve"},
		{"zone", event.Event{Client: "[2001:db8::7%eth0]:53"}, "eve"},
		{"dhcp mac", event.Event{Client: "0.0.0.0:68", Attrs: map[string]string{"mac": "02:00:00:00:01:02"}}, "bob"},
		{"dhcp mac upper case", event.Event{Attrs: map[string]string{"mac": "02:00:00:00:01:02"}}, "bob"},
		{"dhcp hostname", event.Event{Attrs: map[string]string{"hostname": "Learner-Cy."}}, "cy"},
		{"address wins", event.Event{Client: "192.0.2.101:68", Attrs: map[string]string{"mac": "02:00:00:00:01:02"}}, "ada"},
		{"unknown", event.Event{Client: "198.51.100.1:53"}, ""},
		{"garbage", event.Event{Client: "not an address"}, ""},
		{"empty", event.Event{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Attribute(tt.e); got != tt.want {
				t.Errorf("Attribute(%+v) = %q, want %q", tt.e, got, tt.want)
			}
		})
	}
}

func TestClassOptionsErrors(t *testing.T) {
	lab := loadLab(t)
	for _, tt := range []struct {
		name string
		opts ClassOptions
		want string
	}{
		{"no learners", ClassOptions{}, "at least one learner"},
		{"twice", ClassOptions{Learners: []Learner{{ID: "a"}, {ID: "a"}}}, "twice"},
		{"no id", ClassOptions{Learners: []Learner{{Name: "x"}}}, "without an id"},
		{"variant fails", ClassOptions{Learners: []Learner{{ID: "a"}}, Variant: func(string) (*labs.Lab, error) {
			return nil, fmt.Errorf("bad vars")
		}}, "learner a: bad vars"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			l, err := Start(context.Background(), Options{Lab: lab, StateDir: t.TempDir(), Ports: PortsAuto, Web: "127.0.0.1:0", Class: &o})
			if err == nil {
				l.Close(context.Background())
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want %q", err, tt.want)
			}
		})
	}
}

const wordExercise = `
id: pingword
title: {en: Ping your word}
exercise: true
order: free
vars:
  word: {one_of: [alpha, bravo, charlie, delta, echo, foxtrot, golf, hotel]}
services:
  ping:
tasks:
  - id: word
    title: {en: "Say {var.word}"}
    check: {event: ping.hello, where: {text: "{var.word}"}}
`

// TestClassVariants: with an exercise, each learner's checks use their own
// variables, over the shared services.
func TestClassVariants(t *testing.T) {
	variant := func(learner string) (*labs.Lab, error) {
		return labs.ParseExercise([]byte(wordExercise), fstest.MapFS{}, "exercise.yaml", learner, registry{})
	}
	word := func(learner string) string {
		lab, err := variant(learner)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(lab.Tasks[0].Title.In("en"), "Say ")
	}
	// Two learners whose words differ.
	ida, idb := "a", ""
	for i := 0; i < 50 && idb == ""; i++ {
		if id := fmt.Sprintf("b%d", i); word(id) != word(ida) {
			idb = id
		}
	}
	if idb == "" {
		t.Fatal("no two learners with different words")
	}
	wa, wb := word(ida), word(idb)
	base, err := variant(ida)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Start(context.Background(), Options{Lab: base, StateDir: t.TempDir(), Ports: PortsAuto, Web: "127.0.0.1:0",
		Class: &ClassOptions{Variant: variant, Learners: []Learner{
			{ID: ida, Address: netip.MustParseAddr("127.0.0.1")},
			{ID: idb, Address: netip.MustParseAddr("127.0.0.2")},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	sendFrom := func(src, text string) {
		t.Helper()
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)}, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(l.Endpoints()[0].Addr)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	sendFrom("127.0.0.2", wa) // b says a's word: nothing
	sendFrom("127.0.0.2", wb) // then their own
	waitLearner(t, l, idb, "word")
	if doneOf(l.Class().Snapshot(), ida)["word"] {
		t.Fatalf("a ticked from b's datagrams")
	}
	sendFrom("127.0.0.1", wa)
	waitLearner(t, l, ida, "word")
	// b's console shows b's own word.
	if st, _ := l.Class().LearnerStatus(idb); st.Tasks[0].Title != "Say "+wb {
		t.Fatalf("b's task: %q, want %q", st.Tasks[0].Title, "Say "+wb)
	}
}

// TestClassEventStream: the dashboard's stream starts with the grid, then
// sends a learner's new row when they tick, and their events.
func TestClassEventStream(t *testing.T) {
	lab := loadLab(t)
	l, err := Start(context.Background(), Options{Lab: lab, StateDir: t.TempDir(), Ports: PortsAuto, Web: "127.0.0.1:0",
		Class: &ClassOptions{Token: testToken, Learners: []Learner{{ID: "a", Address: netip.MustParseAddr("127.0.0.1")}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", l.WebURL()+"/api/class/events", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	next := func() (string, string) {
		t.Helper()
		var kind, data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data += strings.TrimPrefix(line, "data: ")
			case line == "" && kind != "":
				return kind, data
			}
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return "", ""
	}
	if kind, data := next(); kind != "class" || !strings.Contains(data, `"id":"a"`) {
		t.Fatalf("first frame %s %s", kind, data)
	}
	send(t, l, "hello") // from 127.0.0.1: learner a
	seen := map[string]bool{}
	for !seen["learner"] || !seen["event"] {
		kind, data := next()
		seen[kind] = true
		switch kind {
		case "learner":
			var r api.ClassLearner
			if err := json.Unmarshal([]byte(data), &r); err != nil || r.ID != "a" || r.Done != 1 || !r.Cells[0].Done {
				t.Fatalf("learner frame: %v %s", err, data)
			}
		case "event":
			if !strings.Contains(data, `"learner":"a"`) {
				t.Fatalf("event frame without its learner: %s", data)
			}
		}
	}
}

func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"192.0.2.1:53", "[2001:db8::1%eth0]:53", "192.0.2.1", "::ffff:192.0.2.1", "", "x:y", "[::1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, ok := clientIP(s)
		if ok && (!ip.IsValid() || ip.Zone() != "" || ip.Is4In6()) {
			t.Fatalf("clientIP(%q) = %v", s, ip)
		}
	})
}

// TestClassRetention: the class's journal is pruned to the retention
// setting, and keeps each event's learner.
func TestClassRetention(t *testing.T) {
	lab := loadLab(t)
	l, err := Start(context.Background(), Options{Lab: lab, StateDir: t.TempDir(), Ports: PortsAuto, Web: "127.0.0.1:0", Retention: 5,
		Class: &ClassOptions{Learners: []Learner{{ID: "a", Address: netip.MustParseAddr("127.0.0.1")}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	const sent = 20
	for i := 0; i < sent; i++ {
		send(t, l, fmt.Sprintf("n%d", i))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := l.store.Recent(lab.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 5 && evs[4].Seq == sent {
			for _, e := range evs {
				if e.Learner != "a" {
					t.Fatalf("journal event without its learner: %+v", e)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal not pruned to 5: %d events: %+v", len(evs), evs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClassReservesRosterAddresses: the class's DHCP server leases each
// learner with a MAC and an address that address; a roster that disagrees
// with the lab file's reservations does not start.
// TestLearnLease: an address the DHCP server acknowledges to a learner is
// theirs until released by them or acknowledged to another client; the
// roster's fixed addresses are never taken over.
func TestLearnLease(t *testing.T) {
	c := &Class{byAddr: map[netip.Addr]string{netip.MustParseAddr("192.0.2.101"): "ada"}}
	ev := func(kind, ip, learner string) event.Event {
		return event.Event{Service: "dhcp", Kind: kind, Learner: learner, Attrs: map[string]string{"ip": ip}}
	}
	at := func(ip string) string { return c.LearnerAt(netip.MustParseAddr(ip)) }
	for _, tt := range []struct {
		name string
		e    event.Event
		ip   string
		want string
	}{
		{"nothing yet", event.Event{}, "192.0.2.100", ""},
		{"ack to cy", ev("dhcp.ack", "192.0.2.100", "cy"), "192.0.2.100", "cy"},
		{"offer is not a lease", ev("dhcp.offer", "192.0.2.100", "bob"), "192.0.2.100", "cy"},
		{"another service", event.Event{Service: "dns", Kind: "dhcp.ack", Learner: "bob", Attrs: map[string]string{"ip": "192.0.2.100"}}, "192.0.2.100", "cy"},
		{"release by someone else", ev("dhcp.release", "192.0.2.100", "bob"), "192.0.2.100", "cy"},
		{"ack to bob, second address", ev("dhcp.ack", "192.0.2.102", "bob"), "192.0.2.102", "bob"},
		{"cy keeps hers", ev("dhcp.ack", "192.0.2.102", "bob"), "192.0.2.100", "cy"},
		{"release by cy", ev("dhcp.release", "192.0.2.100", "cy"), "192.0.2.100", ""},
		{"ack to an unknown client", ev("dhcp.ack", "192.0.2.102", ""), "192.0.2.102", ""},
		{"a fixed address stays the roster's", ev("dhcp.ack", "192.0.2.101", "bob"), "192.0.2.101", "ada"},
		{"mapped address", ev("dhcp.ack", "::ffff:192.0.2.103", "cy"), "192.0.2.103", "cy"},
		{"no address", ev("dhcp.ack", "", "cy"), "192.0.2.100", ""},
		{"unspecified", ev("dhcp.ack", "0.0.0.0", "cy"), "0.0.0.0", ""},
	} {
		c.learnLease(tt.e)
		if got := at(tt.ip); got != tt.want {
			t.Errorf("%s: %s is %q's, want %q", tt.name, tt.ip, got, tt.want)
		}
	}
}

func TestClassReservesRosterAddresses(t *testing.T) {
	lab, err := labs.LoadBuiltin("dhcp", catalog.New())
	if err != nil {
		t.Fatal(err)
	}
	learners := []Learner{
		{ID: "ada", MAC: "02:00:00:00:01:01", Address: netip.MustParseAddr("192.0.2.101"), Host: "ada-pc"},
		{ID: "bob", MAC: "02:00:00:00:01:02", Address: netip.MustParseAddr("192.0.2.12")},
		{ID: "cy", MAC: "02:00:00:00:01:03"}, // no address: the pool's
	}
	l, err := Start(context.Background(), Options{Lab: lab, StateDir: t.TempDir(), Ports: PortsAuto, Web: "127.0.0.1:0",
		Class: &ClassOptions{Learners: learners, Token: testToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { l.Close(context.Background()) }()
	a, ok := l.Endpoints().Find("dhcp", "udp")
	if !ok {
		t.Fatalf("no DHCP endpoint in %+v", l.Endpoints())
	}
	srv := net.UDPAddrFromAddrPort(netip.MustParseAddrPort(a))
	for _, tt := range []struct{ mac, want, host string }{
		{"02:00:00:00:01:01", "192.0.2.101", "ada-pc"},
		{"02:00:00:00:01:02", "192.0.2.12", "bob"},
		{"02:00:00:00:01:03", "192.0.2.100", ""},
	} {
		hw, _ := net.ParseMAC(tt.mac)
		c, err := dhcp.NewClient(dhcp.ClientOptions{Server: srv, MAC: hw, Params: []uint8{1, 12}, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ls, err := c.Lease(ctx)
		cancel()
		c.Close()
		if err != nil {
			t.Fatalf("%s: %v", tt.mac, err)
		}
		if got := ls.ACK.YourIPAddr.String(); got != tt.want {
			t.Errorf("%s leased %s, want %s", tt.mac, got, tt.want)
		}
		if got := ls.ACK.HostName(); got != tt.host {
			t.Errorf("%s told host name %q, want %q", tt.mac, got, tt.host)
		}
	}

	// cy, known by MAC only, is now at the address leased to her: what
	// she does from it is hers (and her console is hers).
	deadline := time.Now().Add(5 * time.Second)
	for l.Class().LearnerAt(netip.MustParseAddr("192.0.2.100")) != "cy" {
		if time.Now().After(deadline) {
			t.Fatal("the address leased to cy is not attributed to her")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := l.Class().Attribute(event.Event{Service: "dns", Kind: "dns.query", Client: "192.0.2.100:5353"}); got != "cy" {
		t.Errorf("a query from cy's leased address is attributed to %q", got)
	}

	bad := []Learner{{ID: "dan", MAC: "02:00:00:00:00:42", Address: netip.MustParseAddr("192.0.2.50")}}
	l2, err := Start(context.Background(), Options{Lab: lab, StateDir: t.TempDir(), Ports: PortsAuto, Web: "127.0.0.1:0",
		Class: &ClassOptions{Learners: bad, Token: testToken}})
	if err == nil {
		l2.Close(context.Background())
		t.Fatal("a roster reserving the lab file's MAC elsewhere started")
	}
	for _, w := range []string{"learner dan", "192.0.2.50", "the lab file's reservation", "192.0.2.42"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

// awaitEvent waits for an event of kind on sub and returns it.
func awaitEvent(t *testing.T, sub interface{ C() <-chan event.Event }, kind string) event.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-sub.C():
			if e.Kind == kind {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event", kind)
		}
	}
}

// TestClassLearnerAccounts: each learner has an own mail account and
// SNMPv3 user; logging in with one attributes the event to its learner,
// whatever the address; the passwords stay across restarts; a learner
// named like a lab account does not start.
func TestClassLearnerAccounts(t *testing.T) {
	dir := t.TempDir()
	pop, err := labs.LoadBuiltin("pop", catalog.New())
	if err != nil {
		t.Fatal(err)
	}
	l := startClass(t, pop, dir)
	acct, ok := l.Class().AccountOf("b")
	if !ok || acct.User != "b" || len(acct.Secret) < 8 {
		l.Close(context.Background())
		t.Fatalf("b's account: %+v %v", acct, ok)
	}
	if len(l.Class().Accounts()) != len(classLearners) {
		t.Errorf("accounts: %+v", l.Class().Accounts())
	}
	if st := l.Class().byID["b"].Status(); st.Account == nil || st.Account.User != "b" || st.Account.Password != acct.Secret {
		t.Errorf("b's status shows the account %+v", st.Account)
	}
	if row := l.Class().Snapshot().Learners[1]; row.ID != "b" || row.User != "b" || row.Password != acct.Secret {
		t.Errorf("b's row in the grid: %+v", row)
	}
	for _, c := range l.Credentials() {
		if c.User == "b" {
			t.Errorf("a learner's account among the lab's credentials: %+v", c)
		}
	}
	fi, err := os.Stat(dir + "/" + classSecretFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("class secret: %v %v", fi, err)
	}

	// a (127.0.0.1) logs in as b over POP3: the event is b's.
	sub := l.Subscribe(256)
	addr, ok := l.Endpoints().Find("pop3", "tcp")
	if !ok {
		t.Fatalf("no POP3 endpoint in %+v", l.Endpoints())
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	for _, cmd := range []string{"", "USER b", "PASS " + acct.Secret, "QUIT"} {
		if cmd != "" {
			fmt.Fprintf(conn, "%s\r\n", cmd)
		}
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "+OK") {
			t.Fatalf("%q: %q %v", cmd, line, err)
		}
	}
	conn.Close()
	if e := awaitEvent(t, sub, "pop3.login"); e.Learner != "b" || e.Attrs["result"] != "ok" {
		t.Errorf("login as b from a's address: learner %q, attrs %v", e.Learner, e.Attrs)
	}
	l.Unsubscribe(sub)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Restarted on the same state: the same password.
	l = startClass(t, pop, dir)
	again, _ := l.Class().AccountOf("b")
	other, _ := l.Class().AccountOf("a")
	l.Close(context.Background())
	if again != acct {
		t.Errorf("b's account after a restart: %+v, was %+v", again, acct)
	}
	if other.Secret == acct.Secret {
		t.Errorf("a and b share the password %q", acct.Secret)
	}

	// A learner named like a lab account: a clear error.
	snmpLab, err := labs.LoadBuiltin("snmp", catalog.New())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		lab  *labs.Lab
		id   string
		want string
	}{
		{pop, "bob", `mail account "bob"`},
		{snmpLab, "learner", `SNMPv3 user "learner"`},
	} {
		l2, err := Start(context.Background(), Options{Lab: tt.lab, StateDir: t.TempDir(), Ports: PortsAuto, Web: "127.0.0.1:0",
			Class: &ClassOptions{Learners: []Learner{{ID: tt.id}}, Token: testToken}})
		if err == nil {
			l2.Close(context.Background())
			t.Fatalf("learner %s started beside the lab's account", tt.id)
		}
		if !strings.Contains(err.Error(), "learner "+tt.id) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error %q does not name the learner and %s", err, tt.want)
		}
	}
}

// TestClassLearnerSNMPUser: an SNMPv3 get with b's own user, from a's
// address, is b's.
func TestClassLearnerSNMPUser(t *testing.T) {
	lab, err := labs.LoadBuiltin("snmp", catalog.New())
	if err != nil {
		t.Fatal(err)
	}
	l := startClass(t, lab, t.TempDir())
	defer func() { l.Close(context.Background()) }()
	acct, _ := l.Class().AccountOf("b")
	addr, ok := l.Endpoints().Find("snmp", "udp")
	if !ok {
		t.Fatalf("no SNMP endpoint in %+v", l.Endpoints())
	}
	ap := netip.MustParseAddrPort(addr)
	sub := l.Subscribe(256)
	defer l.Unsubscribe(sub)
	g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: ap.Port(), Version: gosnmp.Version3, Timeout: 3 * time.Second,
		SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.AuthPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "b",
			AuthenticationProtocol: gosnmp.SHA, AuthenticationPassphrase: acct.Secret,
			PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: acct.Secret}}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	defer g.Conn.Close()
	res, err := g.Get([]string{"1.3.6.1.2.1.1.5.0"})
	if err != nil || res.Error != gosnmp.NoError {
		t.Fatalf("get as b: %v %+v", err, res)
	}
	if e := awaitEvent(t, sub, "snmp.request"); e.Learner != "b" || e.Attrs["user"] != "b" {
		t.Errorf("SNMPv3 get as b from a's address: learner %q, attrs %v", e.Learner, e.Attrs)
	}
}

// TestAttributeByIdentity: only attributes that name an authenticated
// identity attribute an event to a learner's account; claimed addresses
// and failed logins fall back to the address rules.
func TestAttributeByIdentity(t *testing.T) {
	c := &Class{byAddr: map[netip.Addr]string{netip.MustParseAddr("127.0.0.1"): "a"},
		byMail: map[string]string{"b": "b"}, bySNMP: map[string]string{"b": "b"}}
	const from = "127.0.0.1:4000"
	for _, tt := range []struct {
		name string
		e    event.Event
		want string
	}{
		{"pop3 login ok", event.Event{Service: "pop3", Kind: "pop3.login", Client: from, Attrs: map[string]string{"user": "b", "result": "ok"}}, "b"},
		{"pop3 login failed", event.Event{Service: "pop3", Kind: "pop3.login", Client: from, Attrs: map[string]string{"user": "b", "result": "failed"}}, "a"},
		{"pop3 stat", event.Event{Service: "pop3", Kind: "pop3.stat", Client: from, Attrs: map[string]string{"user": "b"}}, "b"},
		{"imap login ok, upper case", event.Event{Service: "imap", Kind: "imap.login", Client: from, Attrs: map[string]string{"user": "B", "result": "ok"}}, "b"},
		{"imap select", event.Event{Service: "imap", Kind: "imap.select", Client: from, Attrs: map[string]string{"user": "b"}}, "b"},
		{"smtp auth ok", event.Event{Service: "smtp", Kind: "smtp.auth", Client: from, Attrs: map[string]string{"user": "b", "result": "ok"}}, "b"},
		{"smtp auth failed", event.Event{Service: "smtp", Kind: "smtp.auth", Client: from, Attrs: map[string]string{"user": "b", "result": "failed"}}, "a"},
		{"smtp mail as b", event.Event{Service: "smtp", Kind: "smtp.mail", Client: from, Attrs: map[string]string{"from": "b@lab.test", "auth_user": "b"}}, "b"},
		{"smtp rcpt to b, not authenticated", event.Event{Service: "smtp", Kind: "smtp.rcpt", Client: from, Attrs: map[string]string{"to": "b@lab.test", "user": "b"}}, "a"},
		{"snmp v3 authPriv", event.Event{Service: "snmp", Kind: "snmp.request", Client: from, Attrs: map[string]string{"version": "3", "user": "b", "level": "authPriv"}}, "b"},
		{"snmp v3 noAuthNoPriv", event.Event{Service: "snmp", Kind: "snmp.request", Client: from, Attrs: map[string]string{"version": "3", "user": "b", "level": "noAuthNoPriv"}}, "a"},
		{"snmp auth failure", event.Event{Service: "snmp", Kind: "snmp.auth-failure", Client: from, Attrs: map[string]string{"version": "3", "user": "b"}}, "a"},
		{"snmp v2c community b", event.Event{Service: "snmp", Kind: "snmp.request", Client: from, Attrs: map[string]string{"version": "2c", "community": "b"}}, "a"},
		{"dns, no identity", event.Event{Service: "dns", Kind: "dns.query", Client: from, Attrs: map[string]string{"user": "b"}}, "a"},
	} {
		if got := c.Attribute(tt.e); got != tt.want {
			t.Errorf("%s: attributed to %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestLearnerPassword: derived passwords are stable, differ per learner
// and per secret, and are long enough for SNMPv3.
func TestLearnerPassword(t *testing.T) {
	k1, k2 := []byte("0123456789abcdef"), []byte("fedcba9876543210")
	p := learnerPassword(k1, "ada")
	if p != learnerPassword(k1, "ada") || len(p) < 8 {
		t.Fatalf("password %q", p)
	}
	if p == learnerPassword(k1, "bob") || p == learnerPassword(k2, "ada") {
		t.Errorf("password %q shared by another learner or class", p)
	}
}
