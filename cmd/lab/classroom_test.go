package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"protolab/internal/catalog"
)

// repoRoot is the source tree's root, from this package's directory.
const repoRoot = "../.."

// TestCheckedInClassroomIsGenerated keeps docker/compose.yaml, docker/.env
// and docker/roster.yaml equal to what `lab classroom compose --learners 3
// --out docker --source .` writes at the root of the tree.
func TestCheckedInClassroomIsGenerated(t *testing.T) {
	c := &cli{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }, reg: catalog.New()}
	plan, err := c.classroomPlan(&classroomComposeOptions{learners: 3, out: filepath.Join(repoRoot, "docker"), source: repoRoot,
		subnet: defaultClassSubnet, class: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"compose.yaml": composeFile(plan), ".env": envFile(plan), "roster.yaml": rosterFile(plan.roster)} {
		got, err := os.ReadFile(filepath.Join(repoRoot, "docker", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("docker/%s differs from what lab classroom compose writes; run, at the root of the tree:\n"+
				"  go run ./cmd/lab classroom compose --learners 3 --out docker --source . --force\n--- generated:\n%s", name, want)
		}
	}
	checkCompose(t, filepath.Join(repoRoot, "docker", "compose.yaml"), plan)
	composeConfig(t, filepath.Join(repoRoot, "docker", "compose.yaml"))
	r, err := os.ReadFile(filepath.Join(repoRoot, "docker", "roster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseRoster(r, "docker/roster.yaml"); err != nil {
		t.Fatalf("docker/roster.yaml does not parse: %v", err)
	}
}

func TestClassroomCompose(t *testing.T) {
	exercise := writeExercise(t)
	tests := []struct {
		name    string
		args    []string
		n       int
		subnet  string
		server  string
		dhcp    bool
		lab     string // the lab's arguments in the command
		source  bool
		learner map[string]string // id -> "address mac" of some learners
	}{
		{"one learner", []string{"--learners", "1"}, 1, "192.0.2.0/24", "192.0.2.1", true, "course", false,
			map[string]string{"learner-01": "192.0.2.101 02:00:00:00:01:01"}},
		{"twelve on the DNS lab, built from the sources", []string{"--learners", "12", "--lab", "dns", "--source", repoRoot}, 12, "192.0.2.0/24", "192.0.2.1", false, "dns", true,
			map[string]string{"learner-12": "192.0.2.112 02:00:00:00:01:0c"}},
		{"153 fill a /24", []string{"--learners", "153"}, 153, "192.0.2.0/24", "192.0.2.1", true, "course", false,
			map[string]string{"learner-153": "192.0.2.253 02:00:00:00:01:99"}},
		{"200 in a larger network", []string{"--learners", "200", "--subnet", "198.18.0.0/23", "--class", "net-101"}, 200, "198.18.0.0/23", "198.18.0.1", true, "course", false,
			map[string]string{"learner-155": "198.18.0.255 02:00:00:00:01:9b", "learner-156": "198.18.1.0 02:00:00:00:01:9c", "learner-200": "198.18.1.44 02:00:00:00:01:c8"}},
		{"an exercise", []string{"--learners", "2", "--exercise", exercise}, 2, "192.0.2.0/24", "192.0.2.1", false, "--exercise /etc/protolab/exercise/echo-lab.yaml", false,
			map[string]string{"learner-02": "192.0.2.102 02:00:00:00:01:02"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "class")
			var stdout, stderr bytes.Buffer
			args := append([]string{"classroom", "compose", "--out", out}, tt.args...)
			if code := run(args, &stdout, &stderr); code != 0 {
				t.Fatalf("lab %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), "docker compose exec learner-01 bash") {
				t.Errorf("the command does not say how to reach a learner's shell:\n%s", stdout.String())
			}
			src, err := os.ReadFile(filepath.Join(out, "roster.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			r, err := parseRoster(src, "roster.yaml")
			if err != nil {
				t.Fatalf("the roster written does not parse back: %v\n%s", err, src)
			}
			if len(r.Learners) != tt.n {
				t.Fatalf("the roster has %d learners, want %d", len(r.Learners), tt.n)
			}
			for _, l := range r.Learners {
				if want, ok := tt.learner[l.ID]; ok {
					if got := l.Address.String() + " " + l.MAC; got != want {
						t.Errorf("learner %s: %s, want %s", l.ID, got, want)
					}
					delete(tt.learner, l.ID)
				}
			}
			if len(tt.learner) > 0 {
				t.Errorf("learners missing from the roster: %v", tt.learner)
			}
			plan := &classPlan{roster: r, subnet: netip.MustParsePrefix(tt.subnet), server: netip.MustParseAddr(tt.server), dhcp: tt.dhcp}
			plan.gateway = lastHost(plan.subnet)
			if tt.source {
				plan.source = "x"
			}
			if strings.HasPrefix(tt.lab, "--exercise") {
				plan.exercise = "echo-lab.yaml"
			} else {
				plan.lab = tt.lab
			}
			checkCompose(t, filepath.Join(out, "compose.yaml"), plan)
			composeConfig(t, filepath.Join(out, "compose.yaml"))

			// A second run keeps the files, unless forced.
			stdout.Reset()
			stderr.Reset()
			if code := run(args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "exists; pass --force") {
				t.Errorf("a second run: exit %d, stderr %q; want 1 and advice", code, stderr.String())
			}
			// The .env alone is kept too: it may be the instructor's.
			for _, name := range []string{"compose.yaml", "roster.yaml"} {
				if err := os.Remove(filepath.Join(out, name)); err != nil {
					t.Fatal(err)
				}
			}
			stderr.Reset()
			if code := run(args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), ".env exists; pass --force") {
				t.Errorf("a run over a .env: exit %d, stderr %q; want 1 and advice", code, stderr.String())
			}
			if code := run(append(args, "--force"), &stdout, &stderr); code != 0 {
				t.Errorf("a second run with --force: exit %d\n%s", code, stderr.String())
			}
		})
	}
}

// writeExercise writes an instructor's lab file (with its lesson beside
// it) and returns its path.
func writeExercise(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "exercises")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lab := `id: echo-lab
title: {en: Echo, fr: Écho}
services:
  echo: {}
tasks:
  - id: say
    title: {en: Say something to the echo server, fr: Dites quelque chose au serveur d'écho}
    hints:
      - {en: "nc {echo.host} {echo.port}", fr: "nc {echo.host} {echo.port}"}
    check:
      event: echo.tcp
      where: {bytes: {min: 1}}
    solve:
      - {do: echo.tcp}
`
	file := filepath.Join(dir, "echo-lab.yaml")
	if err := os.WriteFile(file, []byte(lab), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// checkCompose reads a compose file as YAML and checks what the classroom
// depends on, whatever the text around it.
func checkCompose(t *testing.T, file string, plan *classPlan) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Name     *string
		Services map[string]struct {
			Image       string
			Build       *struct{ Context, Dockerfile string }
			PullPolicy  string `yaml:"pull_policy"`
			Command     []string
			Hostname    string
			User        string
			Sysctls     map[string]string
			CapDrop     []string `yaml:"cap_drop"`
			Ports       []string
			DNS         []string
			ExtraHosts  []string                              `yaml:"extra_hosts"`
			Env         map[string]string                     `yaml:"environment"`
			DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
			Volumes     []struct{ Type, Source, Target string }
			MAC         string `yaml:"mac_address"`
			Networks    map[string]map[string]string
			Healthcheck map[string]any
		}
		Networks map[string]struct {
			Driver string
			IPAM   struct {
				Config []struct{ Subnet, Gateway string }
			}
		}
		Volumes map[string]any
	}
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatalf("%s is not YAML: %v", file, err)
	}
	fail := func(format string, args ...any) { t.Errorf("%s: %s", file, fmt.Sprintf(format, args...)) }

	// What docker-compose 1.29 refuses: the project's name is in .env.
	if doc.Name != nil {
		fail("a top-level name %q: docker-compose 1.29 refuses it (the name belongs in .env)", *doc.Name)
	}
	env, err := os.ReadFile(filepath.Join(filepath.Dir(file), ".env"))
	if want := "\nCOMPOSE_PROJECT_NAME=" + plan.projectName() + "\n"; err != nil || !strings.Contains("\n"+string(env), want) {
		fail(".env beside it (%v) lacks %q:\n%s", err, strings.TrimSpace(want), env)
	}

	net, ok := doc.Networks["lab"]
	if !ok || net.Driver != "bridge" || len(net.IPAM.Config) != 1 || net.IPAM.Config[0].Subnet != plan.subnet.String() || net.IPAM.Config[0].Gateway != plan.gateway.String() {
		fail("network lab: %+v, want a bridge on %s with gateway %s", net, plan.subnet, plan.gateway)
	}
	if len(doc.Services) != len(plan.roster.Learners)+1 {
		fail("%d services, want the lab server and %d learners", len(doc.Services), len(plan.roster.Learners))
	}
	lab, ok := doc.Services["lab"]
	if !ok {
		fail("no service lab")
	}
	cmd := strings.Join(lab.Command, " ")
	labArgs := "--labs " + plan.lab
	if plan.exercise != "" {
		labArgs = "--exercise /etc/protolab/exercise/" + plan.exercise
	}
	wantCmd := "serve --roster /etc/protolab/roster.yaml " + labArgs + " --bind " + plan.server.String() + " --ports standard --web 0.0.0.0:8080"
	if plan.dhcp {
		wantCmd += " --dhcp-interface eth0"
	}
	if cmd != wantCmd {
		fail("lab server's command %q, want %q", cmd, wantCmd)
	}
	if lab.Image != "protolab/lab:latest" || (plan.source != "") != (lab.Build != nil) || (plan.source == "" && lab.PullPolicy != "never") {
		fail("lab server's image %q, build %+v, pull_policy %q (source %q)", lab.Image, lab.Build, lab.PullPolicy, plan.source)
	}
	if lab.Build != nil && lab.Build.Dockerfile != "docker/Dockerfile" {
		fail("lab server built from %q", lab.Build.Dockerfile)
	}
	if !slices.Equal(lab.Ports, []string{"127.0.0.1:8080:8080"}) {
		fail("lab server publishes %v, want only the dashboard on the host's loopback", lab.Ports)
	}
	if lab.Sysctls["net.ipv4.ip_unprivileged_port_start"] != "0" || !slices.Equal(lab.CapDrop, []string{"ALL"}) || (lab.User != "" && lab.User != "65532:65532") {
		fail("lab server: sysctls %v, cap_drop %v, user %q", lab.Sysctls, lab.CapDrop, lab.User)
	}
	if n := lab.Networks["lab"]; len(n) != 1 || n["ipv4_address"] != plan.server.String() || lab.MAC != serverMAC {
		fail("lab server: MAC address %q, on the network %v; want %s on the service (docker-compose 1.29 takes no mac_address per network), %s on the network",
			lab.MAC, n, serverMAC, plan.server)
	}
	hc := lab.Healthcheck
	if test, _ := hc["test"].([]any); fmt.Sprint(test) != "[CMD /usr/local/bin/lab healthz]" {
		fail("lab server's health check %v", hc["test"])
	}
	for _, k := range []string{"interval", "timeout", "start_period", "retries"} {
		if hc[k] == nil {
			fail("lab server's health check has no %s: %v", k, hc)
		}
	}
	if hc["interval"] != "5s" || len(hc) != 5 {
		fail("lab server's health check %v: want a check every 5s, and no start_interval (docker-compose 1.29 refuses it)", hc)
	}
	mounts := map[string]string{}
	for _, v := range lab.Volumes {
		mounts[v.Target] = v.Type + " " + v.Source
	}
	if mounts[stateInContainer] != "volume lab-state" || !strings.HasPrefix(mounts[rosterInContainer], "bind ") {
		fail("lab server's mounts %v", mounts)
	}
	if _, ok := doc.Volumes["lab-state"]; !ok {
		fail("no volume lab-state")
	}
	if (plan.exercise != "") != (mounts[exerciseInContainer] != "") {
		fail("exercise %q, mounts %v", plan.exercise, mounts)
	}

	addrs := map[string]string{plan.server.String(): "lab"}
	macs := map[string]string{serverMAC: "lab"}
	for _, l := range plan.roster.Learners {
		s, ok := doc.Services[l.ID]
		if !ok {
			fail("no service for learner %s", l.ID)
			continue
		}
		n := s.Networks["lab"]
		if len(n) != 1 || n["ipv4_address"] != l.Address.String() || s.MAC != l.MAC {
			fail("learner %s: MAC address %q, on the network %v; want %s on the service, %s on the network", l.ID, s.MAC, n, l.MAC, l.Address)
			continue
		}
		a := netip.MustParseAddr(n["ipv4_address"])
		if !plan.subnet.Contains(a) || a == plan.gateway {
			fail("learner %s: address %s is not a host of %s", l.ID, a, plan.subnet)
		}
		if other, dup := addrs[a.String()]; dup {
			fail("learner %s has %s's address %s", l.ID, other, a)
		}
		if other, dup := macs[s.MAC]; dup {
			fail("learner %s has %s's MAC %s", l.ID, other, s.MAC)
		}
		addrs[a.String()], macs[s.MAC] = l.ID, l.ID
		if s.Image != "protolab/learner:latest" || (plan.source != "") != (s.Build != nil) {
			fail("learner %s: image %q, build %+v", l.ID, s.Image, s.Build)
		}
		if s.Env["LAB_LEARNER"] != l.ID || s.Env["LAB_SERVER"] != plan.server.String() {
			fail("learner %s: environment %v", l.ID, s.Env)
		}
		if s.DependsOn["lab"].Condition != "service_healthy" {
			fail("learner %s does not wait for a healthy lab server: %+v", l.ID, s.DependsOn)
		}
		if !slices.Equal(s.DNS, []string{plan.server.String()}) || !slices.Contains(s.ExtraHosts, "mail.lab.test:"+plan.server.String()) {
			fail("learner %s: dns %v, extra_hosts %v", l.ID, s.DNS, s.ExtraHosts)
		}
		if len(s.Ports) > 0 || len(s.Sysctls) > 0 {
			fail("learner %s publishes ports %v or sets sysctls %v", l.ID, s.Ports, s.Sysctls)
		}
	}
}

// composeConfig validates a compose file with the Docker client when it is
// installed (docker compose config -q works without a Docker engine). The
// client is not a Debian package the tests install, so it is skipped when
// missing, even with LAB_REQUIRE_CLIENTS=1.
func composeConfig(t *testing.T, file string) {
	t.Helper()
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Log("docker is not installed: compose file checked in Go only")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, docker, "compose", "version").Run(); err != nil {
		t.Log("docker compose is not installed: compose file checked in Go only")
		return
	}
	out, err := exec.CommandContext(ctx, docker, "compose", "-f", file, "config", "-q").CombinedOutput()
	if err != nil {
		t.Errorf("docker compose -f %s config -q: %v\n%s", file, err, out)
	}
}

