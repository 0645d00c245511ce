package labs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	builtins "protolab/internal/catalog"
	"protolab/internal/event"
	"protolab/internal/service"
)

// A lab that uses the dns lab's server and one of its tasks.
const usesDNS = `id: mine
title: Mine
services:
  dns: {use: dns}
tasks:
  - use: dns/resolve-a
  - use: dns/mx
    id: mail-server
    title: {fr: Le MX, en: The MX}
    points: 4
  - use: dns/txt-secret
    hints:
      - {fr: "dig -p {dns.port} secret.lab.test TXT", en: "dig -p {dns.port} secret.lab.test TXT"}
`

func TestUseGood(t *testing.T) {
	reg := builtins.New()
	dns, err := LoadBuiltin("dns", reg)
	if err != nil {
		t.Fatal(err)
	}
	data := fstest.MapFS{"lesson.en.md": {Data: []byte("# L\n\n?[Q]\n-[x] a\n=> mail-server\n")}}
	lab, err := Parse([]byte(usesDNS), data, "mine.yaml", reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(lab.Services) != 1 || lab.Services[0].From != "dns" || lab.Services[0].Prepared == nil {
		t.Fatalf("services: %+v", lab.Services)
	}
	orig, _ := dns.Task("resolve-a")
	tests := []struct {
		id, from, titleEN string
		points, hints     int
		firstHint         string
	}{
		{"resolve-a", "dns/resolve-a", orig.Title.In("en"), 1, 2, orig.Hints[0].In("fr")},
		{"mail-server", "dns/mx", "The MX", 4, 2, ""},
		{"txt-secret", "dns/txt-secret", "Read the secret hidden in the TXT record of secret.lab.test", 1, 1, "dig -p {dns.port} secret.lab.test TXT"},
	}
	if len(lab.Tasks) != len(tests) {
		t.Fatalf("%d tasks, want %d", len(lab.Tasks), len(tests))
	}
	for i, tt := range tests {
		got := lab.Tasks[i]
		if got.ID != tt.id || got.From != tt.from || got.Title.In("en") != tt.titleEN || got.Points != tt.points || len(got.Hints) != tt.hints {
			t.Errorf("task %d: id %q from %q title %q points %d hints %d; want %+v", i, got.ID, got.From, got.Title.In("en"), got.Points, len(got.Hints), tt)
		}
		if tt.firstHint != "" && got.Hints[0].In("fr") != tt.firstHint {
			t.Errorf("task %s: first hint %q, want %q", got.ID, got.Hints[0].In("fr"), tt.firstHint)
		}
		if got.Check == nil || len(got.Solve) == 0 || got.Line == 0 {
			t.Errorf("task %s: check %v, solve %v, line %d", got.ID, got.Check, got.Solve, got.Line)
		}
	}
	// The copy is the lab's own: changing it leaves the dns lab alone.
	lab.Tasks[0].Hints[0] = Text{"en": "changed"}
	if orig.Hints[0].In("en") == "changed" {
		t.Fatal("the used task shares its hints with the lab it comes from")
	}
	// The check is live: a matching event ticks it, another does not.
	ev := func(qname, qtype string) event.Event {
		return event.Event{Service: "dns", Kind: "dns.query", Attrs: map[string]string{"qname": qname, "qtype": qtype, "rcode": "NOERROR", "answers": "1"}}
	}
	e1, e2 := ev("www.lab.test.", "MX"), ev("www.lab.test.", "A")
	if m := lab.Tasks[0].Check.NewMatcher(); m.Observe(&e1) || !m.Observe(&e2) {
		t.Fatal("the used check does not match as the original does")
	}
	// Hints keep their placeholders for the running lab's addresses.
	eps := service.Endpoints{{Service: "dns", Listener: "dns", Network: "udp", Addr: "127.0.0.1:5353"}}
	if got := RenderHint(lab.Tasks[0].Hints[1].In("en"), eps); got != "dig @127.0.0.1 -p 5353 www.lab.test A" {
		t.Fatalf("hint: %q", got)
	}
}

func TestUseMailChain(t *testing.T) {
	src := `id: chain
title: Chain
services:
  mailstore: {}
  smtp: {}
  pop3: {use: pop}
  imap: {}
tasks:
  - use: mail/smtp-send
  - use: mail/pop3-retr
  - use: imap/imap-idle
`
	lab, err := Parse([]byte(src), fstest.MapFS{}, "chain.yaml", builtins.New())
	if err != nil {
		t.Fatal(err)
	}
	if got := taskIDs(lab); got != "smtp-send, pop3-retr, imap-idle" {
		t.Fatalf("tasks: %s", got)
	}
	if lab.Services[2].From != "pop" || lab.Services[1].From != "" {
		t.Fatalf("services: %+v", lab.Services)
	}
}

// A lab file on disk (an instructor's) may use the built-in labs too.
func TestUseFromFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lab.yaml")
	if err := os.WriteFile(file, []byte(usesDNS), 0o600); err != nil {
		t.Fatal(err)
	}
	lab, err := LoadFile(file, builtins.New())
	if err != nil {
		t.Fatal(err)
	}
	if len(lab.Tasks) != 3 || lab.Tasks[0].From != "dns/resolve-a" {
		t.Fatalf("tasks: %+v", lab.Tasks)
	}
}

