package main

import (
	"encoding/json"
	"protolab/internal/explain"
	"strings"
	"testing"

	"protolab/internal/eventtest"
	"protolab/internal/progress"
	"protolab/internal/service"
)

// lab explain reads the journal of the state directory, running lab or
// not; bad flags are usage errors.
func TestExplainCommand(t *testing.T) {
	state := t.TempDir()
	if _, stderr, code := labRun(t, "explain", "--state", state); code != 1 || !strings.Contains(stderr, "no lab has run") {
		t.Fatalf("empty state: exit %d: %s", code, stderr)
	}
	st, err := progress.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetMeta("last_lab", "tcpip"); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := labRun(t, "explain", "--state", state); code != 1 || !strings.Contains(stderr, "nothing to explain yet") {
		t.Fatalf("empty journal: exit %d: %s", code, stderr)
	}
	evs := eventtest.Journal(
		eventtest.Make("echo", "udp.datagram", "127.0.0.1:5000", "server", "127.0.0.1:1007", "bytes", "5", "echoed", "true", "text", "ping", "transport", "udp"),
		eventtest.Make("dns", service.KindTCPAccept, "127.0.0.1:5001", "server", "127.0.0.1:1053"),
		eventtest.Make("dns", "dns.query", "127.0.0.1:5001", "qname", "www.lab.test.", "qtype", "A", "transport", "tcp"),
		eventtest.Make("dns", service.KindTCPClose, "127.0.0.1:5001", "server", "127.0.0.1:1053", "bytes_in", "55", "bytes_out", "71", "duration_ms", "2", "closed_by", "client"),
	)
	if err := st.Append("tcpip", evs); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out, stderr, code := labRun(t, "explain", "--state", state, "--lang", "en")
	for _, want := range []string{"Latest exchange in lab tcpip: DNS (RFC 1035), client 127.0.0.1:5001, server 127.0.0.1:1053",
		"OSI model (7 layers)", "TCP 5001 → 1053, closed by the client", "55 bytes from the client, 71 bytes back"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("lab explain (exit %d) lacks %q:\n%s%s", code, want, out, stderr)
		}
	}
	out, _, code = labRun(t, "explain", "--state", state, "--service", "echo", "--json", "--lang", "fr")
	var ex explain.Explanation
	if err := json.Unmarshal([]byte(out), &ex); code != 0 || err != nil {
		t.Fatalf("--json (exit %d): %v\n%s", code, err, out)
	}
	if ex.Service != "echo" || ex.Transport != "udp" || ex.Lang != "fr" || len(ex.Events) != 1 || ex.Layers[1].Name != "UDP" ||
		!strings.Contains(ex.Layers[1].Facts[1], "datagramme") {
		t.Errorf("--json: %+v", ex)
	}
	if _, stderr, code := labRun(t, "explain", "--state", state, "--service", "gopher"); code != 2 || !strings.Contains(stderr, `--service "gopher"`) {
		t.Errorf("unknown service: exit %d: %s", code, stderr)
	}
	if _, stderr, code := labRun(t, "explain", "--state", state, "--lang", "de"); code != 2 || !strings.Contains(stderr, "fr or en") {
		t.Errorf("unknown language: exit %d: %s", code, stderr)
	}
}
