package ws

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// secure is the Body of a LookupHostSecure request.
func secure(name string) string {
	return `<LookupHostSecure xmlns="urn:lab.test:directory"><name>` + name + `</name></LookupHostSecure>`
}

// digestToken is a UsernameToken with a chosen nonce and time.
func digestToken(user, password string, nonce []byte, created string) string {
	return `<wsse:Security xmlns:wsse="` + nsWSSE + `" xmlns:wsu="` + nsWSU + `"><wsse:UsernameToken>` +
		`<wsse:Username>` + user + `</wsse:Username>` +
		`<wsse:Password Type="` + passwordDigest + `">` + digestPassword(nonce, created, password) + `</wsse:Password>` +
		`<wsse:Nonce EncodingType="` + base64Binary + `">` + base64.StdEncoding.EncodeToString(nonce) + `</wsse:Nonce>` +
		`<wsu:Created>` + created + `</wsu:Created></wsse:UsernameToken></wsse:Security>`
}

func TestWSSecurity(t *testing.T) {
	r := start(t, "", false)
	now := time.Now().UTC()
	stamp := func(d time.Duration) string { return now.Add(d).Format("2006-01-02T15:04:05Z") }
	replayed := digestToken("alice", "wonderland", []byte("nonce-replayed"), stamp(0))
	text := func(user, password string) string { return usernameToken(user, password, false, now) }
	tests := []struct {
		name     string
		v        version
		header   string
		body     string
		status   int
		fault    string
		subcode  string
		reason   string
		user     string
		ptype    string
		inAnswer string
	}{
		{"text 1.1", v11, text("alice", "wonderland"), secure("secret.lab.test"), 200, "", "", "", "alice", "text", "<text>flag=tournesol</text>"},
		{"text 1.2", v12, text("alice", " wonderland\n"), secure("www"), 200, "", "", "", "alice", "text", "<address>192.0.2.80</address>"},
		{"digest", v11, usernameToken("alice", "wonderland", true, now), secure("www"), 200, "", "", "", "alice", "digest", "<address>192.0.2.80</address>"},
		{"digest once", v12, replayed, secure("www"), 200, "", "", "", "alice", "digest", "<name>www.lab.test</name>"},
		{"digest replayed", v12, replayed, secure("www"), 400, "env:Sender", "wsse:FailedAuthentication", "failed-authentication", "alice", "digest", "already used"},
		{"digest stale", v11, digestToken("alice", "wonderland", []byte("n1"), stamp(-time.Hour)), secure("www"), 500, "wsse:FailedAuthentication", "wsse:FailedAuthentication", "failed-authentication", "alice", "digest", "build a new one"},
		{"digest from the future", v11, digestToken("alice", "wonderland", []byte("n2"), stamp(time.Hour)), secure("www"), 500, "wsse:FailedAuthentication", "wsse:FailedAuthentication", "failed-authentication", "alice", "digest", "away from the server's clock"},
		{"digest wrong password", v11, digestToken("alice", "nope", []byte("n3"), stamp(0)), secure("www"), 500, "wsse:FailedAuthentication", "wsse:FailedAuthentication", "failed-authentication", "alice", "digest", "the user name or the password is wrong"},
		{"digest without nonce", v11, strings.ReplaceAll(digestToken("alice", "wonderland", []byte("n4"), stamp(0)), "wsse:Nonce", "wsse:Other"), secure("www"), 500, "wsse:InvalidSecurity", "wsse:InvalidSecurity", "invalid-security", "alice", "digest", "needs a Nonce"},
		{"digest bad time", v11, digestToken("alice", "wonderland", []byte("n5"), "yesterday"), secure("www"), 500, "wsse:InvalidSecurity", "wsse:InvalidSecurity", "invalid-security", "alice", "digest", "is not a UTC date"},
		{"wrong password 1.1", v11, text("alice", "alice"), secure("www"), 500, "wsse:FailedAuthentication", "wsse:FailedAuthentication", "failed-authentication", "alice", "text", "the user name or the password is wrong"},
		{"wrong password 1.2", v12, text("alice", "alice"), secure("www"), 400, "env:Sender", "wsse:FailedAuthentication", "failed-authentication", "alice", "text", "the user name or the password is wrong"},
		{"unknown user", v11, text("mallory", "wonderland"), secure("www"), 500, "wsse:FailedAuthentication", "wsse:FailedAuthentication", "failed-authentication", "mallory", "text", "the user name or the password is wrong"},
		{"no header", v11, "", secure("www"), 500, "wsse:FailedAuthentication", "wsse:FailedAuthentication", "no-security-header", "", "", "needs a WS-Security header"},
		{"no header 1.2", v12, "", secure("www"), 400, "env:Sender", "wsse:FailedAuthentication", "no-security-header", "", "", "needs a WS-Security header"},
		{"header for another actor", v11, strings.Replace(text("alice", "wonderland"), "<wsse:Security ", `<wsse:Security soap:actor="urn:gateway" `, 1), secure("www"), 500, "wsse:FailedAuthentication", "wsse:FailedAuthentication", "no-security-header", "", "", "needs a WS-Security header"},
		{"two headers", v11, text("alice", "wonderland") + text("alice", "wonderland"), secure("www"), 500, "wsse:InvalidSecurity", "wsse:InvalidSecurity", "invalid-security", "", "", "two Security header blocks"},
		{"no token", v11, `<wsse:Security xmlns:wsse="` + nsWSSE + `"/>`, secure("www"), 500, "wsse:UnsupportedSecurityToken", "wsse:UnsupportedSecurityToken", "unsupported-token", "", "", "holds no UsernameToken"},
		{"no user name", v11, `<wsse:Security xmlns:wsse="` + nsWSSE + `"><wsse:UsernameToken><wsse:Password>x</wsse:Password></wsse:UsernameToken></wsse:Security>`, secure("www"), 500, "wsse:InvalidSecurity", "wsse:InvalidSecurity", "invalid-security", "", "", "has no Username"},
		{"no password", v11, `<wsse:Security xmlns:wsse="` + nsWSSE + `"><wsse:UsernameToken><wsse:Username>alice</wsse:Username></wsse:UsernameToken></wsse:Security>`, secure("www"), 500, "wsse:FailedAuthentication", "wsse:FailedAuthentication", "failed-authentication", "alice", "", "has no Password"},
		{"unknown password type", v11, strings.Replace(text("alice", "wonderland"), "#PasswordText", "#PasswordHash", 1), secure("www"), 500, "wsse:UnsupportedSecurityToken", "wsse:UnsupportedSecurityToken", "unsupported-token", "alice", "", "is unknown"},
		{"password without Type", v11, strings.Replace(text("alice", "wonderland"), ` Type="`+passwordText+`"`, "", 1), secure("www"), 200, "", "", "", "alice", "text", "<name>www.lab.test</name>"},
		{"token on LookupHost, right", v11, text("alice", "wonderland"), lookup("www"), 200, "", "", "", "alice", "text", "<name>www.lab.test</name>"},
		{"token on LookupHost, wrong", v11, text("alice", "x"), lookup("www"), 500, "wsse:FailedAuthentication", "wsse:FailedAuthentication", "failed-authentication", "alice", "text", "wrong"},
		{"unknown host, authenticated", v11, text("alice", "wonderland"), secure("nosuchhost"), 500, "soap:Client", "", "unknown-host", "alice", "text", "no host nosuchhost.lab.test"},
		{"mandatory Security is understood", v12, strings.Replace(text("alice", "wonderland"), "<wsse:Security ", `<wsse:Security env:mustUnderstand="true" `, 1), secure("www"), 200, "", "", "", "alice", "text", "<name>www.lab.test</name>"},
	}
	for _, tt := range tests {
		env := buildEnvelope(tt.v, tt.header, tt.body)
		var resp response
		if tt.v == v12 {
			resp = soap12(t, r.url, "", env)
		} else {
			resp = soap11(t, r.url, "", env)
		}
		if resp.status != tt.status || !strings.Contains(resp.body, tt.inAnswer) {
			t.Errorf("%s: HTTP %d, want %d with %q\n%s", tt.name, resp.status, tt.status, tt.inAnswer, resp.body)
		}
		e := r.events.Next(t, KindRequest)
		wantAttrs(t, e.Attrs, map[string]string{"fault": tt.fault, "subcode": tt.subcode, "reason": tt.reason, "user": tt.user, "password_type": tt.ptype, "status": itoa(tt.status)})
		if tt.fault != "" && tt.subcode != "" && tt.v == v12 && !strings.Contains(resp.body, "<env:Subcode><env:Value>"+tt.subcode+"</env:Value></env:Subcode>") {
			t.Errorf("%s: no Subcode\n%s", tt.name, resp.body)
		}
		if strings.Contains(e.Transcript, "wonderland") || strings.Contains(tt.header, "Password") && !strings.Contains(e.Transcript, "******") {
			t.Errorf("%s: the transcript shows the password:\n%s", tt.name, e.Transcript)
		}
	}
}

