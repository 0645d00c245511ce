package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"protolab/internal/event"
	"protolab/internal/explain"
	"protolab/internal/lesson"
	"protolab/internal/progress"
	"protolab/labs"
)

type quizOptions struct {
	file    string
	lang    string
	answers []string // "N=LETTERS"
	// in is where interactive answers are read, when interactive is set
	// (stdin and stdout are terminals and no --answer was given).
	in          io.Reader
	interactive bool
	now         func() time.Time
}

func (c *cli) quizCmd() *cobra.Command {
	opts := &quizOptions{}
	cmd := &cobra.Command{
		Use:   "quiz <lab> | --file FILE",
		Short: "Show the questions of a lab's lesson: those linked to a task are answered by doing it",
		Long: `Print the questions of the lab's lesson with their options. A question linked to
a task is answered by doing that task: once it is done, the quiz shows what you
did and when. You may also answer in writing, with --answer N=LETTER (or at the
prompt when run in a terminal): the answer is checked and the right one shown,
but only doing the task ticks it.`,
		Example: `  lab quiz course
  lab quiz course --answer 1=a --answer 2=b`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.in = os.Stdin
			opts.interactive = len(opts.answers) == 0 && term.IsTerminal(int(os.Stdin.Fd()))
			if ok, _ := terminal(c.stdout); !ok {
				opts.interactive = false
			}
			return c.runQuiz(labArg(args), opts)
		},
	}
	cmd.Flags().StringVar(&opts.file, "file", "", "a lab file instead of a built-in lab")
	cmd.Flags().StringVar(&opts.lang, "lang", "", "fr or en (default from $LANG)")
	cmd.Flags().StringArrayVar(&opts.answers, "answer", nil, "a written answer, N=LETTER (e.g. 1=b; several letters for several right options: 1=a,c); repeat for more")
	return cmd
}

// quizQuestion is a question of the lesson with its number and state.
type quizQuestion struct {
	n     int // 1-based
	q     *lesson.Question
	tasks []quizTask
}

// quizTask is a task a question is linked to.
type quizTask struct {
	id, title string
	done      bool
	at        time.Time
	did       string // what the learner did, "" when not known
}

func (c *cli) runQuiz(id string, opts *quizOptions) error {
	lang, err := c.lang(opts.lang)
	if err != nil {
		return err
	}
	lab, err := c.loadLab(id, opts.file)
	if err != nil {
		return err
	}
	doc, got := lab.Lesson(lang)
	if doc == nil {
		return fmt.Errorf("lab %s has no lesson, so no questions", lab.ID)
	}
	qs := doc.Questions()
	if len(qs) == 0 {
		fmt.Fprintf(c.stdout, tr(lang, "The lesson of lab %s asks no questions: do its tasks (lab status lists them).\n",
			"La leçon du labo %s ne pose pas de question : faites ses tâches (lab status les donne).\n"), lab.ID)
		return nil
	}
	written, err := parseAnswers(opts.answers, qs)
	if err != nil {
		return err
	}
	done, journal := c.quizProgress(lab)
	now := time.Now
	if opts.now != nil {
		now = opts.now
	}
	questions := make([]quizQuestion, len(qs))
	for i, q := range qs {
		qq := quizQuestion{n: i + 1, q: q}
		for _, link := range q.Tasks {
			qt := quizTask{id: link.Task}
			if t, ok := lab.Task(link.Task); ok {
				qt.title = t.Title.In(lang)
				if at, ok := done[t.ID]; ok {
					qt.done, qt.at = true, at
					if e, ok := tickingEvent(journal, t, at); ok {
						qt.did = explain.Describe(e, lang)
					}
				}
			}
			qq.tasks = append(qq.tasks, qt)
		}
		questions[i] = qq
	}

	if got != lang {
		fmt.Fprintf(c.stderr, "(this lesson is not written in %s; showing it in %s)\n", lang, got)
	}
	fmt.Fprintf(c.stdout, tr(lang, "Quiz — %s (lab %s)\n", "Quiz — %s (labo %s)\n"), lab.Title.In(lang), lab.ID)
	var in *bufio.Reader
	if opts.interactive {
		in = bufio.NewReader(opts.in)
	}
	byDoing, linked := 0, 0
	for _, qq := range questions {
		fmt.Fprintln(c.stdout)
		answered := qq.answeredByDoing()
		writeQuestion(c.stdout, qq, answered, lang, now())
		if len(qq.tasks) > 0 {
			linked++
			if answered {
				byDoing++
			}
		}
		choice, ok := written[qq.n]
		if !ok && in != nil && !answered {
			if choice, ok = prompt(c.stdout, in, qq.q, lang); !ok && choice == nil {
				in = nil // end of input: no more prompts
			}
		}
		if ok {
			writeVerdict(c.stdout, qq, choice, lang)
		}
	}
	if linked > 0 {
		fmt.Fprintf(c.stdout, "\n"+tr(lang, "Answered by doing: %d of %d.\n", "Réponses par la pratique : %d sur %d.\n"), byDoing, linked)
	}
	return nil
}

