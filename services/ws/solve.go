package ws

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"protolab/internal/service"
)

// solveTimeout bounds a solve step when ctx has no deadline.
const solveTimeout = 5 * time.Second

// solve performs one step as a learner's SOAP client would, with Go's
// net/http client.
func solve(ctx context.Context, eps service.Endpoints, step service.Step) error {
	ctx, cancel, _, err := service.StartSolve(ctx, "ws", actions, step, solveTimeout)
	defer cancel()
	if err != nil {
		return err
	}
	addr, ok := eps.Find("ws", "tcp")
	if !ok {
		return errors.New("ws: the SOAP service is not running")
	}
	url := "http://" + addr + Path
	if err := solveStep(ctx, url, step); err != nil {
		return fmt.Errorf("ws: %s: %w", step.Action, err)
	}
	return nil
}

func solveStep(ctx context.Context, url string, step service.Step) error {
	args := step.Args
	v := v11
	switch args["version"] {
	case "", "1.1":
	case "1.2":
		v = v12
	default:
		return fmt.Errorf("version %q: 1.1 or 1.2", args["version"])
	}
	switch step.Action {
	case "ws.wsdl":
		return fetchWSDL(ctx, url)
	case "ws.call":
		op := operationNamed(args["operation"])
		if op == nil || op.secure {
			return fmt.Errorf("operation %q: LookupHost or SendNote (ws.secure calls LookupHostSecure)", args["operation"])
		}
		params := map[string]string{"name": args["name"], "to": args["to"], "text": args["text"]}
		_, err := call(ctx, url, v, op, "", params)
		return err
	case "ws.fault":
		env := buildEnvelope(v, "", `<LookupHost xmlns="`+TargetNamespace+`"><name>www.lab.test</name></LookupHost>`)
		env = env[:len(env)/2] // cut short: not well-formed
		status, resp, err := post(ctx, url, v, "", env)
		if err != nil {
			return err
		}
		code, _, ok := faultOf(resp)
		want := map[version]string{v11: "soap:Client", v12: "env:Sender"}[v]
		if !ok || code != want {
			return fmt.Errorf("a malformed envelope got HTTP %d without a %s Fault", status, want)
		}
		return nil
	default: // ws.secure
		name := args["name"]
		if name == "" {
			name = "www.lab.test"
		}
		user, password := args["user"], args["password"]
		if user == "" {
			user, password = defaultUsers[0].Name, defaultUsers[0].Password
		}
		digest := false
		switch args["digest"] {
		case "", "false":
		case "true":
			digest = true
		default:
			return fmt.Errorf("digest %q: true or false", args["digest"])
		}
		header := usernameToken(user, password, digest, time.Now())
		_, err := call(ctx, url, v, operationNamed("LookupHostSecure"), header, map[string]string{"name": name})
		return err
	}
}

// fetchWSDL gets the contract and checks that it names the operations.
func fetchWSDL(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"?wsdl", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET ?wsdl: HTTP %d", resp.StatusCode)
	}
	root, f := readTree(body)
	if f != nil {
		return fmt.Errorf("the WSDL is not XML: %s", f.text)
	}
	if root.name.Space != "http://schemas.xmlsoap.org/wsdl/" || root.name.Local != "definitions" {
		return fmt.Errorf("the WSDL's root is %s, not wsdl:definitions", qname(root.name))
	}
	for _, op := range operations {
		if !bytes.Contains(body, []byte(`<wsdl:operation name="`+op.name+`">`)) {
			return fmt.Errorf("the WSDL does not declare %s", op.name)
		}
	}
	return nil
}

