package labs

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	builtins "protolab/internal/catalog"
	"protolab/internal/event"
	"protolab/internal/lesson"
)

// An exercise that uses tasks of the built-in labs and has one of its own
// with a variable.
const exercise = `id: my-ex
title: {fr: "Mon exercice", en: "My exercise"}
order: sequential
deadline: 2030-06-30T18:00:00+02:00
vars:
  word: {one_of: [tournesol, mimosa, lavande]}
  code: {pattern: "[a-z]{4}-[0-9]{2}"}
services:
  dns: {use: dns}
  mailstore: {}
  smtp: {}
tasks:
  - use: dns/mx
  - use: dns/txt-secret
    required: false
    points: 2
  - id: send-word
    title: {fr: "Envoyer « {var.word} » à bob", en: "Send {var.word} to bob"}
    points: 3
    hints:
      - {fr: "Sujet : {var.word} ({var.code})", en: "Subject: {var.word} ({var.code})"}
    check:
      event: smtp.delivered
      where: {subject: "{var.word}"}
    solve:
      - {do: smtp.send, from: alice@lab.test, to: bob@lab.test, subject: "{var.word}"}
lesson:
  en: |
    # Lesson

    Your word is {var.word}.

    ?[Which service?]
    -[x] SMTP
    => send-word
`

func TestExerciseGood(t *testing.T) {
	reg := builtins.New()
	lab, err := ParseExercise([]byte(exercise), fstest.MapFS{}, "ex.yaml", "alice", reg)
	if err != nil {
		t.Fatal(err)
	}
	x := lab.Exercise
	if x == nil || x.Order != OrderSequential || lab.Learner != "alice" || !lab.Sequential() {
		t.Fatalf("exercise: %+v", x)
	}
	if want := time.Date(2030, 6, 30, 16, 0, 0, 0, time.UTC); !x.Deadline.Equal(want) {
		t.Fatalf("deadline %v, want %v", x.Deadline, want)
	}
	word, code := lab.Values["word"], lab.Values["code"]
	if !strings.Contains("tournesol mimosa lavande", word) || word == "" || !regexp.MustCompile(`^[a-z]{4}-[0-9]{2}$`).MatchString(code) {
		t.Fatalf("values: %v", lab.Values)
	}
	// The values stand in titles, hints, checks, solve steps and lessons.
	send, _ := lab.Task("send-word")
	if send.Title.In("en") != "Send "+word+" to bob" || send.Hints[0].In("fr") != "Sujet : "+word+" ("+code+")" {
		t.Fatalf("title %q, hint %q", send.Title.In("en"), send.Hints[0].In("fr"))
	}
	if send.Solve[0].Args["subject"] != word {
		t.Fatalf("solve step: %v", send.Solve[0].Args)
	}
	m := send.Check.NewMatcher()
	other := event.Event{Kind: "smtp.delivered", Attrs: map[string]string{"subject": "{var.word}"}}
	mine := event.Event{Kind: "smtp.delivered", Attrs: map[string]string{"subject": word}}
	if m.Observe(&other) || !m.Observe(&mine) {
		t.Fatal("the check does not watch for the learner's word")
	}
	doc, _ := lab.Lesson("en")
	if doc == nil || len(doc.Links()) != 1 {
		t.Fatalf("inline lesson: %+v", doc)
	}
	var text strings.Builder
	for _, b := range doc.Blocks {
		if p, ok := b.(*lesson.Paragraph); ok {
			text.WriteString(p.Text)
		}
	}
	if !strings.Contains(text.String(), "Your word is "+word) {
		t.Fatalf("the lesson lacks the word %q: %q", word, text.String())
	}
	// required: false and the points.
	txt, _ := lab.Task("txt-secret")
	if !txt.Optional || txt.Points != 2 {
		t.Fatalf("txt-secret: optional %v, points %d", txt.Optional, txt.Points)
	}
	if mx, _ := lab.Task("mx"); mx.Optional {
		t.Fatal("a task is optional by default")
	}
	// Order: send-word waits for mx, not for the optional txt-secret.
	done := map[string]time.Time{}
	if got := lab.WaitingFor("send-word", done); got != "mx" {
		t.Fatalf("WaitingFor(send-word) = %q", got)
	}
	done["mx"] = time.Now()
	if got := lab.WaitingFor("send-word", done); got != "" {
		t.Fatalf("WaitingFor(send-word) after mx = %q", got)
	}
	c := lab.NewChecker(map[string]bool{})
	if c.WaitingFor("send-word") != "mx" {
		t.Fatal("the checker is not sequential")
	}
	// Deadline: late ticks earn nothing.
	if lab.Late(x.Deadline) || !lab.Late(x.Deadline.Add(time.Second)) {
		t.Fatal("Late is wrong around the deadline")
	}
	if lab.Earned(send, x.Deadline.Add(-time.Hour)) != 3 || lab.Earned(send, x.Deadline.Add(time.Hour)) != 0 {
		t.Fatal("Earned ignores the deadline")
	}

	// The same learner draws the same values; other learners draw others.
	again, err := ParseExercise([]byte(exercise), fstest.MapFS{}, "ex.yaml", "alice", reg)
	if err != nil || again.Values["word"] != word || again.Values["code"] != code {
		t.Fatalf("alice drew other values the second time: %v, %v", again.Values, err)
	}
	codes := map[string]bool{}
	for _, l := range []string{"bob", "carol", "dave", "erin", "frank", "grace"} {
		o, err := ParseExercise([]byte(exercise), fstest.MapFS{}, "ex.yaml", l, reg)
		if err != nil {
			t.Fatal(err)
		}
		codes[o.Values["code"]] = true
	}
	if len(codes) < 4 {
		t.Fatalf("six learners drew only %d codes: %v", len(codes), codes)
	}
}