func (qq quizQuestion) answeredByDoing() bool {
	if len(qq.tasks) == 0 {
		return false
	}
	for _, t := range qq.tasks {
		if !t.done {
			return false
		}
	}
	return true
}

// letter names the i-th option (0-based): a, b, c...
func letter(i int) string {
	if i < 26 {
		return string(rune('a' + i))
	}
	return strconv.Itoa(i + 1)
}

func writeQuestion(w io.Writer, qq quizQuestion, answered bool, lang string, now time.Time) {
	fmt.Fprintf(w, "%d. %s\n", qq.n, qq.q.Prompt)
	for i, o := range qq.q.Options {
		mark := ""
		if answered && o.Correct {
			mark = "  ✓"
		}
		fmt.Fprintf(w, "   %s) %s%s\n", letter(i), o.Text, mark)
	}
	for _, t := range qq.tasks {
		switch {
		case t.done && t.did != "":
			fmt.Fprintf(w, "   ✓ %s %s %s.\n", tr(lang, "answered by doing:", "réponse par la pratique :"), t.did, when(t.at, now, lang))
		case t.done:
			fmt.Fprintf(w, "   ✓ %s %s %s.\n", tr(lang, "answered by doing: task", "réponse par la pratique : tâche"), t.id, tr(lang, "done", "faite")+" "+when(t.at, now, lang))
		default:
			fmt.Fprintf(w, tr(lang, "   ○ not answered yet: do the task %s (%s); lab hint %s helps.\n",
				"   ○ pas encore de réponse : faites la tâche %s (%s) ; lab hint %s vous aide.\n"), t.id, t.title, t.id)
		}
	}
}

// when says when something was done: "at 14:02", or with the date when it
// was not today.
func when(at, now time.Time, lang string) string {
	at, now = at.Local(), now.Local()
	hm := at.Format("15:04")
	if y, m, d := at.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return tr(lang, "at ", "à ") + hm
	}
	return tr(lang, "on ", "le ") + at.Format("2006-01-02") + tr(lang, " at ", " à ") + hm
}

// parseAnswers reads --answer values: N=LETTERS, the options chosen for
// question N ("b", "a,c", "ac").
func parseAnswers(vals []string, qs []*lesson.Question) (map[int][]int, error) {
	out := map[int][]int{}
	for _, v := range vals {
		ns, letters, ok := strings.Cut(v, "=")
		n, err := strconv.Atoi(strings.TrimSpace(ns))
		if !ok || err != nil || n < 1 || n > len(qs) {
			return nil, usagef("--answer %q: write N=LETTER, with N a question number from 1 to %d, as in --answer 1=b", v, len(qs))
		}
		choice, err := parseChoice(letters, len(qs[n-1].Options))
		if err != nil {
			return nil, usagef("--answer %q: %v", v, err)
		}
		out[n] = choice
	}
	return out, nil
}

// parseChoice reads the letters of the options chosen: "b", "a,c", "a c",
// "AC". It returns the options' indexes, sorted.
func parseChoice(s string, options int) ([]int, error) {
	set := map[int]bool{}
	for _, r := range strings.ToLower(s) {
		switch {
		case r == ',' || r == ' ' || r == '\t':
		case r >= 'a' && r <= 'z' && int(r-'a') < options:
			set[int(r-'a')] = true
		default:
			return nil, fmt.Errorf("%q is not an option: answer with a letter from a to %s", string(r), letter(options-1))
		}
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("no option given: answer with a letter from a to %s", letter(options-1))
	}
	out := make([]int, 0, len(set))
	for i := range set {
		out = append(out, i)
	}
	sort.Ints(out)
	return out, nil
}

