// Package pop3 is the lab's POP3 server (RFC 1939), with the extension
// mechanism of RFC 2449 (CAPA, response codes), STLS (RFC 2595) and SASL
// PLAIN (RFC 5034). It serves each user's INBOX from the lab's shared mail
// store: a message delivered over SMTP can be listed, read and deleted here,
// and a message deleted here is gone for IMAP too. Every command a client
// gets right becomes an event (pop3.login, pop3.retr, pop3.dele...), with
// the dialogue so far as its transcript, passwords masked.
package pop3

import (
	"protolab/internal/event"
	"protolab/internal/service"
)

// Spec describes the pop3 service to the runner.
var Spec = service.Spec{
	Name: "pop3",
	Doc:  "POP3 server over the lab's mail store: USER/PASS, APOP, SASL PLAIN, STLS, STAT, LIST, UIDL, RETR, TOP, DELE, RSET, deletions at QUIT",
	Listeners: []service.Listener{
		{Name: "pop3", Networks: []string{"tcp"}, High: 1110, Standard: 110},
	},
	Requires: []string{"mailstore"},
	Events:   eventSpecs,
	Actions:  actions,
	Load:     load,
	Solve:    solve,
}

// userAttr and the other attribute docs shared by several kinds.
var (
	userAttr = event.Attr{Name: "user", Doc: `the logged-in user: "bob"`}
	msgAttr  = event.Attr{Name: "msg", Doc: `the message number given, "1" for the first message of the maildrop`}
	uidAttr  = event.Attr{Name: "uid", Doc: "the message's UID in the mail store (the same number IMAP shows)"}
)

// eventSpecs are the kinds of event the server emits.
var eventSpecs = []event.Spec{
	{
		Kind:  KindConnect,
		Doc:   "a client connected and was greeted",
		Attrs: []event.Attr{{Name: "tls", Doc: `"false": every connection starts in clear text (STLS comes later)`}},
		Brief: []string{"tls"},
	},
	{
		Kind: KindLogin,
		Doc:  "a login attempt (USER/PASS, APOP or AUTH PLAIN) was answered",
		Attrs: []event.Attr{
			{Name: "user", Doc: `the user name given (as typed when the login failed): "bob"`},
			{Name: "mechanism", Doc: `"USER" (USER then PASS), "APOP" or "PLAIN" (AUTH PLAIN)`},
			{Name: "result", Doc: `"ok", "failed" (wrong user name or password) or "in-use" (another session holds the maildrop)`},
			{Name: "tls", Doc: `"true" when the login happened over TLS (after STLS)`},
			{Name: "messages", Doc: "ok only: messages in the maildrop"},
			{Name: "size", Doc: "ok only: their total size in octets"},
		},
		Brief: []string{"user", "mechanism", "result", "tls"},
	},
	{
		Kind:  KindStat,
		Doc:   "STAT was answered",
		Attrs: []event.Attr{userAttr, {Name: "messages", Doc: "messages not marked deleted"}, {Name: "size", Doc: "their total size in octets"}},
		Brief: []string{"user", "messages", "size"},
	},
	{
		Kind:  KindList,
		Doc:   "LIST was answered (one message, or the whole maildrop)",
		Attrs: []event.Attr{userAttr, {Name: "msg", Doc: `the message number given; "" for the whole list`}, {Name: "count", Doc: "messages listed"}},
		Brief: []string{"user", "msg", "count"},
	},
	{
		Kind:  KindUIDL,
		Doc:   "UIDL was answered (one message, or the whole maildrop)",
		Attrs: []event.Attr{userAttr, {Name: "msg", Doc: `the message number given; "" for the whole list`}, {Name: "count", Doc: "messages listed"}},
		Brief: []string{"user", "msg", "count"},
	},
	{
		Kind: KindRetr,
		Doc:  "a message was sent whole (RETR)",
		Attrs: []event.Attr{
			userAttr, msgAttr, uidAttr,
			{Name: "size", Doc: "its size in octets"},
			{Name: "subject", Doc: "its Subject, decoded (RFC 2047); empty when it has none"},
			{Name: "message_id", Doc: "its Message-ID, without the angle brackets"},
		},
		Brief: []string{"user", "msg", "subject"},
	},
	{
		Kind: KindTop,
		Doc:  "the header and the first lines of a message were sent (TOP)",
		Attrs: []event.Attr{
			userAttr, msgAttr, uidAttr,
			{Name: "lines", Doc: "the number of body lines asked for"},
			{Name: "subject", Doc: "the message's Subject, decoded"},
		},
		Brief: []string{"user", "msg", "lines", "subject"},
	},
	{
		Kind:  KindDele,
		Doc:   "a message was marked deleted (DELE); it is removed only if the session ends with QUIT",
		Attrs: []event.Attr{userAttr, msgAttr, uidAttr},
		Brief: []string{"user", "msg", "uid"},
	},
	{
		Kind:  KindRset,
		Doc:   "RSET unmarked the messages marked deleted",
		Attrs: []event.Attr{userAttr, {Name: "undeleted", Doc: "messages unmarked"}},
		Brief: []string{"user", "undeleted"},
	},
	{
		Kind: KindQuit,
		Doc:  "the client ended the session with QUIT; after a login, the messages marked deleted are removed (the UPDATE state)",
		Attrs: []event.Attr{
			{Name: "user", Doc: `the logged-in user; "" when QUIT came before a login`},
			{Name: "deleted", Doc: "messages actually removed from the mail store"},
			{Name: "state", Doc: `"update" after a login (deletions applied), "authorization" before one`},
			{Name: "result", Doc: `"ok", or "failed" when the store could not remove the messages`},
		},
		Brief: []string{"user", "state", "deleted"},
	},
	{
		Kind: KindDisconnect,
		Doc:  "a session ended without QUIT: nothing marked deleted was removed",
		Attrs: []event.Attr{
			{Name: "user", Doc: `the logged-in user; "" when nobody logged in`},
			{Name: "reason", Doc: `"closed" (the client went away), "idle" (autologout), "bad-commands", "auth-failures", "tls" (a failed handshake), "shutdown", "error" (a fault of the server, logged)`},
			{Name: "kept", Doc: "messages that were marked deleted and are kept because the session did not end with QUIT"},
		},
		Brief: []string{"user", "reason", "kept"},
	},
	{
		Kind: KindCapa,
		Doc:  "the capabilities were listed (CAPA)",
		Attrs: []event.Attr{
			{Name: "user", Doc: `the logged-in user; "" before a login`},
			{Name: "tls", Doc: `"true" when asked over TLS`},
			{Name: "stls", Doc: `"true" when STLS was offered`},
		},
		Brief: []string{"tls", "stls"},
	},
	{
		Kind:  KindSTLS,
		Doc:   "STLS was asked for",
		Attrs: []event.Attr{{Name: "result", Doc: `"ok" (TLS is on), "failed" (the handshake failed; the connection is closed) or "refused" (already on TLS, after a login, or TLS unavailable)`}},
		Brief: []string{"result"},
	},
}

// actions are the solve steps (apart from Spec, which refers to solve).
var actions = []service.Action{
	{
		Name: "pop3.session",
		Doc: `log in and run POP3 commands, as a mail client does: commands is a comma-separated list such as "STAT,LIST,UIDL,RETR 1,TOP 1 3,DELE 1,QUIT" ` +
			`("last" stands for the last message number); without QUIT the connection is just dropped. auth: user (USER/PASS, the default), apop or plain; ` +
			`stls: true to switch to TLS first. Fails on any -ERR`,
		Required: []string{"user", "password"},
		Optional: []string{"commands", "auth", "stls"},
	},
}