func TestUseErrors(t *testing.T) {
	mail := `id: m
title: M
services:
  mailstore: {}
  smtp: {}
tasks:
  - use: mail/smtp-send
`
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown lab", strings.Replace(usesDNS, "use: dns/mx", "use: dnss/mx", 1),
			[]string{"f.yaml:7: use: dnss/mx: no built-in lab is named dnss (the labs are: ", "dns, "}},
		{"unknown task", strings.Replace(usesDNS, "use: dns/mx", "use: dns/mxx", 1),
			[]string{`f.yaml:7: use: dns/mxx: the lab dns has no task "mxx" (its tasks: resolve-a, resolve-aaaa, mx,`}},
		{"not LAB/TASK", strings.Replace(usesDNS, "use: dns/mx", "use: mx", 1),
			[]string{`f.yaml:7: use: "mx": name a task of a built-in lab as LAB/TASK, as in "use: dns/resolve-a"`}},
		{"not a value", strings.Replace(usesDNS, "use: dns/mx", "use: [dns, mx]", 1),
			[]string{"f.yaml:7: use must be a single value"}},
		{"check with use", strings.Replace(usesDNS, "    points: 4\n", "    points: 4\n    check: {event: dns.query}\n", 1),
			[]string{"f.yaml:11: task: check: cannot go with use:"}},
		{"solve with use", strings.Replace(usesDNS, "    points: 4\n", "    points: 4\n    solve: []\n", 1),
			[]string{"f.yaml:11: task: solve: cannot go with use:"}},
		{"service not run", strings.Replace(mail, "mail/smtp-send", "dns/resolve-a", 1),
			[]string{"f.yaml:7: use: dns/resolve-a needs the service dns (its check watches dns.query), which this lab does not run: add dns: {use: dns} to services:"}},
		{"hint names a listener not run", strings.Replace(strings.Replace(mail, "smtp: {}", "imap: {}", 1), "mail/smtp-send", "imap/imap-idle", 1),
			[]string{"f.yaml:7: use: imap/imap-idle needs the service smtp (its hints name {smtp.host}), which this lab does not run: add smtp: {use: imap} to services:"}},
		{"sequence needs two services", strings.Replace(mail, "mail/smtp-send", "mail/pop3-retr", 1),
			[]string{"f.yaml:7: use: mail/pop3-retr needs the service pop3 (its check watches pop3.retr)"}},
		{"hints replaced: own placeholders checked", strings.Replace(usesDNS, "{dns.port} secret", "{smtp.port} secret", 1),
			[]string{"f.yaml:13: hint: {smtp.port} names no listener of this lab (listeners: dns)"}},
		{"same task twice", strings.Replace(usesDNS, "  - use: dns/mx\n    id: mail-server\n", "  - use: dns/resolve-a\n", 1),
			[]string{`f.yaml:7: task id "resolve-a" is used twice (first at line 6)`}},
		{"own id clashes", strings.Replace(usesDNS, "id: mail-server", "id: txt-secret", 1),
			[]string{`f.yaml:11: task id "txt-secret" is used twice (first at line 8)`}},
		{"bad own id", strings.Replace(usesDNS, "id: mail-server", "id: Mail", 1),
			[]string{`f.yaml:8: task id "Mail": use lower-case`}},
		{"service: use with options", strings.Replace(usesDNS, "{use: dns}", "{use: dns, allow_transfer: false}", 1),
			[]string{"f.yaml:4: dns: allow_transfer: cannot go with use:"}},
		{"service: use of a lab without it", strings.Replace(usesDNS, "{use: dns}", "{use: smtp}", 1),
			[]string{"f.yaml:4: dns: use: smtp: the lab smtp runs no dns service (its services: mailstore, smtp)"}},
		{"service: use of no lab", strings.Replace(usesDNS, "{use: dns}", "{use: dnss}", 1),
			[]string{"f.yaml:4: dns: use: dnss: no built-in lab is named dnss"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src), fstest.MapFS{}, "f.yaml", builtins.New())
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

// Built-in labs that use each other in a circle are refused, and a used
// lab that does not load is named with its first problem.
func TestUseCircleAndBrokenLab(t *testing.T) {
	one := "id: a\ntitle: A\nservices:\n  dns: {use: b}\ntasks:\n  - {id: x, title: X, check: {event: dns.query}}\n"
	two := "id: b\ntitle: B\nservices:\n  dns: {}\ntasks:\n  - use: a/x\n"
	broken := "id: c\ntitle: C\nservices:\n  dns: {zonez: []}\ntasks:\n  - {id: y, title: Y, check: {event: dns.query}}\n"
	r := newRefs(reg{}, "")
	r.fsys = fstest.MapFS{
		"a/lab.yaml": {Data: []byte(one)},
		"b/lab.yaml": {Data: []byte(two)},
		"c/lab.yaml": {Data: []byte(broken)},
	}
	_, err := r.builtin("a")
	if err == nil || !strings.Contains(err.Error(), "labs/a/lab.yaml:4: dns: use: b:") || !strings.Contains(err.Error(), "a → b → a use each other in a circle") {
		t.Fatalf("circle: %v", err)
	}
	_, err = parse([]byte("id: d\ntitle: D\nservices:\n  dns: {}\ntasks:\n  - use: c/y\n"), fstest.MapFS{}, "d.yaml", r, loadOpts{})
	if err == nil || !strings.Contains(err.Error(), "d.yaml:6: use: c/y: the lab c does not load: labs/c/lab.yaml:4: dns: dns options: unknown field \"zonez\"") {
		t.Fatalf("broken lab: %v", err)
	}
}
