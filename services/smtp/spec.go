// Package smtp is the lab's mail server: an MX on the smtp listener that
// takes mail for the lab's domain without login, and a submission server
// that takes mail from logged-in users (AUTH PLAIN and LOGIN), both with
// STARTTLS. Messages go into the lab's shared mail store, where POP3 and
// IMAP read them. It never relays: a recipient outside the lab's domain is
// refused, and there is no code that opens a connection anywhere.
//
// The SMTP protocol itself is github.com/emersion/go-smtp. In front of it
// sits a small wire layer (conn.go) that sees every line both ways: it keeps
// the transcript of each session (secrets masked), does STARTTLS itself,
// lets a learner typing with nc (bare LF line ends) finish a message,
// counts bad commands, and ties each reply to the event it concludes.
package smtp

import (
	"protolab/internal/event"
	"protolab/internal/service"
)

// Event kinds.
const (
	KindConnect   = "smtp.connect"
	KindEHLO      = "smtp.ehlo"
	KindSTARTTLS  = "smtp.starttls"
	KindAuth      = "smtp.auth"
	KindMail      = "smtp.mail"
	KindRcpt      = "smtp.rcpt"
	KindDelivered = "smtp.delivered"
	KindRejected  = "smtp.rejected"
)

// Spec describes the smtp service to the runner.
var Spec = service.Spec{
	Name: "smtp",
	Doc:  "SMTP server for the lab's domain: an MX (no login, no relay) and a submission port (AUTH PLAIN/LOGIN), STARTTLS, delivery into the shared mail store",
	Listeners: []service.Listener{
		{Name: "smtp", Networks: []string{"tcp"}, High: 2525, Standard: 25},
		{Name: "submission", Networks: []string{"tcp"}, High: 2587, Standard: 587},
	},
	Requires: []string{"mailstore"},
	Events:   eventSpecs,
	Actions:  actions,
	Load:     load,
	Solve:    solve,
}

// Attributes shared by several kinds.
var (
	listenerAttr = event.Attr{Name: "listener", Doc: `"smtp" (the MX port) or "submission"`}
	codeAttr     = event.Attr{Name: "code", Doc: `the reply code sent: "250", "550", "554"...`}
	tlsAttr      = event.Attr{Name: "tls", Doc: `"true" when the session was encrypted (after STARTTLS)`}
	authUserAttr = event.Attr{Name: "auth_user", Doc: `the logged-in user ("alice"); empty when the client did not log in`}
)

