package ws

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

const (
	env11 = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">`
	env12 = `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">`
)

func TestParseEnvelopeGood(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		v       version
		headers int
		op      string
	}{
		{"1.1", env11 + `<soap:Body>` + lookup("www") + `</soap:Body></soap:Envelope>`, v11, 0, "LookupHost"},
		{"1.2 with a header", env12 + `<env:Header><x:A xmlns:x="urn:x"/></env:Header><env:Body>` + lookup("www") + `</env:Body></env:Envelope>`, v12, 1, "LookupHost"},
		{"declaration, comments, white space", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c -->\n" + env11 + "\n  <soap:Body>\n    " + lookup("www") + "\n  </soap:Body>\n</soap:Envelope>\n<!-- end -->\n", v11, 0, "LookupHost"},
		{"1.1 trailer after the Body", env11 + `<soap:Body>` + lookup("www") + `</soap:Body><t:Trailer xmlns:t="urn:t"/></soap:Envelope>`, v11, 0, "LookupHost"},
		{"other prefixes", `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><d:Op xmlns:d="urn:d"/></S:Body></S:Envelope>`, v11, 0, "Op"},
		{"character references", env11 + `<soap:Body>` + lookup("&#119;ww&amp;") + `</soap:Body></soap:Envelope>`, v11, 0, "LookupHost"},
	}
	for _, tt := range tests {
		env, v, f := parseEnvelope([]byte(tt.raw), v12)
		if f != nil {
			t.Errorf("%s: fault %s: %s", tt.name, f.reason, f.text)
			continue
		}
		if v != tt.v || env.version != tt.v || len(env.headers) != tt.headers || env.body.name.Local != tt.op {
			t.Errorf("%s: version %v, %d headers, body %v", tt.name, v, len(env.headers), env.body.name)
		}
	}
	env, _, _ := parseEnvelope([]byte(env11+`<soap:Body>`+lookup("&#119;ww&amp;")+`</soap:Body></soap:Envelope>`), v11)
	if got := env.body.kids[0].text.String(); got != "www&" {
		t.Errorf("character references: %q", got)
	}
}

