package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os/exec"
	"protolab/internal/explain"
	"slices"
	"strings"
	"testing"
	"time"

	"protolab/internal/sandbox"
)

// runInput runs a tool with stdin and returns its output.
func runInput(t *testing.T, stdin, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// explainUntil runs `lab explain --json` (with extra flags) until ok
// accepts the explanation: the lab writes its journal a little after the
// exchange.
func (p *labProc) explainUntil(ok func(*explain.Explanation) bool, extra ...string) *explain.Explanation {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last string
	for {
		out, stderr, code := labRun(p.t, append([]string{"explain", "--json", "--state", p.state}, extra...)...)
		var ex explain.Explanation
		if code == 0 && json.Unmarshal([]byte(out), &ex) == nil && ok(&ex) {
			return &ex
		}
		last = out + stderr
		if time.Now().After(deadline) {
			p.t.Fatalf("lab explain %v never showed the exchange; last:\n%s", extra, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// facts joins a layer's summary, facts, hidden parts and transcript.
func facts(ex *explain.Explanation, name string) string {
	for _, l := range ex.Layers {
		if l.TCPIP == name {
			return l.Name + "\n" + l.Summary + "\n" + strings.Join(l.Facts, "\n") + "\n" + strings.Join(l.Hidden, "\n") + "\n" + l.Transcript
		}
	}
	return ""
}

func wantAll(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// tcpPorts lists the lab's TCP ports, the echo port last.
func (p *labProc) tcpPorts() []string {
	var ports []string
	var echo string
	for _, e := range p.eps {
		if e.Network != "tcp" {
			continue
		}
		_, port, _ := net.SplitHostPort(e.Addr)
		if e.Service == "echo" {
			echo = port
		} else if !slices.Contains(ports, port) {
			ports = append(ports, port)
		}
	}
	return append(ports, echo)
}

// The tcpip lab solved end to end by the learner's tools: nc over TCP and
// UDP, nc -z as a port scanner, dig over UDP then TCP; lab explain shows
// each exchange layer by layer.
func TestTCPIPLabWithRealClients(t *testing.T) {
	nc, dig := needTool(t, "nc"), needTool(t, "dig")
	p := startLabID(t, "tcpip", t.TempDir())
	host, port := p.addr("echo")

	// TCP: one line, echoed; -N ends our side after the input.
	if out := runInput(t, "hello lab\n", nc, "-N", host, port); out != "hello lab\n" {
		t.Fatalf("nc over TCP printed %q", out)
	}
	p.waitDone("tcp-echo")
	ex := p.explainUntil(func(ex *explain.Explanation) bool {
		return ex.Service == "echo" && ex.Transport == "tcp" && strings.Contains(facts(ex, "transport"), "closed by")
	})
	if ex.Link != "loopback" || ex.Family != "ipv4" || ex.Server != net.JoinHostPort(host, port) || len(ex.Events) != 3 {
		t.Errorf("TCP echo: link %s family %s server %s, %d events", ex.Link, ex.Family, ex.Server, len(ex.Events))
	}
	wantAll(t, "TCP echo, application", facts(ex, "application"), "Echo (RFC 862)", "text=hello lab", `C: "hello lab\n"`, `S: "hello lab\n"`)
	wantAll(t, "TCP echo, transport", facts(ex, "transport"), "→ server port "+port, "SYN, SYN-ACK, ACK completed",
		"10 bytes from the client, 10 bytes back", "closed by the client")
	wantAll(t, "TCP echo, link", facts(ex, "link"), "no link-layer frames")
	out, _, code := labRun(t, "explain", "--state", p.state, "--lang", "fr")
	if code != 0 {
		t.Fatalf("lab explain --lang fr: exit %d", code)
	}
	wantAll(t, "lab explain --lang fr", out, "Modèle OSI (7 couches)", "Modèle TCP/IP (4 couches)", "6 Présentation", "1 Physique",
		"fermée par le client", "boucle locale")

	// UDP: one datagram, back; -W 1 ends after one datagram received.
	if out := runInput(t, "ping\n", nc, "-u", "-W", "1", host, port); out != "ping\n" {
		t.Fatalf("nc over UDP printed %q", out)
	}
	p.waitDone("udp-echo")
	ex = p.explainUntil(func(ex *explain.Explanation) bool { return ex.Transport == "udp" && ex.Service == "echo" })
	wantAll(t, "UDP echo, transport", facts(ex, "transport"), "1 datagram(s) from this client port (payload: 5 bytes)", "no handshake")

	// The scan: nc -z on each of the lab's TCP ports, the echo port last.
	ports := p.tcpPorts()
	if len(ports) < 6 {
		t.Fatalf("the lab listens on %d TCP ports: %v", len(ports), ports)
	}
	out = runInput(t, "", nc, append([]string{"-zv", host}, ports...)...)
	if n := strings.Count(out, "succeeded"); n != len(ports) {
		t.Fatalf("nc -z: %d of %d ports open:\n%s", n, len(ports), out)
	}
	p.waitDone("port-scan")
	ex = p.explainUntil(func(ex *explain.Explanation) bool {
		return ex.Transport == "tcp" && strings.Contains(facts(ex, "application"), "no data")
	}, "--service", "echo")
	wantAll(t, "scan", facts(ex, "transport"), "0 bytes from the client, 0 bytes back")

	// The same DNS question over UDP, then over TCP.
	args := []string{"@" + host, "-p", p.portOf("dns"), "www.lab.test", "A"}
	if out := runTool(t, dig, args...); !strings.Contains(out, "192.0.2.80") {
		t.Fatalf("dig: %s", out)
	}
	ex = p.explainUntil(func(ex *explain.Explanation) bool { return ex.Service == "dns" && ex.Transport == "udp" })
	udpApp := facts(ex, "application")
	if out := runTool(t, dig, append(args, "+tcp")...); !strings.Contains(out, "192.0.2.80") {
		t.Fatalf("dig +tcp: %s", out)
	}
	p.waitDone("same-app-two-transports")
	ex = p.explainUntil(func(ex *explain.Explanation) bool {
		return ex.Service == "dns" && ex.Transport == "tcp" && strings.Contains(facts(ex, "transport"), "closed by")
	})
	wantAll(t, "DNS over UDP", udpApp, "DNS: dns.query qname=www.lab.test. qtype=A", "transport=udp")
	wantAll(t, "DNS over TCP", facts(ex, "application"), "DNS: dns.query qname=www.lab.test. qtype=A", "transport=tcp")
	wantAll(t, "DNS over TCP, transport", facts(ex, "transport"), "SYN, SYN-ACK, ACK completed", "closed by the client")

	st := p.status()
	for _, tk := range st.Tasks {
		if !tk.Done || tk.DoneAt == nil {
			t.Errorf("task %s not done", tk.ID)
		}
	}
	if st.Lab != "tcpip" || st.Done != 4 || st.Total != 4 {
		t.Errorf("status: lab %s, %d/%d done", st.Lab, st.Done, st.Total)
	}
}

// portOf is the TCP port of a listener.
func (p *labProc) portOf(listener string) string {
	_, port := p.addr(listener)
	return port
}

// A flood of half-open connections on the echo port is bounded: at most
// 64 are held, the others are closed at once; the lab keeps answering, and
// the echo port serves again once the flood goes.
func TestTCPIPHalfOpenFlood(t *testing.T) {
	p := startLabID(t, "tcpip", t.TempDir())
	host, port := p.addr("echo")
	const flood = 300
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range flood {
		c, err := net.Dial("tcp", net.JoinHostPort(host, port))
		if err != nil {
			t.Fatalf("connection %d: %v", len(conns)+1, err)
		}
		conns = append(conns, c)
	}
	// Each connection waits for data or the close, all at once (a read
	// after the deadline would not even look).
	deadline := time.Now().Add(3 * time.Second)
	results := make(chan error, flood)
	for _, c := range conns {
		go func() {
			c.SetReadDeadline(deadline)
			_, err := c.Read(make([]byte, 1))
			results <- err
		}()
	}
	held := 0
	for range conns {
		err := <-results
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			held++
		} else if err == nil {
			t.Fatal("a silent connection got data")
		}
	}
	if held != 64 {
		t.Fatalf("%d of %d silent connections held; want the limit, 64", held, flood)
	}
	// The lab still answers: its status, and DNS over TCP.
	if st := p.status(); !st.Running {
		t.Fatal("the lab stopped")
	}
	c, err := net.Dial("tcp", net.JoinHostPort(host, p.portOf("dns")))
	if err != nil {
		t.Fatalf("DNS over TCP during the flood: %v", err)
	}
	c.Close()
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	// Once the flood is gone, the echo port serves again.
	until := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", net.JoinHostPort(host, port))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write([]byte("back\n"))
		got, _ := io.ReadAll(io.LimitReader(c, 5))
		c.Close()
		if string(got) == "back\n" {
			break
		}
		if time.Now().After(until) {
			t.Fatalf("the echo port does not serve after the flood: %q", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// In the lab network, the same tools from the learner's side: lab explain
// shows the veth link with both MAC addresses. Then lab solve does it all
// again with its Go clients, from the learner's side too.
func TestTCPIPLabInSandbox(t *testing.T) {
	needTool(t, "nc")
	needTool(t, "dig")
	p := startSandboxed(t, "tcpip")
	srv := sandbox.ServerIPv4
	p.mustShell("printf 'hello veth\\n' | nc -N " + srv + " 7")
	p.waitDone("tcp-echo")
	ex := p.explainUntil(func(ex *explain.Explanation) bool { return ex.Service == "echo" && ex.Transport == "tcp" })
	if ex.Link != "veth" || !strings.HasPrefix(ex.Client, sandbox.LearnerIPv4+":") || ex.Server != srv+":7" {
		t.Errorf("in the lab network: link %s, client %s, server %s", ex.Link, ex.Client, ex.Server)
	}
	wantAll(t, "veth link", facts(ex, "link"), sandbox.LearnerLink, sandbox.LearnerMAC, sandbox.ServerLink, sandbox.ServerMAC)
	wantAll(t, "lab network", facts(ex, "internet"), "IPv4 "+sandbox.LearnerIPv4+" → "+srv)

	if out := p.mustShell("printf 'ping\\n' | nc -u -W 1 " + srv + " 7"); out != "ping\n" {
		t.Fatalf("nc -u in the lab network: %q", out)
	}
	p.waitDone("udp-echo")
	p.mustShell("nc -z " + srv + " 7 25 53 110 143 587")
	p.waitDone("port-scan")
	p.mustShell("dig @" + srv + " www.lab.test A +short && dig @" + srv + " +tcp www.lab.test A +short")
	p.waitDone("same-app-two-transports")
	ex = p.explainUntil(func(ex *explain.Explanation) bool { return ex.Service == "dns" && ex.Transport == "tcp" })
	if ex.Link != "veth" {
		t.Errorf("DNS over TCP in the lab network: link %s", ex.Link)
	}

	if out, stderr, code := labRun(t, "reset", "--state", p.state); code != 0 {
		t.Fatalf("lab reset: %s%s", out, stderr)
	}
	out, stderr, code := labRun(t, "solve", "tcpip", "--state", p.state)
	if code != 0 || !strings.Contains(out, "All 4 tasks solved") {
		t.Fatalf("lab solve in the lab network (exit %d):\n%s%s", code, out, stderr)
	}
}
