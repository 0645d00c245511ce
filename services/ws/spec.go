// Package ws is the lab's SOAP web service: a small directory of the lab
// network over HTTP, described by a WSDL 1.1 contract at /directory?wsdl.
// It speaks SOAP 1.1 and SOAP 1.2 (the version is told by the envelope's
// namespace), looks host names up in the lab's DNS zone (LookupHost),
// leaves notes in the lab's mailboxes (SendNote) and has an operation
// guarded by WS-Security UsernameToken (LookupHostSecure). Every mistake is
// answered with a proper SOAP Fault, and every request becomes an event.
//
// The envelope parser reads the XML token by token with encoding/xml,
// bounding size, depth and element count; it refuses any DOCTYPE, so no
// entity is ever defined, expanded or fetched.
package ws

import (
	"protolab/internal/event"
	"protolab/internal/service"
)

// Namespaces and names of the contract.
const (
	// TargetNamespace is the namespace of the directory's operations.
	TargetNamespace = "urn:lab.test:directory"
	// Path is where the service listens: POST envelopes, GET ?wsdl.
	Path = "/directory"

	nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	nsWSSE   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsWSU    = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	nsXML    = "http://www.w3.org/XML/1998/namespace"

	// Password types and the nonce encoding of the UsernameToken profile 1.0.
	passwordText   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
	passwordDigest = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
	base64Binary   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)

// Event kinds.
const (
	KindRequest = "ws.request"
	KindWSDL    = "ws.wsdl"
)

// Spec describes the ws service to the runner.
var Spec = service.Spec{
	Name: "ws",
	Doc:  "SOAP 1.1 and 1.2 web service over HTTP with its WSDL: host lookups in the lab zone, notes to lab mailboxes, WS-Security UsernameToken",
	Listeners: []service.Listener{
		{Name: "ws", Networks: []string{"tcp"}, High: 8081, Standard: 80},
	},
	Events: []event.Spec{
		{
			Kind: KindRequest,
			Doc:  "a SOAP request was answered, with a result or a Fault",
			Attrs: []event.Attr{
				{Name: "operation", Doc: `the operation asked for (the Body's element): "LookupHost", "SendNote", "LookupHostSecure", another name for an unknown one; empty when the envelope could not be read`},
				{Name: "version", Doc: `"1.1" or "1.2": the SOAP version of the envelope (of the Content-Type when the envelope could not be read)`},
				{Name: "action", Doc: "the action asked for: the SOAPAction header (SOAP 1.1) or the action parameter of the Content-Type (SOAP 1.2), quotes removed"},
				{Name: "status", Doc: `the HTTP status of the answer: "200", "400" or "500" for a Fault, "413" (too large), "415" (wrong Content-Type)`},
				{Name: "fault", Doc: `the Fault code as sent, empty without a Fault: "soap:Client", "soap:Server", "soap:VersionMismatch", "soap:MustUnderstand", "wsse:FailedAuthentication" (SOAP 1.1); "env:Sender", "env:Receiver", "env:VersionMismatch", "env:MustUnderstand" (SOAP 1.2)`},
				{Name: "subcode", Doc: `the WS-Security fault code, in both versions: "wsse:FailedAuthentication", "wsse:InvalidSecurity", "wsse:UnsupportedSecurityToken"; else empty`},
				{Name: "reason", Doc: `why there is a Fault, empty without one: "malformed-xml", "doctype", "too-deep", "too-large", "not-an-envelope", "bad-envelope", "version-mismatch", "must-understand", "content-type", "action-mismatch", "unknown-operation", "bad-argument", "unknown-host", "unknown-recipient", "no-security-header", "failed-authentication", "invalid-security", "unsupported-token", "mail-not-running", "delivery-failed", "internal"`},
				{Name: "user", Doc: "the UsernameToken's user name when the request carried one (even a wrong one)"},
				{Name: "password_type", Doc: `"text" or "digest": how the UsernameToken carried its password; empty without one`},
				{Name: "name", Doc: "LookupHost, LookupHostSecure: the host name asked for"},
				{Name: "addresses", Doc: "LookupHost, LookupHostSecure: the addresses answered, space-separated"},
				{Name: "to", Doc: `SendNote: the recipient, "bob@lab.test"`},
			},
			Brief: []string{"operation", "version", "status", "fault", "reason", "user"},
		},
		{
			Kind: KindWSDL,
			Doc:  "the WSDL contract was fetched",
			Attrs: []event.Attr{
				{Name: "path", Doc: `the path and query asked: "/directory?wsdl"`},
				{Name: "location", Doc: "the service address written in the WSDL, from the request's Host"},
			},
			Brief: []string{"path", "location"},
		},
	},
	Actions: actions,
	Load:    load,
	Solve:   solve,
}

// actions are the solve steps (apart from Spec, which refers to solve).
var actions = []service.Action{
	{Name: "ws.wsdl", Doc: "fetch the WSDL with GET /directory?wsdl; fails unless it is a WSDL 1.1 document naming the directory's operations"},
	{Name: "ws.call", Doc: `call an operation with a valid envelope (version "1.1", the default, or "1.2"): LookupHost takes name, SendNote to and text; fails on a Fault`, Required: []string{"operation"}, Optional: []string{"name", "to", "text", "version"}},
	{Name: "ws.fault", Doc: "send a malformed envelope (cut short); fails unless a client Fault (soap:Client, env:Sender) comes back", Optional: []string{"version"}},
	{Name: "ws.secure", Doc: "call LookupHostSecure with a WS-Security UsernameToken (default alice/wonderland, PasswordText; digest: true for PasswordDigest); fails on a Fault", Optional: []string{"name", "user", "password", "digest", "version"}},
}