// Bad envelopes get a Fault of the right kind, in the right version, and
// never panic. Entities are never expanded: any DOCTYPE is refused.
func TestParseEnvelopeBad(t *testing.T) {
	body := `<soap:Body>` + lookup("www") + `</soap:Body></soap:Envelope>`
	tests := []struct {
		name   string
		raw    string
		hint   version
		reason string
		code   faultCode
		v      version // the version the Fault is sent in
	}{
		{"empty", "", v11, "malformed-xml", codeSender, v11},
		{"white space", " \n ", v12, "malformed-xml", codeSender, v12},
		{"not XML", "hello", v11, "malformed-xml", codeSender, v11},
		{"cut short", env11 + `<soap:Body><LookupHost`, v11, "malformed-xml", codeSender, v11},
		{"unclosed", env11 + `<soap:Body>`, v12, "malformed-xml", codeSender, v12},
		{"mismatched tags", env11 + `<soap:Body></soap:Envelope>`, v11, "malformed-xml", codeSender, v11},
		{"undefined entity", env11 + `<soap:Body>` + lookup("&www;") + `</soap:Body></soap:Envelope>`, v11, "malformed-xml", codeSender, v11},
		{"internal entity", `<!DOCTYPE soap:Envelope [<!ENTITY w "www.lab.test">]>` + env11 + `<soap:Body>` + lookup("&w;") + `</soap:Body></soap:Envelope>`, v11, "doctype", codeSender, v11},
		{"billion laughs", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>` + env11 + `<soap:Body>` + lookup("&lol3;") + `</soap:Body></soap:Envelope>`, v11, "doctype", codeSender, v11},
		{"bare DOCTYPE", `<!DOCTYPE x>` + env11 + body, v11, "doctype", codeSender, v11},
		{"processing instruction", env11 + `<?php echo 1; ?>` + body, v11, "bad-envelope", codeSender, v11},
		{"XML declaration late", `<!-- x --><?xml version="1.0"?>` + env11 + body, v11, "bad-envelope", codeSender, v11},
		{"Latin-1", `<?xml version="1.0" encoding="ISO-8859-1"?>` + env11 + body, v11, "malformed-xml", codeSender, v11},
		{"NUL", env11 + "<soap:Body>\x00" + `</soap:Body></soap:Envelope>`, v11, "malformed-xml", codeSender, v11},
		{"duplicate attribute", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" a="1" a="2">` + body, v11, "malformed-xml", codeSender, v11},
		{"undeclared prefix", env11 + `<soap:Body><d:LookupHost/></soap:Body></soap:Envelope>`, v11, "malformed-xml", codeSender, v11},
		{"undeclared attribute prefix", env11 + `<soap:Body><LookupHost d:x="1"/></soap:Body></soap:Envelope>`, v11, "malformed-xml", codeSender, v11},
		{"two roots", env11 + body + env11 + body, v11, "malformed-xml", codeSender, v11},
		{"text after the root", env11 + body + "junk", v11, "malformed-xml", codeSender, v11},
		{"deep nesting", env11 + `<soap:Body>` + strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40) + `</soap:Body></soap:Envelope>`, v11, "too-deep", codeSender, v11},
		{"very deep nesting", strings.Repeat("<a>", 20000), v12, "too-deep", codeSender, v12},
		{"many elements", env11 + `<soap:Body><LookupHost>` + strings.Repeat("<a/>", maxElements) + `</LookupHost></soap:Body></soap:Envelope>`, v11, "too-large", codeSender, v11},
		{"many attributes", "<a" + manyAttrs(40) + "/>", v11, "too-large", codeSender, v11},
		{"not an envelope", `<LookupHost xmlns="urn:lab.test:directory"/>`, v12, "not-an-envelope", codeSender, v12},
		{"unknown envelope namespace", `<soap:Envelope xmlns:soap="http://example.com/soap">` + `<soap:Body/></soap:Envelope>`, v11, "version-mismatch", codeVersionMismatch, v11},
		{"no envelope namespace", `<Envelope><Body/></Envelope>`, v12, "version-mismatch", codeVersionMismatch, v12},
		{"no Body", env11 + `</soap:Envelope>`, v12, "bad-envelope", codeSender, v11},
		{"empty Body", env12 + `<env:Body/></env:Envelope>`, v11, "bad-envelope", codeSender, v12},
		{"two operations", env11 + `<soap:Body>` + lookup("a") + lookup("b") + `</soap:Body></soap:Envelope>`, v11, "bad-envelope", codeSender, v11},
		{"two Bodies", env11 + `<soap:Body>` + lookup("a") + `</soap:Body><soap:Body/></soap:Envelope>`, v11, "bad-envelope", codeSender, v11},
		{"Header after Body", env12 + `<env:Body>` + lookup("a") + `</env:Body><env:Header/></env:Envelope>`, v12, "bad-envelope", codeSender, v12},
		{"1.2 trailer", env12 + `<env:Body>` + lookup("a") + `</env:Body><t:T xmlns:t="urn:t"/></env:Envelope>`, v12, "bad-envelope", codeSender, v12},
		{"Body of the other version", env11 + `<env:Body xmlns:env="http://www.w3.org/2003/05/soap-envelope">` + lookup("a") + `</env:Body></soap:Envelope>`, v11, "bad-envelope", codeSender, v11},
		{"text in the Body", env11 + `<soap:Body>www.lab.test</soap:Body></soap:Envelope>`, v11, "bad-envelope", codeSender, v11},
	}
	for _, tt := range tests {
		env, v, f := parseEnvelope([]byte(tt.raw), tt.hint)
		if f == nil {
			t.Errorf("%s: no fault, got %+v", tt.name, env)
			continue
		}
		if f.reason != tt.reason || f.code != tt.code || v != tt.v {
			t.Errorf("%s: fault %s (code %d) in %v, want %s (code %d) in %v: %s", tt.name, f.reason, f.code, v, tt.reason, tt.code, tt.v, f.text)
		}
		if f.text == "" {
			t.Errorf("%s: a fault without text", tt.name)
		}
	}
}

func manyAttrs(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(" a" + itoa(i) + `="x"`)
	}
	return b.String()
}