func TestClassroomComposeFromARoster(t *testing.T) {
	dir := t.TempDir()
	rosterPath := filepath.Join(dir, "class", "roster.yaml")
	if err := os.MkdirAll(filepath.Dir(rosterPath), 0o755); err != nil {
		t.Fatal(err)
	}
	src := `# the class of Monday
class: monday
learners:
  - id: ada
    name: Ada Lovelace
    mac: 02:00:00:00:02:01
    address: 192.0.2.150
    host: learner-ada
  - id: grace
    name: Grace Hopper
    mac: 02-00-00-00-02-02
    address: 192.0.2.151
`
	if err := os.WriteFile(rosterPath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "compose")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"classroom", "compose", "--roster", rosterPath, "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, "roster.yaml")); !os.IsNotExist(err) {
		t.Errorf("with --roster, a roster was written in the output directory (%v)", err)
	}
	r, err := parseRoster([]byte(src), "roster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan := &classPlan{roster: r, subnet: netip.MustParsePrefix("192.0.2.0/24"), server: netip.MustParseAddr("192.0.2.1"),
		gateway: netip.MustParseAddr("192.0.2.254"), lab: "course", dhcp: true}
	checkCompose(t, filepath.Join(out, "compose.yaml"), plan)
	composeConfig(t, filepath.Join(out, "compose.yaml"))
	got, _ := os.ReadFile(filepath.Join(out, "compose.yaml"))
	for _, want := range []string{"        source: ../class/roster.yaml", "    hostname: learner-ada", "    hostname: grace"} {
		if !strings.Contains(string(got), want+"\n") {
			t.Errorf("compose.yaml lacks %q", want)
		}
	}

	// A roster the classroom cannot use.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("learners:\n  - id: ada\n  - id: lab\n    mac: 02:00:00:00:00:01\n    address: 192.0.2.254\n"), 0o644)
	stdout.Reset()
	stderr.Reset()
	code := run([]string{"classroom", "compose", "--roster", bad, "--out", out, "--force"}, &stdout, &stderr)
	for _, want := range []string{"bad.yaml:2: learner ada has no mac", "bad.yaml:2: learner ada has no address",
		"bad.yaml:3: learner lab: mac 02:00:00:00:00:01 is the lab server's", "bad.yaml:3: learner lab: address 192.0.2.254 is kept",
		`bad.yaml:3: learner id "lab" is the lab server's service name`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}

