package main

// Checks of docker/: no Docker engine runs where the tests run, so the
// Dockerfiles are read here (instructions, stages, user, health check) and
// the learner's entry point script is run with sh.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dockerInstr is one instruction of a Dockerfile.
type dockerInstr struct {
	Line  int      // where it starts
	Cmd   string   // upper case: FROM, RUN...
	Flags []string // --from=build, --interval=10s...
	Args  []string // words, or the items of the exec (JSON) form
	JSON  bool     // the exec form
	Raw   string   // the arguments as written, continuation lines joined
}

// parseDockerfile reads a Dockerfile as docker build does for what these
// tests need: comments and blank lines skipped (also inside a continued
// instruction), lines ending in a backslash continued, leading --flags
// taken apart, and the exec form ["a", "b"] read as JSON.
func parseDockerfile(src []byte) ([]dockerInstr, error) {
	var out []dockerInstr
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var cur strings.Builder
	start := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(line)
		in, err := parseInstr(cur.String(), start)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dockerfile: %w", err)
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("dockerfile: line %d: the last instruction ends with a backslash", start)
	}
	return out, nil
}

func parseInstr(s string, line int) (dockerInstr, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return dockerInstr{}, fmt.Errorf("dockerfile: line %d: an instruction is missing", line)
	}
	cmd := strings.ToUpper(fields[0])
	for _, r := range cmd {
		if r < 'A' || r > 'Z' {
			return dockerInstr{}, fmt.Errorf("dockerfile: line %d: %q is not an instruction", line, fields[0])
		}
	}
	in := dockerInstr{Line: line, Cmd: cmd}
	rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), fields[0]))
	// Flags come first, except in RUN, CMD and ENTRYPOINT's shell form where
	// "--" belongs to the command (RUN has flags of its own: --mount...).
	for strings.HasPrefix(rest, "--") && cmd != "CMD" && cmd != "ENTRYPOINT" {
		f, after, _ := strings.Cut(rest, " ")
		in.Flags = append(in.Flags, f)
		rest = strings.TrimSpace(after)
	}
	in.Raw = rest
	if cmd == "HEALTHCHECK" {
		// HEALTHCHECK [flags] CMD ...: the command is an instruction of its own.
		if rest == "NONE" {
			in.Args = []string{"NONE"}
			return in, nil
		}
		sub, err := parseInstr(rest, line)
		if err != nil || sub.Cmd != "CMD" {
			return dockerInstr{}, fmt.Errorf("dockerfile: line %d: HEALTHCHECK wants CMD or NONE", line)
		}
		in.Args, in.JSON, in.Raw = sub.Args, sub.JSON, sub.Raw
		return in, nil
	}
	if strings.HasPrefix(rest, "[") {
		var items []string
		if err := json.Unmarshal([]byte(rest), &items); err == nil {
			in.Args, in.JSON = items, true
			return in, nil
		}
	}
	in.Args = strings.Fields(rest)
	return in, nil
}

// dockerStage is one FROM and what follows it.
type dockerStage struct {
	Base, Name string
	Instrs     []dockerInstr
}

// stages splits a Dockerfile's instructions at each FROM; what comes before
// the first (ARG only) is returned apart.
func stages(instrs []dockerInstr) (global []dockerInstr, out []dockerStage, err error) {
	for _, in := range instrs {
		if in.Cmd == "FROM" {
			st := dockerStage{}
			switch {
			case len(in.Args) == 1:
				st.Base = in.Args[0]
			case len(in.Args) == 3 && strings.EqualFold(in.Args[1], "AS"):
				st.Base, st.Name = in.Args[0], in.Args[2]
			default:
				return nil, nil, fmt.Errorf("line %d: FROM image [AS name], found %q", in.Line, in.Raw)
			}
			out = append(out, st)
			continue
		}
		if len(out) == 0 {
			if in.Cmd != "ARG" {
				return nil, nil, fmt.Errorf("line %d: %s before the first FROM (only ARG may come first)", in.Line, in.Cmd)
			}
			global = append(global, in)
			continue
		}
		out[len(out)-1].Instrs = append(out[len(out)-1].Instrs, in)
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("no FROM")
	}
	return global, out, nil
}

