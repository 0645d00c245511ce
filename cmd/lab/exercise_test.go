package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"protolab/internal/api"
)

// The example exercises of the repository, with what lab exercise check
// says of them.
var exampleExercises = []struct {
	file  string
	tasks int
	want  []string // in lab exercise check's summary
}{
	{"dns-courrier/exercise.yaml", 5, []string{
		"exercise dns-courrier — DNS et courrier : vérifier un domaine",
		"order:     free", "deadline:  2027-06-30T18:00:00+02:00", "services:  dns (as lab dns), mailstore, smtp, pop3",
		"variables: mot=", "for learner alice", "lessons:   fr", "tasks:     5 (4 required), 8 points",
		"reverse      dns/reverse     1 pt  optional",
	}},
	{"router-then-network/exercise.yaml", 6, []string{
		"exercise router-then-network", "order:     sequential", "deadline:  none",
		"services:  snmp (as lab snmp), dhcp (as lab dhcp)", "variables: contact=noc-", "lessons:   en",
		"tasks:     6 (5 required), 7 points", "set-contact   (own)",
	}},
}

func exercisePath(name string) string { return filepath.Join("..", "..", "exercises", name) }

// Every example exercise checks clean and is solved by lab solve alone.
func TestExampleExercises(t *testing.T) {
	t.Setenv("LAB_LEARNER", "alice")
	for _, ex := range exampleExercises {
		t.Run(ex.file, func(t *testing.T) {
			path := exercisePath(ex.file)
			out, stderr, code := labRun(t, "exercise", "check", path, "--lang", "fr")
			if code != 0 {
				t.Fatalf("lab exercise check: exit %d\n%s%s", code, out, stderr)
			}
			for _, w := range ex.want {
				if !strings.Contains(out, w) {
					t.Errorf("the summary lacks %q:\n%s", w, out)
				}
			}
			out, stderr, code = labRun(t, "solve", "--exercise", path, "--state", t.TempDir())
			if code != 0 || !strings.Contains(out, "All "+strconv.Itoa(ex.tasks)+" tasks solved") {
				t.Fatalf("lab solve --exercise: exit %d\n%s%s", code, out, stderr)
			}
		})
	}
	// Another learner draws other values, the same ones every time.
	values := map[string]string{}
	for _, l := range []string{"alice", "bob", "carol", "dave", "alice"} {
		out, _, code := labRun(t, "exercise", "check", exercisePath("router-then-network/exercise.yaml"), "--learner", l)
		i := strings.Index(out, "contact=")
		if code != 0 || i < 0 {
			t.Fatalf("learner %s: exit %d\n%s", l, code, out)
		}
		v := strings.Fields(out[i:])[0]
		if prev, ok := values[l]; ok && prev != v {
			t.Fatalf("learner %s drew %s, then %s", l, prev, v)
		}
		values[l] = v
	}
	if len(values) != 4 || values["alice"] == values["bob"] && values["bob"] == values["carol"] {
		t.Fatalf("the learners drew %v", values)
	}
}