// eventSpecs are the kinds of event the server emits. Every event's client
// is the client's address and its transcript the dialogue so far.
var eventSpecs = []event.Spec{
	{
		Kind:  KindConnect,
		Doc:   "a client connected and was greeted",
		Attrs: []event.Attr{listenerAttr},
		Brief: []string{"listener"},
	},
	{
		Kind: KindEHLO,
		Doc:  "a client introduced itself (EHLO or HELO) and was answered 250",
		Attrs: []event.Attr{
			listenerAttr,
			{Name: "verb", Doc: `"EHLO" (extended SMTP) or "HELO"`},
			{Name: "hostname", Doc: `the name the client gave: "learner.lab.test"`},
			tlsAttr,
		},
		Brief: []string{"listener", "verb", "hostname"},
	},
	{
		Kind: KindSTARTTLS,
		Doc:  "a client asked for STARTTLS and the TLS handshake ended",
		Attrs: []event.Attr{
			listenerAttr,
			{Name: "result", Doc: `"ok" or "failed" (the handshake failed: the client does not accept the lab's certificate, or is not speaking TLS)`},
			{Name: "version", Doc: `ok only: "TLS1.3" or "TLS1.2"`},
		},
		Brief: []string{"listener", "result"},
	},
	{
		Kind: KindAuth,
		Doc:  "an AUTH command was answered",
		Attrs: []event.Attr{
			listenerAttr,
			{Name: "mechanism", Doc: `"PLAIN" or "LOGIN" (or what the client asked for)`},
			{Name: "user", Doc: `the user name given: "alice" (empty when none was given)`},
			{Name: "result", Doc: `"ok" or "failed"`},
			tlsAttr,
			codeAttr,
			{Name: "warning", Doc: "set when the credentials crossed the network in clear text (no STARTTLS): what anyone on the path could read"},
			{Name: "delay", Doc: `failed only: how long the answer was held back because of earlier failures, e.g. "2s" ("0s" for the first)`},
		},
		Brief: []string{"listener", "mechanism", "user", "result", "tls"},
	},
	{
		Kind: KindMail,
		Doc:  "a MAIL FROM command was answered",
		Attrs: []event.Attr{
			listenerAttr,
			{Name: "from", Doc: `the sender address given: "alice@lab.test"; empty for the null sender <>`},
			authUserAttr,
			{Name: "result", Doc: `"accepted" or "rejected"`},
			codeAttr,
		},
		Brief: []string{"listener", "from", "result", "code"},
	},
	{
		Kind: KindRcpt,
		Doc:  "a RCPT TO command was answered",
		Attrs: []event.Attr{
			listenerAttr,
			{Name: "to", Doc: `the recipient address given: "bob@lab.test"`},
			{Name: "domain", Doc: `its domain, in lower case: "lab.test"`},
			{Name: "local", Doc: `its local part as given: "bob"`},
			{Name: "result", Doc: `"accepted" or "rejected"`},
			codeAttr,
			{Name: "reason", Doc: `why it was rejected: "relay-denied" (not the lab's domain), "unknown-user" (no such mailbox: this is what lets anyone enumerate users), "too-many-recipients", "auth-required" (no MAIL FROM was accepted, as on submission before AUTH), "no-mail-from" (RCPT before MAIL on the MX), "syntax"; empty when accepted`},
		},
		Brief: []string{"listener", "to", "result", "code", "reason"},
	},
	{
		Kind: KindDelivered,
		Doc:  "a message was accepted and stored in the INBOX of every recipient",
		Attrs: []event.Attr{
			listenerAttr,
			{Name: "from", Doc: "the envelope sender (MAIL FROM)"},
			{Name: "to", Doc: `the envelope recipients, comma-separated: "bob@lab.test,alice@lab.test"`},
			{Name: "rcpt_count", Doc: "how many recipients"},
			{Name: "subject", Doc: "the Subject header, decoded (RFC 2047); empty when there is none"},
			{Name: "message_id", Doc: "the Message-ID header without <>; empty when there is none (the server does not add one)"},
			{Name: "size", Doc: "the size of the message as received, in octets (without the Received header the server adds)"},
			authUserAttr,
			tlsAttr,
			{Name: "ehlo", Doc: `"EHLO" or "HELO": how the client introduced itself`},
			{Name: "typed", Doc: `"true" when the session looks typed by hand (nc, telnet) rather than sent by a program: bare LF line ends, or at least two pauses of a second or more before a command`},
			{Name: "bare_lf", Doc: `"true" when the client ended its lines with a bare LF (nc without -C); the server turned them into CRLF`},
		},
		Brief: []string{"listener", "from", "to", "subject", "auth_user"},
	},
	{
		Kind: KindRejected,
		Doc:  "a message was refused at DATA, or the session was cut",
		Attrs: []event.Attr{
			listenerAttr,
			codeAttr,
			{Name: "reason", Doc: `"too-big" (over max_message_bytes), "no-recipients" (DATA before any accepted RCPT TO), "mailbox-full", "line-too-long", "disconnected" (the client went away inside DATA: nothing was stored; code is empty), "timeout" (no data for read_timeout inside DATA: closed), "too-many-errors" (too many bad commands: closed), "too-many-auth-failures" (closed), "store-error", "error" (the message could not be read); empty for another refusal of DATA`},
		},
		Brief: []string{"listener", "code", "reason"},
	},
}

// actions are the solve steps (apart from Spec, which refers to solve).
var actions = []service.Action{
	{
		Name:     "smtp.send",
		Doc:      "send one message, as swaks does (EHLO, optional STARTTLS and AUTH, MAIL, RCPT, DATA, QUIT); fails unless the message is accepted",
		Required: []string{"from", "to"},
		Optional: []string{"listener", "subject", "body", "user", "password", "auth", "starttls", "typed"},
	},
	{
		Name:     "smtp.probe",
		Doc:      "MAIL FROM then RCPT TO for each address, then QUIT, without sending a message; succeeds when every command was answered, accepted or not (relay and user-enumeration tasks)",
		Required: []string{"to"},
		Optional: []string{"listener", "from"},
	},
}
