package ws

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"protolab/internal/event"
)

// maxTranscriptBody is how much of each envelope a transcript keeps.
const maxTranscriptBody = 4 << 10

// requestAttrs are the attributes every ws.request carries, empty when
// they do not apply, so that a check may ask for an empty fault.
var requestAttrs = []string{"operation", "version", "action", "status", "fault", "subcode", "reason", "user", "password_type", "name", "addresses", "to"}

// requestEvent describes an answered SOAP request. The envelopes are
// masked and cut here, so that the event holds no password and little
// memory.
func requestEvent(x *exchange) event.Event {
	attrs := make(map[string]string, len(requestAttrs))
	for _, k := range requestAttrs {
		attrs[k] = x.attrs[k]
	}
	attrs["version"] = x.version.String()
	attrs["action"] = clip(x.action, 100)
	attrs["status"] = itoa(x.status)
	attrs["name"] = clip(attrs["name"], maxNameLen)
	attrs["to"] = clip(attrs["to"], maxNameLen)
	t := &transcript{client: x.client, method: x.method, uri: clip(x.uri, 200), contentType: clip(x.contentType, 200),
		action: clip(x.action, 200), hasAction: x.hasAction && x.actionFrom == "the SOAPAction header", status: x.status, version: x.version,
		request: cut(maskPasswords(x.request)), response: cut(string(x.response))}
	return event.Event{Service: "ws", Kind: KindRequest, Client: x.client, Attrs: attrs, TranscriptFrom: t}
}

// transcript renders an exchange as HTTP shows it.
type transcript struct {
	client, method, uri, contentType, action string
	hasAction                                bool // show a SOAPAction header
	status                                   int
	version                                  version
	request, response                        string
}

// String renders the request and the response.
func (t *transcript) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s from %s\nContent-Type: %s\n", t.method, t.uri, t.client, t.contentType)
	if t.hasAction {
		fmt.Fprintf(&b, "SOAPAction: %q\n", t.action)
	}
	fmt.Fprintf(&b, "\n%s\n\nHTTP %d %s\nContent-Type: %s\n\n%s", t.request, t.status, http.StatusText(t.status), t.version.contentType(), t.response)
	return b.String()
}

// passwordRE finds the content of Password elements, whatever their
// prefix, up to the closing tag or the end of a message cut short.
var passwordRE = regexp.MustCompile(`(?s)(<(?:[A-Za-z_][\w.-]*:)?Password\b[^>]*>)(.*?)(</(?:[A-Za-z_][\w.-]*:)?Password\s*>|$)`)

// maskPasswords hides the passwords (and digests) of UsernameTokens.
func maskPasswords(b []byte) string {
	return passwordRE.ReplaceAllString(string(b), "${1}******${3}")
}

// cut keeps the start of a long envelope.
func cut(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if len(s) <= maxTranscriptBody {
		return s
	}
	return clip(s, maxTranscriptBody) + fmt.Sprintf(" (%d more bytes)", len(s)-maxTranscriptBody)
}