// The nonce cache is bounded and forgets what is past the window.
func TestNonceCache(t *testing.T) {
	now := time.Now()
	a := newAuthenticator(defaultUsers, func() time.Time { return now })
	for i := range maxNonces + 100 {
		if !a.fresh("n"+itoa(i), now) {
			t.Fatalf("nonce %d refused", i)
		}
	}
	if len(a.nonces) > maxNonces || len(a.order) > maxNonces {
		t.Errorf("cache holds %d/%d nonces", len(a.nonces), len(a.order))
	}
	if a.fresh("n"+itoa(maxNonces+99), now) {
		t.Error("a recent nonce was taken twice")
	}
	later := now.Add(tokenWindow + time.Second)
	if !a.fresh("n"+itoa(maxNonces+99), later) || len(a.nonces) != 1 {
		t.Errorf("past the window: %d nonces kept", len(a.nonces))
	}
}

func TestMaskPasswords(t *testing.T) {
	tests := map[string]string{
		`<wsse:Password Type="x">wonderland</wsse:Password>`: `<wsse:Password Type="x">******</wsse:Password>`,
		`<Password>a</Password><o:Password>b</o:Password >`:  `<Password>******</Password><o:Password>******</o:Password >`,
		`<wsse:Password>wonder`:                              `<wsse:Password>******`,
		`<PasswordHint>x</PasswordHint>`:                     `<PasswordHint>x</PasswordHint>`,
	}
	for in, want := range tests {
		if got := maskPasswords([]byte(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
