package snmp

import (
	"context"
	"strings"
	"testing"

	"protolab/internal/service"
)

// TestWithAccounts: each learner's account becomes a SHA/AES user beside
// the lab's; a clash or a short secret is an error naming the learner.
func TestWithAccounts(t *testing.T) {
	lab := []user{{Name: "learner", Auth: "SHA", AuthPass: "12345678"}}
	got, err := withAccounts(lab, []service.Account{{Learner: "ada", User: "ada", Secret: "tamodirevu42"}})
	if err != nil {
		t.Fatal(err)
	}
	want := user{Name: "ada", Auth: "SHA", AuthPass: "tamodirevu42", Priv: "AES", PrivPass: "tamodirevu42"}
	if len(got) != 2 || got[0] != lab[0] || got[1] != want {
		t.Fatalf("users = %+v", got)
	}
	for _, tt := range []struct {
		name string
		acct service.Account
		want string
	}{
		{"clash", service.Account{Learner: "l", User: "learner", Secret: "tamodirevu42"}, `SNMPv3 user "learner"`},
		{"short", service.Account{Learner: "s", User: "s", Secret: "short"}, "8 characters"},
		{"long name", service.Account{Learner: "n", User: strings.Repeat("n", 33), Secret: "tamodirevu42"}, "1 to 32"},
	} {
		_, err := withAccounts(lab, []service.Account{tt.acct})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "learner "+tt.acct.Learner) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
	p := loadLab(t, "")
	if inst, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1",
		Accounts: []service.Account{{Learner: "ada", User: "ada", Secret: "tamodirevu42"}}}); err != nil {
		t.Fatal(err)
	} else {
		for _, c := range inst.(service.Credentialed).Credentials() {
			if c.User == "ada" {
				t.Errorf("a learner's user among the lab's credentials: %+v", c)
			}
		}
		inst.Shutdown(context.Background())
	}
}
