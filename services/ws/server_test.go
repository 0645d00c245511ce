package ws

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"protolab/internal/service"
)

func TestLookupHost(t *testing.T) {
	r := start(t, "", false)
	tests := []struct {
		name   string
		send   func() response
		ct     string
		v      string
		action string
	}{
		{"1.1", func() response {
			return soap11(t, r.url, "urn:lab.test:directory/LookupHost", buildEnvelope(v11, "", lookup("webmail.lab.test")))
		}, "text/xml; charset=utf-8", "1.1", "urn:lab.test:directory/LookupHost"},
		{"1.1 with an empty SOAPAction", func() response {
			return soap11(t, r.url, "", buildEnvelope(v11, "", lookup("webmail.lab.test")))
		}, "text/xml; charset=utf-8", "1.1", ""},
		{"1.2", func() response {
			return soap12(t, r.url, "urn:lab.test:directory/LookupHost", buildEnvelope(v12, "", lookup("webmail.lab.test")))
		}, "application/soap+xml; charset=utf-8", "1.2", "urn:lab.test:directory/LookupHost"},
		{"1.2 without action, prefixed operation", func() response {
			return soap12(t, r.url, "", buildEnvelope(v12, "", `<d:LookupHost xmlns:d="urn:lab.test:directory"><name>webmail.lab.test</name></d:LookupHost>`))
		}, "application/soap+xml; charset=utf-8", "1.2", ""},
	}
	for _, tt := range tests {
		resp := tt.send()
		if resp.status != http.StatusOK || resp.contentType != tt.ct {
			t.Errorf("%s: HTTP %d %s\n%s", tt.name, resp.status, resp.contentType, resp.body)
		}
		env, v, f := parseEnvelope([]byte(resp.body), v11)
		if f != nil || v.String() != tt.v || env.body.name != (xml.Name{Space: TargetNamespace, Local: "LookupHostResponse"}) {
			t.Fatalf("%s: response %v %v\n%s", tt.name, f, v, resp.body)
		}
		var addrs []string
		for _, k := range env.body.kids {
			if k.name.Local == "address" {
				addrs = append(addrs, k.text.String())
			}
		}
		if n := env.body.child(TargetNamespace, "name"); n == nil || n.text.String() != "www.lab.test" ||
			strings.Join(addrs, " ") != "192.0.2.80 2001:db8:89::80" {
			t.Errorf("%s: answer\n%s", tt.name, resp.body)
		}
		e := r.events.Next(t, KindRequest)
		wantAttrs(t, e.Attrs, map[string]string{"operation": "LookupHost", "version": tt.v, "action": tt.action, "status": "200",
			"fault": "", "reason": "", "user": "", "name": "webmail.lab.test", "addresses": "192.0.2.80 2001:db8:89::80"})
		if !strings.Contains(e.Transcript, "POST /directory from 127.0.0.1:") || !strings.Contains(e.Transcript, "HTTP 200 OK") ||
			!strings.Contains(e.Transcript, "<address>192.0.2.80</address>") {
			t.Errorf("%s: transcript\n%s", tt.name, e.Transcript)
		}
		if e.Client == "" {
			t.Errorf("%s: no client", tt.name)
		}
	}
}

