package ws

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"protolab/internal/event"
)

// envelopeSeeds are real requests of every kind, and hostile ones.
func envelopeSeeds() []string {
	now := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	return []string{
		buildEnvelope(v11, "", lookup("www.lab.test")),
		buildEnvelope(v12, "", lookup("webmail")),
		buildEnvelope(v11, usernameToken("alice", "wonderland", false, now), secure("secret.lab.test")),
		buildEnvelope(v12, usernameToken("alice", "wonderland", true, now), secure("www")),
		buildEnvelope(v11, `<t:T xmlns:t="urn:t" soap:mustUnderstand="1" soap:actor="http://schemas.xmlsoap.org/soap/actor/next"/>`, lookup("a")),
		buildEnvelope(v11, "", `<SendNote xmlns="urn:lab.test:directory"><to>bob</to><text>hi &amp; &#233;</text><subject>s</subject></SendNote>`),
		`<!DOCTYPE e [<!ENTITY x SYSTEM "http://127.0.0.1:1/e">]>` + env11 + `<soap:Body>` + lookup("&x;") + `</soap:Body></soap:Envelope>`,
		`<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aa"><!ENTITY b "&a;&a;&a;&a;">]>` + env12 + `<env:Body>` + lookup("&b;") + `</env:Body></env:Envelope>`,
		env11 + `<soap:Body>` + strings.Repeat("<a>", 50) + strings.Repeat("</a>", 50) + `</soap:Body></soap:Envelope>`,
		`<s:Envelope xmlns:s="urn:other"><s:Body/></s:Envelope>`,
		env11 + `<soap:Body><LookupHost xmlns="urn:lab.test:directory"><name><![CDATA[www]]></name></LookupHost></soap:Body></soap:Envelope>`,
	}
}

// FuzzParseEnvelope feeds random and mutated XML to the envelope parser
// and the header checks: never a panic, a Fault with a text or a valid
// envelope with one Body element, and the Fault's own envelope (what the
// client gets) is itself a valid SOAP message holding a Fault.
//
// A server stands for the external entities of the seeds: it must never be
// asked.
func FuzzParseEnvelope(f *testing.F) {
	var hits atomic.Int32
	ext := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`<!ENTITY y "pwned">`))
	}))
	f.Cleanup(ext.Close)
	for _, s := range envelopeSeeds() {
		f.Add([]byte(s), true)
	}
	for _, d := range []string{
		`<!DOCTYPE e [<!ENTITY x SYSTEM "` + ext.URL + `/x">]>` + env11 + `<soap:Body>` + lookup("&x;") + `</soap:Body></soap:Envelope>`,
		`<!DOCTYPE e [<!ENTITY % p SYSTEM "` + ext.URL + `/p"> %p;]>` + env12 + `<env:Body>` + lookup("&y;") + `</env:Body></env:Envelope>`,
		env11 + `<soap:Body>` + lookup("&x;") + `</soap:Body></soap:Envelope>`,
	} {
		f.Add([]byte(d), false)
	}
	f.Fuzz(func(t *testing.T, raw []byte, v2 bool) {
		defer func() {
			if n := hits.Load(); n != 0 {
				t.Fatalf("an external entity was fetched (%d requests)", n)
			}
		}()
		if len(raw) > maxBodyBytes {
			return
		}
		hint := v11
		if v2 {
			hint = v12
		}
		env, v, flt := parseEnvelope(raw, hint)
		if flt == nil {
			if env == nil || env.body == nil || v != env.version {
				t.Fatalf("no fault and no envelope: %+v", env)
			}
			flt = env.checkHeaders()
			if flt == nil {
				_, _, flt = env.readToken()
			}
		}
		if flt == nil {
			return
		}
		if flt.text == "" || flt.reason == "" {
			t.Fatalf("a fault without text or reason: %+v", flt)
		}
		out, ov, of := parseEnvelope(flt.envelope(v), v11)
		if of != nil || ov != v || out.body.name.Local != "Fault" {
			t.Fatalf("the fault's envelope does not parse (%v): %s\n%s", of, of.text, flt.envelope(v))
		}
	})
}

// capture keeps the last event published.
type capture struct {
	mu   sync.Mutex
	last event.Event
}

func (c *capture) Publish(e event.Event) { c.mu.Lock(); c.last = e; c.mu.Unlock() }

// FuzzServe runs whole requests through the handler, as the HTTP server
// would: the answer is always a SOAP envelope with a status the specs
// allow, a Fault whenever the status is not 200, and nothing panics (the
// handler's recover would answer "internal").
func FuzzServe(f *testing.F) {
	for _, s := range envelopeSeeds() {
		f.Add([]byte(s), "text/xml; charset=utf-8", `"urn:lab.test:directory/LookupHost"`)
		f.Add([]byte(s), "application/soap+xml; action=urn:lab.test:directory/LookupHostSecure", "")
	}
	f.Add([]byte("name=www"), "application/x-www-form-urlencoded", "")
	p := loadLab(f, "")
	pub := &capture{}
	s := newServer(p, pub, nil, nil)
	f.Fuzz(func(t *testing.T, raw []byte, ct, action string) {
		req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(string(raw)))
		req.Header.Set("Content-Type", ct)
		if action != "" {
			req.Header.Set("SOAPAction", action)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 413, 415, 500:
		default:
			t.Fatalf("HTTP %d", rec.Code)
		}
		env, _, flt := parseEnvelope(rec.Body.Bytes(), v11)
		if flt != nil {
			t.Fatalf("the answer is not a SOAP message (%s):\n%s", flt.text, rec.Body.String())
		}
		if isFault := env.body.name.Local == "Fault"; isFault != (rec.Code != 200) {
			t.Fatalf("HTTP %d with body %s", rec.Code, env.body.name.Local)
		}
		pub.mu.Lock()
		defer pub.mu.Unlock()
		if pub.last.Attrs["reason"] == "internal" {
			t.Fatalf("the handler panicked:\n%s", rec.Body.String())
		}
		if s := pub.last.Attrs["status"]; s != itoa(rec.Code) {
			t.Fatalf("event status %s, HTTP %d", s, rec.Code)
		}
	})
}

// FuzzParseDirectory checks that any zone file is either read or refused
// with an error naming the file, that every lookup in what was read ends,
// and that a name of the zone a learner can type is looked up as itself.
func FuzzParseDirectory(f *testing.F) {
	text, err := os.ReadFile("testdata/lab.test.zone")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(text)
	f.Add([]byte("$ORIGIN x.test.\n@ IN SOA ns hm 1 2 3 4 5\na IN CNAME b\nb IN CNAME a\nc IN A 192.0.2.1\n"))
	f.Add([]byte("@ IN SOA ns hm 1 2 3 4 5\n$INCLUDE other.zone\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		d, err := parseDirectory("f.zone", text)
		if err != nil {
			if !strings.Contains(err.Error(), "f.zone") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for name := range d.names {
			d.lookup(name)
			if fq, ok := d.normalize(name); ok && fq != name {
				t.Fatalf("the zone's name %q is looked up as %q", name, fq)
			}
		}
	})
}
