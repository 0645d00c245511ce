// Package imap is the lab's IMAP server (RFC 3501 and RFC 9051): the
// protocol is go-imap's imapserver, the mailboxes are the lab's mail store,
// shared with the SMTP and POP3 servers. A message delivered over SMTP shows
// up in a selected or idling IMAP session; a message deleted over POP3 is
// expunged from it. Every command a learner's client sends that matters to a
// lesson (login, select, fetch, store, search, copy, move, append, idle...)
// becomes an event, with the session's transcript, passwords masked.
package imap

import "protolab/internal/service"

// Spec describes the imap service to the runner.
var Spec = service.Spec{
	Name: "imap",
	Doc:  "IMAP server over the lab's mail store: folders, flags, search, copy and move, IDLE, STARTTLS",
	Listeners: []service.Listener{
		{Name: "imap", Networks: []string{"tcp"}, High: 1143, Standard: 143},
	},
	Requires: []string{"mailstore"},
	Events:   events,
	Actions:  actions,
	Load:     load,
	Solve:    solve,
}

// actions are the solve steps (apart from Spec, which refers to solve).
var actions = []service.Action{
	{
		Name: "imap.session",
		Doc: `log in and run IMAP commands, separated by ";", without tags (e.g. "SELECT INBOX; FETCH 1 (BODY[]); ` +
			`STORE 1 +FLAGS (\Flagged); LOGOUT"); "last" stands for the highest message number; fails on NO or BAD`,
		Required: []string{"user", "password"},
		Optional: []string{"commands", "starttls"},
	},
	{
		Name:     "imap.idle",
		Doc:      "log in, select the mailbox, IDLE, append a message over a second connection and wait for the EXISTS it causes, then DONE and LOGOUT",
		Required: []string{"user", "password"},
		Optional: []string{"mailbox"},
	},
}
