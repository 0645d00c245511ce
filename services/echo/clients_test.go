package echo

import (
	"context"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"protolab/internal/service"
)

// The learner's own tool: OpenBSD netcat, over TCP, over UDP, and as a
// port scanner.
func TestNetcat(t *testing.T) {
	nc := tool(t, "nc")
	r := start(t, options{})
	host, port, _ := net.SplitHostPort(r.tcp)
	run := func(stdin string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, nc, args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("nc %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// -N: shut the socket down after the end of stdin, so the server sees
	// the end of stream, closes, and nc exits.
	if out := run("hello\nworld\n", "-N", host, port); out != "hello\nworld\n" {
		t.Fatalf("nc over TCP printed %q", out)
	}
	e := r.events.Next(t, KindTCP)
	if !strings.HasPrefix(e.Attrs["text"], "hello") {
		t.Errorf("echo.tcp %v", e.Attrs)
	}
	cl := r.events.Next(t, service.KindTCPClose)
	if cl.Attrs["closed_by"] != "client" || cl.Attrs["bytes_in"] != "12" || cl.Attrs["bytes_out"] != "12" {
		t.Errorf("tcp.close %v", cl.Attrs)
	}

	// -u: one datagram; -W 1: exit after one datagram back.
	if out := run("ping\n", "-u", "-W", "1", host, port); out != "ping\n" {
		t.Fatalf("nc over UDP printed %q", out)
	}
	d := r.events.Next(t, KindDatagram)
	if d.Attrs["bytes"] != "5" || d.Attrs["echoed"] != "true" || d.Attrs["text"] != "ping" {
		t.Errorf("udp.datagram %v", d.Attrs)
	}

	// -z: connect and close at once, as a port scan does.
	out := run("", "-zv", host, port)
	if !strings.Contains(out, "succeeded") {
		t.Fatalf("nc -z: %s", out)
	}
	acc := r.events.Next(t, service.KindTCPAccept)
	cl = r.events.Next(t, service.KindTCPClose)
	if acc.Attrs["port"] != port || cl.Attrs["bytes_in"] != "0" || cl.Attrs["bytes_out"] != "0" {
		t.Errorf("scan: %v then %v", acc.Attrs, cl.Attrs)
	}
}

// The README says what the service really has, and its examples work.
func TestReadme(t *testing.T) {
	text, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := func(name string) string {
		_, after, _ := strings.Cut(string(text), "\n## "+name+"\n")
		before, _, _ := strings.Cut(after, "\n## ")
		return before
	}
	var opts []string
	for _, m := range regexp.MustCompile("(?m)^- `([a-z_]+)`").FindAllStringSubmatch(section("Options"), -1) {
		opts = append(opts, m[1])
	}
	if !slices.Equal(opts, optionNames) {
		t.Errorf("README options %v, the service's %v", opts, optionNames)
	}
	events := section("Events")
	for _, e := range Spec.Events {
		if !strings.Contains(events, "- `"+e.Kind+"`") {
			t.Errorf("README does not document %s", e.Kind)
		}
		for _, a := range e.Attrs {
			if !strings.Contains(events, "`"+a.Name+"`") {
				t.Errorf("README does not document %s's %s", e.Kind, a.Name)
			}
		}
	}
	actions := section("Actions")
	for _, a := range Spec.Actions {
		if !strings.Contains(actions, "`"+a.Name+" {") {
			t.Errorf("README does not document %s", a.Name)
		}
	}

	tool(t, "nc")
	r := start(t, options{})
	_, port, _ := net.SplitHostPort(r.tcp)
	examples, ran := section("Examples"), 0
	for _, line := range strings.Split(examples, "\n") {
		if !strings.Contains(line, "printf") {
			continue // the interactive one and the scan of a range
		}
		ran++
		cmdline := strings.ReplaceAll(line, "1007", port)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, "sh", "-c", cmdline).CombinedOutput()
		cancel()
		if err != nil || string(out) != "hello\n" {
			t.Errorf("%s: %q %v", cmdline, out, err)
		}
	}
	if ran != 2 {
		t.Errorf("%d examples run, want the TCP one and the UDP one", ran)
	}
}