// Every mistake gets the Fault the specs ask for: its code, in the
// request's version, with HTTP 500 (SOAP 1.1) or 400 for a Sender fault
// (SOAP 1.2).
func TestFaults(t *testing.T) {
	r := start(t, "", false)
	op := func(body string) string { return body }
	tests := []struct {
		name    string
		v       version
		action  string
		env     string
		status  int
		fault   string
		reason  string
		operate string // the event's operation
		text    string // in the fault's text
	}{
		{"malformed 1.1", v11, "", env11 + `<soap:Body><LookupHost>`, 500, "soap:Client", "malformed-xml", "", "not well-formed"},
		{"malformed 1.2", v12, "", env12 + `<env:Body><LookupHost>`, 400, "env:Sender", "malformed-xml", "", "not well-formed"},
		{"version mismatch 1.1", v11, "", `<s:Envelope xmlns:s="urn:soap"><s:Body/></s:Envelope>`, 500, "soap:VersionMismatch", "version-mismatch", "", "urn:soap"},
		{"version mismatch 1.2", v12, "", `<s:Envelope xmlns:s="urn:soap"><s:Body/></s:Envelope>`, 500, "env:VersionMismatch", "version-mismatch", "", "urn:soap"},
		{"unknown operation", v11, "", buildEnvelope(v11, "", `<Ping xmlns="urn:lab.test:directory"/>`), 500, "soap:Client", "unknown-operation", "Ping", "LookupHost, LookupHostSecure and SendNote"},
		{"operation without namespace", v12, "", buildEnvelope(v12, "", `<LookupHost><name>www</name></LookupHost>`), 400, "env:Sender", "unknown-operation", "LookupHost", `xmlns="urn:lab.test:directory"`},
		{"operation in another namespace", v11, "", buildEnvelope(v11, "", `<LookupHost xmlns="urn:x"><name>www</name></LookupHost>`), 500, "soap:Client", "unknown-operation", "LookupHost", `"urn:x"`},
		{"wrong action 1.1", v11, "urn:lab.test:directory/SendNote", buildEnvelope(v11, "", lookup("www")), 500, "soap:Client", "action-mismatch", "LookupHost", "SOAPAction"},
		{"wrong action 1.2", v12, "urn:x", buildEnvelope(v12, "", lookup("www")), 400, "env:Sender", "action-mismatch", "LookupHost", "action parameter"},
		{"missing argument", v11, "", buildEnvelope(v11, "", `<LookupHost xmlns="urn:lab.test:directory"/>`), 500, "soap:Client", "bad-argument", "LookupHost", "needs <name>"},
		{"empty argument", v11, "", buildEnvelope(v11, "", lookup(" ")), 500, "soap:Client", "bad-argument", "LookupHost", "needs <name>"},
		{"unknown argument", v12, "", buildEnvelope(v12, "", `<LookupHost xmlns="urn:lab.test:directory"><nom>www</nom></LookupHost>`), 400, "env:Sender", "bad-argument", "LookupHost", "not <nom>"},
		{"argument twice", v11, "", buildEnvelope(v11, "", `<LookupHost xmlns="urn:lab.test:directory"><name>a</name><name>b</name></LookupHost>`), 500, "soap:Client", "bad-argument", "LookupHost", "twice"},
		{"argument with elements", v11, "", buildEnvelope(v11, "", `<LookupHost xmlns="urn:lab.test:directory"><name><b>www</b></name></LookupHost>`), 500, "soap:Client", "bad-argument", "LookupHost", "text only"},
		{"argument too long", v11, "", buildEnvelope(v11, "", lookup(strings.Repeat("a", 300))), 500, "soap:Client", "bad-argument", "LookupHost", "at most 254"},
		{"not a host name", v11, "", buildEnvelope(v11, "", lookup("a b")), 500, "soap:Client", "bad-argument", "LookupHost", "not a host name"},
		{"text in the operation", v11, "", buildEnvelope(v11, "", `<LookupHost xmlns="urn:lab.test:directory">www</LookupHost>`), 500, "soap:Client", "bad-argument", "LookupHost", "<name>www.lab.test</name>"},
		{"unknown host 1.1", v11, "", buildEnvelope(v11, "", lookup("nosuchhost.lab.test")), 500, "soap:Client", "unknown-host", "LookupHost", "no host nosuchhost.lab.test"},
		{"unknown host 1.2", v12, "", buildEnvelope(v12, "", lookup("secret.lab.test")), 400, "env:Sender", "unknown-host", "LookupHost", "no host secret.lab.test"},
		{"mail not running", v11, "", buildEnvelope(v11, "", op(`<SendNote xmlns="urn:lab.test:directory"><to>bob</to><text>hi</text></SendNote>`)), 500, "soap:Server", "mail-not-running", "SendNote", "mail service is not running"},
		{"mail not running 1.2", v12, "", buildEnvelope(v12, "", op(`<SendNote xmlns="urn:lab.test:directory"><to>bob</to><text>hi</text></SendNote>`)), 500, "env:Receiver", "mail-not-running", "SendNote", "mail service is not running"},
		{"must understand", v12, "", buildEnvelope(v12, `<t:Tx xmlns:t="urn:tx" env:mustUnderstand="true"/>`, lookup("www")), 500, "env:MustUnderstand", "must-understand", "", "{urn:tx}Tx"},
	}
	for _, tt := range tests {
		var resp response
		if tt.v == v12 {
			resp = soap12(t, r.url, tt.action, tt.env)
		} else {
			resp = soap11(t, r.url, tt.action, tt.env)
		}
		if resp.status != tt.status || resp.contentType != tt.v.contentType() {
			t.Errorf("%s: HTTP %d %s, want %d %s\n%s", tt.name, resp.status, resp.contentType, tt.status, tt.v.contentType(), resp.body)
		}
		e := r.events.Next(t, KindRequest)
		wantAttrs(t, e.Attrs, map[string]string{"fault": tt.fault, "reason": tt.reason, "status": itoa(tt.status), "version": tt.v.String(), "operation": tt.operate})
		if tt.fault == "" {
			continue
		}
		code, text, ok := faultOf([]byte(resp.body))
		if !ok || code != tt.fault || !strings.Contains(text, tt.text) {
			t.Errorf("%s: fault %q %q, want %s with %q\n%s", tt.name, code, text, tt.fault, tt.text, resp.body)
		}
		// SOAP 1.1 §4.4: a fault of the Body's processing has a detail, the
		// others have none.
		body := tt.reason != "malformed-xml" && tt.reason != "version-mismatch" && tt.reason != "must-understand"
		if has := strings.Contains(strings.ToLower(resp.body), "detail>"); has != body {
			t.Errorf("%s: detail %v, want %v\n%s", tt.name, has, body, resp.body)
		}
	}
	// A 1.2 VersionMismatch says which envelopes are understood (Upgrade).
	resp := soap12(t, r.url, "", `<s:Envelope xmlns:s="urn:soap"><s:Body/></s:Envelope>`)
	if !strings.Contains(resp.body, `<env:SupportedEnvelope qname="ns1:Envelope" xmlns:ns1="http://www.w3.org/2003/05/soap-envelope"/>`) {
		t.Errorf("no Upgrade header:\n%s", resp.body)
	}
	r.events.Next(t, KindRequest)
}

