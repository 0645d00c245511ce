package echo

import (
	"context"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"protolab/internal/service"
)

func TestSolve(t *testing.T) {
	r := start(t, options{})
	eps := r.inst.Endpoints()
	port := strconv.Itoa(service.PortOf(mustResolve(t, r.tcp)))
	closed := freePort(t)
	tests := []struct {
		action  string
		args    map[string]string
		wantErr string
	}{
		{"echo.tcp", nil, ""},
		{"echo.tcp", map[string]string{"data": "une ligne\n"}, ""},
		{"echo.udp", nil, ""},
		{"echo.udp", map[string]string{"data": "un datagramme"}, ""},
		{"echo.scan", map[string]string{"ports": closed + "," + port}, ""},
		{"echo.scan", map[string]string{"ports": closed}, "no port of"},
		{"echo.scan", map[string]string{"ports": "0-10"}, "not a port number"},
		{"echo.scan", map[string]string{}, `argument "ports" is required`},
		{"echo.tcp", map[string]string{"colour": "red"}, `unknown argument "colour"`},
		{"echo.chargen", nil, `unknown action "echo.chargen"`},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			err := Spec.Solve(context.Background(), eps, service.Step{Action: tt.action, Args: tt.args})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("%v: %v", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("%v: error %v, want it to contain %q", tt.args, err, tt.wantErr)
			}
		})
	}
	// What the solve steps did is what a learner's nc does. The server
	// sees a scan's connection end a moment after the scan returns: count
	// until the last close has arrived (or a deadline passes).
	var tcpData, udpData, closes int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		for _, e := range r.events.All() { // consumes: counts add up
			switch {
			case e.Kind == KindTCP:
				tcpData++
			case e.Kind == KindDatagram && e.Attrs["echoed"] == "true":
				udpData++
			case e.Kind == service.KindTCPClose && e.Attrs["closed_by"] != "client":
				t.Fatalf("a solve connection was not closed by the client: %v", e.Attrs)
			case e.Kind == service.KindTCPClose:
				closes++
			}
		}
		if closes >= 3 || time.Now().After(deadline) {
			break
		}
	}
	if tcpData != 2 || udpData != 2 || closes != 3 {
		t.Errorf("%d echo.tcp, %d datagrams, %d closes; want 2, 2 and 3 (two echoes and a scan)", tcpData, udpData, closes)
	}
	if err := Spec.Solve(context.Background(), nil, service.Step{Action: "echo.tcp"}); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("without endpoints: %v", err)
	}
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := strconv.Itoa(service.PortOf(ln.Addr()))
	ln.Close()
	return p
}

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr string
	}{
		{"25", []int{25}, ""},
		{" 25, 53 ,110-112,53", []int{25, 53, 110, 111, 112}, ""},
		{"1-4096", nil, ""},
		{"1-4097", nil, "at most 4096"},
		{"1-4000,5000-5100", nil, "at most 4096"},
		{"65535", []int{65535}, ""},
		{"65536", nil, "not a port number"},
		{"0", nil, "not a port number"},
		{"20-10", nil, "from the lower port"},
		{"a-b", nil, "not a port number"},
		{"1-", nil, "not a port number"},
		{"-5", nil, "not a port number"},
		{"+80", nil, "not a port number"},
		{"", nil, "give ports"},
		{",,", nil, "give ports"},
	}
	for _, tt := range tests {
		got, err := parsePorts(tt.in)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: error %v, want %q", tt.in, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("%q: %v", tt.in, err)
		case tt.want != nil && !reflect.DeepEqual(got, tt.want):
			t.Errorf("%q: %v, want %v", tt.in, got, tt.want)
		}
	}
}
