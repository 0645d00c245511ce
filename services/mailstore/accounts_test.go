package mailstore

import (
	"strings"
	"testing"

	"protolab/internal/service"
	"protolab/internal/servicetest"
)

// TestServiceAccounts: the learners' own accounts (lab serve) get a
// mailbox and log in with their secret, beside the lab's accounts, and are
// not listed among the lab's credentials; a learner named like a lab
// account does not start.
func TestServiceAccounts(t *testing.T) {
	p, err := Spec.Load(servicetest.YAML(t, "users: [{name: alice, password: wonderland}]"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sh := service.NewShared()
	rt := service.Runtime{State: t.TempDir(), Shared: sh,
		Accounts: []service.Account{{Learner: "Ada", User: "Ada", Secret: "tamodirevu42"}}}
	inst, err := p.Start(ctx, rt)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Shutdown(ctx)
	s, err := FromShared(sh)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		user, pw string
		want     bool
	}{
		{"ada", "tamodirevu42", true},
		{"ada", "wonderland", false},
		{"alice", "wonderland", true},
	} {
		if got := s.Authenticate(tt.user, tt.pw); got != tt.want {
			t.Errorf("Authenticate(%s, %s) = %v", tt.user, tt.pw, got)
		}
	}
	if mi := info(t, s, "ada", "INBOX"); mi.Messages < 0 {
		t.Errorf("ada's INBOX: %+v", mi)
	}
	creds := inst.(service.Credentialed).Credentials()
	if len(creds) != 1 || creds[0].User != "alice" {
		t.Errorf("Credentials = %+v", creds)
	}

	rt = service.Runtime{State: t.TempDir(), Shared: service.NewShared(),
		Accounts: []service.Account{{Learner: "x", User: "Alice", Secret: "tamodirevu42"}}}
	if inst, err := p.Start(ctx, rt); err == nil {
		inst.Shutdown(ctx)
		t.Fatal("a learner named like a lab account started")
	} else if !strings.Contains(err.Error(), `learner x`) || !strings.Contains(err.Error(), `mail account "alice"`) {
		t.Errorf("clash error %q", err)
	}
}