// The HTTP side: content types, sizes, methods, paths.
func TestHTTP(t *testing.T) {
	r := start(t, "", false)
	good := buildEnvelope(v11, "", lookup("www"))
	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		headers []string
		status  int
		want    string // in the body
		reason  string // of the ws.request event; "-" for none
	}{
		{"curl -d's form type", "POST", Path, good, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "-H 'Content-Type: text/xml; charset=utf-8'", "content-type"},
		{"no content type", "POST", Path, good, nil, 415, "<faultcode>soap:Client</faultcode>", "content-type"},
		{"Latin-1 charset", "POST", Path, good, []string{"Content-Type", "text/xml; charset=iso-8859-1"}, 415, "not SOAP's", "content-type"},
		{"too large 1.2", "POST", Path, strings.Repeat(" ", maxBodyBytes+1), []string{"Content-Type", "application/soap+xml"}, 413, "<env:Value>env:Sender</env:Value>", "too-large"},
		{"a deep body", "POST", Path, strings.Repeat("<a>", 5000), []string{"Content-Type", "text/xml"}, 500, "nested more than 32 deep", "too-deep"},
		{"help", "GET", Path, "", nil, 200, "POST to /directory", "-"},
		{"not found", "GET", "/", "", nil, 404, "Its contract (WSDL) is at /directory?wsdl", "-"},
		{"put", "PUT", Path, good, nil, 405, "PUT is not a method", "-"},
	}
	for _, tt := range tests {
		u := strings.TrimSuffix(r.url, Path) + tt.path
		resp := do(t, tt.method, u, tt.body, tt.headers...)
		if resp.status != tt.status || !strings.Contains(resp.body, tt.want) {
			t.Errorf("%s: HTTP %d, want %d with %q\n%s", tt.name, resp.status, tt.status, tt.want, resp.body)
		}
		if tt.reason != "-" {
			e := r.events.Next(t, KindRequest)
			wantAttrs(t, e.Attrs, map[string]string{"reason": tt.reason, "status": itoa(tt.status)})
		}
	}
	r.events.None(t, KindRequest)
}

func TestWSDL(t *testing.T) {
	r := start(t, "", false)
	for _, q := range []string{"wsdl", "WSDL"} {
		resp := do(t, "GET", r.url+"?"+q, "")
		loc := `location="` + r.url + `"`
		if resp.status != 200 || resp.contentType != "text/xml; charset=utf-8" || strings.Count(resp.body, loc) != 2 {
			t.Fatalf("?%s: HTTP %d %s\n%s", q, resp.status, resp.contentType, resp.body)
		}
		root, f := readTree([]byte(resp.body))
		if f != nil || root.name.Local != "definitions" {
			t.Fatalf("WSDL: %v", f)
		}
		e := r.events.Next(t, KindWSDL)
		wantAttrs(t, e.Attrs, map[string]string{"path": Path + "?" + q, "location": r.url})
		if !strings.HasPrefix(e.Client, "127.0.0.1:") {
			t.Errorf("client %q", e.Client)
		}
	}
	resp := do(t, "GET", r.url+"?wsdl", "")
	if err := checkWSDL(resp.body); err != nil {
		t.Error(err)
	}
	r.events.Next(t, KindWSDL)

	// The address follows the Host the client used; a strange Host is
	// replaced by the listener's address.
	for host, want := range map[string]string{
		"directory.lab.test:8081": "http://directory.lab.test:8081/directory",
		"[2001:db8:89::80]:80":    "http://[2001:db8:89::80]:80/directory",
		`a&b'c:80`:                r.url,
	} {
		body := rawGet(t, r.url, host)
		if !strings.Contains(body, `<soap:address location="`+want+`"/>`) {
			t.Errorf("Host %q: want %s in\n%s", host, want, body)
		}
		r.events.Next(t, KindWSDL)
	}
}

