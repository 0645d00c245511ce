package labs

import (
	"context"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"go.yaml.in/yaml/v3"

	builtins "protolab/internal/catalog"
	"protolab/internal/event"
	"protolab/internal/service"
	"protolab/internal/yamlx"
)

// filePrepared is what fileSpec loads: the content of the file it names,
// as the service would read it.
type filePrepared struct{ text string }

func (filePrepared) Start(context.Context, service.Runtime) (service.Instance, error) {
	return nil, nil
}

// fileSpec stands for a service that reads a data file (a zone, a MIB).
var fileSpec = service.Spec{
	Name:   "file",
	Events: []event.Spec{{Kind: "file.read"}},
	Load: func(opts *yaml.Node, data fs.FS) (service.Prepared, error) {
		f, _, err := yamlx.Mapping(opts, "file options", "name")
		if err != nil {
			return nil, err
		}
		b, err := fs.ReadFile(data, f["name"].Value.Value)
		if err != nil {
			return nil, err
		}
		return filePrepared{text: string(b)}, nil
	},
}

type fileReg struct{}

func (fileReg) Service(name string) (*service.Spec, bool) {
	if name == "file" {
		return &fileSpec, true
	}
	return nil, false
}
func (fileReg) Names() []string { return []string{"file"} }

const varsLab = `id: flags
title: Flags
vars:
  secret: {pattern: "[a-z]{4}-[0-9]{4}"}
services:
  file: {name: data/flag.txt}
tasks:
  - id: read
    title: Read the flag {var.secret}
    check: {event: file.read}
`

func loadFileLab(t *testing.T, src, data, learner string) (*Lab, error) {
	t.Helper()
	files := fstest.MapFS{"data/flag.txt": {Data: []byte(data)}}
	return parse([]byte(src), files, "flags.yaml", newRefs(fileReg{}, learner), loadOpts{learner: learner})
}

// TestDataFileVariables: {var.NAME} in a data file stands for the
// learner's value, as in the lab file; a lab with vars: is not an
// exercise for that.
func TestDataFileVariables(t *testing.T) {
	values := map[string]string{}
	for _, learner := range []string{"alice", "bob"} {
		lab, err := loadFileLab(t, varsLab, "; the flag\nflag={var.secret} (again: {var.secret})\n", learner)
		if err != nil {
			t.Fatal(err)
		}
		v := lab.Values["secret"]
		if !regexp.MustCompile(`^[a-z]{4}-[0-9]{4}$`).MatchString(v) || lab.Learner != learner {
			t.Fatalf("%s: value %q, learner %q", learner, v, lab.Learner)
		}
		if got, want := lab.Services[0].Prepared.(filePrepared).text, "; the flag\nflag="+v+" (again: "+v+")\n"; got != want {
			t.Errorf("%s: the service read %q, want %q", learner, got, want)
		}
		if lab.Tasks[0].Title.In("en") != "Read the flag "+v {
			t.Errorf("%s: title %q", learner, lab.Tasks[0].Title.In("en"))
		}
		if lab.Exercise != nil {
			t.Errorf("vars: made a lab an exercise: %+v", lab.Exercise)
		}
		values[learner] = v
	}
	if values["alice"] == values["bob"] {
		t.Errorf("alice and bob drew the same flag %q", values["alice"])
	}
	again, err := loadFileLab(t, varsLab, "flag={var.secret}", "alice")
	if err != nil || again.Values["secret"] != values["alice"] {
		t.Fatalf("alice drew another flag the second time: %v %v", again.Values, err)
	}

	// Without vars:, a data file is read as it is.
	plain := strings.Replace(varsLab, "vars:\n  secret: {pattern: \"[a-z]{4}-[0-9]{4}\"}\n", "", 1)
	plain = strings.Replace(plain, " {var.secret}", "", 1)
	lab, err := loadFileLab(t, plain, "flag={var.secret}", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got := lab.Services[0].Prepared.(filePrepared).text; got != "flag={var.secret}" {
		t.Errorf("a lab without variables changed its data file: %q", got)
	}
}

// TestDataFileUnknownVariable: a data file naming no variable is refused at
// its file and line.
func TestDataFileUnknownVariable(t *testing.T) {
	_, err := loadFileLab(t, varsLab, "one\nflag={var.secrte}\n", "alice")
	if err == nil || !strings.Contains(err.Error(), "data/flag.txt:2: {var.secrte}: no variable secrte (variables: secret)") {
		t.Fatalf("error %v", err)
	}
}

// TestBuiltinLabVariables: the dns and snmp labs draw a flag and a weak
// community per learner; an exercise that uses the dns lab's server gets
// the same values for the same learner.
func TestBuiltinLabVariables(t *testing.T) {
	reg := builtins.New()
	words := "community snmp admin manager monitor cisco secret router"
	flags := map[string]bool{}
	for _, learner := range []string{"ada", "bob", "cyd", "dan"} {
		dns, err := LoadIDFor("dns", learner, reg)
		if err != nil {
			t.Fatal(err)
		}
		snmp, err := LoadIDFor("snmp", learner, reg)
		if err != nil {
			t.Fatal(err)
		}
		if dns.Exercise != nil || snmp.Exercise != nil || dns.Learner != learner {
			t.Fatalf("%s: exercise %v %v, learner %q", learner, dns.Exercise, snmp.Exercise, dns.Learner)
		}
		flags[dns.Values["secret"]] = true
		c := snmp.Values["community"]
		if !strings.Contains(" "+words+" ", " "+c+" ") {
			t.Errorf("%s: community %q is not in the lesson's list", learner, c)
		}
		// The learner's check ticks on their own community, not on another.
		task, _ := snmp.Task("community-guess")
		for _, try := range []string{"nobody", c} {
			m := task.Check.NewMatcher()
			m.Observe(&event.Event{Kind: "snmp.auth-failure", Attrs: map[string]string{"reason": "bad-community", "community": "public2"}})
			if done := m.Observe(&event.Event{Kind: "snmp.request", Attrs: map[string]string{"community": try, "version": "2c"}}); done != (try == c) {
				t.Errorf("%s: community-guess with %q: done %v (the learner's is %q)", learner, try, done, c)
			}
		}
		ex, err := ParseExercise([]byte("id: uses-dns\ntitle: Uses dns\nservices:\n  dns: {use: dns}\ntasks:\n  - use: dns/txt-secret\n"),
			fstest.MapFS{}, "ex.yaml", learner, reg)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Services[0].From != "dns" {
			t.Fatalf("the exercise's dns service: %+v", ex.Services[0])
		}
		if got := ex.LearnerValues(); len(got) != 1 || got["dns.secret"] != dns.Values["secret"] {
			t.Errorf("%s: the exercise's values %v, want dns.secret=%s", learner, got, dns.Values["secret"])
		}
	}
	if len(flags) != 4 {
		t.Errorf("four learners drew %d flags: %v", len(flags), flags)
	}
}
