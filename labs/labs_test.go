package labs

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"go.yaml.in/yaml/v3"

	"protolab/internal/event"
	"protolab/internal/service"
	"protolab/internal/yamlx"
)

// fakeSpec stands for a service in loader tests: its options are a mapping
// whose only allowed key is "zones".
var fakeSpec = service.Spec{
	Name:      "dns",
	Listeners: []service.Listener{{Name: "dns", Networks: []string{"udp", "tcp"}, High: 1053, Standard: 53}},
	Events:    []event.Spec{{Kind: "dns.query", Attrs: []event.Attr{{Name: "qname"}, {Name: "qtype"}}}},
	Actions:   []service.Action{{Name: "dns.query", Required: []string{"name"}, Optional: []string{"type"}}},
	Load: func(opts *yaml.Node, data fs.FS) (service.Prepared, error) {
		if opts == nil {
			return nil, nil
		}
		_, _, err := yamlx.Mapping(opts, "dns options", "zones")
		return nil, err
	},
}

type reg struct{}

func (reg) Service(name string) (*service.Spec, bool) {
	if name == "dns" {
		return &fakeSpec, true
	}
	return nil, false
}
func (reg) Names() []string { return []string{"dns"} }

const good = `id: mine
title: {fr: Le mien, en: Mine}
services:
  dns: {zones: [a.zone]}
tasks:
  - id: one
    title: {fr: Un, en: One}
    hints:
      - {fr: "dig @{dns.host} -p {dns.port} a", en: "dig -p {dns.port}"}
    check: {event: dns.query, where: {qtype: A}}
    solve:
      - {do: dns.query, name: www.lab.test}
  - id: two
    title: Two
    points: 3
    check: {event: dns.query}
`