// checkWSDL checks the contract's consistency: every message a port type
// names exists, every operation has a binding in both versions with the
// action the server expects, and every element a message names is
// declared in the schema.
func checkWSDL(doc string) error {
	root, f := readTree([]byte(doc))
	if f != nil {
		return fmt.Errorf("WSDL: %s", f.text)
	}
	const wsdl = "http://schemas.xmlsoap.org/wsdl/"
	messages := map[string]bool{}
	elements := map[string]bool{}
	for _, k := range root.kids {
		switch k.name.Local {
		case "types":
			for _, s := range k.kids {
				for _, e := range s.kids {
					if n, _ := e.attr("", "name"); e.name.Local == "element" {
						elements["tns:"+n] = true
					}
				}
			}
		case "message":
			n, _ := k.attr("", "name")
			messages["tns:"+n] = true
			for _, p := range k.kids {
				if el, _ := p.attr("", "element"); !elements[el] {
					return fmt.Errorf("message %s names the undeclared element %s", n, el)
				}
			}
		}
	}
	bound := map[string]int{}
	for _, k := range root.kids {
		switch k.name.Local {
		case "portType":
			for _, op := range k.kids {
				for _, io := range op.kids {
					if m, _ := io.attr("", "message"); !messages[m] {
						return fmt.Errorf("port type names the undeclared message %s", m)
					}
				}
			}
		case "binding":
			for _, op := range k.kids {
				if op.name != (xml.Name{Space: wsdl, Local: "operation"}) {
					continue
				}
				n, _ := op.attr("", "name")
				o := operationNamed(n)
				if o == nil {
					return fmt.Errorf("binding of an unknown operation %s", n)
				}
				a, _ := op.kids[0].attr("", "soapAction")
				if a != o.action() {
					return fmt.Errorf("%s: soapAction %q, want %q", n, a, o.action())
				}
				bound[n]++
			}
		}
	}
	for _, op := range operations {
		if bound[op.name] != 2 {
			return fmt.Errorf("%s has %d bindings, want 2", op.name, bound[op.name])
		}
	}
	return nil
}

// rawGet asks for the WSDL with a Host header as given.
func rawGet(t *testing.T, url, host string) string {
	t.Helper()
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), Path)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET %s?wsdl HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", Path, host)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&b)
	if resp.StatusCode != 200 {
		return fmt.Sprintf("HTTP %d: %s", resp.StatusCode, b.String())
	}
	return b.String()
}

