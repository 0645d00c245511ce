package main

// The course lab solved end to end by the real tools a learner uses, one
// per section of the course, and the quiz answered by doing.

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// quizUntil runs lab quiz until its output holds every wanted line: the
// journal, where the quiz finds what ticked a task, is written a moment
// after the tick.
func quizUntil(t *testing.T, state string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, stderr, code := labRun(t, "quiz", "course", "--lang", "en", "--state", state)
		if code != 0 {
			t.Fatalf("lab quiz: exit %d\n%s", code, stderr)
		}
		missing := ""
		for _, w := range want {
			if !strings.Contains(out, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("lab quiz never showed %q:\n%s", missing, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A question linked to a task is answered by doing it with a real tool:
// dig for the DNS question, swaks for the mail one. A written answer is
// checked, and ticks nothing.
func TestQuizAnsweredByDoing(t *testing.T) {
	dig, swaks := needTool(t, "dig"), needTool(t, "swaks")
	state := t.TempDir()
	p := startLabID(t, "course", state)

	out, _, code := labRun(t, "quiz", "course", "--lang", "en", "--state", state, "--answer", "2=b")
	for _, w := range []string{
		"   ○ not answered yet: do the task smtp-send (Send a message to bob@lab.test); lab hint smtp-send helps.",
		"   Your answer: b) DNS — right.\n   A written answer ticks nothing: do the task resolve-a to answer it for the lab.",
		"Answered by doing: 0 of 2.",
	} {
		if code != 0 || !strings.Contains(out, w) {
			t.Fatalf("quiz before any task (exit %d) lacks %q:\n%s", code, w, out)
		}
	}
	if st := p.status(); st.Done != 0 {
		t.Fatalf("a written answer ticked %d tasks", st.Done)
	}

	h, port := p.addr("dns")
	if got := strings.TrimSpace(runTool(t, dig, "@"+h, "-p", port, "+short", "www.lab.test", "A")); got != "192.0.2.80" {
		t.Fatalf("dig: %q", got)
	}
	p.waitDone("resolve-a")
	sh, sport := p.addr("smtp")
	mustTool(t, "250", "", swaks, "--server", sh+":"+sport, "--from", "alice@lab.test", "--to", "bob@lab.test")
	p.waitDone("smtp-send")

	st := p.status()
	at := map[string]string{}
	for _, tk := range st.Tasks {
		if tk.DoneAt != nil {
			at[tk.ID] = tk.DoneAt.Local().Format("15:04")
		}
	}
	out = quizUntil(t, state,
		"   a) SMTP  ✓\n",
		"   ✓ answered by doing: you sent a mail to bob@lab.test with SMTP at "+at["smtp-send"]+".\n",
		"   b) DNS  ✓\n",
		"   ✓ answered by doing: you asked the lab DNS for www.lab.test (A) at "+at["resolve-a"]+".\n",
		"Answered by doing: 2 of 2.",
	)
	if strings.Contains(out, "not answered yet") {
		t.Fatalf("quiz after both tasks:\n%s", out)
	}
	// In French too, and still so once the lab has stopped.
	p.stop()
	out, _, _ = labRun(t, "quiz", "course", "--lang", "fr", "--state", state)
	for _, w := range []string{
		"✓ réponse par la pratique : vous avez envoyé un courriel à bob@lab.test en SMTP à " + at["smtp-send"] + ".",
		"✓ réponse par la pratique : vous avez demandé www.lab.test (A) au DNS du labo à " + at["resolve-a"] + ".",
		"Réponses par la pratique : 2 sur 2.",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("French quiz of the stopped lab lacks %q:\n%s", w, out)
		}
	}
}

// The course lab, from top to bottom, with the tools of each section.
func TestCourseLabWithRealClients(t *testing.T) {
	nc, dig, swaks, curl := needTool(t, "nc"), needTool(t, "dig"), needTool(t, "swaks"), needTool(t, "curl")
	needTool(t, "snmpget")
	state := t.TempDir()
	p := startLabID(t, "course", state)

	// TCP/IP: a line to the echo server comes back.
	eh, eport := p.addr("echo")
	if out := mustTool(t, "hello, echo", "hello, echo\n", nc, "-N", eh, eport); strings.TrimSpace(out) != "hello, echo" {
		t.Fatalf("nc to the echo server printed %q", out)
	}
	p.waitDone("tcp-echo")

	// SNMP: the router's name.
	a, ok := p.eps.Find("snmp", "udp")
	if !ok {
		t.Fatalf("no snmp endpoint in %+v", p.eps)
	}
	snmpTool(t, `.1.3.6.1.2.1.1.5.0 = STRING: "rtr1.lab.test"`, "snmpget", "-v2c", "-c", "public", "-On", a, "1.3.6.1.2.1.1.5.0")
	p.waitDone("snmp-get")

	// DHCP: lab dhcp-client plays the client on loopback.
	out, stderr, code := labRun(t, "dhcp-client", "--state", state)
	if code != 0 || !strings.Contains(out, "DHCPACK 192.0.2.100") {
		t.Fatalf("lab dhcp-client: exit %d\n%s%s", code, out, stderr)
	}
	p.waitDone("dhcp-lease")

	// DNS: the address of www.lab.test.
	h, port := p.addr("dns")
	if got := strings.TrimSpace(runTool(t, dig, "@"+h, "-p", port, "+short", "www.lab.test", "A")); got != "192.0.2.80" {
		t.Fatalf("dig: %q", got)
	}
	p.waitDone("resolve-a")

	// Mail: send to bob, read the same message back with POP3, then IMAP.
	sh, sport := p.addr("smtp")
	mustTool(t, "250", "", swaks, "--server", sh+":"+sport, "--from", "alice@lab.test", "--to", "bob@lab.test",
		"--header", "Subject: the course, by mail")
	p.waitDone("smtp-send")
	ph, pport := p.addr("pop3")
	pop := "pop3://" + ph + ":" + pport + "/"
	list := mustTool(t, " ", "", curl, "-sS", pop, "--user", "bob:builder")
	last := lastNumber(t, `(?m)^(\d+) \d+\r?$`, list)
	mustTool(t, "Subject: the course, by mail", "", curl, "-sS", pop+last, "--user", "bob:builder")
	p.waitDone("pop3-retr")
	ih, iport := p.addr("imap")
	imap := "imap://" + ih + ":" + iport + "/INBOX"
	uids := mustTool(t, "* SEARCH", "", curl, "-sS", imap, "--user", "bob:builder", "-X", "UID SEARCH ALL")
	uid := lastNumber(t, `(\d+)\s*$`, uids)
	mustTool(t, "Subject: the course, by mail", "", curl, "-sS", imap+";UID="+uid, "--user", "bob:builder")
	p.waitDone("imap-fetch")

	// WS-*: a SOAP call with curl.
	wh, wport := p.addr("ws")
	envelope := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
		`<LookupHost xmlns="urn:lab.test:directory"><name>www.lab.test</name></LookupHost></soap:Body></soap:Envelope>`
	mustTool(t, "192.0.2.80", "", curl, "-sS", "http://"+wh+":"+wport+"/directory",
		"-H", "Content-Type: text/xml; charset=utf-8", "-H", `SOAPAction: "urn:lab.test:directory/LookupHost"`, "--data-binary", envelope)
	p.waitDone("soap-call")

	allDone(t, p)
	if st := p.status(); st.Lab != "course" || st.Total != len(courseTaskIDs) {
		t.Fatalf("status: lab %q with %d tasks, want course with %d", st.Lab, st.Total, len(courseTaskIDs))
	}
}

// courseTaskIDs are the course lab's tasks, in the course's order.
var courseTaskIDs = []string{"tcp-echo", "snmp-get", "dhcp-lease", "resolve-a", "smtp-send", "pop3-retr", "imap-fetch", "soap-call"}

// lastNumber returns the last match of re's first group in s.
func lastNumber(t *testing.T, re, s string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindAllStringSubmatch(s, -1)
	if len(m) == 0 {
		t.Fatalf("no number matching %s in:\n%s", re, s)
	}
	n := m[len(m)-1][1]
	if _, err := strconv.Atoi(n); err != nil {
		t.Fatal(err)
	}
	return n
}
