package pop3

import (
	"context"
	"strings"
	"testing"

	"protolab/internal/service"
)

func TestSolve(t *testing.T) {
	st := openStore(t)
	for _, s := range []string{"one", "two", "three"} {
		deliver(t, st, "bob", newMail(s, "body of "+s+"\n.dot line\n"))
	}
	col := newCollector()
	inst := startSpec(t, "", st, col)
	eps := inst.Endpoints()
	run := func(args map[string]string) error {
		return Spec.Solve(context.Background(), eps, service.Step{Action: "pop3.session", Args: args})
	}

	// A dropped session: DELE without QUIT removes nothing.
	if err := run(map[string]string{"user": "bob", "password": "builder", "commands": "STAT, LIST, UIDL, RETR 1, TOP 1 3, DELE 1"}); err != nil {
		t.Fatalf("session: %v", err)
	}
	for _, k := range []string{KindLogin, KindStat, KindList, KindUIDL, KindRetr, KindTop, KindDele} {
		col.Next(t, k)
	}
	wantAttrs(t, col.Next(t, KindDisconnect), map[string]string{"kept": "1"})
	if n := len(inboxUIDs(t, st, "bob")); n != 3 {
		t.Fatalf("%d messages after a session without QUIT", n)
	}

	// "last", over TLS, then QUIT applies the deletion.
	if err := run(map[string]string{"user": "bob", "password": "builder", "stls": "true", "commands": "RETR last,LIST last,DELE last,NOOP,RSET,DELE last,capa,quit"}); err != nil {
		t.Fatalf("session: %v", err)
	}
	wantAttrs(t, col.Next(t, KindSTLS), map[string]string{"result": "ok"})
	wantAttrs(t, col.Next(t, KindLogin), map[string]string{"tls": "true", "result": "ok"})
	wantAttrs(t, col.Next(t, KindRetr), map[string]string{"msg": "3", "subject": "three"})
	wantAttrs(t, col.Next(t, KindQuit), map[string]string{"deleted": "1", "state": "update"})
	if n := len(inboxUIDs(t, st, "bob")); n != 2 {
		t.Fatalf("%d messages after DELE last and QUIT", n)
	}

	for _, auth := range []string{"apop", "plain", "USER"} {
		if err := run(map[string]string{"user": "bob", "password": "builder", "auth": auth, "commands": "QUIT"}); err != nil {
			t.Errorf("auth %s: %v", auth, err)
		}
		wantAttrs(t, col.Next(t, KindLogin), map[string]string{"mechanism": map[string]string{"apop": "APOP", "plain": "PLAIN", "USER": "USER"}[auth], "result": "ok"})
	}
	if err := run(map[string]string{"user": "alice", "password": "wonderland"}); err != nil {
		t.Errorf("no commands: %v", err)
	}

	failures := []struct {
		name string
		args map[string]string
		want []string
	}{
		{"wrong password", map[string]string{"user": "bob", "password": "nope"}, []string{"PASS ********", "-ERR [AUTH] invalid user name or password"}},
		{"no such message", map[string]string{"user": "bob", "password": "builder", "commands": "RETR 9"}, []string{"RETR 9", "no such message"}},
		{"last of nothing", map[string]string{"user": "alice", "password": "wonderland", "commands": "RETR last"}, []string{`"last"`, "empty"}},
		{"missing password", map[string]string{"user": "bob"}, []string{`argument "password" is required`}},
		{"unknown argument", map[string]string{"user": "bob", "password": "builder", "tls": "true"}, []string{`unknown argument "tls"`, "stls"}},
		{"bad auth", map[string]string{"user": "bob", "password": "builder", "auth": "cram-md5"}, []string{"user, apop or plain"}},
		{"bad stls", map[string]string{"user": "bob", "password": "builder", "stls": "yes"}, []string{"true or false"}},
		{"login in commands", map[string]string{"user": "bob", "password": "builder", "commands": "USER bob,STAT"}, []string{"logs in itself"}},
	}
	for _, tt := range failures {
		err := run(tt.args)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "pop3: ") {
			t.Errorf("%s: %q does not start with the service name", tt.name, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.name, err, w)
			}
		}
	}
	err := Spec.Solve(context.Background(), nil, service.Step{Action: "pop3.session", Args: map[string]string{"user": "bob", "password": "builder"}})
	if err == nil || !strings.Contains(err.Error(), "is the pop3 service running?") {
		t.Errorf("no endpoint: %v", err)
	}
	err = Spec.Solve(context.Background(), eps, service.Step{Action: "pop3.retr"})
	if err == nil || !strings.Contains(err.Error(), "known: pop3.session") {
		t.Errorf("unknown action: %v", err)
	}
}
