package ws

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits of a request. The body limit bounds everything else: the parser
// never holds more than it, and encoding/xml expands no entity but the
// five predefined ones and character references.
const (
	maxBodyBytes = 64 << 10 // bytes of an HTTP request body
	maxDepth     = 32       // nesting of elements
	maxElements  = 2048     // elements in one message
	maxAttrs     = 32       // attributes of one element
)

// element is one XML element of a message, namespaces resolved.
type element struct {
	name  xml.Name
	attrs []xml.Attr // without namespace declarations
	kids  []*element
	text  strings.Builder // the character data directly inside
}

// attr returns the value of an attribute.
func (e *element) attr(space, local string) (string, bool) {
	for _, a := range e.attrs {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// child returns the first child element with the given name.
func (e *element) child(space, local string) *element {
	for _, k := range e.kids {
		if k.name.Space == space && k.name.Local == local {
			return k
		}
	}
	return nil
}

// envelope is a SOAP message whose structure is valid.
type envelope struct {
	version version
	headers []*element // the Header's blocks
	body    *element   // the Body's single element: the operation, or a Fault
}

// qname renders a name for messages: "{urn:x}Local", or "Local".
func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}

// readTree reads a whole XML document, bounded, into elements. It refuses
// what a SOAP message must not hold (a DTD, processing instructions) and
// what encoding/xml lets through but XML forbids (duplicate attributes,
// undeclared prefixes, content after the root).
func readTree(raw []byte) (*element, *fault) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = true
	var (
		root     *element
		stack    []*element
		elements int
		first    = true
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxFault(err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target == "xml" && first {
				break // the XML declaration
			}
			return nil, senderf("bad-envelope", "processing instructions (<?%s ...?>) are not allowed in a SOAP message: remove them", t.Target)
		case xml.Directive:
			return nil, senderf("doctype", "a SOAP message must not contain a document type declaration (<!DOCTYPE ...>) or entity declarations: remove it; only the predefined entities (&lt; &gt; &amp; &quot; &apos;) and character references (&#233;) may be used")
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, senderf("malformed-xml", "there is an element <%s> after the end of the root element: a message has exactly one root, the Envelope", t.Name.Local)
			}
			if len(stack) >= maxDepth {
				return nil, senderf("too-deep", "elements are nested more than %d deep: this service refuses such a message", maxDepth)
			}
			if elements++; elements > maxElements {
				return nil, senderf("too-large", "the message has more than %d elements: this service refuses such a message", maxElements)
			}
			e, f := newElement(t)
			if f != nil {
				return nil, f
			}
			if len(stack) == 0 {
				root = e
			} else {
				top := stack[len(stack)-1]
				top.kids = append(top.kids, e)
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1] // the decoder checks that it matches
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, senderf("malformed-xml", "there is text outside the root element: a message is a single Envelope element")
				}
				break
			}
			stack[len(stack)-1].text.Write(t)
		}
		first = false
	}
	if root == nil {
		return nil, senderf("malformed-xml", "the request body holds no XML element: send a SOAP Envelope")
	}
	return root, nil
}

// newElement checks a start tag: attributes once each, prefixes declared.
func newElement(t xml.StartElement) (*element, *fault) {
	if undeclared(t.Name.Space) {
		return nil, senderf("malformed-xml", "the prefix %q of <%s:%s> is not declared: add xmlns:%s=\"...\"", t.Name.Space, t.Name.Space, t.Name.Local, t.Name.Space)
	}
	if len(t.Attr) > maxAttrs {
		return nil, senderf("too-large", "<%s> has more than %d attributes", t.Name.Local, maxAttrs)
	}
	e := &element{name: t.Name}
	for i, a := range t.Attr {
		for _, b := range t.Attr[:i] {
			if a.Name == b.Name {
				return nil, senderf("malformed-xml", "<%s> has the attribute %s twice", t.Name.Local, a.Name.Local)
			}
		}
		if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
			continue
		}
		if undeclared(a.Name.Space) {
			return nil, senderf("malformed-xml", "the prefix %q of the attribute %s:%s is not declared", a.Name.Space, a.Name.Space, a.Name.Local)
		}
		e.attrs = append(e.attrs, a)
	}
	return e, nil
}

// undeclared reports a name whose prefix was bound to no namespace:
// encoding/xml then leaves the prefix itself as the namespace. Namespace
// names are URIs, which have a scheme and so a colon.
func undeclared(space string) bool {
	return space != "" && !strings.Contains(space, ":")
}

// syntaxFault explains a decoding error.
func syntaxFault(err error) *fault {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		msg := strings.TrimPrefix(se.Msg, "XML syntax error: ")
		if strings.HasPrefix(msg, "invalid character entity") {
			msg += " (only &lt; &gt; &amp; &quot; &apos; and character references such as &#233; exist in a SOAP message)"
		}
		return senderf("malformed-xml", "the request is not well-formed XML: line %d: %s", se.Line, msg)
	}
	if strings.Contains(err.Error(), "CharsetReader") {
		return senderf("malformed-xml", "this service reads UTF-8 only: write encoding=\"utf-8\" in the XML declaration, or leave the declaration out")
	}
	return senderf("malformed-xml", "the request is not well-formed XML: %v", err)
}