func TestClassroomComposeUsage(t *testing.T) {
	exercise := writeExercise(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no learners", nil, "--learners 0: give a number from 1 to 200"},
		{"too many", []string{"--learners", "201"}, "--learners 201"},
		{"negative", []string{"--learners", "-1"}, "--learners -1"},
		{"does not fit", []string{"--learners", "154"}, "192.0.2.0/24 holds 153 learners"},
		{"does not fit a /26", []string{"--learners", "1", "--subnet", "10.0.0.0/26"}, "10.0.0.0/26 holds 0 learners"},
		{"IPv6 network", []string{"--learners", "3", "--subnet", "2001:db8:89::/64"}, "give an IPv4 network"},
		{"not a network", []string{"--learners", "3", "--subnet", "lab"}, "give an IPv4 network"},
		{"tiny network", []string{"--learners", "1", "--subnet", "192.0.2.0/31"}, "too small"},
		{"both labs", []string{"--learners", "3", "--lab", "dns", "--exercise", exercise}, "not both"},
		{"unknown lab", []string{"--learners", "3", "--lab", "nosuch"}, "nosuch"},
		{"no exercise file", []string{"--learners", "3", "--exercise", filepath.Join(t.TempDir(), "none.yaml")}, "none.yaml"},
		{"roster and learners", []string{"--learners", "3", "--roster", "roster.yaml"}, "not both"},
		{"bad class", []string{"--learners", "3", "--class", "Net 101"}, `--class "Net 101"`},
		{"no source tree", []string{"--learners", "3", "--source", t.TempDir()}, "no docker/Dockerfile there"},
		{"an argument", []string{"--learners", "3", "extra"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "class")
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"classroom", "compose", "--out", out}, tt.args...), &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tt.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a usage error left %s behind", out)
			}
		})
	}

	var stdout, stderr bytes.Buffer
	if code := run([]string{"classroom"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "lab classroom compose") {
		t.Errorf("lab classroom alone: exit %d, stderr %q", code, stderr.String())
	}
}

