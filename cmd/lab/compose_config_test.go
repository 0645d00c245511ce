package main

// The classroom's compose files as Docker Compose itself reads them: the
// real `docker-compose config` (1.29, Debian's package) on the checked-in
// class and on generated ones, and Compose v2's `docker compose config` when
// that plugin is installed. `config` needs no Docker engine: the clients run
// with an environment of their own, pointing at sockets that do not exist,
// so that they never reach a daemon, a metrics socket or the network.

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// composeClient is a Docker Compose command line: docker-compose 1.29 or
// Compose v2's plugin.
type composeClient struct {
	name string   // for messages
	argv []string // the command, before -f FILE
	v1   bool     // docker-compose 1.x: its schema refuses what v2 added
}

// composeClients are the Compose clients installed. docker-compose is a
// test tool (scripts/install-clients.sh): without it the test is skipped,
// or fails with LAB_REQUIRE_CLIENTS=1. Compose v2 is not a Debian package:
// it is used when present.
func composeClients(t *testing.T) []composeClient {
	t.Helper()
	clients := []composeClient{{name: "docker-compose", argv: []string{needTool(t, "docker-compose")}, v1: true}}
	if docker, err := exec.LookPath("docker"); err == nil {
		v2 := composeClient{name: "docker compose", argv: []string{docker, "compose"}}
		if _, _, err := v2.run(t, t.TempDir(), "version"); err == nil {
			clients = append(clients, v2)
		} else {
			t.Log("docker compose (Compose v2) is not installed: checked with docker-compose only")
		}
	}
	return clients
}

// run runs the client in dir with an environment that reaches nothing:
// DOCKER_HOST and docker-compose's metrics socket (METRICS_SOCKET_FILE) are
// sockets that do not exist, the client's configuration is an empty
// directory, and no proxy or project name comes from the caller.
func (c composeClient) run(t *testing.T, dir string, args ...string) (string, string, error) {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.argv[0], append(slices.Clone(c.argv[1:]), args...)...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"LANG=C.UTF-8",
		"DOCKER_CONFIG=" + filepath.Join(home, "docker"),
		"DOCKER_HOST=unix://" + filepath.Join(home, "docker.sock"),
		"METRICS_SOCKET_FILE=http+unix://" + filepath.Join(home, "metrics.sock"),
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s %s: no answer within a minute: %w", c.name, strings.Join(args, " "), ctx.Err())
	}
	return stdout.String(), stderr.String(), err
}

// resolvedCompose is what `config` prints, as far as the classroom depends
// on it: paths absolute, anchors and merge keys expanded, ports in the short
// (v1) or the long (v2) syntax.
type resolvedCompose struct {
	Name     string
	Services map[string]struct {
		Image       string
		PullPolicy  string `yaml:"pull_policy"`
		Command     []string
		Hostname    string
		MacAddress  string `yaml:"mac_address"`
		Ports       []yaml.Node
		Environment map[string]string
		DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
		Volumes     []struct {
			Type, Source, Target string
			ReadOnly             bool `yaml:"read_only"`
		}
		Networks map[string]struct {
			IPv4       string `yaml:"ipv4_address"`
			MacAddress string `yaml:"mac_address"`
		}
		Healthcheck map[string]any
	}
	Networks map[string]struct {
		IPAM struct {
			Config []struct{ Subnet, Gateway string }
		}
	}
	Volumes map[string]any
}

// publishedPorts writes each published port as HOST_IP:PUBLISHED:TARGET/PROTO.
func publishedPorts(nodes []yaml.Node) ([]string, error) {
	var out []string
	for _, n := range nodes {
		if n.Kind == yaml.ScalarNode {
			out = append(out, n.Value)
			continue
		}
		var p struct {
			HostIP    string `yaml:"host_ip"`
			Target    string
			Published string
			Protocol  string
		}
		if err := n.Decode(&p); err != nil {
			return nil, fmt.Errorf("a port on line %d: %w", n.Line, err)
		}
		out = append(out, fmt.Sprintf("%s:%s:%s/%s", p.HostIP, p.Published, p.Target, p.Protocol))
	}
	return out, nil
}

// macOf tells whether a service's MAC address, as the client resolved it,
// is want: the compose file gives it on the service, which docker-compose
// 1.29 keeps there; Compose v2 may move it to the service's one network.
func macOf(c composeClient, service, network, want string) bool {
	if c.v1 || service == "" || network == "" {
		return strings.EqualFold(cmp.Or(service, network), want) && (!c.v1 || network == "")
	}
	return strings.EqualFold(service, want) && strings.EqualFold(network, want)
}

