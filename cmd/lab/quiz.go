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
						qt.did = describe(e, lang)
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
// given time: the progress store records a tick with its event's time.
func tickingEvent(journal []event.Event, t *labs.Task, at time.Time) (event.Event, bool) {
	kinds := t.EventKinds()
	for i := len(journal) - 1; i >= 0; i-- {
		e := journal[i]
		if e.Time.Equal(at) && contains(kinds, e.Kind) {
			return e, true
		}
	}
	return event.Event{}, false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// describe says in a few words what the learner did, from the event that
// ticked a task: "you sent a mail to bob@lab.test with SMTP". Kinds it does
// not know give "event KIND".
func describe(e event.Event, lang string) string {
	a := func(name string) string { return e.Attrs[name] }
	fr := lang == "fr"
	pick := func(en, frs string) string {
		if fr {
			return frs
		}
		return en
	}
	switch e.Kind {
	case "dns.query":
		name := strings.TrimSuffix(a("qname"), ".")
		if name == "" {
			name = "."
		}
		over := ""
		if a("transport") == "tcp" {
			over = pick(" over TCP", " en TCP")
		}
		if a("qtype") == "AXFR" || a("qtype") == "IXFR" {
			return fmt.Sprintf(pick("you transferred the zone %s from the lab DNS (%s)", "vous avez transféré la zone %s depuis le DNS du labo (%s)"), name, a("qtype"))
		}
		s := fmt.Sprintf(pick("you asked the lab DNS for %s (%s)%s", "vous avez demandé %s (%s) au DNS du labo%s"), name, a("qtype"), over)
		if rc := a("rcode"); rc != "" && rc != "NOERROR" {
			s += pick(" and got "+rc, " et obtenu "+rc)
		}
		return s
	case "echo.tcp", "udp.datagram":
		what := fmt.Sprintf(pick("%s bytes", "%s octets"), a("bytes"))
		if txt := a("text"); txt != "" {
			what = fmt.Sprintf(pick("%q", "« %s »"), txt)
		}
		if e.Kind == "echo.tcp" {
			return fmt.Sprintf(pick("you sent %s to the lab echo server over TCP and got it back", "vous avez envoyé %s au serveur d'écho du labo en TCP et l'avez reçu en retour"), what)
		}
		s := fmt.Sprintf(pick("you sent %s in a UDP datagram to port %s of the lab", "vous avez envoyé %s dans un datagramme UDP au port %s du labo"), what, a("port"))
		if a("echoed") == "true" {
			s += pick(" and got it back", " et l'avez reçu en retour")
		}
		return s
	case "tcp.accept":
		return fmt.Sprintf(pick("you opened a TCP connection to port %s of the lab (%s)", "vous avez ouvert une connexion TCP vers le port %s du labo (%s)"), a("port"), a("service"))
	case "tcp.close":
		return fmt.Sprintf(pick("you closed a TCP connection to port %s of the lab (%s bytes sent, %s received)", "vous avez fermé une connexion TCP vers le port %s du labo (%s octets envoyés, %s reçus)"), a("port"), a("bytes_in"), a("bytes_out"))
	case "ws.request":
		if a("fault") != "" {
			return fmt.Sprintf(pick("you sent the lab SOAP service a request it answered with a Fault (%s)", "vous avez envoyé au service SOAP du labo une requête qui a reçu une Fault (%s)"), a("fault"))
		}
		s := fmt.Sprintf(pick("you called %s on the lab SOAP service (SOAP %s)", "vous avez appelé %s sur le service SOAP du labo (SOAP %s)"), a("operation"), a("version"))
		if a("name") != "" {
			s += fmt.Sprintf(pick(" for %s", " pour %s"), a("name"))
		}
		return s
	case "ws.wsdl":
		return pick("you fetched the WSDL of the lab SOAP service", "vous avez récupéré le WSDL du service SOAP du labo")
	case "smtp.delivered":
		to := strings.ReplaceAll(a("to"), ",", ", ")
		return fmt.Sprintf(pick("you sent a mail to %s with SMTP", "vous avez envoyé un courriel à %s en SMTP"), to)
	case "pop3.retr":
		return fmt.Sprintf(pick("you read message %s of %s's mailbox with POP3 (RETR)", "vous avez lu le message %s de la boîte de %s en POP3 (RETR)"), a("msg"), a("user"))
	case "pop3.top":
		return fmt.Sprintf(pick("you read the headers of message %s of %s's mailbox with POP3 (TOP)", "vous avez lu les en-têtes du message %s de la boîte de %s en POP3 (TOP)"), a("msg"), a("user"))
	case "pop3.login", "imap.login":
		proto := strings.ToUpper(strings.TrimSuffix(e.Kind, ".login"))
		return fmt.Sprintf(pick("you logged in to %s's mailbox with %s", "vous vous êtes connecté à la boîte de %s en %s"), a("user"), proto)
	case "imap.fetch":
		what := pick("message", "le message")
		if uid := a("uid"); uid != "" {
			what = fmt.Sprintf(pick("message UID %s", "le message d'UID %s"), uid)
		}
		return fmt.Sprintf(pick("you read %s in %s's %s with IMAP (FETCH %s)", "vous avez lu %[1]s dans la boîte %[3]s de %[2]s en IMAP (FETCH %[4]s)"), what, a("user"), a("mailbox"), a("section"))
	case "imap.select":
		return fmt.Sprintf(pick("you opened %s's %s with IMAP", "vous avez ouvert la boîte %[2]s de %[1]s en IMAP"), a("user"), a("mailbox"))
	case "dhcp.ack":
		if s := a("state"); s == "renewing" || s == "rebinding" {
			return fmt.Sprintf(pick("you renewed the lease of %s with the lab DHCP server", "vous avez renouvelé le bail de %s auprès du serveur DHCP du labo"), a("ip"))
		}
		return fmt.Sprintf(pick("you got the address %s from the lab DHCP server (MAC %s)", "vous avez obtenu l'adresse %s du serveur DHCP du labo (MAC %s)"), a("ip"), a("mac"))
	case "dhcp.release":
		return fmt.Sprintf(pick("you gave the address %s back to the lab DHCP server", "vous avez rendu l'adresse %s au serveur DHCP du labo"), a("ip"))
	case "snmp.request":
		oids := strings.Fields(a("oids"))
		oid := ""
		if len(oids) > 0 {
			oid = oids[0]
			if len(oids) > 1 {
				oid += "…"
			}
		}
		who := pick("community ", "communauté ") + a("community")
		if a("version") == "3" {
			who = pick("user ", "utilisateur ") + a("user")
		}
		verb := map[string][2]string{
			"get":     {"you read %s from the lab SNMP agent", "vous avez lu %s sur l'agent SNMP du labo"},
			"getnext": {"you walked the lab SNMP agent from %s", "vous avez parcouru l'agent SNMP du labo à partir de %s"},
			"getbulk": {"you read objects in bulk from %s on the lab SNMP agent", "vous avez lu en bloc les objets à partir de %s sur l'agent SNMP du labo"},
			"set":     {"you wrote %s on the lab SNMP agent", "vous avez écrit %s sur l'agent SNMP du labo"},
		}[a("pdu")]
		if verb[0] == "" {
			verb = [2]string{"you queried the lab SNMP agent about %s", "vous avez interrogé l'agent SNMP du labo sur %s"}
		}
		return fmt.Sprintf(pick(verb[0], verb[1]), oid) + fmt.Sprintf(" (SNMPv%s, %s)", a("version"), who)
	case "snmp.set":
		obj := a("name")
		if obj == "" {
			obj = a("oid")
		}
		return fmt.Sprintf(pick("you set %s to %s on the lab SNMP agent", "vous avez mis %s à %s sur l'agent SNMP du labo"), obj, a("new"))
	}
	return pick("event ", "événement ") + e.Kind
}