func TestParseGood(t *testing.T) {
	data := fstest.MapFS{"lesson.fr.md": {Data: []byte("# Leçon\n\n?[Q ?]\n-[x] oui\n-[ ] non\n=> one\n")}}
	lab, err := Parse([]byte(good), data, "mine.yaml", reg{})
	if err != nil {
		t.Fatal(err)
	}
	if lab.ID != "mine" || lab.Title.In("fr") != "Le mien" || lab.Title.In("de") != "Mine" || len(lab.Tasks) != 2 {
		t.Fatalf("lab: %+v", lab)
	}
	one, _ := lab.Task("one")
	if one.Points != 1 || len(one.Hints) != 1 || one.Solve[0].Action != "dns.query" || one.Solve[0].Args["name"] != "www.lab.test" {
		t.Fatalf("task one: %+v", one)
	}
	if two, _ := lab.Task("two"); two.Points != 3 || two.Title.In("fr") != "Two" {
		t.Fatalf("task two: %+v", two)
	}
	if d, lang := lab.Lesson("en"); d == nil || lang != "fr" {
		t.Fatalf("lesson fallback: %v %q", d, lang)
	}
	eps := service.Endpoints{{Service: "dns", Listener: "dns", Network: "udp", Addr: "127.0.0.1:5353"}}
	if got := RenderHint(one.Hints[0].In("fr"), eps); got != "dig @127.0.0.1 -p 5353 a" {
		t.Fatalf("RenderHint: %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		data fstest.MapFS
		want []string
	}{
		{"not yaml", "id: [x", nil, []string{"f.yaml:1: not valid YAML"}},
		{"empty", "", nil, []string{"f.yaml: the file is empty"}},
		{"unknown top field", strings.Replace(good, "id: mine", "id: mine\nauthor: me", 1), nil, []string{`f.yaml:2: lab: unknown field "author"`}},
		{"unknown service", strings.Replace(good, "  dns: {zones: [a.zone]}", "  dns: {zones: [a.zone]}\n  ftp: {}", 1), nil, []string{`f.yaml:5: unknown service "ftp" (known services: dns)`}},
		{"bad service option", strings.Replace(good, "{zones: [a.zone]}", "{zone: x}", 1), nil, []string{`f.yaml:4: dns: dns options: unknown field "zone"`}},
		{"duplicate task", strings.Replace(good, "id: two", "id: one", 1), nil, []string{`f.yaml:13: task id "one" is used twice (first at line 6)`}},
		{"bad task id", strings.Replace(good, "id: two", "id: Two!", 1), nil, []string{`task id "Two!": use lower-case`}},
		{"unknown event kind", strings.Replace(good, "{event: dns.query}", "{event: smtp.mail}", 1), nil, []string{`f.yaml:16: check: unknown event kind "smtp.mail"; this lab's services emit: dns.query`}},
		{"unknown attribute", strings.Replace(good, "qtype: A", "qtyp: A", 1), nil, []string{`"qtyp" is not an attribute of dns.query`}},
		{"unknown check kind", strings.Replace(good, "{event: dns.query}", "{kind: magic, event: dns.query}", 1), nil, []string{`unknown kind "magic"`}},
		{"missing check", strings.Replace(good, "    check: {event: dns.query}\n", "", 1), nil, []string{"f.yaml:13: task two: missing check:"}},
		{"hint placeholder", strings.Replace(good, "{dns.port} a", "{smtp.port} a", 1), nil, []string{`f.yaml:9: hint: {smtp.port} names no listener of this lab`}},
		{"unknown action", strings.Replace(good, "do: dns.query", "do: dns.axfr", 1), nil, []string{`unknown action "dns.axfr" (this lab's actions: dns.query)`}},
		{"missing argument", strings.Replace(good, "name: www.lab.test", "type: A", 1), nil, []string{"solve step dns.query: missing argument name:"}},
		{"unknown argument", strings.Replace(good, "name: www.lab.test", "name: www.lab.test, port: 1", 1), nil, []string{`unknown argument "port"`}},
		{"negative points", strings.Replace(good, "points: 3", "points: -1", 1), nil, []string{"f.yaml:15: points cannot be negative"}},
		{"lesson link to no task", good, fstest.MapFS{"lesson.en.md": {Data: []byte("# L\n\n?[Q]\n-[x] a\n=> three\n")}}, []string{"lesson.en.md:5: => three: no task has this id (tasks: one, two)"}},
		{"lesson syntax", good, fstest.MapFS{"lesson.en.md": {Data: []byte("# L\n\n::: box\nnever closed\n")}}, []string{"lesson.en.md:3:"}},
		{"several errors at once", strings.Replace(strings.Replace(good, "{event: dns.query}", "{event: x.y}", 1), "id: two", "id: one", 1), nil, []string{"f.yaml:13:", "f.yaml:16:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data
			if data == nil {
				data = fstest.MapFS{}
			}
			_, err := Parse([]byte(tt.src), data, "f.yaml", reg{})
			var list Errors
			if !errors.As(err, &list) {
				t.Fatalf("want Errors, got %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestUnknownBuiltin(t *testing.T) {
	_, err := LoadBuiltin("nope", reg{})
	var ue *UnknownLabError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "dns") {
		t.Fatalf("got %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	if b, err := fs.ReadFile(builtin, "dns/lab.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("id: x\ntasks:\n  - {id: a, check: {sequence: [{event: dns.query}, {event: dns.query}], same: qname}}\n"))
	f.Add([]byte(usesDNS))
	if b, err := fs.ReadFile(builtin, "course/lab.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("id: x\ntitle: X\nservices:\n  dns: {}\ntasks:\n  - use: dns/resolve-a\n    id: y\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		lab, err := Parse(src, fstest.MapFS{}, "f.yaml", reg{})
		if err != nil {
			var list Errors
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is not a non-empty Errors: %v", err)
			}
			return
		}
		if lab.ID == "" || len(lab.Tasks) == 0 {
			t.Fatalf("accepted a lab without id or tasks: %+v", lab)
		}
	})
}