// lab exercise check reports each mistake as file:line, with exit 2.
func TestExerciseCheckErrors(t *testing.T) {
	dir := t.TempDir()
	good := `id: ex
title: Ex
order: sequential
vars:
  word: {one_of: [a, b]}
services:
  dns: {use: dns}
tasks:
  - use: dns/mx
  - id: own
    title: Ask for {var.word}.lab.test
    check: {event: dns.query, where: {qname: "{var.word}.lab.test."}}
    solve:
      - {do: dns.query, name: "{var.word}.lab.test"}
`
	tests := []struct {
		name     string
		old, new string
		want     []string // file:line errors, the file's name in front
	}{
		{"order", "order: sequential", "order: shuffled", []string{":3: order: \"shuffled\": choose free"}},
		{"deadline", "order: sequential", "deadline: tomorrow", []string{":3: deadline: \"tomorrow\": write a date and time"}},
		{"unknown variable", "Ask for {var.word}", "Ask for {var.wrd}", []string{":11: {var.wrd}: no variable wrd (variables: word)"}},
		{"variable", "{one_of: [a, b]}", "{pattern: '[a-z'}", []string{":5: vars: word: pattern \"[a-z\": not a valid regular expression", ":11: {var.word}"}},
		{"required", "  - use: dns/mx\n", "  - use: dns/mx\n    required: sometimes\n", []string{":10: required must be true or false"}},
		{"unknown task", "use: dns/mx", "use: dns/mxx", []string{":9: use: dns/mxx: the lab dns has no task \"mxx\""}},
		{"missing service", "  dns: {use: dns}\n", "  smtp: {}\n", []string{":9: use: dns/mx needs the service dns", ":12: check: unknown event kind \"dns.query\""}},
		{"built-in id", "id: ex", "id: dns", []string{":1: id \"dns\" is the id of a built-in lab"}},
		{"unknown key", "order: sequential", "ordre: sequential", []string{":3: lab: unknown field \"ordre\""}},
		{"not yaml", "title: Ex", "title: Ex\n  bad: indent", []string{":3: not valid YAML: mapping values are not allowed in this context"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.old) {
				t.Fatalf("the exercise has no %q", tt.old)
			}
			file := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".yaml")
			if err := os.WriteFile(file, []byte(strings.Replace(good, tt.old, tt.new, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			out, stderr, code := labRun(t, "exercise", "check", file)
			if code != 2 || out != "" {
				t.Fatalf("exit %d, stdout %q, want 2 and nothing", code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, file+w) {
					t.Errorf("stderr lacks %q:\n%s", file+w, stderr)
				}
			}
		})
	}
	file := filepath.Join(dir, "good.yaml")
	os.WriteFile(file, []byte(good), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"exercise", "check"}, "accepts 1 arg"},
		{[]string{"exercise", "check", filepath.Join(dir, "none.yaml")}, "cannot read the exercise file"},
		{[]string{"exercise", "check", file, "--learner", "no body"}, "--learner: learner \"no body\""},
		{[]string{"exercise"}, "lab exercise check FILE"},
		{[]string{"start", "dns", "--exercise", file}, "one of them"},
		{[]string{"solve", "--file", file, "--exercise", file}, "one of them"},
	} {
		_, stderr, code := labRun(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("lab %v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	// A bad $LAB_LEARNER is a usage error, not another learner.
	t.Setenv("LAB_LEARNER", "bad name")
	if _, stderr, code := labRun(t, "exercise", "check", file); code != 2 || !strings.Contains(stderr, "LAB_LEARNER") {
		t.Errorf("bad LAB_LEARNER: exit %d, %q", code, stderr)
	}
}

// lab start --exercise: a task done out of turn does not tick and the lab
// says which to do first; lab solve then does them in order, and lab
// report, running or not, says the exercise is complete.
func TestExerciseStartOrderReport(t *testing.T) {
	t.Setenv("LAB_LEARNER", "alice")
	state := t.TempDir()
	path := exercisePath("router-then-network/exercise.yaml")
	p := startLabArgs(t, state, "start", "--exercise", path, "--ports", "auto")
	if !strings.Contains(p.out.String(), "Exercise router-then-network — learner alice · tasks in order") {
		t.Fatalf("lab start does not say it runs an exercise:\n%s", p.out.String())
	}
	st := p.status()
	if st.Order != "sequential" || st.Tasks[3].ID != "dhcp-lease" || st.Tasks[3].WaitingFor != "snmp-get" || !st.Tasks[4].Optional {
		t.Fatalf("status: order %q, tasks %+v", st.Order, st.Tasks)
	}

	// Follow the task changes to see the lab turn the early lease down.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	early := make(chan api.Task, 16)
	go p.api.Events(ctx, func(kind string, data json.RawMessage) error {
		var c api.Change
		if kind == "task" && json.Unmarshal(data, &c) == nil {
			early <- c.Task
		}
		return nil
	})
	var dhcp string
	for _, e := range st.Endpoints {
		if e.Service == "dhcp" {
			dhcp = e.Addr
		}
	}
	deadline := time.After(10 * time.Second)
	got := false
	for !got {
		// The event stream may not follow yet: ask again until it shows.
		if out, stderr, code := labRun(t, "dhcp-client", "--server", dhcp, "--state", state); code != 0 {
			t.Fatalf("lab dhcp-client: exit %d\n%s%s", code, out, stderr)
		}
		select {
		case tk := <-early:
			if tk.Done || tk.WaitingFor != "snmp-get" {
				t.Fatalf("change for a task out of turn: %+v", tk)
			}
			got = tk.ID == "dhcp-lease"
		case <-time.After(500 * time.Millisecond):
		case <-deadline:
			t.Fatal("the lab said nothing of a lease out of turn")
		}
	}
	if p.status().Done != 0 {
		t.Fatal("a task out of turn ticked")
	}

	out, stderr, code := labRun(t, "solve", "--exercise", path, "--state", state)
	if code != 0 || !strings.Contains(out, "All 6 tasks solved") {
		t.Fatalf("lab solve --exercise on the running lab: exit %d\n%s%s", code, out, stderr)
	}
	check := func(when string) {
		t.Helper()
		out, stderr, code := labRun(t, "report", "--format", "json", "--state", state)
		var r Report
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
			t.Fatalf("%s: lab report: exit %d\n%s%s", when, code, out, stderr)
		}
		if r.Lab != "router-then-network" || !r.Complete || len(r.Learners) != 1 || r.Learners[0].Learner != "alice" || r.Learners[0].Points != 7 {
			t.Fatalf("%s: report %+v", when, r)
		}
	}
	check("running")
	p.stop()
	check("stopped")
}