func TestSendNote(t *testing.T) {
	r := start(t, "", true)
	note := func(to, text, subject string) string {
		s := `<SendNote xmlns="urn:lab.test:directory"><to>` + to + `</to><text>` + text + `</text>`
		if subject != "" {
			s += `<subject>` + subject + `</subject>`
		}
		return s + `</SendNote>`
	}
	long := strings.Repeat("é", 600) // a line longer than 998 bytes
	resp := soap11(t, r.url, "urn:lab.test:directory/SendNote", buildEnvelope(v11, "", note("Bob@lab.test", "Hello Bob,\nthe printer is back.\n"+long, "Café")))
	if resp.status != 200 || !strings.Contains(resp.body, "<mailbox>bob@lab.test</mailbox>") {
		t.Fatalf("HTTP %d\n%s", resp.status, resp.body)
	}
	e := r.events.Next(t, KindRequest)
	wantAttrs(t, e.Attrs, map[string]string{"operation": "SendNote", "to": "bob@lab.test", "status": "200", "fault": ""})
	uid := regexp.MustCompile(`<uid>(\d+)</uid>`).FindStringSubmatch(resp.body)
	msgs, err := r.store.List("bob", "INBOX")
	if err != nil || len(msgs) == 0 || uid == nil || itoa(int(msgs[len(msgs)-1].UID)) != uid[1] {
		t.Fatalf("bob's INBOX: %+v %v, uid %v", msgs, err, uid)
	}
	raw, err := r.store.Read("bob", "INBOX", msgs[len(msgs)-1].UID)
	if err != nil {
		t.Fatal(err)
	}
	m := string(raw)
	for _, want := range []string{"(Protolab directory service, SOAP 1.1)", "From: Directory service <directory@lab.test>\r\n", "To: bob@lab.test\r\n", "Subject: =?utf-8?q?Caf=C3=A9?=\r\n",
		"Content-Transfer-Encoding: quoted-printable\r\n", "\r\n\r\nHello Bob,\r\nthe printer is back.\r\n=C3=A9"} {
		if !strings.Contains(m, want) {
			t.Errorf("message lacks %q:\n%s", want, m)
		}
	}
	for i, line := range strings.Split(m, "\r\n") {
		if len(line) > 998 || strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d: %d bytes or a bare line end", i, len(line))
		}
	}
	// SOAP 1.2, recipient by name only, default subject.
	resp = soap12(t, r.url, "", buildEnvelope(v12, "", note("alice", "hi", "")))
	if resp.status != 200 || !strings.Contains(resp.body, "<mailbox>alice@lab.test</mailbox>") {
		t.Fatalf("HTTP %d\n%s", resp.status, resp.body)
	}
	if msgs, err := r.store.List("alice", "INBOX"); err != nil || len(msgs) == 0 {
		t.Fatalf("alice's INBOX: %v", err)
	} else if raw, _ := r.store.Read("alice", "INBOX", msgs[len(msgs)-1].UID); !strings.Contains(string(raw), "SOAP 1.2") ||
		!strings.Contains(string(raw), "Subject: A note left with the directory service\r\n") {
		t.Errorf("the SOAP 1.2 note:\n%s", raw)
	}
	r.events.Next(t, KindRequest)
	for _, to := range []string{"carol", "bob@example.com", "@lab.test", "bob@lab.test@x"} {
		resp = soap11(t, r.url, "", buildEnvelope(v11, "", note(to, "x", "")))
		if code, text, _ := faultOf([]byte(resp.body)); code != "soap:Client" || !strings.Contains(text, "alice@lab.test, bob@lab.test") {
			t.Errorf("to %q: %s %s", to, code, text)
		}
		wantAttrs(t, r.events.Next(t, KindRequest).Attrs, map[string]string{"reason": "unknown-recipient"})
	}
	resp = soap11(t, r.url, "", buildEnvelope(v11, "", note("bob", strings.Repeat("x", maxNoteLen+1), "")))
	if code, text, _ := faultOf([]byte(resp.body)); code != "soap:Client" || !strings.Contains(text, "at most 8192") {
		t.Errorf("a long note: %s %s", code, text)
	}
	r.events.Next(t, KindRequest)
}

// Requests at once are all answered, each with its own event.
func TestConcurrentRequests(t *testing.T) {
	r := start(t, "", false)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := []version{v11, v12}[i%2]
			req, _ := http.NewRequest("POST", r.url, strings.NewReader(buildEnvelope(v, "", lookup("www"))))
			req.Header.Set("Content-Type", v.contentType())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- resp.Status
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for range n {
		r.events.Next(t, KindRequest)
	}
}

// A client that sends its headers and then nothing does not hold the
// server: Shutdown gives up waiting at its deadline and closes the
// connection.
func TestShutdownWithIdleClient(t *testing.T) {
	p := loadLab(t, "")
	inst, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := inst.Endpoints().Find("ws", "tcp")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 100\r\n\r\n<a>", Path)
	// The request is being read once the server answers another one.
	if resp := soap11(t, "http://"+addr+Path, "", buildEnvelope(v11, "", lookup("www"))); resp.status != 200 {
		t.Fatalf("HTTP %d", resp.status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = inst.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("shutdown with a request in flight: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, rerr := c.Read(make([]byte, 1)); rerr == nil || errors.Is(rerr, os.ErrDeadlineExceeded) {
		t.Errorf("the idle client's connection is still open: %v", rerr)
	}
	if err2 := inst.Shutdown(context.Background()); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("a second shutdown: %v, want the first result %v", err2, err)
	}
}

func TestCredentials(t *testing.T) {
	r := start(t, "users: [{name: carol, password: secret1}]", false)
	cs := r.inst.Credentials()
	if len(cs) != 1 || cs[0].Kind != "ws" || cs[0].User != "carol" || cs[0].Secret != "secret1" || !strings.Contains(cs[0].Note, "LookupHostSecure") {
		t.Errorf("credentials %+v", cs)
	}
}
