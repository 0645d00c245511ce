package imap

import (
	"bufio"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"protolab/internal/service"
)

func TestSolveSession(t *testing.T) {
	s := startServer(t, "", nil)
	s.deliver(t, "bob", "INBOX", message("Carrier pigeon", "coo"), message("Lunch", "soup"))
	eps := s.inst.Endpoints()
	run := func(args map[string]string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return Spec.Solve(ctx, eps, service.Step{Action: "imap.session", Args: args})
	}
	err := run(map[string]string{
		"user": "bob", "password": "builder",
		"commands": `SELECT INBOX; FETCH last (BODY[]); STORE 1 +FLAGS (\Flagged); CREATE Archives; MOVE 1 Archives; SEARCH SUBJECT "pigeon; lunch"; SEARCH SUBJECT lunch; LOGOUT`,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.events.next(t, KindFetch, map[string]string{"uid": "2", "section": "BODY[]", "subject": "Lunch"})
	s.events.next(t, KindStore, map[string]string{"uids": "1", "op": "add", "flags": `\Flagged`})
	s.events.next(t, KindMove, map[string]string{"from": "INBOX", "to": "Archives", "count": "1"})
	s.events.next(t, KindSearch, map[string]string{"criteria": `SUBJECT "pigeon; lunch"`, "results": "0"})
	s.events.next(t, KindSearch, map[string]string{"criteria": `SUBJECT "lunch"`, "results": "1"})

	if err := run(map[string]string{"user": "bob", "password": "builder", "starttls": "true", "commands": "EXAMINE Archives"}); err != nil {
		t.Fatal(err)
	}
	s.events.next(t, KindLogin, map[string]string{"tls": "true", "result": "ok"})
	s.events.next(t, KindSelect, map[string]string{"mailbox": "Archives", "readonly": "true", "messages": "1"})

	for _, tc := range []struct {
		args map[string]string
		err  string
	}{
		{map[string]string{"user": "bob", "password": "nope"}, "LOGIN bob"},
		{map[string]string{"user": "bob", "password": "builder", "commands": "SELECT Nowhere"}, `SELECT Nowhere: the server answered "NO [NONEXISTENT]`},
		{map[string]string{"user": "bob", "password": "builder", "commands": "SELECT Archives; FETCH last (FLAGS); EXPUNGE; FETCH last (FLAGS)"}, ""},
		{map[string]string{"user": "bob", "password": "builder", "commands": "CREATE Empty; SELECT Empty; FETCH last (FLAGS)"}, `no message is "last"`},
		{map[string]string{"user": "bob", "password": "builder", "commands": "BOGUS"}, "BOGUS: the server answered \"BAD"},
		{map[string]string{"user": "bob", "password": "builder", "starttls": "yes"}, "starttls \"yes\""},
		{map[string]string{"user": "bob", "password": "builder", "commands": `SEARCH SUBJECT "open`}, "not closed"},
		{map[string]string{"user": "bob", "password": "builder", "color": "red"}, `unknown argument "color"`},
		{map[string]string{"user": "bob"}, `argument "password" is required`},
	} {
		err := run(tc.args)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.err)
		}
	}
}

func TestSolveIdle(t *testing.T) {
	s := startServer(t, "", nil)
	s.deliver(t, "alice", "INBOX", message("hello", "x"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := Spec.Solve(ctx, s.inst.Endpoints(), service.Step{Action: "imap.idle", Args: map[string]string{"user": "alice", "password": "wonderland"}})
	if err != nil {
		t.Fatal(err)
	}
	s.events.next(t, KindIdle, map[string]string{"user": "alice", "phase": "start"})
	s.events.next(t, KindAppend, map[string]string{"user": "alice", "mailbox": "INBOX", "uid": "2"})
	s.events.next(t, KindIdle, map[string]string{"user": "alice", "phase": "update", "updates": "1"})
	s.events.next(t, KindIdle, map[string]string{"user": "alice", "phase": "done", "updates": "1"})
	if err := Spec.Solve(ctx, s.inst.Endpoints(), service.Step{Action: "imap.idle", Args: map[string]string{"user": "alice", "password": "wonderland", "mailbox": "Nope"}}); err == nil {
		t.Error("idle on a missing mailbox succeeded")
	}
	if err := Spec.Solve(ctx, service.Endpoints{}, service.Step{Action: "imap.idle", Args: map[string]string{"user": "a", "password": "b"}}); err == nil || !strings.Contains(err.Error(), "is the imap service running") {
		t.Errorf("no endpoint: %v", err)
	}
	if err := Spec.Solve(ctx, s.inst.Endpoints(), service.Step{Action: "imap.nope"}); err == nil {
		t.Error("unknown action accepted")
	}
}

func TestSplitCommandsAndLast(t *testing.T) {
	got, err := splitCommands(` SELECT INBOX ;; SEARCH SUBJECT "a;b\"c" ; LOGOUT;`)
	if err != nil || !slices.Equal(got, []string{"SELECT INBOX", `SEARCH SUBJECT "a;b\"c"`, "LOGOUT"}) {
		t.Errorf("split: %q %v", got, err)
	}
	c := &client{exists: 7}
	for in, want := range map[string]string{
		"FETCH last (BODY[])":          "FETCH 7 (BODY[])",
		"STORE 1:last +FLAGS (\\Seen)": "STORE 1:7 +FLAGS (\\Seen)",
		"COPY 2,LAST Archives":         "COPY 2,7 Archives",
		"SEARCH SUBJECT last":          "SEARCH SUBJECT last",
		"FETCH lastly (FLAGS)":         "FETCH lastly (FLAGS)",
	} {
		if got, err := c.substituteLast(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
}

func TestReadResponse(t *testing.T) {
	in := "* 1 FETCH (BODY[] {5}\r\nhello FLAGS (\\Seen))\r\n" +
		"* 2 FETCH (BODY[HEADER] {0}\r\n BINARY[1] ~{3}\r\nabc)\r\n" +
		"a1 OK done\r\n" +
		"* 3 FETCH (BODY[] {99999999999}\r\n"
	r := bufio.NewReader(strings.NewReader(in))
	l, err := readResponse(r)
	if err != nil || l.text != "* 1 FETCH (BODY[] {5} FLAGS (\\Seen))" || len(l.literals) != 1 || string(l.literals[0]) != "hello" {
		t.Errorf("1: %+v %v", l, err)
	}
	l, err = readResponse(r)
	if err != nil || len(l.literals) != 2 || string(l.literals[1]) != "abc" || !strings.HasSuffix(l.text, "~{3})") {
		t.Errorf("2: %+v %v", l, err)
	}
	if l, err = readResponse(r); err != nil || l.text != "a1 OK done" {
		t.Errorf("3: %+v %v", l, err)
	}
	if _, err = readResponse(r); err == nil {
		t.Error("a huge literal was accepted")
	}
}