// An external entity is never fetched, whatever the DOCTYPE says: the
// parser refuses DOCTYPE before reading on, and encoding/xml has no DTD
// processing at all. A server standing for the entity's URL sees nothing.
func TestExternalEntityNeverFetched(t *testing.T) {
	var hits atomic.Int32
	ext := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("<!ENTITY x 'pwned'>"))
	}))
	defer ext.Close()
	r := start(t, "", false)
	docs := []string{
		`<!DOCTYPE e [<!ENTITY xxe SYSTEM "` + ext.URL + `/e">]>` + env11 + `<soap:Body>` + lookup("&xxe;") + `</soap:Body></soap:Envelope>`,
		`<!DOCTYPE e [<!ENTITY % p SYSTEM "` + ext.URL + `/p"> %p;]>` + env11 + `<soap:Body>` + lookup("www") + `</soap:Body></soap:Envelope>`,
		`<!DOCTYPE e SYSTEM "` + ext.URL + `/dtd">` + env11 + `<soap:Body>` + lookup("www") + `</soap:Body></soap:Envelope>`,
		`<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + env11 + `<soap:Body>` + lookup("&xxe;") + `</soap:Body></soap:Envelope>`,
	}
	for _, d := range docs {
		resp := soap11(t, r.url, "", d)
		if resp.status != http.StatusInternalServerError || !strings.Contains(resp.body, "<faultcode>soap:Client</faultcode>") ||
			!strings.Contains(resp.body, "DOCTYPE") || strings.Contains(resp.body, "root:") || strings.Contains(resp.body, "pwned") {
			t.Errorf("%s: HTTP %d\n%s", d, resp.status, resp.body)
		}
		e := r.events.Next(t, KindRequest)
		wantAttrs(t, e.Attrs, map[string]string{"reason": "doctype", "fault": "soap:Client", "status": "500"})
	}
	// The parser alone, without the DOCTYPE check, expands nothing either:
	// an undefined entity is a syntax error.
	if _, f := readTree([]byte(`<x>&xxe;</x>`)); f == nil || f.reason != "malformed-xml" {
		t.Errorf("undefined entity: %+v", f)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the external entity's server was asked %d times", n)
	}
}

func TestMustUnderstand(t *testing.T) {
	tests := []struct {
		raw  string
		want bool // a MustUnderstand fault
	}{
		{env11 + `<soap:Header><x:A xmlns:x="urn:x" soap:mustUnderstand="1"/></soap:Header><soap:Body>` + lookup("www") + `</soap:Body></soap:Envelope>`, true},
		{env11 + `<soap:Header><x:A xmlns:x="urn:x" soap:mustUnderstand="0"/></soap:Header><soap:Body>` + lookup("www") + `</soap:Body></soap:Envelope>`, false},
		{env11 + `<soap:Header><x:A xmlns:x="urn:x" soap:mustUnderstand="1" soap:actor="urn:someone-else"/></soap:Header><soap:Body>` + lookup("www") + `</soap:Body></soap:Envelope>`, false},
		{env12 + `<env:Header><x:A xmlns:x="urn:x" env:mustUnderstand="true"/></env:Header><env:Body>` + lookup("www") + `</env:Body></env:Envelope>`, true},
		{env12 + `<env:Header><x:A xmlns:x="urn:x" env:mustUnderstand="true" env:role="http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver"/></env:Header><env:Body>` + lookup("www") + `</env:Body></env:Envelope>`, true},
		{env12 + `<env:Header><x:A xmlns:x="urn:x" env:mustUnderstand="true" env:role="urn:other"/></env:Header><env:Body>` + lookup("www") + `</env:Body></env:Envelope>`, false},
		{env12 + `<env:Header><wsse:Security xmlns:wsse="` + nsWSSE + `" env:mustUnderstand="true"/></env:Header><env:Body>` + lookup("www") + `</env:Body></env:Envelope>`, false},
	}
	for _, tt := range tests {
		env, v, f := parseEnvelope([]byte(tt.raw), v11)
		if f != nil {
			t.Fatalf("%s: %s", tt.raw, f.text)
		}
		f = env.checkHeaders()
		if got := f != nil; got != tt.want {
			t.Errorf("%s: fault %v, want %v", tt.raw, f, tt.want)
			continue
		}
		if f != nil {
			out := string(f.envelope(v))
			if f.code != codeMustUnderstand || v == v12 && !strings.Contains(out, `<env:NotUnderstood qname="q:A" xmlns:q="urn:x"/>`) ||
				v == v11 && !strings.Contains(out, "<faultcode>soap:MustUnderstand</faultcode>") {
				t.Errorf("%s: fault\n%s", tt.raw, out)
			}
		}
	}
}