func TestExerciseKeysMakeAnExercise(t *testing.T) {
	reg := builtins.New()
	plain := "id: x\ntitle: X\nservices:\n  dns: {use: dns}\ntasks:\n  - use: dns/mx\n"
	tests := []struct {
		name     string
		src      string
		exercise bool // loaded with ParseExercise
		want     bool // is an exercise
		order    Order
	}{
		{"plain lab", plain, false, false, ""},
		{"plain lab run as an exercise", plain, true, true, OrderFree},
		{"exercise: true", "exercise: true\n" + plain, false, true, OrderFree},
		{"order:", "order: sequential\n" + plain, false, true, OrderSequential},
		{"required:", plain + "    required: true\n", false, true, OrderFree},
		{"deadline:", "deadline: 2030-01-01T00:00:00Z\n" + plain, false, true, OrderFree},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lab *Lab
			var err error
			if tt.exercise {
				lab, err = ParseExercise([]byte(tt.src), fstest.MapFS{}, "x.yaml", "bob", reg)
			} else {
				lab, err = Parse([]byte(tt.src), fstest.MapFS{}, "x.yaml", reg)
			}
			if err != nil {
				t.Fatal(err)
			}
			if (lab.Exercise != nil) != tt.want || (tt.want && lab.Exercise.Order != tt.order) {
				t.Fatalf("exercise %+v, want %v (order %q)", lab.Exercise, tt.want, tt.order)
			}
		})
	}
}

