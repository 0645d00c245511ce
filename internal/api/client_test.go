package api

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The round trips against the real console are tested in package console;
// these cover answers that do not come from a console.
func TestClientOtherServers(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/proxy/api/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<h1>Bad gateway</h1>"))
	})
	mux.HandleFunc("/json/api/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
	})
	mux.HandleFunc("/busy/api/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(Error{Error: "the lab is stopping"})
	})
	mux.HandleFunc("/garbage/api/reset", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "" {
			t.Errorf("reset sent %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		w.Write([]byte("not json"))
	})
	mux.HandleFunc("/ok/api/status", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(Status{Lab: "dns"})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	noop := func(string, json.RawMessage) error { return nil }

	tests := []struct {
		name    string
		call    func() error
		code    int // 0: not a *ResponseError
		errPart string
	}{
		{"proxy error page", func() error { _, err := (&Client{Base: srv.URL + "/proxy"}).Status(ctx); return err },
			502, "502 Bad Gateway"},
		{"not an event stream", func() error { return (&Client{Base: srv.URL + "/json"}).Events(ctx, noop) },
			0, "not an event stream"},
		{"stream refused", func() error { return (&Client{Base: srv.URL + "/busy"}).Events(ctx, noop) },
			503, "the lab is stopping"},
		{"bad answer", func() error { _, err := (&Client{Base: srv.URL + "/garbage"}).Reset(ctx); return err },
			0, "reading the answer"},
		{"no base", func() error { _, err := (&Client{}).Status(ctx); return err },
			0, "no address"},
		{"ok with trailing slash", func() error {
			st, err := (&Client{Base: srv.URL + "/ok/"}).Status(ctx)
			if err == nil && st.Lab != "dns" {
				return errors.New("wrong status")
			}
			return err
		}, 0, ""},
	}
	for _, tt := range tests {
		err := tt.call()
		if tt.errPart == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.errPart) {
			t.Errorf("%s: error %v, want it to contain %q", tt.name, err, tt.errPart)
			continue
		}
		var re *ResponseError
		if got := errors.As(err, &re); got != (tt.code != 0) || got && re.StatusCode != tt.code {
			t.Errorf("%s: error %#v, want status %d", tt.name, err, tt.code)
		}
	}
}

func TestClientNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := &Client{Base: "http://" + addr}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Status(ctx); err == nil || !strings.HasPrefix(err.Error(), "lab api: ") {
		t.Errorf("Status with nothing listening: %v", err)
	}
	if err := c.Events(ctx, nil); err == nil || !strings.HasPrefix(err.Error(), "lab api: ") {
		t.Errorf("Events with nothing listening: %v", err)
	}
}