// checkChoice reports whether the options chosen are exactly the right ones.
func checkChoice(q *lesson.Question, choice []int) bool {
	right := rightOptions(q)
	if len(right) != len(choice) {
		return false
	}
	for i := range right {
		if right[i] != choice[i] {
			return false
		}
	}
	return true
}

func rightOptions(q *lesson.Question) []int {
	var out []int
	for i, o := range q.Options {
		if o.Correct {
			out = append(out, i)
		}
	}
	return out
}

// optionList names options as "b) DNS" or "a) SMTP, c) IMAP".
func optionList(q *lesson.Question, idx []int) string {
	parts := make([]string, len(idx))
	for i, x := range idx {
		parts[i] = letter(x) + ") " + q.Options[x].Text
	}
	return strings.Join(parts, ", ")
}

func writeVerdict(w io.Writer, qq quizQuestion, choice []int, lang string) {
	q := qq.q
	mine := optionList(q, choice)
	if checkChoice(q, choice) {
		fmt.Fprintf(w, tr(lang, "   Your answer: %s — right.\n", "   Votre réponse : %s — juste.\n"), mine)
	} else {
		fmt.Fprintf(w, tr(lang, "   Your answer: %s — wrong; the right answer is %s.\n", "   Votre réponse : %s — fausse ; la bonne réponse est %s.\n"), mine, optionList(q, rightOptions(q)))
	}
	var todo []string
	for _, t := range qq.tasks {
		if !t.done {
			todo = append(todo, t.id)
		}
	}
	if len(todo) > 0 {
		fmt.Fprintf(w, tr(lang, "   A written answer ticks nothing: do the task %s to answer it for the lab.\n",
			"   Une réponse écrite ne coche rien : faites la tâche %s pour y répondre auprès du labo.\n"), strings.Join(todo, ", "))
	}
}

// prompt asks for an answer on a terminal until it gets a valid one. An
// empty line skips the question (nil, false with more to read); the end of
// input gives nil, false too, and prompts stop.
func prompt(w io.Writer, in *bufio.Reader, q *lesson.Question, lang string) ([]int, bool) {
	last := letter(len(q.Options) - 1)
	for {
		fmt.Fprintf(w, tr(lang, "   Your answer (a-%s, Enter to skip): ", "   Votre réponse (a-%s, Entrée pour passer) : "), last)
		line, err := in.ReadString('\n')
		line = strings.TrimSpace(line)
		if line == "" {
			if err != nil {
				fmt.Fprintln(w)
				return nil, false
			}
			return []int{}, false
		}
		choice, cerr := parseChoice(line, len(q.Options))
		if cerr == nil {
			return choice, true
		}
		fmt.Fprintf(w, "   %v\n", cerr)
		if err != nil {
			return nil, false
		}
	}
}

// maxJournal bounds the events read from the journal to find what ticked
// the tasks (the default retention).
const maxJournal = 10000

// quizProgress returns the done tasks of lab with the time each was done
// (from the running lab when it is this one, else from the saved progress),
// and the end of its event journal, to find what ticked each. Nothing done
// is the answer when there is no progress to read.
func (c *cli) quizProgress(lab *labs.Lab) (map[string]time.Time, []event.Event) {
	done := map[string]time.Time{}
	dir, err := c.state()
	if err != nil {
		return done, nil
	}
	if ri, client, err := c.running(); err == nil && ri.Lab == lab.ID {
		ctx, cancel := timeout()
		st, err := client.Status(ctx)
		cancel()
		if err == nil {
			for _, t := range st.Tasks {
				if t.Done && t.DoneAt != nil {
					done[t.ID] = *t.DoneAt
				}
			}
		}
	} else if _, err := os.Stat(filepath.Join(dir, progress.DBName)); err == nil {
		if store, err := progress.Open(dir); err == nil {
			done, _ = store.Done(lab.ID)
			store.Close()
		}
	}
	if len(done) == 0 {
		return map[string]time.Time{}, nil
	}
	store, err := progress.Open(dir)
	if err != nil {
		return done, nil
	}
	defer store.Close()
	evs, _ := store.Recent(lab.ID, maxJournal)
	return done, evs
}

// tickingEvent finds in the journal the event that ticked the task at the
// given time (see explain.TickingEvent).
func tickingEvent(journal []event.Event, t *labs.Task, at time.Time) (event.Event, bool) {
	return explain.TickingEvent(journal, t.EventKinds(), at)
}
