package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"protolab/internal/catalog"
	"protolab/internal/event"
	"protolab/internal/lesson"
	"protolab/internal/progress"
	"protolab/labs"
)

func TestWhen(t *testing.T) {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.Local)
	tests := []struct {
		at     time.Time
		en, fr string
	}{
		{time.Date(2026, 3, 2, 14, 2, 9, 0, time.Local), "at 14:02", "à 14:02"},
		{time.Date(2026, 3, 1, 9, 5, 0, 0, time.Local), "on 2026-03-01 at 09:05", "le 2026-03-01 à 09:05"},
	}
	for _, tt := range tests {
		if got := when(tt.at, now, "en"); got != tt.en {
			t.Errorf("when(%v, en) = %q, want %q", tt.at, got, tt.en)
		}
		if got := when(tt.at, now, "fr"); got != tt.fr {
			t.Errorf("when(%v, fr) = %q, want %q", tt.at, got, tt.fr)
		}
	}
}

func TestParseChoice(t *testing.T) {
	tests := []struct {
		in      string
		options int
		want    []int
		err     string
	}{
		{"b", 4, []int{1}, ""},
		{"B", 4, []int{1}, ""},
		{"a,c", 4, []int{0, 2}, ""},
		{"ca", 4, []int{0, 2}, ""},
		{" a c ", 4, []int{0, 2}, ""},
		{"aa", 4, []int{0}, ""},
		{"e", 4, nil, `"e" is not an option: answer with a letter from a to d`},
		{"1", 4, nil, `"1" is not an option`},
		{"", 4, nil, "no option given"},
		{",", 2, nil, "no option given: answer with a letter from a to b"},
	}
	for _, tt := range tests {
		got, err := parseChoice(tt.in, tt.options)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseChoice(%q): error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseChoice(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestCheckChoice(t *testing.T) {
	one := &lesson.Question{Options: []lesson.Option{{Text: "DHCP"}, {Text: "DNS", Correct: true}, {Text: "POSTAL"}}}
	two := &lesson.Question{Options: []lesson.Option{{Text: "A", Correct: true}, {Text: "B"}, {Text: "C", Correct: true}}}
	tests := []struct {
		q      *lesson.Question
		choice []int
		right  bool
	}{
		{one, []int{1}, true},
		{one, []int{0}, false},
		{one, []int{0, 1}, false},
		{two, []int{0, 2}, true},
		{two, []int{0}, false},
		{two, []int{0, 1, 2}, false},
	}
	for _, tt := range tests {
		if got := checkChoice(tt.q, tt.choice); got != tt.right {
			t.Errorf("checkChoice(%s, %v) = %v, want %v", optionList(tt.q, rightOptions(tt.q)), tt.choice, got, tt.right)
		}
	}
	if got := optionList(two, []int{0, 2}); got != "a) A, c) C" {
		t.Errorf("optionList = %q", got)
	}
}

func TestParseAnswers(t *testing.T) {
	qs := []*lesson.Question{
		{Options: []lesson.Option{{Text: "x"}, {Text: "y"}}},
		{Options: []lesson.Option{{Text: "x"}, {Text: "y"}, {Text: "z"}}},
	}
	got, err := parseAnswers([]string{"1=b", "2=a,c"}, qs)
	if err != nil || !reflect.DeepEqual(got, map[int][]int{1: {1}, 2: {0, 2}}) {
		t.Fatalf("parseAnswers = %v, %v", got, err)
	}
	for _, bad := range []string{"3=a", "0=a", "x=a", "1", "1=c", "2="} {
		if _, err := parseAnswers([]string{bad}, qs); err == nil {
			t.Errorf("parseAnswers(%q) accepted", bad)
		} else if _, ok := err.(*usageError); !ok {
			t.Errorf("parseAnswers(%q): %v is not a usage error", bad, err)
		}
	}
}

func TestTickingEvent(t *testing.T) {
	lab, err := labs.LoadBuiltin("mail", catalog.New())
	if err != nil {
		t.Fatal(err)
	}
	task, _ := lab.Task("pop3-retr")
	t0 := time.Date(2026, 3, 2, 14, 2, 0, 123456789, time.UTC)
	journal := []event.Event{
		{Kind: "smtp.delivered", Time: t0.Add(-time.Second)},
		{Kind: "pop3.login", Time: t0},
		{Kind: "pop3.retr", Time: t0, Attrs: map[string]string{"msg": "3"}},
		{Kind: "pop3.retr", Time: t0.Add(time.Nanosecond), Attrs: map[string]string{"msg": "4"}},
	}
	e, ok := tickingEvent(journal, task, t0.In(time.Local))
	if !ok || e.Kind != "pop3.retr" || e.Attrs["msg"] != "3" {
		t.Fatalf("tickingEvent = %+v, %v", e, ok)
	}
	if _, ok := tickingEvent(journal, task, t0.Add(time.Hour)); ok {
		t.Fatal("found an event at a time nothing happened")
	}
}

// quizCLI runs lab quiz in process against a state directory.
func quizCLI(t *testing.T, state string, opts *quizOptions, args ...string) (string, error) {
	t.Helper()
	var out, errb strings.Builder
	c := &cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, reg: catalog.New(), stateDir: state}
	err := c.runQuiz(labArg(args), opts)
	return out.String(), err
}

// The quiz of a lab that is not running reads the saved progress and the
// journal: a task done shows what was done, from the event that ticked it.
func TestQuizFromSavedProgress(t *testing.T) {
	state := t.TempDir()
	store, err := progress.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Minute).Round(time.Microsecond)
	ev := event.Event{Time: at, Service: "dns", Kind: "dns.query", Attrs: map[string]string{"qname": "www.lab.test.", "qtype": "A", "rcode": "NOERROR", "answers": "1"}}
	if err := store.Append("dns", []event.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.MarkDone("dns", "resolve-a", at); err != nil {
		t.Fatal(err)
	}
	// mx is done, but the journal has lost its event: the quiz says when.
	if _, err := store.MarkDone("dns", "mx", at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	store.Close()

	out, err := quizCLI(t, state, &quizOptions{lang: "en"}, "dns")
	if err != nil {
		t.Fatal(err)
	}
	hm := at.Local().Format("15:04")
	hm2 := at.Add(time.Second).Local().Format("15:04")
	for _, want := range []string{
		"Quiz — DNS: from names to addresses (lab dns)",
		"1. Which service links a domain name to an IP address?\n   a) DHCP\n   b) DNS  ✓\n   c) POSTAL\n   d) POP\n   ✓ answered by doing: you asked the lab DNS for www.lab.test (A) at " + hm + ".\n",
		"2. Which record names the server that takes a domain's mail?\n   a) A\n   b) CNAME\n   c) MX  ✓\n   d) PTR\n   ✓ answered by doing: task mx done at " + hm2 + ".\n",
		"   ○ not answered yet: do the task axfr (Get the whole lab.test zone through a zone transfer (AXFR)); lab hint axfr helps.\n",
		"Answered by doing: 2 of 5.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("quiz lacks %q:\n%s", want, out)
		}
	}
	// The question without a task shows no task line.
	if i := strings.Index(out, "3. In dig's answer"); i < 0 || strings.Contains(out[i:strings.Index(out, "4. ")], "task") {
		t.Errorf("question 3 (no task) looks wrong:\n%s", out)
	}
}

func TestQuizWrittenAnswers(t *testing.T) {
	state := t.TempDir()
	tests := []struct {
		name    string
		lang    string
		answers []string
		want    []string
		not     []string
	}{
		{"right, task not done", "en", []string{"1=b"}, []string{
			"   Your answer: b) DNS — right.\n   A written answer ticks nothing: do the task resolve-a to answer it for the lab.\n",
			"Answered by doing: 0 of 5.",
		}, []string{"✓"}},
		{"wrong", "en", []string{"1=a"}, []string{"   Your answer: a) DHCP — wrong; the right answer is b) DNS.\n"}, nil},
		{"no task to do for an unlinked question", "en", []string{"3=b"}, []string{"   Your answer: b) aa — right.\n\n4."}, []string{"ticks nothing"}},
		{"French", "fr", []string{"1=c", "2=C"}, []string{
			"Quiz — DNS : des noms aux adresses (labo dns)",
			"   Votre réponse : c) POSTAL — fausse ; la bonne réponse est b) DNS.\n   Une réponse écrite ne coche rien : faites la tâche resolve-a pour y répondre auprès du labo.\n",
			"   Votre réponse : c) MX — juste.\n",
			"   ○ pas encore de réponse : faites la tâche mx (",
			"Réponses par la pratique : 0 sur 5.",
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := quizCLI(t, state, &quizOptions{lang: tt.lang, answers: tt.answers}, "dns")
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
	// Written answers tick nothing, and reading the quiz creates no state.
	if _, err := os.Stat(filepath.Join(state, progress.DBName)); !os.IsNotExist(err) {
		t.Fatalf("the quiz created or touched the state database: %v", err)
	}
}

// At a terminal the quiz asks for each question not yet answered by doing;
// a wrong letter is asked again, Enter skips, the end of input stops.
func TestQuizPrompt(t *testing.T) {
	in := strings.NewReader("z\nb\n\nc\n")
	out, err := quizCLI(t, t.TempDir(), &quizOptions{lang: "en", in: in, interactive: true}, "dns")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"   Your answer (a-d, Enter to skip):    \"z\" is not an option: answer with a letter from a to d\n   Your answer (a-d, Enter to skip):    Your answer: b) DNS — right.\n",
		"2. Which record",
		"   Your answer (a-d, Enter to skip): \n3. In dig's answer",
		"   Your answer (a-d, Enter to skip):    Your answer: c) rd — wrong; the right answer is b) aa.\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	// Question 4 hit the end of input: one prompt, then no more.
	if n := strings.Count(out, "Your answer (a-"); n != 5 {
		t.Errorf("%d prompts, want 5 (two for question 1, one each for 2, 3 and 4, then none):\n%s", n, out)
	}
}

func TestQuizUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"quiz", "dns", "--answer", "9=a"}, "a question number from 1 to 7"},
		{[]string{"quiz", "dns", "--answer", "1=z"}, `"z" is not an option`},
		{[]string{"quiz", "nope"}, `no lab named "nope"`},
		{[]string{"quiz", "dns", "--lang", "de"}, "choose fr or en"},
	} {
		var out, errb strings.Builder
		code := run(append(tt.args, "--state", t.TempDir()), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("lab %v: exit %d, stderr %q; want 2 and %q", tt.args, code, errb.String(), tt.want)
		}
	}
}

// FuzzParseChoice: whatever a learner types at the prompt, the answer is
// refused with a message or is a sorted set of existing options.
func FuzzParseChoice(f *testing.F) {
	for _, s := range []string{"b", "a,c", "AC", " ", "z", "é", "a\x00b"} {
		f.Add(s, 4)
	}
	f.Fuzz(func(t *testing.T, s string, options int) {
		if options < 1 || options > 26 {
			return
		}
		got, err := parseChoice(s, options)
		if err != nil {
			if got != nil || err.Error() == "" {
				t.Fatalf("parseChoice(%q, %d) = %v, %v", s, options, got, err)
			}
			return
		}
		if len(got) == 0 {
			t.Fatalf("parseChoice(%q, %d) accepted no option", s, options)
		}
		for i, x := range got {
			if x < 0 || x >= options || (i > 0 && got[i-1] >= x) {
				t.Fatalf("parseChoice(%q, %d) = %v", s, options, got)
			}
		}
	})
}