func TestComposeConfig(t *testing.T) {
	clients := composeClients(t)
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	exercise := filepath.Join(root, "exercises", "router-then-network", "exercise.yaml")

	// A roster of the instructor's, beside the class's directory.
	rosterDir := t.TempDir()
	rosterFile := filepath.Join(rosterDir, "monday.yaml")
	if err := os.WriteFile(rosterFile, []byte(`class: monday
learners:
  - id: ada
    name: Ada Lovelace
    mac: 02:00:00:00:02:01
    address: 192.0.2.150
    host: learner-ada
  - id: grace
    mac: 02-00-00-00-02-0A
    address: 192.0.2.151
`), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		args    []string // lab classroom compose's; none: the checked-in class
		roster  string   // the roster the class is made of, when not in its directory
		class   string
		labArgs string // in the server's command
		dhcp    bool
		build   bool
	}{
		{"the checked-in class", nil, "", "demo", "--labs course", true, true},
		{"five learners", []string{"--learners", "5"}, "", "demo", "--labs course", true, false},
		{"the DNS lab", []string{"--learners", "2", "--lab", "dns", "--class", "dns-101"}, "", "dns-101", "--labs dns", false, false},
		{"an exercise", []string{"--learners", "3", "--exercise", exercise}, "", "demo", "--exercise /etc/protolab/exercise/exercise.yaml", true, false},
		{"a roster", []string{"--roster", rosterFile}, rosterFile, "monday", "--labs course", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(root, "docker")
			if tt.args != nil {
				dir = filepath.Join(t.TempDir(), "class")
				if stdout, stderr, code := labRun(t, append([]string{"classroom", "compose", "--out", dir}, tt.args...)...); code != 0 {
					t.Fatalf("lab classroom compose %s: exit %d\n%s%s", strings.Join(tt.args, " "), code, stdout, stderr)
				}
			}
			rosterPath := cmp.Or(tt.roster, filepath.Join(dir, "roster.yaml"))
			src, err := os.ReadFile(rosterPath)
			if err != nil {
				t.Fatal(err)
			}
			r, err := parseRoster(src, rosterPath)
			if err != nil {
				t.Fatal(err)
			}
			env, err := os.ReadFile(filepath.Join(dir, ".env"))
			if err != nil {
				t.Fatalf("no .env beside compose.yaml: %v", err)
			}
			project := "protolab-" + tt.class
			if !strings.Contains("\n"+string(env), "\nCOMPOSE_PROJECT_NAME="+project+"\n") {
				t.Errorf(".env does not name the project %s:\n%s", project, env)
			}
			want := []string{"lab"}
			for _, l := range r.Learners {
				want = append(want, l.ID)
			}
			slices.Sort(want)

			for _, c := range clients {
				t.Run(c.name, func(t *testing.T) {
					// From another directory: the project's directory, and
					// its .env, are the compose file's.
					out, stderr, err := c.run(t, t.TempDir(), "-f", filepath.Join(dir, "compose.yaml"), "config", "--services")
					if err != nil {
						t.Fatalf("%s config --services: %v\n%s", c.name, err, stderr)
					}
					services := strings.Fields(out)
					slices.Sort(services)
					if !slices.Equal(services, want) {
						t.Errorf("%s config --services: %v, want %v", c.name, services, want)
					}

					out, stderr, err = c.run(t, dir, "config")
					if err != nil {
						t.Fatalf("%s config: %v\n%s", c.name, err, stderr)
					}
					var doc resolvedCompose
					if err := yaml.Unmarshal([]byte(out), &doc); err != nil {
						t.Fatalf("%s config prints no YAML: %v\n%s", c.name, err, out)
					}
					fail := func(format string, args ...any) {
						t.Errorf("%s config: %s", c.name, fmt.Sprintf(format, args...))
					}
					if !c.v1 && doc.Name != project {
						fail("project %q, want %q (from .env)", doc.Name, project)
					}
					if got := slices.Sorted(maps.Keys(doc.Services)); !slices.Equal(got, want) {
						fail("services %v, want %v", got, want)
					}
					if n := doc.Networks["lab"].IPAM.Config; len(n) != 1 || n[0].Subnet != "192.0.2.0/24" || n[0].Gateway != "192.0.2.254" {
						fail("network lab: %+v", doc.Networks["lab"])
					}
					if _, ok := doc.Volumes["lab-state"]; !ok {
						fail("no volume lab-state")
					}

					lab := doc.Services["lab"]
					if got := lab.Networks["lab"].IPv4; got != "192.0.2.1" {
						fail("the lab server's address %q, want 192.0.2.1", got)
					}
					if !macOf(c, lab.MacAddress, lab.Networks["lab"].MacAddress, serverMAC) {
						fail("the lab server's MAC address %q (on the network %q), want %s", lab.MacAddress, lab.Networks["lab"].MacAddress, serverMAC)
					}
					ports, err := publishedPorts(lab.Ports)
					if err != nil {
						fail("%v", err)
					}
					if !slices.Equal(ports, []string{"127.0.0.1:8080:8080/tcp"}) {
						fail("the lab server publishes %v, want only the dashboard on 127.0.0.1:8080", ports)
					}
					cmd := strings.Join(lab.Command, " ")
					if !strings.Contains(cmd, " "+tt.labArgs+" ") || strings.Contains(cmd, "--dhcp-interface eth0") != tt.dhcp {
						fail("the lab server's command %q (%s, DHCP %v)", cmd, tt.labArgs, tt.dhcp)
					}
					if tt.build == (lab.PullPolicy == "never") {
						fail("the lab server's pull_policy %q (built from the sources: %v)", lab.PullPolicy, tt.build)
					}
					if lab.Healthcheck["interval"] == nil || lab.Healthcheck["start_interval"] != nil {
						fail("the lab server's health check %v", lab.Healthcheck)
					}
					mounts := map[string]string{}
					for _, v := range lab.Volumes {
						mounts[v.Target] = v.Type + " " + v.Source
					}
					if got, want := mounts[rosterInContainer], "bind "+rosterPath; got != want {
						fail("the roster mounted from %q, want %q", got, want)
					}
					if slices.Contains(tt.args, "--exercise") {
						if got, want := mounts[exerciseInContainer], "bind "+filepath.Dir(exercise); got != want {
							fail("the exercise mounted from %q, want %q", got, want)
						}
					}

					for _, l := range r.Learners {
						s, ok := doc.Services[l.ID]
						if !ok {
							continue // reported with the services
						}
						if !macOf(c, s.MacAddress, s.Networks["lab"].MacAddress, l.MAC) {
							fail("learner %s: MAC address %q (on the network %q), want %s", l.ID, s.MacAddress, s.Networks["lab"].MacAddress, l.MAC)
						}
						if got := s.Networks["lab"].IPv4; got != l.Address.String() {
							fail("learner %s: address %q, want %s", l.ID, got, l.Address)
						}
						if s.Environment["LAB_LEARNER"] != l.ID || s.DependsOn["lab"].Condition != "service_healthy" || len(s.Ports) != 0 {
							fail("learner %s: environment %v, depends_on %v, ports %d", l.ID, s.Environment, s.DependsOn, len(s.Ports))
						}
						if host := cmp.Or(l.Host, l.ID); s.Hostname != host {
							fail("learner %s: hostname %q, want %q", l.ID, s.Hostname, host)
						}
					}
				})
			}
		})
	}
}