func readDockerfile(t *testing.T, name string) []dockerStage {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "docker", name))
	if err != nil {
		t.Fatal(err)
	}
	instrs, err := parseDockerfile(src)
	if err != nil {
		t.Fatalf("docker/%s: %v", name, err)
	}
	_, st, err := stages(instrs)
	if err != nil {
		t.Fatalf("docker/%s: %v", name, err)
	}
	return st
}

func find(st dockerStage, cmd string) []dockerInstr {
	var out []dockerInstr
	for _, in := range st.Instrs {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func flag(in dockerInstr, name string) (string, bool) {
	for _, f := range in.Flags {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func TestServerDockerfile(t *testing.T) {
	st := readDockerfile(t, "Dockerfile")
	if len(st) < 2 {
		t.Fatalf("%d stages: want a build stage and a final one", len(st))
	}
	build, final := st[0], st[len(st)-1]
	if build.Name == "" || !strings.HasPrefix(build.Base, "golang:") {
		t.Errorf("the build stage is %+v, want a named golang stage", build)
	}
	var compiles bool
	for _, in := range find(build, "RUN") {
		if strings.Contains(in.Raw, "go build") {
			compiles = strings.Contains(in.Raw, "CGO_ENABLED=0") && strings.Contains(in.Raw, "./cmd/lab")
		}
	}
	if !compiles {
		t.Error("the build stage does not build ./cmd/lab with CGO_ENABLED=0 (a static binary)")
	}
	if final.Base != "scratch" && !strings.Contains(final.Base, "distroless") {
		t.Errorf("the final stage is FROM %s: want an image with nothing but the binary", final.Base)
	}
	if len(find(final, "RUN")) > 0 {
		t.Error("the final stage runs commands: it has no shell")
	}
	copied := false
	for _, in := range find(final, "COPY") {
		from, ok := flag(in, "from")
		if !ok {
			t.Errorf("line %d: the final stage copies from the build context: %q", in.Line, in.Raw)
		}
		copied = copied || (from == build.Name)
	}
	if !copied {
		t.Errorf("the final stage copies nothing from the %q stage", build.Name)
	}

	users := find(final, "USER")
	if len(users) == 0 {
		t.Fatal("no USER in the final stage: it would run as root")
	}
	user := users[len(users)-1].Args
	if len(user) != 1 || slices.Contains([]string{"root", "0", "0:0", "root:root"}, user[0]) || strings.HasPrefix(user[0], "0:") {
		t.Errorf("USER %v: want a user that is not root", user)
	}
	// USER must come before what runs: the entry point and the health check.
	userLine := users[len(users)-1].Line
	for _, cmd := range []string{"ENTRYPOINT", "CMD", "HEALTHCHECK"} {
		for _, in := range find(final, cmd) {
			if in.Line < userLine {
				t.Errorf("line %d: %s before USER (line %d)", in.Line, cmd, userLine)
			}
		}
	}

	hc := find(final, "HEALTHCHECK")
	if len(hc) != 1 || !hc[0].JSON || !slices.Equal(hc[0].Args, []string{"/usr/local/bin/lab", "healthz"}) {
		t.Fatalf("HEALTHCHECK %+v: want CMD [\"/usr/local/bin/lab\", \"healthz\"]", hc)
	}
	for _, f := range []string{"interval", "timeout", "start-period", "retries"} {
		if _, ok := flag(hc[0], f); !ok {
			t.Errorf("HEALTHCHECK has no --%s", f)
		}
	}
	if v, _ := flag(hc[0], "timeout"); v != "5s" {
		t.Errorf("HEALTHCHECK --timeout=%s: lab healthz allows 2s for the API and 2s for a connection, so want 5s", v)
	}

	ep := find(final, "ENTRYPOINT")
	if len(ep) != 1 || !ep[0].JSON || !slices.Equal(ep[0].Args, []string{"/usr/local/bin/lab"}) {
		t.Errorf("ENTRYPOINT %+v: want the exec form of the lab binary", ep)
	}
	cmd := find(final, "CMD")
	if len(cmd) != 1 || !cmd[0].JSON || len(cmd[0].Args) == 0 || cmd[0].Args[0] != "start" {
		t.Errorf("CMD %+v: want the exec form of a lab start", cmd)
	}
	env := map[string]string{}
	for _, in := range find(final, "ENV") {
		for _, kv := range in.Args {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	if env["LAB_STATE_DIR"] == "" {
		t.Error("no ENV LAB_STATE_DIR: lab healthz and lab status would not find the running lab")
	}
	vols := find(final, "VOLUME")
	if len(vols) != 1 || !slices.Equal(vols[0].Args, []string{env["LAB_STATE_DIR"]}) {
		t.Errorf("VOLUME %+v: want the state directory %s", vols, env["LAB_STATE_DIR"])
	}
	exposed := map[string]bool{}
	for _, in := range find(final, "EXPOSE") {
		for _, p := range in.Args {
			exposed[p] = true
		}
	}
	for _, p := range []string{"53/udp", "53/tcp", "67/udp", "25/tcp", "587/tcp", "110/tcp", "143/tcp", "161/udp", "80/tcp", "8080/tcp"} {
		if !exposed[p] {
			t.Errorf("EXPOSE lacks %s", p)
		}
	}
}

func TestLearnerDockerfile(t *testing.T) {
	st := readDockerfile(t, "learner.Dockerfile")
	if len(st) != 1 || !strings.HasPrefix(st[0].Base, "debian:") || !strings.HasSuffix(st[0].Base, "-slim") {
		t.Fatalf("stages %+v: want one, FROM debian:...-slim", st)
	}
	var install string
	for _, in := range find(st[0], "RUN") {
		if strings.Contains(in.Raw, "apt-get install") {
			install = in.Raw
		}
	}
	for _, want := range []string{"apt-get update", "--no-install-recommends", "rm -rf /var/lib/apt/lists/*"} {
		if !strings.Contains(install, want) {
			t.Errorf("the install step lacks %q: %s", want, install)
		}
	}
	// The real clients a learner uses (Debian packages).
	words := strings.Fields(install)
	for _, pkg := range []string{"bind9-dnsutils", "knot-dnsutils", "swaks", "curl", "snmp", "udhcpc", "netcat-openbsd", "telnet", "iproute2"} {
		if !slices.Contains(words, pkg) {
			t.Errorf("the learner image does not install %s", pkg)
		}
	}
	ep := find(st[0], "ENTRYPOINT")
	if len(ep) != 1 || !ep[0].JSON || len(ep[0].Args) != 1 {
		t.Fatalf("ENTRYPOINT %+v: want the exec form of the entry point script", ep)
	}
	copied := false
	for _, in := range find(st[0], "COPY") {
		copied = copied || (len(in.Args) == 2 && in.Args[0] == "docker/learner-entrypoint.sh" && in.Args[1] == ep[0].Args[0])
	}
	if !copied {
		t.Errorf("the entry point %s is not docker/learner-entrypoint.sh", ep[0].Args[0])
	}
}

// TestDockerfilesTakeNothingFromOutside: no ADD of a URL or a repository,
// and every COPY from the build context names something that exists and
// that .dockerignore keeps.
func TestDockerfilesTakeNothingFromOutside(t *testing.T) {
	ignore, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(ignore), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, strings.TrimPrefix(l, "/"))
		}
	}
	ignored := func(path string) string {
		for _, p := range patterns {
			parts := strings.Split(path, "/")
			for i := range parts {
				prefix := strings.Join(parts[:i+1], "/")
				if ok, _ := filepath.Match(p, prefix); ok {
					return p
				}
				if rest, ok := strings.CutPrefix(p, "**/"); ok {
					if ok, _ := filepath.Match(rest, parts[i]); ok {
						return p
					}
				}
			}
		}
		return ""
	}
	for _, name := range []string{"Dockerfile", "learner.Dockerfile"} {
		for _, st := range readDockerfile(t, name) {
			for _, in := range st.Instrs {
				if in.Cmd == "ADD" {
					t.Errorf("docker/%s:%d: ADD %s: use COPY (ADD fetches URLs and unpacks archives)", name, in.Line, in.Raw)
				}
				if in.Cmd != "COPY" {
					continue
				}
				if _, ok := flag(in, "from"); ok {
					continue
				}
				for _, src := range in.Args[:len(in.Args)-1] {
					src = strings.TrimPrefix(src, "./")
					if src == "." {
						continue
					}
					if strings.Contains(src, "://") {
						t.Errorf("docker/%s:%d: COPY of a URL %s", name, in.Line, src)
					}
					if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
						t.Errorf("docker/%s:%d: COPY %s: %v", name, in.Line, src, err)
					}
					if p := ignored(src); p != "" {
						t.Errorf("docker/%s:%d: COPY %s, which .dockerignore leaves out (%s)", name, in.Line, src, p)
					}
				}
			}
		}
	}
	for _, needed := range []string{"go.mod", "go.sum", "cmd/lab/main.go", "labs/dns/lab.yaml", "internal/console/page.html", "docker/learner-entrypoint.sh"} {
		if p := ignored(needed); p != "" {
			t.Errorf(".dockerignore leaves out %s (%s), which the build needs", needed, p)
		}
	}
	for _, out := range []string{".git", "cmd/lab/main_test.go", "bench/dhcpbench"} {
		if ignored(out) == "" {
			t.Errorf(".dockerignore keeps %s", out)
		}
	}
}

func TestParseDockerfile(t *testing.T) {
	src := "# syntax comment\nARG V=1\n\nFROM golang:${V} AS build\nRUN a \\\n  # a comment inside\n  && b\nCOPY --from=build --chown=1:1 /x /y\n" +
		"HEALTHCHECK --interval=5s CMD [\"/lab\", \"healthz\"]\nCMD [\"start\", \"dns\"]\nENTRYPOINT --not-a-flag\n"
	got, err := parseDockerfile([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []dockerInstr{
		{Line: 2, Cmd: "ARG", Args: []string{"V=1"}, Raw: "V=1"},
		{Line: 4, Cmd: "FROM", Args: []string{"golang:${V}", "AS", "build"}, Raw: "golang:${V} AS build"},
		{Line: 5, Cmd: "RUN", Args: []string{"a", "&&", "b"}, Raw: "a    && b"},
		{Line: 8, Cmd: "COPY", Flags: []string{"--from=build", "--chown=1:1"}, Args: []string{"/x", "/y"}, Raw: "/x /y"},
		{Line: 9, Cmd: "HEALTHCHECK", Flags: []string{"--interval=5s"}, Args: []string{"/lab", "healthz"}, JSON: true, Raw: `["/lab", "healthz"]`},
		{Line: 10, Cmd: "CMD", Args: []string{"start", "dns"}, JSON: true, Raw: `["start", "dns"]`},
		{Line: 11, Cmd: "ENTRYPOINT", Args: []string{"--not-a-flag"}, Raw: "--not-a-flag"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d instructions, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Line != w.Line || g.Cmd != w.Cmd || !slices.Equal(g.Flags, w.Flags) || !slices.Equal(g.Args, w.Args) || g.JSON != w.JSON || g.Raw != w.Raw {
			t.Errorf("instruction %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	global, st, err := stages(got)
	if err != nil || len(global) != 1 || len(st) != 1 || st[0].Name != "build" || len(st[0].Instrs) != 5 {
		t.Errorf("stages: %v, %+v, %+v", err, global, st)
	}

	for _, bad := range []struct{ src, want string }{
		{"FROM a\nRUN b \\\n", "ends with a backslash"},
		{"FR0M a\n", "not an instruction"},
		{"FROM a\nHEALTHCHECK --interval=1s RUN x\n", "HEALTHCHECK wants CMD"},
		{"FROM a\nHEALTHCHECK\n", "HEALTHCHECK wants CMD"},
	} {
		if _, err := parseDockerfile([]byte(bad.src)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: err = %v, want %q", bad.src, err, bad.want)
		}
	}
	for _, bad := range []struct{ src, want string }{
		{"RUN x\nFROM a\n", "before the first FROM"},
		{"ARG x\n", "no FROM"},
		{"FROM a b\n", "FROM image [AS name]"},
	} {
		instrs, err := parseDockerfile([]byte(bad.src))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := stages(instrs); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: err = %v, want %q", bad.src, err, bad.want)
		}
	}
}

func FuzzParseDockerfile(f *testing.F) {
	for _, name := range []string{"Dockerfile", "learner.Dockerfile"} {
		if src, err := os.ReadFile(filepath.Join(repoRoot, "docker", name)); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte("FROM a\nRUN b \\\n # c\n d\nHEALTHCHECK NONE\nCMD [\"x\"\n"))
	f.Add([]byte("\\\n"))
	f.Add([]byte("AAAAAAA\nHEALTHCHECK"))
	f.Fuzz(func(t *testing.T, src []byte) {
		instrs, err := parseDockerfile(src)
		if err != nil {
			return
		}
		for _, in := range instrs {
			if in.Cmd == "" || in.Line < 1 {
				t.Fatalf("an instruction without a name or a line: %+v", in)
			}
		}
		stages(instrs)
	})
}

// entrypoint runs docker/learner-entrypoint.sh with sh.
func entrypoint(t *testing.T, script string, env []string, args ...string) (string, error) {
	t.Helper()
	sh := needTool(t, "sh")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sh, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestLearnerEntrypoint(t *testing.T) {
	script, err := filepath.Abs(filepath.Join(repoRoot, "docker", "learner-entrypoint.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(needTool(t, "sh"), "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("sh -n: %v\n%s", err, out)
	}
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(src), "#!/bin/sh\n") {
		t.Error("the entry point does not start with #!/bin/sh")
	}

	t.Run("welcome", func(t *testing.T) {
		out, err := entrypoint(t, script, []string{"LAB_LEARNER=learner-07", "LAB_SERVER=198.18.0.1", "LAB_IFACE=lo"}, "--welcome")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, want := range []string{"you are learner-07", "The lab server is 198.18.0.1", "dig www.lab.test", "udhcpc -i lo -f -q"} {
			if !strings.Contains(out, want) {
				t.Errorf("the welcome does not say %q:\n%s", want, out)
			}
		}
	})

	t.Run("a command", func(t *testing.T) {
		out, err := entrypoint(t, script, nil, "echo", "hello from the lab")
		if err != nil || out != "hello from the lab\n" {
			t.Fatalf("got %q, %v", out, err)
		}
		var ee *exec.ExitError
		if _, err := entrypoint(t, script, nil, "sh", "-c", "exit 3"); !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Errorf("the command's exit status is lost: %v", err)
		}
	})

	t.Run("udhcpc's script", func(t *testing.T) {
		link := filepath.Join(t.TempDir(), "default.script")
		if err := os.Symlink(script, link); err != nil {
			t.Fatal(err)
		}
		lease := []string{"interface=lo", "ip=192.0.2.100", "mask=24", "serverid=192.0.2.1", "lease=120", "router=192.0.2.1", "dns=192.0.2.1", "domain=lab.test"}
		out, err := entrypoint(t, link, lease, "bound")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, want := range []string{"lease (bound): 192.0.2.100/24 from 192.0.2.1 for 120 s", "domain lab.test", "shown, not applied"} {
			if !strings.Contains(out, want) {
				t.Errorf("bound does not say %q:\n%s", want, out)
			}
		}
		for _, tt := range []struct{ event, want string }{
			{"deconfig", ""},
			{"leasefail", "no DHCP server answered"},
			{"nak", "refused (NAK): wrong-subnet"},
		} {
			out, err := entrypoint(t, link, []string{"interface=lo", "message=wrong-subnet"}, tt.event)
			if err != nil || (tt.want == "" && out != "") || !strings.Contains(out, tt.want) {
				t.Errorf("%s: got %q, %v; want %q", tt.event, out, err, tt.want)
			}
		}
	})

	t.Run("stops at once when asked", func(t *testing.T) {
		cmd := exec.Command(needTool(t, "sh"), script)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatal("the entry point did not stop within 5s of SIGTERM")
		}
	})
}
