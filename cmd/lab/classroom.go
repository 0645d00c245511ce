package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"protolab/internal/yamlx"
	"protolab/labs"
)

// A classroom runs in Docker Compose: one lab server and one container per
// learner, with the real clients, on a lab network of their own. The roster
// (roster.yaml) says who the learners are and how the lab server tells them
// apart; it is the input of the classroom server (lab serve) as well as of
// `lab classroom compose`, which writes the compose file from it.

type classroomComposeOptions struct {
	learners int
	roster   string
	out      string
	lab      string
	exercise string
	subnet   string
	class    string
	source   string
	force    bool
}

func (c *cli) classroomCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "classroom",
		Short: "Prepare a classroom: a lab server and one container per learner (Docker Compose)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("which classroom command? Try: lab classroom compose --learners 12")
		},
	}
	cmd.AddCommand(c.classroomComposeCmd())
	return cmd
}

func (c *cli) classroomComposeCmd() *cobra.Command {
	opts := &classroomComposeOptions{}
	cmd := &cobra.Command{
		Use:   "compose --learners N | --roster FILE",
		Short: "Write a Docker Compose file and a roster for a class",
		Long: `Write DIR/compose.yaml, DIR/.env (the compose project's name, protolab-CLASS)
and DIR/roster.yaml for a class of N learners: the lab server and one container
per learner (Debian with dig, swaks, curl, snmpget, udhcpc, nc, telnet...) on a
lab network of their own, 192.0.2.0/24 by default.
The lab server is the network's first address on the standard ports (DNS 53,
DHCP 67, SMTP 25...), the learners have fixed MAC addresses (02:00:00:00:01:NN)
and addresses from .101, and the dashboard is published on this machine's
127.0.0.1:8080 only.

With --roster FILE the class is the roster's (each learner needs a mac and an
address there) and only compose.yaml, mounting that roster, and .env are
written. Existing files are kept unless --force is given. The files suit
Docker Compose v2 (docker compose) as well as docker-compose 1.29.`,
		Example: `  lab classroom compose --learners 12 --out classroom --source .
  lab classroom compose --learners 3 --lab dns --out dns-class
  lab classroom compose --roster class/roster.yaml --out class --exercise my-lab.yaml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return c.runClassroomCompose(opts) },
	}
	f := cmd.Flags()
	f.IntVar(&opts.learners, "learners", 0, fmt.Sprintf("how many learners (1 to %d)", maxClassLearners))
	f.StringVar(&opts.roster, "roster", "", "take the learners from this roster instead of --learners")
	f.StringVar(&opts.out, "out", "classroom", "directory to write compose.yaml, .env and roster.yaml into")
	f.StringVar(&opts.lab, "lab", "", "the built-in lab the class works on (default course)")
	f.StringVar(&opts.exercise, "exercise", "", "the class works on this exercise (or lab) file instead; its directory is mounted in the server")
	f.StringVar(&opts.subnet, "subnet", defaultClassSubnet, "the lab network, IPv4")
	f.StringVar(&opts.class, "class", "demo", "the class's name ([a-z0-9-], also the compose project's: protolab-NAME)")
	f.StringVar(&opts.source, "source", "", "build the images from this Protolab source tree (else use the images protolab/lab and protolab/learner, built beforehand)")
	f.BoolVar(&opts.force, "force", false, "replace existing files")
	return cmd
}

const (
	defaultClassSubnet = "192.0.2.0/24"
	defaultClassLab    = "course"
	maxClassLearners   = 200
	// firstLearnerHost is the host number of learner 1 (.101 in a /24).
	firstLearnerHost = 101
	// rosterInContainer is where the lab server finds the roster.
	rosterInContainer = "/etc/protolab/roster.yaml"
	// exerciseInContainer is where an exercise's directory is mounted.
	exerciseInContainer = "/etc/protolab/exercise"
	// stateInContainer is the lab server's state directory (a volume).
	stateInContainer = "/var/lib/protolab"
	// dashboardPort is the web console's port, published on the host's
	// loopback only.
	dashboardPort = 8080
	// serverMAC is the lab server's MAC address on the lab network.
	serverMAC = "02:00:00:00:00:01"
)

// labHosts are the hosts of the lab.test zone. In a classroom the lab
// server has one address, so each learner's /etc/hosts sends them all
// there; dig still shows the zone's own addresses.
var labHosts = []string{"rtr1", "mail", "ns1", "www", "webmail", "files", "printer"}

func (c *cli) runClassroomCompose(opts *classroomComposeOptions) error {
	plan, err := c.classroomPlan(opts)
	if err != nil {
		return err
	}
	files := []outFile{{"compose.yaml", composeFile(plan)}, {".env", envFile(plan)}}
	if opts.roster == "" {
		files = append(files, outFile{"roster.yaml", rosterFile(plan.roster)})
	}
	if !opts.force {
		for _, f := range files {
			p := filepath.Join(opts.out, f.name)
			if _, err := os.Lstat(p); err == nil {
				return fmt.Errorf("%s exists; pass --force to replace it (or --out DIR for another directory)", p)
			}
		}
	}
	if err := os.MkdirAll(opts.out, 0o755); err != nil {
		return fmt.Errorf("classroom: %w", err)
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(opts.out, f.name), f.data); err != nil {
			return fmt.Errorf("classroom: %w", err)
		}
	}
	fmt.Fprintf(c.stdout, "Wrote %s for class %q: the lab server at %s and %d learners (%s", filepath.Join(opts.out, "compose.yaml"),
		plan.roster.Class, plan.server, len(plan.roster.Learners), plan.roster.Learners[0].ID)
	if n := len(plan.roster.Learners); n > 1 {
		fmt.Fprintf(c.stdout, " to %s", plan.roster.Learners[n-1].ID)
	}
	fmt.Fprintln(c.stdout, ").")
	fmt.Fprintf(c.stdout, "Wrote %s: the compose project's name, %s.\n", filepath.Join(opts.out, ".env"), plan.projectName())
	if opts.roster == "" {
		fmt.Fprintf(c.stdout, "Wrote %s: put your learners' names there.\n", filepath.Join(opts.out, "roster.yaml"))
	}
	if plan.source == "" {
		fmt.Fprintln(c.stdout, "Build the images protolab/lab and protolab/learner first (the top of compose.yaml says how).")
	}
	fmt.Fprintf(c.stdout, "Start the class:  cd %s && docker compose up -d%s\n", opts.out, map[bool]string{true: " --build"}[plan.source != ""])
	fmt.Fprintf(c.stdout, "A learner's shell: docker compose exec %s bash\n", plan.roster.Learners[0].ID)
	fmt.Fprintf(c.stdout, "The instructor's dashboard: http://127.0.0.1:%d/instructor?token=... (docker compose logs lab shows it)\n", dashboardPort)
	return nil
}

// outFile is a file lab classroom compose writes.
type outFile struct {
	name string
	data []byte
}

// classPlan is everything the compose file says.
type classPlan struct {
	roster      *roster
	subnet      netip.Prefix
	server      netip.Addr // the subnet's first address
	gateway     netip.Addr // its last: the host's end of the bridge
	lab         string     // built-in lab id, or "" with an exercise
	labID       string     // the id of the lab or exercise
	exercise    string     // the exercise file's name in its directory
	exerciseDir string     // its directory, relative to the compose file
	dhcp        bool       // the lab has a DHCP server
	rosterPath  string     // the roster, relative to the compose file
	source      string     // the source tree, relative to the compose file; "" for prebuilt images
}

// classroomPlan checks the options and works out the class.
func (c *cli) classroomPlan(opts *classroomComposeOptions) (*classPlan, error) {
	subnet, err := netip.ParsePrefix(opts.subnet)
	if err != nil || !subnet.Addr().Is4() {
		return nil, usagef("--subnet %q: give an IPv4 network such as %s", opts.subnet, defaultClassSubnet)
	}
	subnet = subnet.Masked()
	if subnet.Bits() > 30 {
		return nil, usagef("--subnet %s is too small for a classroom; give a /24 or larger", subnet)
	}
	plan := &classPlan{subnet: subnet, server: subnet.Addr().Next(), gateway: lastHost(subnet), rosterPath: "./roster.yaml"}
	outAbs, err := filepath.Abs(opts.out)
	if err != nil {
		return nil, err
	}

	switch {
	case opts.roster != "" && opts.learners != 0:
		return nil, usagef("give --learners N or --roster FILE, not both")
	case opts.roster != "":
		src, err := os.ReadFile(opts.roster)
		if err != nil {
			return nil, fmt.Errorf("cannot read the roster: %w", err)
		}
		r, err := parseRoster(src, opts.roster)
		if err != nil {
			return nil, &usageError{err: err}
		}
		if err := checkRosterFits(r, plan); err != nil {
			return nil, &usageError{err: err}
		}
		plan.roster = r
		if plan.rosterPath, err = relativeTo(outAbs, opts.roster); err != nil {
			return nil, err
		}
	default:
		if opts.learners < 1 || opts.learners > maxClassLearners {
			return nil, usagef("--learners %d: give a number from 1 to %d (or --roster FILE)", opts.learners, maxClassLearners)
		}
		if !idRE.MatchString(opts.class) {
			return nil, usagef("--class %q: use lower-case letters, digits and dashes, e.g. --class net-101", opts.class)
		}
		r, err := generatedRoster(opts.class, opts.learners, plan)
		if err != nil {
			return nil, err
		}
		plan.roster = r
	}

	var lab *labs.Lab
	switch {
	case opts.exercise != "" && opts.lab != "":
		return nil, usagef("give --lab ID or --exercise FILE, not both")
	case opts.exercise != "":
		if lab, err = c.loadLabOrExercise("", "", opts.exercise); err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(opts.exercise)
		if err != nil {
			return nil, err
		}
		plan.exercise = filepath.Base(abs)
		if plan.exerciseDir, err = relativeTo(outAbs, filepath.Dir(abs)); err != nil {
			return nil, err
		}
	default:
		id := opts.lab
		if id == "" {
			id = defaultClassLab
		}
		if lab, err = c.loadLab(id, ""); err != nil {
			return nil, err
		}
		plan.lab = lab.ID
	}
	plan.labID = lab.ID
	for _, s := range lab.Services {
		plan.dhcp = plan.dhcp || s.Name == "dhcp"
	}

	if opts.source != "" {
		if _, err := os.Stat(filepath.Join(opts.source, "docker", "Dockerfile")); err != nil {
			return nil, usagef("--source %q: no docker/Dockerfile there; give the root of the Protolab source tree", opts.source)
		}
		if plan.source, err = relativeTo(outAbs, opts.source); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// relativeTo writes path relative to dir (both as given on the command
// line), with forward slashes and a leading "./" or "../", as compose
// files write them.
func relativeTo(dirAbs, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(dirAbs, abs)
	if err != nil {
		return filepath.ToSlash(abs), nil
	}
	rel = filepath.ToSlash(rel)
	if rel != "." && rel != ".." && !strings.HasPrefix(rel, "../") {
		rel = "./" + rel
	}
	return rel, nil
}

// lastHost is the subnet's last address before the broadcast address.
func lastHost(p netip.Prefix) netip.Addr {
	return addrPlus(p.Addr(), 1<<(32-p.Bits())-2)
}

// hostAddr is the address with host number i in the subnet, if it may be
// a learner's: not the network's, the server's, the gateway's or the
// broadcast address.
func hostAddr(plan *classPlan, i int) (netip.Addr, bool) {
	if i < 2 || i >= 1<<(32-plan.subnet.Bits())-2 {
		return netip.Addr{}, false
	}
	return addrPlus(plan.subnet.Addr(), uint32(i)), true
}

// addrPlus is the IPv4 address n after a.
func addrPlus(a netip.Addr, n uint32) netip.Addr {
	b := a.As4()
	v := binary.BigEndian.Uint32(b[:]) + n
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// generatedRoster is the roster of --learners N: learner-01... with MAC
// addresses 02:00:00:00:01:NN and addresses from .101.
func generatedRoster(class string, n int, plan *classPlan) (*roster, error) {
	r := &roster{Class: class}
	for i := 1; i <= n; i++ {
		addr, ok := hostAddr(plan, firstLearnerHost-1+i)
		if !ok {
			room := max(0, 1<<(32-plan.subnet.Bits())-2-firstLearnerHost)
			return nil, usagef("--learners %d: the lab network %s holds %d learners (from host number %d, keeping the last address for Docker's gateway); give a larger one, e.g. --subnet 198.18.0.0/23",
				n, plan.subnet, room, firstLearnerHost)
		}
		id := fmt.Sprintf("learner-%02d", i)
		r.Learners = append(r.Learners, rosterLearner{
			ID:      id,
			Name:    fmt.Sprintf("Learner %02d", i),
			MAC:     net.HardwareAddr{0x02, 0, 0, 0, 0x01, byte(i)}.String(),
			Address: addr,
			Host:    id,
		})
	}
	return r, nil
}

// checkRosterFits checks a roster for a classroom: each learner needs a MAC
// and an address in the lab network that is not the server's or Docker's,
// and its id must be a name compose accepts for a service.
func checkRosterFits(r *roster, plan *classPlan) error {
	var errs []error
	for _, l := range r.Learners {
		switch {
		case l.MAC == "":
			errs = append(errs, fmt.Errorf("%s:%d: learner %s has no mac: a classroom container needs one (e.g. mac: \"02:00:00:00:01:01\")", r.File, l.Line, l.ID))
		case l.MAC == serverMAC:
			errs = append(errs, fmt.Errorf("%s:%d: learner %s: mac %s is the lab server's; choose another", r.File, l.Line, l.ID, l.MAC))
		}
		switch {
		case !l.Address.IsValid():
			errs = append(errs, fmt.Errorf("%s:%d: learner %s has no address: a classroom container needs one in %s (e.g. address: %s)", r.File, l.Line, l.ID, plan.subnet, addrPlus(plan.subnet.Addr(), firstLearnerHost)))
		case !l.Address.Is4() || !plan.subnet.Contains(l.Address):
			errs = append(errs, fmt.Errorf("%s:%d: learner %s: address %s is outside the lab network %s (see --subnet)", r.File, l.Line, l.ID, l.Address, plan.subnet))
		case l.Address == plan.server || l.Address.Compare(plan.gateway) >= 0 || l.Address == plan.subnet.Addr():
			errs = append(errs, fmt.Errorf("%s:%d: learner %s: address %s is kept for the network, the lab server (%s) or Docker's gateway (%s); choose another",
				r.File, l.Line, l.ID, l.Address, plan.server, plan.gateway))
		}
		if l.ID == "lab" {
			errs = append(errs, fmt.Errorf("%s:%d: learner id %q is the lab server's service name; choose another", r.File, l.Line, l.ID))
		}
	}
	return errors.Join(errs...)
}

// The roster format (a contract: lab serve reads it; docker/README.md
// describes it):
//
//	class: demo                  # optional, [a-z0-9-]
//	learners:                    # 1 to 1000
//	  - id: ada                  # [a-z0-9-], unique
//	    name: Ada Lovelace       # optional, free text
//	    mac: 02:00:00:00:01:01   # optional, unique: DHCP and attribution
//	    address: 192.0.2.101     # optional, unique: a fixed address
//	    host: learner-ada        # optional, unique: a host name
//
// Unknown fields are refused, so that a typo is not silently ignored.

// roster is a class: its learners and how to tell them apart.
type roster struct {
	Class    string
	Learners []rosterLearner
	File     string // as given, for messages
}

// rosterLearner is one learner of a roster.
type rosterLearner struct {
	ID      string
	Name    string
	MAC     string     // lower case, colon-separated; "" when not given
	Address netip.Addr // invalid when not given
	Host    string     // lower case; "" when not given
	Line    int        // where the learner starts in the file
}

const (
	maxRosterBytes    = 1 << 20
	maxRosterLearners = 1000
	maxNameRunes      = 200
)

var (
	idRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	hostRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
)

// parseRoster reads a roster strictly: every mistake is reported with its
// line (file: the name to show in messages).
func parseRoster(src []byte, file string) (*roster, error) {
	r := &roster{File: file}
	if len(src) > maxRosterBytes {
		return nil, fmt.Errorf("%s: the roster is larger than %d bytes", file, maxRosterBytes)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("%s: not YAML: %w", file, err)
	}
	var errs []error
	fail := func(err error) {
		var ye *yamlx.Error
		if errors.As(err, &ye) {
			ye.File = file
			err = ye
		}
		errs = append(errs, err)
	}
	fields, _, err := yamlx.Mapping(&doc, "the roster", "class", "learners")
	if err != nil {
		fail(err)
		return nil, errors.Join(errs...)
	}
	if f, ok := fields["class"]; ok {
		s, err := yamlx.String(f.Value, "class")
		switch {
		case err != nil:
			fail(err)
		case !idRE.MatchString(s):
			fail(yamlx.Errorf(f.Value, "class %q: use lower-case letters, digits and dashes, e.g. net-101", s))
		default:
			r.Class = s
		}
	}
	f, ok := fields["learners"]
	if !ok {
		fail(&yamlx.Error{Line: 1, Msg: "no learners: add a list \"learners:\" with an \"- id: ...\" for each"})
		return nil, errors.Join(errs...)
	}
	items, err := yamlx.Sequence(f.Value, "learners")
	if err != nil {
		fail(err)
		return nil, errors.Join(errs...)
	}
	switch {
	case len(items) == 0:
		fail(yamlx.Errorf(f.Key, "learners: the list is empty; add an \"- id: ...\" for each learner"))
	case len(items) > maxRosterLearners:
		fail(yamlx.Errorf(f.Key, "learners: %d learners, more than %d", len(items), maxRosterLearners))
		return nil, errors.Join(errs...)
	}
	seen := map[string]int{} // "id ada", "mac ...": the line where first seen
	unique := func(n *yaml.Node, what, v string) {
		key := what + " " + v
		if first, dup := seen[key]; dup {
			fail(yamlx.Errorf(n, "%s %s is already given on line %d: each learner needs its own", what, v, first))
			return
		}
		seen[key] = n.Line
	}
	for _, item := range items {
		lf, _, err := yamlx.Mapping(item, "a learner", "id", "name", "mac", "address", "host")
		if err != nil {
			fail(err)
			continue
		}
		l := rosterLearner{Line: yamlx.Resolve(item).Line}
		field := func(name string) (string, *yaml.Node, bool) {
			f, ok := lf[name]
			if !ok {
				return "", nil, false
			}
			s, err := yamlx.String(f.Value, name)
			if err != nil {
				fail(err)
				return "", nil, false
			}
			return s, f.Value, true
		}
		if s, n, ok := field("id"); ok {
			if !idRE.MatchString(s) {
				fail(yamlx.Errorf(n, "id %q: use lower-case letters, digits and dashes (up to 63), e.g. ada or learner-01", s))
			} else {
				l.ID = s
				unique(n, "id", s)
			}
		} else if _, given := lf["id"]; !given {
			fail(yamlx.Errorf(item, "a learner has no id: add \"id: ...\" (lower-case letters, digits, dashes)"))
		}
		if s, n, ok := field("name"); ok {
			if err := checkName(s); err != nil {
				fail(yamlx.Errorf(n, "name: %v", err))
			} else {
				l.Name = s
			}
		}
		if s, n, ok := field("mac"); ok {
			hw, err := net.ParseMAC(s)
			switch {
			case err != nil || len(hw) != 6:
				fail(yamlx.Errorf(n, "mac %q: write an Ethernet address as six pairs of hex digits, e.g. \"02:00:00:00:01:01\"", s))
			case hw[0]&1 == 1:
				fail(yamlx.Errorf(n, "mac %s is a group (multicast) address; a machine's address has an even first byte, e.g. 02:...", s))
			case bytes.Equal(hw, make([]byte, 6)):
				fail(yamlx.Errorf(n, "mac %s is all zeros; give the learner's own address", s))
			default:
				l.MAC = hw.String()
				unique(n, "mac", l.MAC)
			}
		}
		if s, n, ok := field("address"); ok {
			a, err := netip.ParseAddr(s)
			switch {
			case err != nil || a.Zone() != "":
				fail(yamlx.Errorf(n, "address %q: write an IP address, e.g. 192.0.2.101", s))
			case !a.IsGlobalUnicast() && !a.IsLoopback():
				// Loopback addresses are allowed: lab serve on one machine
				// tells 127.0.0.1 from 127.0.0.2 (a compose network does not
				// take them: its subnet check refuses them).
				fail(yamlx.Errorf(n, "address %s cannot be a machine's address (link-local, multicast or unspecified)", s))
			default:
				l.Address = a.Unmap()
				unique(n, "address", l.Address.String())
			}
		}
		if s, n, ok := field("host"); ok {
			h := strings.ToLower(strings.TrimSuffix(s, "."))
			if len(h) > 253 || !hostRE.MatchString(h) {
				fail(yamlx.Errorf(n, "host %q: write a host name of letters, digits, dashes and dots, e.g. learner-ada", s))
			} else {
				l.Host = h
				unique(n, "host", h)
			}
		}
		r.Learners = append(r.Learners, l)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// checkName accepts a learner's name: printable text of reasonable length.
func checkName(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(s); n > maxNameRunes {
		return fmt.Errorf("%d characters, more than %d", n, maxNameRunes)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%q holds a control character", s)
		}
	}
	return nil
}

// rosterFile writes a roster in the format parseRoster reads.
func rosterFile(r *roster) []byte {
	var b strings.Builder
	b.WriteString(`# Protolab classroom roster: who the learners are and how the lab server tells
# them apart (by the source address, the MAC address or the host name of what
# reaches it). Put your learners' names here; ids must stay unique, [a-z0-9-].
# After a change of mac or address, write the compose file again:
#   lab classroom compose --roster roster.yaml --out . --force
`)
	if r.Class != "" {
		fmt.Fprintf(&b, "class: %s\n", yamlScalar(r.Class))
	}
	b.WriteString("learners:\n")
	for _, l := range r.Learners {
		fmt.Fprintf(&b, "  - id: %s\n", yamlScalar(l.ID))
		if l.Name != "" {
			fmt.Fprintf(&b, "    name: %s\n", yamlQuoted(l.Name))
		}
		if l.MAC != "" {
			fmt.Fprintf(&b, "    mac: %s\n", yamlQuoted(l.MAC))
		}
		if l.Address.IsValid() {
			fmt.Fprintf(&b, "    address: %s\n", yamlScalar(l.Address.String()))
		}
		if l.Host != "" {
			fmt.Fprintf(&b, "    host: %s\n", yamlScalar(l.Host))
		}
	}
	return []byte(b.String())
}

// composeFile writes the compose file of a class.
func composeFile(p *classPlan) []byte {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	learners := p.roster.Learners
	first := learners[0].ID
	what := "lab " + p.labID
	if p.exercise != "" {
		what = "exercise " + p.labID
	}
	w("# Protolab classroom %q: the lab server and %d learners, each in a container,\n", p.roster.Class, len(learners))
	w("# on a lab network of their own, working on %s.\n", what)
	w("# Written by lab classroom compose: to change the class, edit the roster, then\n")
	w("#   lab classroom compose --roster %s --out . --force\n#\n", p.rosterPath)
	use := [][2]string{
		{"docker compose up -d --build", "build the images and start the class"},
		{"docker compose exec " + first + " bash", "a learner's shell: dig, swaks, curl, snmpget, udhcpc, nc..."},
		{"docker compose logs -f lab", "the lab server: tasks ticking as the learners work"},
		{fmt.Sprintf("http://127.0.0.1:%d/instructor?token=...", dashboardPort), "the instructor's dashboard, on this machine's loopback only"},
		{"docker compose logs lab | grep token", "the dashboard's address with its token (new at each start)"},
		{"docker compose down", "stop; the progress stays in the volume lab-state"},
	}
	if p.source == "" {
		use[0] = [2]string{"docker compose up -d", "start the class (build the images first: see below)"}
	}
	w("# Use:\n")
	for _, u := range use {
		w("#   %-38s %s\n", u[0], u[1])
	}
	w("#\n# docker-compose 1.29 reads this file too (docker-compose up -d --build...).\n")
	w("# The compose project's name, %s (the prefix of the containers, the\n", p.projectName())
	w("# network and the volume), is in .env beside this file, which both read.\n")
	w("#\n# The lab network, %s:\n", p.subnet)
	w("#   %-15s the lab server, on the standard ports: DNS 53, DHCP 67, SMTP 25\n", p.server)
	w("#   %-15s and 587, POP3 110, IMAP 143, SNMP 161, echo 7, HTTP 80\n", "")
	w("#   %-15s the learners, with the roster's MAC addresses and fixed addresses\n", learners[0].Address.String()+"...")
	w("#   %-15s the host's end of the network (Docker's gateway)\n", p.gateway)
	w(`#
# The lab server runs lab serve: it tells the learners apart by the source
# address, MAC address or host name the roster gives, keeps each one's
# progress, and shows each learner their own console at http://%s:%d/.
`, p.server, dashboardPort)
	if p.source == "" {
		w(`#
# Build the images beforehand, from the root of the Protolab source tree:
#   docker build -t protolab/lab -f docker/Dockerfile .
#   docker build -t protolab/learner -f docker/learner.Dockerfile .
`)
	}
	// What every learner container has in common.
	w("\n# Every learner's container: the same image, the lab server as DNS server,\n")
	w("# and every name of lab.test leading to the lab server (dig still shows\n# the zone's own addresses).\n")
	w("x-learner: &learner\n")
	p.writeImage(&b, "  ", "protolab/learner:latest", "docker/learner.Dockerfile")
	w(`  init: true
  depends_on:
    lab:
      condition: service_healthy
  dns: [%s]
  dns_search: [lab.test]
  extra_hosts:
`, p.server)
	for _, h := range labHosts {
		w("    - %s\n", yamlQuoted(h+".lab.test:"+p.server.String()))
		w("    - %s\n", yamlQuoted(h+":"+p.server.String()))
	}
	w("  restart: unless-stopped\n")

	// The lab server.
	w("\nservices:\n  lab:\n")
	p.writeImage(&b, "    ", "protolab/lab:latest", "docker/Dockerfile")
	w("    command: %s\n", flowSeq(p.serveCommand()))
	w(`    hostname: lab
    # The server runs as an unprivileged user with no capability at all: low
    # ports are open to it through the network namespace's
    # ip_unprivileged_port_start, and the DHCP server's socket bound to eth0
    # needs none (Linux 5.7 or later).
    sysctls:
      net.ipv4.ip_unprivileged_port_start: "0"
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true"]
    read_only: true
    tmpfs: [/tmp]
    ports:
      - "127.0.0.1:%d:%d"   # the dashboard, on this machine only
    volumes:
      - type: volume
        source: lab-state
        target: %s
      - type: bind
        source: %s
        target: %s
        read_only: true
`, dashboardPort, dashboardPort, stateInContainer, yamlScalar(p.rosterPath), rosterInContainer)
	if p.exerciseDir != "" {
		w(`      - type: bind
        source: %s
        target: %s
        read_only: true
`, yamlScalar(p.exerciseDir), exerciseInContainer)
	}
	w(`    # The MAC addresses are the services' (each container has one network),
    # which every Compose and Docker Engine takes.
    mac_address: %s
    networks:
      lab:
        ipv4_address: %s
    # Checked every 5 s: the learners start once the server answers.
    healthcheck:
      test: ["CMD", "/usr/local/bin/lab", "healthz"]
      interval: 5s
      timeout: 5s
      start_period: 30s
      retries: 3
    stop_grace_period: 15s
    restart: unless-stopped
`, yamlQuoted(serverMAC), p.server)

	// The learners.
	for _, l := range learners {
		host := l.Host
		if host == "" {
			host = l.ID
		}
		w(`
  %s:
    <<: *learner
    hostname: %s
    environment:
      LAB_LEARNER: %s
      LAB_SERVER: %s
    mac_address: %s
    networks:
      lab:
        ipv4_address: %s
`, l.ID, yamlScalar(host), yamlScalar(l.ID), p.server, yamlQuoted(l.MAC), l.Address)
	}

	w(`
networks:
  lab:
    driver: bridge
    ipam:
      config:
        - subnet: %s
          gateway: %s

volumes:
  lab-state:
`, p.subnet, p.gateway)
	return []byte(b.String())
}

// projectName is the compose project's name: protolab-CLASS.
func (p *classPlan) projectName() string {
	if p.roster.Class == "" {
		return "protolab"
	}
	return "protolab-" + p.roster.Class
}

// envFile writes the .env file beside the compose file. It names the
// compose project: docker-compose 1.29 refuses a top-level name in the
// compose file, and both it and Compose v2 read COMPOSE_PROJECT_NAME from
// the .env file of the compose file's directory.
func envFile(p *classPlan) []byte {
	return fmt.Appendf(nil, `# The compose project of this Protolab classroom: docker compose (and
# docker-compose) read it here, beside compose.yaml. Written by lab
# classroom compose, with compose.yaml.
COMPOSE_PROJECT_NAME=%s
`, p.projectName())
}

// writeImage writes a service's image, and how to build it when the
// source tree is known.
func (p *classPlan) writeImage(b *strings.Builder, in, image, dockerfile string) {
	fmt.Fprintf(b, "%simage: %s\n", in, image)
	if p.source == "" {
		fmt.Fprintf(b, "%spull_policy: never   # built beforehand, never taken from a registry\n", in)
		return
	}
	fmt.Fprintf(b, "%sbuild:\n%s  context: %s\n%s  dockerfile: %s\n", in, in, yamlScalar(p.source), in, dockerfile)
}

// networkArgs are the arguments putting the servers on the lab network.
func (p *classPlan) networkArgs() []string {
	args := []string{"--bind", p.server.String(), "--ports", "standard", "--web", fmt.Sprintf("0.0.0.0:%d", dashboardPort)}
	if p.dhcp {
		args = append(args, "--dhcp-interface", "eth0")
	}
	return args
}

// serveCommand runs the class under the classroom server, lab serve,
// which follows each learner of the roster.
func (p *classPlan) serveCommand() []string {
	lab := []string{"--labs", p.lab}
	if p.exercise != "" {
		lab = []string{"--exercise", exerciseInContainer + "/" + p.exercise}
	}
	return append(append([]string{"serve", "--roster", rosterInContainer}, lab...), p.networkArgs()...)
}

// flowSeq writes a list of strings as a YAML flow sequence.
func flowSeq(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = yamlScalar(s)
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// plainRE is what may be written as a plain YAML scalar here: no quoting
// needed, nothing a YAML 1.1 reader could take for a number, a boolean or a
// sexagesimal time.
var plainRE = regexp.MustCompile(`^[A-Za-z_./-][A-Za-z0-9_./-]*$`)

// yamlScalar writes s plain when that is safe, else quoted.
func yamlScalar(s string) string {
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "-", ".inf", ".nan":
		return yamlQuoted(s)
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		return s // dotted quads are strings to every YAML reader
	}
	if plainRE.MatchString(s) {
		return s
	}
	return yamlQuoted(s)
}

// yamlQuoted writes s as a double-quoted YAML scalar (JSON's escapes are
// YAML's).
func yamlQuoted(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// writeFileAtomic writes a file through a temporary file and a rename, so
// that a reader never sees half of it.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