// TestComposeConfigRefuses makes sure that docker-compose 1.29 validates
// what the tests above give it: what only a recent Compose takes (a
// top-level name, a health check's start_interval, a MAC address per
// network) is refused.
func TestComposeConfigRefuses(t *testing.T) {
	c := composeClients(t)[0]
	src, err := os.ReadFile(filepath.Join(repoRoot, "docker", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, after, insert, want string
	}{
		{"a top-level name", "x-learner: &learner\n", "", "'name' does not match"},
		{"a start interval", "      interval: 5s\n", "      start_interval: 1s\n", "start_interval"},
		{"a MAC address per network", "        ipv4_address: 192.0.2.101\n", "        mac_address: \"02:00:00:00:01:01\"\n", "mac_address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := bytes.Index(src, []byte(tt.after))
			if i < 0 {
				t.Fatalf("docker/compose.yaml has no %q", tt.after)
			}
			var changed []byte
			if tt.insert == "" { // a top-level key, before the first one
				changed = append(append(slices.Clone(src[:i]), "name: protolab-demo\n\n"...), src[i:]...)
			} else {
				i += len(tt.after)
				changed = append(append(slices.Clone(src[:i]), tt.insert...), src[i:]...)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), changed, 0o644); err != nil {
				t.Fatal(err)
			}
			_, stderr, err := c.run(t, dir, "config", "-q")
			var ee *exec.ExitError
			if !errors.As(err, &ee) || !strings.Contains(stderr, tt.want) {
				t.Errorf("%s config -q: %v, stderr %q; want a refusal naming %q", c.name, err, stderr, tt.want)
			}
		})
	}
}
