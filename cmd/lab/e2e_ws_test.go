package main

// The web services lab solved end to end with curl alone: the exact
// commands of the hints (SOAP 1.1), then, after a reset, envelopes in files
// as the lesson writes them (SOAP 1.2); near misses tick nothing, and bad
// input gets a Fault without hurting the lab.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"protolab/internal/catalog"
	"protolab/labs"
)

// wsHintWants are what the answer to each task's last hint must show.
var wsHintWants = []struct{ task, want string }{
	{"wsdl", `(?s)<wsdl:definitions name="Directory".*<soap:address location="http://127\.0\.0\.1:\d+/directory"/>`},
	{"soap-call", `(?s)<LookupHostResponse xmlns="urn:lab.test:directory">\s*<name>www\.lab\.test</name>\s*<address>192\.0\.2\.80</address>`},
	{"soap-fault", `(?s)^HTTP/1\.1 500 .*<faultcode>soap:Client</faultcode>`},
	{"ws-security", `(?s)<LookupHostSecureResponse .*<text>flag=tournesol</text>`},
}

// Files of the lesson's SOAP 1.2 requests.
const (
	wsLookup12 = `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">
  <env:Body>
    <LookupHost xmlns="urn:lab.test:directory"><name>mail.lab.test</name></LookupHost>
  </env:Body>
</env:Envelope>
`
	wsSecure12 = `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">
  <env:Header>
    <wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" env:mustUnderstand="true">
      <wsse:UsernameToken>
        <wsse:Username>alice</wsse:Username>
        <wsse:Password>wonderland</wsse:Password>
      </wsse:UsernameToken>
    </wsse:Security>
  </env:Header>
  <env:Body>
    <LookupHostSecure xmlns="urn:lab.test:directory"><name>www.lab.test</name></LookupHostSecure>
  </env:Body>
</env:Envelope>
`
	wsNote12 = `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">
  <env:Body>
    <SendNote xmlns="urn:lab.test:directory"><to>bob@lab.test</to><text>The printer is back.</text></SendNote>
  </env:Body>
</env:Envelope>
`
)

func TestWSLabWithCurl(t *testing.T) {
	curl := needTool(t, "curl")
	p := startLabID(t, "ws", t.TempDir())
	h, port := p.addr("ws")
	url := "http://" + h + ":" + port + "/directory"
	if out := p.out.String(); !strings.Contains(out, "alice / wonderland") || !strings.Contains(out, "LookupHostSecure") {
		t.Fatalf("the header does not show the WS-Security account:\n%s", out)
	}
	dir := t.TempDir()
	file := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return "@" + path
	}
	soap12 := []string{"-sS", "-i", url, "-H", "Content-Type: application/soap+xml; charset=utf-8"}
	curl12 := func(want, data string, extra ...string) string {
		t.Helper()
		return mustTool(t, want, "", curl, append(append(soap12, "--data-binary", data), extra...)...)
	}

	// Near misses: a Fault is no call, an unauthenticated call is no
	// secure call, a wrong media type is no malformed envelope. The WSDL
	// fetched afterwards is the marker: once it ticks, the near misses
	// before it have been checked.
	curl12("400 Bad Request", file("unknown.xml", strings.Replace(wsLookup12, "mail.lab.test", "nosuchhost.lab.test", 1)))
	curl12("wsse:FailedAuthentication", file("nosec.xml", strings.Replace(wsSecure12, "wonderland", "alice", 1)))
	mustTool(t, "415 Unsupported Media Type", "", curl, "-sS", "-i", url, "-d", "<a/>")
	mustTool(t, "<wsdl:definitions", "", curl, "-sS", url+"?WSDL")
	p.waitDone("wsdl")
	if got, want := p.doneSet(), map[string]bool{"wsdl": true}; !equalSets(got, want) {
		t.Fatalf("after the near misses, done = %v, want %v", got, want)
	}

	// SOAP 1.1: the exact command of each task's last hint, run by a shell.
	lab, err := labs.LoadBuiltin("ws", catalog.New())
	if err != nil {
		t.Fatal(err)
	}
	sh := needTool(t, "sh")
	for _, w := range wsHintWants {
		task, ok := lab.Task(w.task)
		if !ok {
			t.Fatalf("no task %s", w.task)
		}
		cmd := labs.RenderHint(task.Hints[len(task.Hints)-1].In("en"), p.eps)
		out, code := tool(t, "", sh, "-c", cmd)
		if code != 0 || !regexp.MustCompile(w.want).MatchString(out) {
			t.Fatalf("%s: %s\nexit %d, want %q in:\n%s", w.task, cmd, code, w.want, out)
		}
		p.waitDone(w.task)
	}
	allDone(t, p)

	// SOAP 1.2 from files, after a reset.
	mustTool(t, "cleared", "", labBin, "reset", "--state", p.state)
	if st := p.status(); st.Done != 0 {
		t.Fatalf("after reset %d tasks are done", st.Done)
	}
	p.mu.Lock()
	for k := range p.done {
		p.done[k] = false
	}
	p.mu.Unlock()
	mustTool(t, `<soap12:address location="`+url+`"/>`, "", curl, "-sS", url+"?wsdl")
	p.waitDone("wsdl")
	curl12("<address>2001:db8:89::25</address>", file("lookup12.xml", wsLookup12),
		"-H", `Content-Type: application/soap+xml; charset=utf-8; action="urn:lab.test:directory/LookupHost"`)
	p.waitDone("soap-call")
	out := curl12("<env:Value>env:Sender</env:Value>", file("cut12.xml", wsLookup12[:60]))
	if !strings.HasPrefix(out, "HTTP/1.1 400") {
		t.Fatalf("a malformed SOAP 1.2 envelope: want HTTP 400:\n%s", out)
	}
	p.waitDone("soap-fault")
	curl12("<name>www.lab.test</name>", file("secure12.xml", wsSecure12))
	p.waitDone("ws-security")
	curl12("<mailbox>bob@lab.test</mailbox>", file("note12.xml", wsNote12))
	allDone(t, p)

	// Bad input: a Fault each time, and the lab goes on.
	big := strings.Repeat("<a>", 40000)
	mustTool(t, "413 Request Entity Too Large", "", curl, "-sS", "-i", url, "-H", "Content-Type: text/xml", "--data-binary", file("big.xml", big))
	mustTool(t, "nested more than 32 deep", "", curl, "-sS", "-i", url, "-H", "Content-Type: text/xml", "--data-binary", file("deep.xml", strings.Repeat("<a>", 1000)))
	xxe := `<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><LookupHost xmlns="urn:lab.test:directory"><name>&x;</name></LookupHost></soap:Body></soap:Envelope>`
	out = mustTool(t, "<faultcode>soap:Client</faultcode>", "", curl, "-sS", url, "-H", "Content-Type: text/xml", "--data-binary", file("xxe.xml", xxe))
	if !strings.Contains(out, "DOCTYPE") || strings.Contains(out, "root:") {
		t.Fatalf("an external entity:\n%s", out)
	}
	if st := p.status(); !st.Running || st.Done != st.Total {
		t.Fatalf("after bad input: running %v, %d/%d done", st.Running, st.Done, st.Total)
	}
}
