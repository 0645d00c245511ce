package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"protolab/bench/internal/benchkit"
	"protolab/internal/api"
)

// labID is the lab the class works on.
const labID = "mail"

// dashboardPrefix starts the line where lab serve prints the instructor's
// address: "Instructor dashboard: http://HOST:PORT/instructor?token=T".
const dashboardPrefix = "Instructor dashboard: "

// dashboard is where the instructor's pages are: the web address and the
// token.
type dashboard struct{ web, token string }

// parseDashboard reads lab serve's dashboard line.
func parseDashboard(line string) (dashboard, error) {
	u, ok := strings.CutPrefix(strings.TrimSpace(line), dashboardPrefix)
	if !ok {
		return dashboard{}, fmt.Errorf("not the dashboard line: %q", trimLine(line))
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" || p.Host == "" || p.Path != "/instructor" {
		return dashboard{}, fmt.Errorf("dashboard address %q: want http://HOST:PORT/instructor?token=...", trimLine(u))
	}
	tok := p.Query().Get("token")
	if tok == "" {
		return dashboard{}, fmt.Errorf("dashboard address %q has no token", trimLine(u))
	}
	return dashboard{web: "http://" + p.Host, token: tok}, nil
}

// lineFinder is lab serve's standard output: it passes everything on to
// the log and sends the dashboard's line, once, on found.
type lineFinder struct {
	log   io.Writer
	found chan string // buffer 1
	mu    sync.Mutex
	buf   []byte
	sent  bool
}

func (f *lineFinder) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.sent {
		f.buf = append(f.buf, p...)
		for {
			i := bytes.IndexByte(f.buf, '\n')
			if i < 0 {
				break
			}
			line := string(f.buf[:i])
			f.buf = f.buf[i+1:]
			if strings.HasPrefix(line, dashboardPrefix) {
				f.found <- line
				f.sent, f.buf = true, nil
				break
			}
		}
		if len(f.buf) > 64<<10 { // no line that long is the dashboard's
			f.buf = nil
		}
	}
	return f.log.Write(p)
}

// startServe runs `lab serve` for the roster on free ports with its
// output in logPath, and waits (up to limit) for the dashboard's address.
func startServe(ctx context.Context, bin, roster, state, logPath string, limit time.Duration) (*benchkit.Child, dashboard, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, dashboard{}, fmt.Errorf("lab serve: %w", err)
	}
	lf := &lineFinder{log: f, found: make(chan string, 1)}
	cmd := exec.Command(bin, serveArgs(roster, state)...)
	cmd.Stdout, cmd.Stderr = lf, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p, err := benchkit.StartChild(cmd, logPath)
	if err != nil {
		f.Close()
		return nil, dashboard{}, fmt.Errorf("lab serve: %w", err)
	}
	go func() { <-p.Done(); f.Close() }()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case line := <-lf.found:
		d, err := parseDashboard(line)
		if err != nil {
			p.Stop()
			return nil, dashboard{}, fmt.Errorf("lab serve: %w", err)
		}
		return p, d, nil
	case <-p.Done():
		return nil, dashboard{}, fmt.Errorf("lab serve exited (%v)%s", p.Err(), p.Tail())
	case <-timer.C:
		p.Stop()
		return nil, dashboard{}, fmt.Errorf("lab serve printed no dashboard address within %v%s", limit, p.Tail())
	case <-ctx.Done():
		p.Stop()
		return nil, dashboard{}, ctx.Err()
	}
}

// serveArgs is the command line of lab serve: the mail lab for the
// roster's class, every port free (auto), the web server on a free port of
// 127.0.0.1.
func serveArgs(roster, state string) []string {
	return []string{"serve", "--roster", roster, "--lab", labID, "--ports", "auto",
		"--web", "127.0.0.1:0", "--state", state, "--lang", "en"}
}

// labStatus runs `lab status --json` once. It asks from 127.0.0.1, which
// is no learner's address: the answer is the lab's own status, with its
// endpoints and event counters and without anyone's progress.
func labStatus(ctx context.Context, bin, state string) (*api.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "status", "--json", "--state", state)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("lab status --json: %w: %s", err, benchkit.FirstLine(stderr.String()))
	}
	var st api.Status
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		return nil, fmt.Errorf("lab status --json: %w", err)
	}
	return &st, nil
}

// mailEndpoints finds the lab's SMTP (the MX listener), POP3 and IMAP
// addresses.
func mailEndpoints(st *api.Status) (endpoints, error) {
	find := func(svc, listener string) string {
		for _, e := range st.Endpoints {
			if e.Service == svc && e.Network == "tcp" && e.Listener == listener {
				return e.Addr
			}
		}
		return ""
	}
	ep := endpoints{smtp: find("smtp", "smtp"), pop3: find("pop3", "pop3"), imap: find("imap", "imap")}
	var missing []string
	for i, a := range []string{ep.smtp, ep.pop3, ep.imap} {
		if a == "" {
			missing = append(missing, []string{"smtp", "pop3", "imap"}[i])
		}
	}
	if len(missing) > 0 {
		return ep, fmt.Errorf("lab status lists no %s endpoint", strings.Join(missing, ", "))
	}
	return ep, nil
}

// getJSON asks the dashboard's API (with the token) and decodes the
// answer into v.
func getJSON(ctx context.Context, d dashboard, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.web+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, benchkit.FirstLine(string(b)))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// classAccounts reads the learners' own accounts from the dashboard's
// export (JSON): user and password of each learner of ls.
func classAccounts(ctx context.Context, d dashboard, ls []learner) (map[string]account, error) {
	var c api.Class
	if err := getJSON(ctx, d, "/api/class/export?format=json", &c); err != nil {
		return nil, err
	}
	out := map[string]account{}
	for _, l := range c.Learners {
		if l.User != "" && l.Password != "" {
			out[l.ID] = account{user: l.User, pass: l.Password}
		}
	}
	for _, l := range ls {
		if _, ok := out[l.ID]; !ok {
			return nil, fmt.Errorf("the dashboard's export lists no account for %s", l.ID)
		}
	}
	return out, nil
}

// buildLab builds ./cmd/lab of the module around the working directory.
func buildLab(ctx context.Context, out string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	mod, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Path}} {{.Dir}}").Output()
	if err != nil {
		return fmt.Errorf("go list -m: %w", err)
	}
	path, dir, _ := strings.Cut(strings.TrimSpace(string(mod)), " ")
	if path != "protolab" {
		return fmt.Errorf("run classbench inside the protolab module (the module here is %q)", path)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "build", "-C", dir, "-o", out, "./cmd/lab")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/lab: %w: %s", err, benchkit.FirstLine(stderr.String()))
	}
	return nil
}

// labBinary is the lab to measure: -lab's, else ./cmd/lab built into work.
func labBinary(ctx context.Context, flagLab, work string) (string, error) {
	if flagLab == "" {
		bin := filepath.Join(work, "lab")
		return bin, buildLab(ctx, bin)
	}
	bin, err := filepath.Abs(flagLab)
	if err == nil && !benchkit.IsExec(bin) {
		err = errors.New("not an executable file")
	}
	if err != nil {
		return "", fmt.Errorf("-lab %s: %w", flagLab, err)
	}
	return bin, nil
}