// call sends an operation with its arguments and checks the response.
func call(ctx context.Context, url string, v version, op *operation, header string, params map[string]string) (*element, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "<%s xmlns=\"%s\">", op.name, TargetNamespace)
	for _, a := range op.args {
		if params[a.name] != "" {
			fmt.Fprintf(&b, "<%s>%s</%s>", a.name, escape(params[a.name]), a.name)
		}
	}
	fmt.Fprintf(&b, "</%s>", op.name)
	status, resp, err := post(ctx, url, v, op.action(), buildEnvelope(v, header, b.String()))
	if err != nil {
		return nil, err
	}
	if code, text, ok := faultOf(resp); ok {
		return nil, fmt.Errorf("%s: Fault %s: %s", op.name, code, text)
	}
	env, _, f := parseEnvelope(resp, v)
	if f != nil || status != http.StatusOK || env.body.name.Local != op.name+"Response" {
		return nil, fmt.Errorf("%s: unexpected answer, HTTP %d:\n%s", op.name, status, resp)
	}
	return env.body, nil
}

// post sends an envelope as the version's HTTP binding says.
func post(ctx context.Context, url string, v version, action, env string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(env))
	if err != nil {
		return 0, nil, err
	}
	if v == v12 {
		ct := "application/soap+xml; charset=utf-8"
		if action != "" {
			ct += `; action="` + action + `"`
		}
		req.Header.Set("Content-Type", ct)
	} else {
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `"`+action+`"`)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// faultOf reads the code and text of a Fault response.
func faultOf(resp []byte) (code, text string, ok bool) {
	env, v, f := parseEnvelope(resp, v11)
	if f != nil || env.body.name.Space != v.ns() || env.body.name.Local != "Fault" {
		return "", "", false
	}
	fe := env.body
	if v == v11 {
		if c := fe.child("", "faultcode"); c != nil {
			code = strings.TrimSpace(c.text.String())
		}
		if s := fe.child("", "faultstring"); s != nil {
			text = s.text.String()
		}
		return code, text, true
	}
	if c := fe.child(nsSOAP12, "Code"); c != nil {
		if val := c.child(nsSOAP12, "Value"); val != nil {
			code = strings.TrimSpace(val.text.String())
		}
	}
	if r := fe.child(nsSOAP12, "Reason"); r != nil {
		if t := r.child(nsSOAP12, "Text"); t != nil {
			text = t.text.String()
		}
	}
	return code, text, true
}

// buildEnvelope wraps header blocks (may be empty) and a Body's content in an
// envelope of version v.
func buildEnvelope(v version, header, body string) string {
	p := v.prefix()
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<%s:Envelope xmlns:%s=\"%s\">\n", p, p, v.ns())
	if header != "" {
		fmt.Fprintf(&b, "  <%s:Header>\n    %s\n  </%s:Header>\n", p, header, p)
	}
	fmt.Fprintf(&b, "  <%s:Body>\n    %s\n  </%s:Body>\n</%s:Envelope>\n", p, body, p, p)
	return b.String()
}

// usernameToken builds a wsse:Security header block with a UsernameToken:
// the password in clear (PasswordText), or its digest with a fresh nonce
// and the creation time t.
func usernameToken(user, password string, digest bool, t time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<wsse:Security xmlns:wsse=\"%s\" xmlns:wsu=\"%s\">", nsWSSE, nsWSU)
	fmt.Fprintf(&b, "<wsse:UsernameToken><wsse:Username>%s</wsse:Username>", escape(user))
	if digest {
		nonce := make([]byte, 16)
		rand.Read(nonce)
		created := t.UTC().Format("2006-01-02T15:04:05Z")
		fmt.Fprintf(&b, "<wsse:Password Type=\"%s\">%s</wsse:Password>", passwordDigest, digestPassword(nonce, created, password))
		fmt.Fprintf(&b, "<wsse:Nonce EncodingType=\"%s\">%s</wsse:Nonce>", base64Binary, base64.StdEncoding.EncodeToString(nonce))
		fmt.Fprintf(&b, "<wsu:Created>%s</wsu:Created>", created)
	} else {
		fmt.Fprintf(&b, "<wsse:Password Type=\"%s\">%s</wsse:Password>", passwordText, escape(password))
	}
	b.WriteString("</wsse:UsernameToken></wsse:Security>")
	return b.String()
}
