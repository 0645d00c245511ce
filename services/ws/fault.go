package ws

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// version is a SOAP version.
type version int

const (
	v11 version = iota + 1 // SOAP 1.1 (W3C Note, 2000)
	v12                    // SOAP 1.2 (W3C Recommendation, 2003/2007)
)

// String is how events and messages name the version: "1.1", "1.2".
func (v version) String() string {
	if v == v12 {
		return "1.2"
	}
	return "1.1"
}

// ns is the version's envelope namespace.
func (v version) ns() string {
	if v == v12 {
		return nsSOAP12
	}
	return nsSOAP11
}

// prefix is the prefix this service writes the envelope with.
func (v version) prefix() string {
	if v == v12 {
		return "env"
	}
	return "soap"
}

// contentType is the media type of the version's HTTP binding.
func (v version) contentType() string {
	if v == v12 {
		return "application/soap+xml; charset=utf-8"
	}
	return "text/xml; charset=utf-8"
}

// faultCode is who is to blame, in the terms of both versions.
type faultCode int

const (
	codeSender          faultCode = iota // soap:Client, env:Sender: fix the request
	codeReceiver                         // soap:Server, env:Receiver: the service could not do it
	codeVersionMismatch                  // the Envelope's namespace is not a known version's
	codeMustUnderstand                   // a mandatory header was not understood
)

// fault is a SOAP Fault about to be sent.
type fault struct {
	code faultCode
	// wsse is the local name of a WS-Security fault code
	// ("FailedAuthentication"): the faultcode itself in SOAP 1.1, as WSS
	// 1.0 §12 writes it, and the Subcode in SOAP 1.2.
	wsse string
	// reason is the short name events carry ("malformed-xml").
	reason string
	// text is the faultstring (SOAP 1.1) or Reason Text (SOAP 1.2).
	text string
	// status, when set, is the HTTP status instead of the version's (413,
	// 415: the HTTP request itself was refused).
	status int
	// detail marks a fault of the Body's processing; SOAP 1.1 then requires
	// a detail element, which carries the reason.
	detail bool
	// notUnderstood lists the header blocks of a MustUnderstand fault.
	notUnderstood []xml.Name
}

// senderf builds a client fault (soap:Client, env:Sender).
func senderf(reason, format string, args ...any) *fault {
	return &fault{code: codeSender, reason: reason, text: fmt.Sprintf(format, args...)}
}

// receiverf builds a server fault (soap:Server, env:Receiver).
func receiverf(reason, format string, args ...any) *fault {
	return &fault{code: codeReceiver, reason: reason, text: fmt.Sprintf(format, args...)}
}

// wssef builds a WS-Security fault (a client fault).
func wssef(code, reason, format string, args ...any) *fault {
	return &fault{code: codeSender, wsse: code, reason: reason, text: fmt.Sprintf(format, args...)}
}

// wireCode is the fault code as sent: "soap:Client", "env:Sender"...
func (f *fault) wireCode(v version) string {
	if v == v11 && f.wsse != "" {
		return "wsse:" + f.wsse
	}
	var names [4]string
	if v == v12 {
		names = [4]string{"Sender", "Receiver", "VersionMismatch", "MustUnderstand"}
	} else {
		names = [4]string{"Client", "Server", "VersionMismatch", "MustUnderstand"}
	}
	return v.prefix() + ":" + names[f.code]
}

// subcode is the WS-Security code, "wsse:FailedAuthentication", or "".
func (f *fault) subcode() string {
	if f.wsse == "" {
		return ""
	}
	return "wsse:" + f.wsse
}