// parseEnvelope reads a SOAP message. hint is the version the HTTP
// request's Content-Type tells, used for the Fault when the envelope itself
// cannot tell. The Fault, when there is one, is to be sent in version v.
func parseEnvelope(raw []byte, hint version) (env *envelope, v version, f *fault) {
	root, f := readTree(raw)
	if f != nil {
		return nil, hint, f
	}
	if root.name.Local != "Envelope" {
		return nil, hint, senderf("not-an-envelope", "the root element is <%s>: a SOAP message is an Envelope, <soap:Envelope xmlns:soap=\"%s\"> (SOAP 1.1) or <env:Envelope xmlns:env=\"%s\"> (SOAP 1.2)", root.name.Local, nsSOAP11, nsSOAP12)
	}
	switch root.name.Space {
	case nsSOAP11:
		v = v11
	case nsSOAP12:
		v = v12
	default:
		what := fmt.Sprintf("is in the namespace %q", root.name.Space)
		if root.name.Space == "" {
			what = "has no namespace"
		}
		return nil, hint, &fault{code: codeVersionMismatch, reason: "version-mismatch",
			text: fmt.Sprintf("the Envelope %s: this service understands %s (SOAP 1.1) and %s (SOAP 1.2)", what, nsSOAP11, nsSOAP12)}
	}
	env = &envelope{version: v}
	if f := onlyElements(root); f != nil {
		return nil, v, f
	}
	for i, k := range root.kids {
		switch {
		case k.name.Space == v.ns() && k.name.Local == "Header" && i == 0:
			if f := onlyElements(k); f != nil {
				return nil, v, f
			}
			env.headers = k.kids
		case k.name.Space == v.ns() && k.name.Local == "Body" && env.body == nil:
			if f := onlyElements(k); f != nil {
				return nil, v, f
			}
			switch len(k.kids) {
			case 0:
				return nil, v, senderf("bad-envelope", "the Body is empty: put the operation in it, e.g. <LookupHost xmlns=\"%s\"><name>www.lab.test</name></LookupHost>", TargetNamespace)
			case 1:
				env.body = k.kids[0]
			default:
				return nil, v, senderf("bad-envelope", "the Body holds %d elements: this service takes one operation per message", len(k.kids))
			}
		case k.name.Space == v.ns() && (k.name.Local == "Header" || k.name.Local == "Body"):
			return nil, v, senderf("bad-envelope", "<%s> is misplaced or given twice: an Envelope holds an optional Header, then one Body", k.name.Local)
		case v == v11 && env.body != nil && k.name.Space != "":
			// SOAP 1.1 §4.3 allows qualified elements after the Body.
		default:
			return nil, v, senderf("bad-envelope", "the Envelope holds <%s>: it may hold only a Header and a Body, in the namespace %s", k.name.Local, v.ns())
		}
	}
	if env.body == nil {
		return nil, v, senderf("bad-envelope", "the Envelope has no Body: add <%s:Body> with the operation in it", v.prefix())
	}
	return env, v, nil
}

// onlyElements refuses text directly inside Envelope, Header and Body,
// which hold elements only (white space aside).
func onlyElements(e *element) *fault {
	if strings.TrimSpace(e.text.String()) != "" {
		return senderf("bad-envelope", "<%s> holds text: it may hold only elements", e.name.Local)
	}
	return nil
}

// Roles a header block may target that mean this service.
var (
	actorNext = "http://schemas.xmlsoap.org/soap/actor/next"
	roleNext  = "http://www.w3.org/2003/05/soap-envelope/role/next"
	roleFinal = "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver"
)

// forUs reports whether a header block targets this service: no actor or
// role, or the "next" or "ultimate receiver" role.
func (env *envelope) forUs(h *element) bool {
	if env.version == v11 {
		a, ok := h.attr(nsSOAP11, "actor")
		return !ok || a == "" || a == actorNext
	}
	r, ok := h.attr(nsSOAP12, "role")
	return !ok || r == "" || r == roleNext || r == roleFinal
}

// mustUnderstand reports whether a header block is marked mandatory.
func (env *envelope) mustUnderstand(h *element) bool {
	s, _ := h.attr(env.version.ns(), "mustUnderstand")
	s = strings.TrimSpace(s)
	return s == "1" || env.version == v12 && s == "true"
}

// checkHeaders refuses a mandatory header block for this service that it
// does not understand (only wsse:Security is understood).
func (env *envelope) checkHeaders() *fault {
	var missed []xml.Name
	for _, h := range env.headers {
		if env.forUs(h) && env.mustUnderstand(h) && h.name != (xml.Name{Space: nsWSSE, Local: "Security"}) {
			missed = append(missed, h.name)
		}
	}
	if len(missed) == 0 {
		return nil
	}
	names := make([]string, len(missed))
	for i, n := range missed {
		names[i] = qname(n)
	}
	return &fault{code: codeMustUnderstand, reason: "must-understand", notUnderstood: missed,
		text: fmt.Sprintf("the header block %s is marked mustUnderstand, and this service does not understand it: remove it or the mustUnderstand attribute", strings.Join(names, ", "))}
}