func TestParseRoster(t *testing.T) {
	example := `# roster.yaml
class: demo
learners:
  - id: ada                 # [a-z0-9-]+, unique
    name: Ada Lovelace
    mac: 02:00:00:00:01:01   # the learner container's MAC on the lab network (DHCP and attribution)
    address: 192.0.2.101     # optional fixed address
    host: learner-ada        # optional host name
  - id: grace
  - id: "007"
    mac: 02:00:00:00:01:FF
    address: 2001:db8:89::7
    host: Bond.Lab.Test.
`
	r, err := parseRoster([]byte(example), "roster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []rosterLearner{
		{ID: "ada", Name: "Ada Lovelace", MAC: "02:00:00:00:01:01", Address: netip.MustParseAddr("192.0.2.101"), Host: "learner-ada", Line: 4},
		{ID: "grace", Line: 9},
		{ID: "007", MAC: "02:00:00:00:01:ff", Address: netip.MustParseAddr("2001:db8:89::7"), Host: "bond.lab.test", Line: 10},
	}
	if r.Class != "demo" || !slices.Equal(r.Learners, want) {
		t.Fatalf("got class %q, learners\n%+v\nwant\n%+v", r.Class, r.Learners, want)
	}

	tests := []struct {
		name, src string
		want      []string // each error expected, with its line
	}{
		{"empty", "", []string{"roster.yaml: the roster must be a mapping"}},
		{"a list", "- id: ada\n", []string{"roster.yaml:1: the roster must be a mapping"}},
		{"not YAML", "learners: [\n", []string{"roster.yaml: not YAML"}},
		{"no learners", "class: demo\n", []string{"roster.yaml:1: no learners"}},
		{"empty list", "learners: []\n", []string{"roster.yaml:1: learners: the list is empty"}},
		{"learners not a list", "learners: ada\n", []string{"roster.yaml:1: learners must be a list"}},
		{"unknown field", "class: demo\nteacher: me\nlearners:\n  - id: ada\n", []string{`roster.yaml:2: the roster: unknown field "teacher"`}},
		{"unknown learner field", "learners:\n  - id: ada\n    email: ada@lab.test\n", []string{`roster.yaml:3: a learner: unknown field "email"`}},
		{"bad class", "class: Demo Day\nlearners:\n  - id: ada\n", []string{`roster.yaml:1: class "Demo Day"`}},
		{"no id", "learners:\n  - name: Ada\n", []string{"roster.yaml:2: a learner has no id"}},
		{"bad ids", "learners:\n  - id: Ada\n  - id: -ada\n  - id: a_b\n  - id: " + strings.Repeat("a", 64) + "\n",
			[]string{`roster.yaml:2: id "Ada"`, `roster.yaml:3: id "-ada"`, `roster.yaml:4: id "a_b"`, "roster.yaml:5: id"}},
		{"id not a value", "learners:\n  - id: [ada]\n", []string{"roster.yaml:2: id must be a single value"}},
		{"same id twice", "learners:\n  - id: ada\n  - id: ada\n", []string{"roster.yaml:3: id ada is already given on line 2"}},
		{"bad macs", "learners:\n  - id: a\n    mac: 02:00:00:00:01\n  - id: b\n    mac: 01:00:5e:00:00:01\n  - id: c\n    mac: 00:00:00:00:00:00\n  - id: d\n    mac: 02:00:00:00:00:00:00:01\n",
			[]string{`roster.yaml:3: mac "02:00:00:00:01"`, "roster.yaml:5: mac 01:00:5e:00:00:01 is a group", "roster.yaml:7: mac 00:00:00:00:00:00 is all zeros", `roster.yaml:9: mac "02:00:00:00:00:00:00:01"`}},
		{"same mac twice", "learners:\n  - id: a\n    mac: 02:00:00:00:01:01\n  - id: b\n    mac: 02-00-00-00-01-01\n", []string{"roster.yaml:5: mac 02:00:00:00:01:01 is already given on line 3"}},
		{"bad addresses", "learners:\n  - id: a\n    address: 192.0.2\n  - id: b\n    address: 0.0.0.0\n  - id: c\n    address: 224.0.0.1\n  - id: d\n    address: fe80::1%eth0\n",
			[]string{`roster.yaml:3: address "192.0.2"`, "roster.yaml:5: address 0.0.0.0 cannot be", "roster.yaml:7: address 224.0.0.1 cannot be", `roster.yaml:9: address "fe80::1%eth0"`}},
		{"same address twice", "learners:\n  - id: a\n    address: 192.0.2.101\n  - id: b\n    address: ::ffff:192.0.2.101\n", []string{"roster.yaml:5: address 192.0.2.101 is already given on line 3"}},
		{"bad hosts", "learners:\n  - id: a\n    host: learner_a\n  - id: b\n    host: -b\n  - id: c\n    host: a..b\n", []string{`roster.yaml:3: host "learner_a"`, `roster.yaml:5: host "-b"`, `roster.yaml:7: host "a..b"`}},
		{"same host twice", "learners:\n  - id: a\n    host: pc1\n  - id: b\n    host: PC1\n", []string{"roster.yaml:5: host pc1 is already given on line 3"}},
		{"bad names", "learners:\n  - id: a\n    name: \"tab\\there\"\n  - id: b\n    name: " + strings.Repeat("é", 201) + "\n",
			[]string{`roster.yaml:3: name: "tab\there" holds a control character`, "roster.yaml:5: name: 201 characters"}},
		{"a learner not a mapping", "learners:\n  - ada\n", []string{"roster.yaml:2: a learner must be a mapping"}},
		{"field twice", "learners:\n  - id: a\n    id: b\n", []string{`roster.yaml:3: a learner: field "id" is given twice`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseRoster([]byte(tt.src), "roster.yaml")
			if err == nil {
				t.Fatalf("no error; got %+v", r)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q:\n%v", w, err)
				}
			}
			if got, want := len(strings.Split(err.Error(), "\n")), len(tt.want); got != want {
				t.Errorf("%d errors reported, want %d:\n%v", got, want, err)
			}
		})
	}

	t.Run("too large", func(t *testing.T) {
		src := "learners:\n" + strings.Repeat("  - id: a\n", maxRosterBytes/10+1)
		if _, err := parseRoster([]byte(src), "roster.yaml"); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("too many learners", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("learners:\n")
		for i := range maxRosterLearners + 1 {
			fmt.Fprintf(&b, "  - id: l%d\n", i)
		}
		if _, err := parseRoster([]byte(b.String()), "roster.yaml"); err == nil || !strings.Contains(err.Error(), "more than 1000") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRosterFileRoundTrip(t *testing.T) {
	r := &roster{Class: "on", Learners: []rosterLearner{
		{ID: "yes", Name: `Zoë "Z" O'Neil: #1`, MAC: "02:00:00:00:01:01", Address: netip.MustParseAddr("192.0.2.101"), Host: "null"},
		{ID: "0123", Name: "12:30", Host: "1e5"},
		{ID: "x", Address: netip.MustParseAddr("2001:db8:89::10")},
	}}
	back, err := parseRoster(rosterFile(r), "roster.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, rosterFile(r))
	}
	for i := range back.Learners {
		back.Learners[i].Line = 0
	}
	if back.Class != r.Class || !slices.Equal(back.Learners, r.Learners) {
		t.Fatalf("got %+v, want %+v\n%s", back, r, rosterFile(r))
	}
}

func TestYAMLScalar(t *testing.T) {
	tests := []struct{ in, want string }{
		{"start", "start"},
		{"--bind", "--bind"},
		{"192.0.2.1", "192.0.2.1"},
		{"0.0.0.0:8080", `"0.0.0.0:8080"`},
		{"./roster.yaml", "./roster.yaml"},
		{"../..", "../.."},
		{"/etc/protolab/exercise/my lab.yaml", `"/etc/protolab/exercise/my lab.yaml"`},
		{"yes", `"yes"`},
		{"Off", `"Off"`},
		{"~", `"~"`},
		{"-", `"-"`},
		{"12", `"12"`},
		{"1e5", `"1e5"`},
		{"a: b", `"a: b"`},
		{"#x", `"#x"`},
		{"", `""`},
		{"é", `"é"`},
	}
	for _, tt := range tests {
		if got := yamlScalar(tt.in); got != tt.want {
			t.Errorf("yamlScalar(%q) = %s, want %s", tt.in, got, tt.want)
		}
		var back string
		if err := yaml.Unmarshal([]byte("v: "+yamlScalar(tt.in)), &struct{ V *string }{&back}); err != nil || back != tt.in {
			t.Errorf("yamlScalar(%q) reads back as %q (%v)", tt.in, back, err)
		}
	}
}

func TestClassroomAddresses(t *testing.T) {
	p := &classPlan{subnet: netip.MustParsePrefix("192.0.2.0/24")}
	p.server, p.gateway = p.subnet.Addr().Next(), lastHost(p.subnet)
	if p.gateway.String() != "192.0.2.254" {
		t.Errorf("gateway of %s: %s", p.subnet, p.gateway)
	}
	for i, want := range map[int]string{0: "", 1: "", 2: "192.0.2.2", 101: "192.0.2.101", 253: "192.0.2.253", 254: "", 255: "", 1000: ""} {
		a, ok := hostAddr(p, i)
		if got := map[bool]string{true: a.String()}[ok]; got != want {
			t.Errorf("host %d of %s: %q, want %q", i, p.subnet, got, want)
		}
	}
	if got := lastHost(netip.MustParsePrefix("198.18.0.0/23")); got.String() != "198.18.1.254" {
		t.Errorf("last host of 198.18.0.0/23: %s", got)
	}
}

func FuzzParseRoster(f *testing.F) {
	f.Add([]byte("class: demo\nlearners:\n  - id: ada\n    name: Ada Lovelace\n    mac: 02:00:00:00:01:01\n    address: 192.0.2.101\n    host: learner-ada\n"))
	f.Add([]byte("learners:\n  - id: a\n  - id: a\n"))
	f.Add([]byte("learners: &x\n  - id: a\n    mac: *x\n"))
	f.Add([]byte("learners:\n  - {id: \"007\", address: \"2001:db8::7\", host: Bond.}\n"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, src []byte) {
		r, err := parseRoster(src, "roster.yaml")
		if err != nil {
			return
		}
		// What was read is written back and reads the same.
		back, err := parseRoster(rosterFile(r), "roster.yaml")
		if err != nil {
			t.Fatalf("the roster written back does not parse: %v\n%s", err, rosterFile(r))
		}
		if back.Class != r.Class || len(back.Learners) != len(r.Learners) {
			t.Fatalf("round trip changed the roster: %+v, then %+v", r, back)
		}
		for i := range r.Learners {
			a, b := r.Learners[i], back.Learners[i]
			a.Line, b.Line = 0, 0
			if a != b {
				t.Fatalf("learner %d: %+v, then %+v", i, a, b)
			}
		}
	})
}