// httpStatus is the status a Fault goes with: 500 in SOAP 1.1 (§6.2); in
// SOAP 1.2 (part 2 §7.5.1.2) 400 for a Sender fault, else 500.
func (f *fault) httpStatus(v version) int {
	switch {
	case f.status != 0:
		return f.status
	case v == v12 && f.code == codeSender:
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// envelope renders the Fault in a whole envelope of version v.
func (f *fault) envelope(v version) []byte {
	var b strings.Builder
	p := v.prefix()
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	fmt.Fprintf(&b, `<%s:Envelope xmlns:%s="%s">`+"\n", p, p, v.ns())
	f.header(&b, v)
	fmt.Fprintf(&b, "  <%s:Body>\n", p)
	if f.wsse != "" {
		fmt.Fprintf(&b, `    <%s:Fault xmlns:wsse="%s">`+"\n", p, nsWSSE)
	} else {
		fmt.Fprintf(&b, "    <%s:Fault>\n", p)
	}
	if v == v12 {
		fmt.Fprintf(&b, "      <env:Code>\n        <env:Value>%s</env:Value>\n", f.wireCode(v))
		if f.wsse != "" {
			fmt.Fprintf(&b, "        <env:Subcode><env:Value>%s</env:Value></env:Subcode>\n", f.subcode())
		}
		b.WriteString("      </env:Code>\n")
		fmt.Fprintf(&b, "      <env:Reason><env:Text xml:lang=\"en\">%s</env:Text></env:Reason>\n", escape(f.text))
		if f.detail {
			fmt.Fprintf(&b, "      <env:Detail><reason xmlns=\"%s\">%s</reason></env:Detail>\n", TargetNamespace, escape(f.reason))
		}
	} else {
		fmt.Fprintf(&b, "      <faultcode>%s</faultcode>\n", f.wireCode(v))
		fmt.Fprintf(&b, "      <faultstring xml:lang=\"en\">%s</faultstring>\n", escape(f.text))
		if f.detail {
			fmt.Fprintf(&b, "      <detail><reason xmlns=\"%s\">%s</reason></detail>\n", TargetNamespace, escape(f.reason))
		}
	}
	fmt.Fprintf(&b, "    </%s:Fault>\n  </%s:Body>\n</%s:Envelope>\n", p, p, p)
	return []byte(b.String())
}

// header writes the header blocks SOAP 1.2 adds to some faults: Upgrade
// (the versions understood) for VersionMismatch, NotUnderstood for
// MustUnderstand.
func (f *fault) header(b *strings.Builder, v version) {
	if v != v12 {
		return
	}
	switch {
	case f.code == codeVersionMismatch:
		b.WriteString("  <env:Header>\n    <env:Upgrade>\n")
		fmt.Fprintf(b, "      <env:SupportedEnvelope qname=\"ns1:Envelope\" xmlns:ns1=\"%s\"/>\n", nsSOAP12)
		fmt.Fprintf(b, "      <env:SupportedEnvelope qname=\"ns2:Envelope\" xmlns:ns2=\"%s\"/>\n", nsSOAP11)
		b.WriteString("    </env:Upgrade>\n  </env:Header>\n")
	case f.code == codeMustUnderstand && len(f.notUnderstood) > 0:
		b.WriteString("  <env:Header>\n")
		for _, n := range f.notUnderstood {
			fmt.Fprintf(b, "    <env:NotUnderstood qname=\"q:%s\" xmlns:q=\"%s\"/>\n", escapeAttr(n.Local), escapeAttr(n.Space))
		}
		b.WriteString("  </env:Header>\n")
	}
}

// escape escapes text for XML content: only the three characters that
// must be, so that a faultstring stays readable with curl. Characters XML
// cannot carry at all become U+FFFD.
func escape(s string) string { return escapeXML(s, false) }

// escapeAttr escapes text for an attribute value in double quotes.
func escapeAttr(s string) string { return escapeXML(s, true) }

func escapeXML(s string, attr bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"' && attr:
			b.WriteString("&quot;")
		case r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r != utf8.RuneError && (r < 0xd800 || r > 0xdfff) && r != 0xfffe && r != 0xffff:
			b.WriteRune(r)
		default:
			b.WriteRune(utf8.RuneError)
		}
	}
	return b.String()
}