func TestExerciseErrors(t *testing.T) {
	reg := builtins.New()
	swap := func(old, new string) string {
		if !strings.Contains(exercise, old) {
			t.Fatalf("the exercise has no %q", old)
		}
		return strings.Replace(exercise, old, new, 1)
	}
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"bad order", swap("order: sequential", "order: random"), `ex.yaml:3: order: "random": choose free`},
		{"bad deadline", swap("deadline: 2030-06-30T18:00:00+02:00", "deadline: 30/06/2030"), `ex.yaml:4: deadline: "30/06/2030": write a date and time with its zone (RFC 3339)`},
		{"deadline without zone", swap("deadline: 2030-06-30T18:00:00+02:00", "deadline: 2030-06-30T18:00:00"), `ex.yaml:4: deadline:`},
		{"bad required", swap("required: false", "required: maybe"), `ex.yaml:15: required must be true or false, found "maybe"`},
		{"unknown variable", swap("Send {var.word} to bob", "Send {var.wrd} to bob"), `ex.yaml:18: {var.wrd}: no variable wrd (variables: word, code)`},
		{"unknown variable in a check", swap(`subject: "{var.word}"}`, `subject: "{var.nope}"}`), `ex.yaml:24: {var.nope}: no variable nope`},
		{"unknown variable in the lesson", swap("Your word is {var.word}", "Your word is {var.mot}"), `ex.yaml:31: {var.mot}: no variable mot`},
		{"lesson link in an inline lesson", swap("=> send-word", "=> send-wrd"), `ex.yaml:35: => send-wrd: no task has this id`},
		{"variable both ways", swap("{one_of: [tournesol, mimosa, lavande]}", "{one_of: [a], pattern: b}"), `ex.yaml:6: vars: word: give one_of: [a, b, c] or pattern:`},
		{"variable neither way", swap("{one_of: [tournesol, mimosa, lavande]}", "{}"), `ex.yaml:6: vars: word: give one_of`},
		{"variable field", swap("{one_of: [tournesol, mimosa, lavande]}", "{values: [a]}"), `ex.yaml:6: vars: word: unknown field "values"`},
		{"empty one_of", swap("[tournesol, mimosa, lavande]", "[]"), `ex.yaml:6: vars: word: one_of: give at least one value`},
		{"bad variable name", swap("  word: {one_of", "  Word: {one_of"), `ex.yaml:6: vars: "Word": a variable's name is lower-case`},
		{"bad pattern", swap(`"[a-z]{4}-[0-9]{2}"`, `"[a-z"`), `ex.yaml:7: vars: code: pattern "[a-z": not a valid regular expression`},
		{"empty pattern value", swap(`"[a-z]{4}-[0-9]{2}"`, `"[a-z]*"`), `ex.yaml:7: vars: code: pattern "[a-z]*" can draw an empty value`},
		{"huge pattern", swap(`"[a-z]{4}-[0-9]{2}"`, `"[a-z]{30}[0-9]{30}x+"`), `ex.yaml:7: vars: code: pattern "[a-z]{30}[0-9]{30}x+": it draws values longer than 64 characters`},
		{"the id of a built-in lab", swap("id: my-ex", "id: dns"), `ex.yaml:1: id "dns" is the id of a built-in lab`},
		{"exercise: false with exercise keys", "exercise: false\n" + exercise, `ex.yaml:1: exercise: false, but the file has order:, deadline:, required:`},
		{"exercise: not a boolean", "exercise: yes please\n" + exercise, `ex.yaml:1: exercise must be true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseExercise([]byte(tt.src), fstest.MapFS{}, "ex.yaml", "alice", reg)
			var list Errors
			if !errors.As(err, &list) {
				t.Fatalf("want Errors, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error lacks %q:\n%v", tt.want, err)
			}
		})
	}
	// A lesson file gets the values too, and its errors name it.
	files := fstest.MapFS{"lesson.fr.md": {Data: []byte("# Leçon\n\nLe mot : {var.word}, {var.nope}.\n")}}
	src := swap("lesson:\n  en: |", "lesson:\n  fr: lesson.fr.md\n  en: |")
	_, err := ParseExercise([]byte(src), files, "ex.yaml", "alice", reg)
	if err == nil || !strings.Contains(err.Error(), "lesson.fr.md:3: {var.nope}: no variable nope") {
		t.Fatalf("lesson file: %v", err)
	}
}

func TestLocalLearner(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"LAB_LEARNER": "alice", "USER": "bob"}, "alice"},
		{map[string]string{"USER": "bob"}, "bob"},
		{map[string]string{"USER": "bad name!", "LOGNAME": "carol"}, "carol"},
		{map[string]string{"USERNAME": "Dave.D"}, "Dave.D"},
		{map[string]string{}, "me"},
	}
	for _, tt := range tests {
		if got := LocalLearner(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("LocalLearner(%v) = %q, want %q", tt.env, got, tt.want)
		}
	}
	for _, bad := range []string{"", "-x", "a b", strings.Repeat("a", 65), "é"} {
		if CheckLearner(bad) == nil {
			t.Errorf("CheckLearner(%q) accepted it", bad)
		}
	}
	for _, good := range []string{"alice", "a.b-c_d@school.example", "42"} {
		if err := CheckLearner(good); err != nil {
			t.Errorf("CheckLearner(%q): %v", good, err)
		}
	}
}

func TestDrawPattern(t *testing.T) {
	tests := []struct {
		pattern string
		err     string // "" : draws values that match
	}{
		{"[a-z]{6}", ""},
		{"(rouge|vert|bleu)-[0-9]{2,3}", ""},
		{"x[^a-z]y", ""},
		{"[é-ú]{3}", ""},
		{"^ab+c?$", ""},
		{`\d{4}`, ""},
		{"(?i)abc", ""},
		{"a.{2}", ""},
		{"ab|c*", "can draw an empty value"},
		{`a\bb`, `\b and \B cannot be drawn from`},
		{"a{40}", "repeat at most 32 times"},
		{"a$b", "cannot draw a value that matches it"},
		{"[^\\x00-\\x{10FFFF}]", "no printable character"},
		{strings.Repeat("a", 201), "at most 200 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			err := checkPattern(tt.pattern)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("checkPattern: %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			re := regexp.MustCompile(`^(?:` + tt.pattern + `)$`)
			for i := uint64(0); i < 50; i++ {
				v, err := drawPattern(tt.pattern, rand.New(rand.NewPCG(i, 7)))
				if err != nil || !re.MatchString(v) || v == "" {
					t.Fatalf("draw %d: %q, %v", i, v, err)
				}
			}
		})
	}
}

func FuzzDrawPattern(f *testing.F) {
	for _, s := range []string{"[a-z]{6}", "(a|bc)+d?", "x[^a-z]y", "a{2,}", "[é-ú]{3}", ".*z", `\pL+`} {
		f.Add(s, uint64(1))
	}
	f.Fuzz(func(t *testing.T, p string, seed uint64) {
		if checkPattern(p) != nil {
			return
		}
		v, err := drawPattern(p, rand.New(rand.NewPCG(seed, seed)))
		if err != nil {
			return // a branch the check's draws did not take; an error, never a wrong value
		}
		if !regexp.MustCompile(`^(?:`+p+`)$`).MatchString(v) || v == "" || len([]rune(v)) > maxDrawn {
			t.Fatalf("pattern %q drew %q", p, v)
		}
	})
}

func FuzzParseExercise(f *testing.F) {
	f.Add([]byte(exercise), "alice")
	f.Add([]byte("id: x\ntitle: X\nvars:\n  a: {pattern: '[a-c]{2}'}\nservices:\n  dns: {}\ntasks:\n  - {id: t, title: '{var.a}', check: {event: dns.query, where: {qname: '{var.a}.'}}}\n"), "bob")
	reg := builtins.New()
	f.Fuzz(func(t *testing.T, src []byte, learner string) {
		if CheckLearner(learner) != nil {
			return
		}
		lab, err := ParseExercise(src, fstest.MapFS{}, "f.yaml", learner, reg)
		if err != nil {
			var list Errors
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is not a non-empty Errors: %v", err)
			}
			return
		}
		if lab.Exercise == nil || lab.Learner != learner || len(lab.Tasks) == 0 {
			t.Fatalf("accepted %+v", lab.Exercise)
		}
		for _, v := range lab.Vars {
			if lab.Values[v.Name] == "" {
				t.Fatalf("variable %s has no value", v.Name)
			}
		}
	})
}
