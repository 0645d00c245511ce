package imap

import "protolab/internal/event"

// Event kinds.
const (
	KindConnect  = "imap.connect"
	KindLogin    = "imap.login"
	KindSelect   = "imap.select"
	KindFetch    = "imap.fetch"
	KindStore    = "imap.store"
	KindSearch   = "imap.search"
	KindCopy     = "imap.copy"
	KindMove     = "imap.move"
	KindCreate   = "imap.create"
	KindDelete   = "imap.delete"
	KindRename   = "imap.rename"
	KindExpunge  = "imap.expunge"
	KindAppend   = "imap.append"
	KindIdle     = "imap.idle"
	KindStartTLS = "imap.starttls"
)

var (
	attrUser    = event.Attr{Name: "user", Doc: `the logged-in user, lower case: "bob"`}
	attrMailbox = event.Attr{Name: "mailbox", Doc: `the mailbox, canonical: "INBOX", "Archives/2026"`}
)

// events documents what the server emits.
var events = []event.Spec{
	{
		Kind:  KindConnect,
		Doc:   "a client connected (before the greeting)",
		Attrs: nil,
	},
	{
		Kind: KindLogin,
		Doc:  "a client tried to log in, with LOGIN or AUTHENTICATE PLAIN",
		Attrs: []event.Attr{
			{Name: "user", Doc: `the user name given, lower case, without "@lab.test"`},
			{Name: "mechanism", Doc: `"LOGIN" (the LOGIN command) or "PLAIN" (AUTHENTICATE PLAIN)`},
			{Name: "result", Doc: `"ok" or "failed"`},
			{Name: "tls", Doc: `"true" when the connection was encrypted (after STARTTLS)`},
		},
		Brief: []string{"user", "mechanism", "result", "tls"},
	},
	{
		Kind: KindSelect,
		Doc:  "a mailbox was selected (SELECT) or examined (EXAMINE)",
		Attrs: []event.Attr{
			attrUser, attrMailbox,
			{Name: "readonly", Doc: `"true" for EXAMINE, "false" for SELECT`},
			{Name: "messages", Doc: "number of messages in the mailbox"},
		},
		Brief: []string{"user", "mailbox", "readonly", "messages"},
	},
	{
		Kind: KindFetch,
		Doc:  "one event per message whose content was fetched (a body section, BINARY, RFC822*, ENVELOPE or BODYSTRUCTURE); a FETCH of flags, dates or sizes only is one event for all the messages",
		Attrs: []event.Attr{
			attrUser, attrMailbox,
			{Name: "uid", Doc: `the message's UID; "" for a FETCH of flags, dates or sizes only`},
			{Name: "count", Doc: "a FETCH of flags, dates or sizes only: the number of messages"},
			{Name: "section", Doc: `the items asked, e.g. "BODY[] FLAGS", "BODY.PEEK[HEADER]", "ENVELOPE" (RFC822 is reported as BODY[], RFC822.TEXT as BODY[TEXT])`},
			{Name: "body", Doc: `"true" when the message's text was sent: BODY[], BODY[TEXT], a body part, BINARY[...]`},
			{Name: "subject", Doc: "the message's Subject, decoded"},
			{Name: "message_id", Doc: "the message's Message-ID, without < >"},
		},
		Brief: []string{"user", "mailbox", "uid", "section", "subject"},
	},
	{
		Kind: KindStore,
		Doc:  "flags were changed with STORE",
		Attrs: []event.Attr{
			attrUser, attrMailbox,
			{Name: "uids", Doc: `the UIDs changed, as an IMAP set: "3", "1:4,7"`},
			{Name: "op", Doc: `"set" (FLAGS), "add" (+FLAGS) or "remove" (-FLAGS)`},
			{Name: "flags", Doc: `the flags given, space-separated, system flags in their usual case: "\Flagged", "\Seen $Important"`},
		},
		Brief: []string{"user", "mailbox", "uids", "op", "flags"},
	},
	{
		Kind: KindSearch,
		Doc:  "a SEARCH was answered",
		Attrs: []event.Attr{
			attrUser, attrMailbox,
			{Name: "criteria", Doc: `the criteria, rewritten in IMAP syntax: "SUBJECT \"pigeon\" UNSEEN", "UID 1:3"`},
			{Name: "results", Doc: "number of messages found"},
		},
		Brief: []string{"user", "mailbox", "criteria", "results"},
	},
	{
		Kind: KindCopy,
		Doc:  "messages were copied to another mailbox",
		Attrs: []event.Attr{
			attrUser,
			{Name: "from", Doc: "the source mailbox"},
			{Name: "to", Doc: "the destination mailbox"},
			{Name: "count", Doc: "number of messages copied"},
		},
		Brief: []string{"user", "from", "to", "count"},
	},
	{
		Kind: KindMove,
		Doc:  "messages were moved to another mailbox (MOVE)",
		Attrs: []event.Attr{
			attrUser,
			{Name: "from", Doc: "the source mailbox"},
			{Name: "to", Doc: "the destination mailbox"},
			{Name: "count", Doc: "number of messages moved"},
		},
		Brief: []string{"user", "from", "to", "count"},
	},
	{
		Kind:  KindCreate,
		Doc:   "a mailbox was created",
		Attrs: []event.Attr{attrUser, attrMailbox},
		Brief: []string{"user", "mailbox"},
	},
	{
		Kind:  KindDelete,
		Doc:   "a mailbox was deleted",
		Attrs: []event.Attr{attrUser, attrMailbox},
		Brief: []string{"user", "mailbox"},
	},
	{
		Kind: KindRename,
		Doc:  "a mailbox was renamed",
		Attrs: []event.Attr{
			attrUser,
			{Name: "from", Doc: "the old name"},
			{Name: "to", Doc: "the new name"},
		},
		Brief: []string{"user", "from", "to"},
	},
	{
		Kind: KindExpunge,
		Doc:  `messages flagged \Deleted were removed (EXPUNGE, UID EXPUNGE, or CLOSE)`,
		Attrs: []event.Attr{
			attrUser, attrMailbox,
			{Name: "count", Doc: "number of messages removed (may be 0)"},
		},
		Brief: []string{"user", "mailbox", "count"},
	},
	{
		Kind: KindAppend,
		Doc:  "a message was added with APPEND",
		Attrs: []event.Attr{
			attrUser, attrMailbox,
			{Name: "uid", Doc: "the new message's UID"},
			{Name: "size", Doc: "its size in bytes"},
		},
		Brief: []string{"user", "mailbox", "uid", "size"},
	},
	{
		Kind: KindIdle,
		Doc:  `IDLE: "start" when it begins, "update" each time new messages or expunges are pushed to the client, "done" when the client ends it`,
		Attrs: []event.Attr{
			attrUser, attrMailbox,
			{Name: "phase", Doc: `"start", "update" or "done"`},
			{Name: "updates", Doc: "update and done: the number of updates pushed so far in this IDLE"},
		},
		Brief: []string{"user", "mailbox", "phase", "updates"},
	},
	{
		Kind: KindStartTLS,
		Doc:  "a client asked for STARTTLS",
		Attrs: []event.Attr{
			{Name: "result", Doc: `"ok" (the handshake completed) or "failed"`},
		},
		Brief: []string{"result"},
	},
}
