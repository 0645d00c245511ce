package snmp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strings"

	"go.yaml.in/yaml/v3"

	"protolab/internal/service"
)

// options are the settings of the snmp service in a lab file.
type options struct {
	MIB         string      // MIB file, relative to the lab directory
	Communities []community // v1/v2c communities
	Users       []user      // v3 USM users
	TrapTarget  string      // host:port notifications go to; none if empty
	Inform      bool        // send InformRequests instead of traps
	EngineID    []byte      // v3 authoritative engine ID
}

// community is a v1/v2c community and what it may do.
type community struct {
	Name   string
	Access access
	// Hidden communities are not printed with the lab's accounts: the weak
	// one a learner must find.
	Hidden bool
}

// user is a v3 USM user.
type user struct {
	Name     string
	Auth     string // "", "MD5", "SHA"
	AuthPass string
	Priv     string // "", "DES", "AES"
	PrivPass string
}

// optionNames lists the known options, for error messages.
const optionNames = "mib, communities, users, trap_target, inform, engine_id"

// defaultEngineID is the engine ID when the lab file gives none: format 5
// (octets) under the documentation enterprise number 32473.
var defaultEngineID = []byte{0x80, 0x00, 0x7e, 0xd9, 0x05, 'p', 'r', 'o', 't', 'o', 'l', 'a', 'b'}

// load reads the options and the MIB file.
func load(opts *yaml.Node, data fs.FS) (service.Prepared, error) {
	o, err := decodeOptions(opts)
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, errors.New("snmp: no lab directory to read the MIB file from")
	}
	text, err := fs.ReadFile(data, o.MIB)
	if err != nil {
		return nil, fmt.Errorf("snmp: MIB file %s: %w (paths are relative to the lab directory)", o.MIB, err)
	}
	m, err := parseMIB(o.MIB, text)
	if err != nil {
		return nil, fmt.Errorf("snmp: %w", err)
	}
	return &prepared{m: m, o: o}, nil
}

// decodeOptions reads the options strictly: an unknown option or a value of
// the wrong type is an error naming its line.
func decodeOptions(n *yaml.Node) (options, error) {
	var o options
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return o, errors.New(`snmp: option "mib" is required: name the MIB file, e.g. "mib: router.snmprec"`)
	}
	if n.Kind != yaml.MappingNode {
		return o, fmt.Errorf("snmp: line %d: options must be a mapping (mib: ..., communities: [...])", n.Line)
	}
	haveComms := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "mib":
			err = v.Decode(&o.MIB)
			if err == nil && (!fs.ValidPath(o.MIB) || o.MIB == ".") {
				err = fmt.Errorf("mib: %q: give a path inside the lab directory, without \"..\" or a leading \"/\"", o.MIB)
			}
		case "communities":
			haveComms = true
			o.Communities, err = decodeCommunities(v)
		case "users":
			o.Users, err = decodeUsers(v)
		case "trap_target":
			var s string
			if err = v.Decode(&s); err == nil {
				var ap netip.AddrPort
				if ap, err = netip.ParseAddrPort(s); err != nil || ap.Port() == 0 {
					err = fmt.Errorf("trap_target: %q: an IP address and port are expected, e.g. 127.0.0.1:1162", s)
				}
				o.TrapTarget = s
			}
		case "inform":
			if v.Decode(&o.Inform) != nil {
				err = fmt.Errorf("inform: true or false is expected, not %q", v.Value)
			}
		case "engine_id":
			var s string
			if err = v.Decode(&s); err == nil {
				o.EngineID, err = hex.DecodeString(strings.TrimPrefix(strings.ToLower(s), "0x"))
				if err != nil || len(o.EngineID) < 5 || len(o.EngineID) > 32 {
					err = fmt.Errorf("engine_id: %q: 5 to 32 bytes in hex are expected (RFC 3411), e.g. 0x80007ed905706c6162", s)
				}
			}
		default:
			return o, fmt.Errorf("snmp: line %d: unknown option %q (known: %s)", k.Line, k.Value, optionNames)
		}
		if err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				err = fmt.Errorf("%s: a value of another type is expected", k.Value)
			}
			return o, fmt.Errorf("snmp: line %d: %w", v.Line, err)
		}
	}
	if o.MIB == "" {
		return o, fmt.Errorf("snmp: line %d: option \"mib\" is required: name the MIB file, e.g. \"mib: router.snmprec\"", n.Line)
	}
	if !haveComms {
		o.Communities = []community{{Name: "public", Access: accessRO}, {Name: "private", Access: accessRW}}
	}
	if o.EngineID == nil {
		o.EngineID = defaultEngineID
	}
	if o.Inform && o.TrapTarget == "" {
		return o, fmt.Errorf("snmp: line %d: inform: true needs a trap_target to send to", n.Line)
	}
	return o, nil
}

// fields reads a mapping of scalars, rejecting names not in known.
func fields(n *yaml.Node, what string, known ...string) (map[string]string, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: %s: a mapping is expected ({%s: ...})", n.Line, what, strings.Join(known, ": ..., "))
	}
	m := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ok := false
		for _, x := range known {
			ok = ok || x == k.Value
		}
		if !ok {
			return nil, fmt.Errorf("line %d: %s: unknown field %q (known: %s)", k.Line, what, k.Value, strings.Join(known, ", "))
		}
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: %s: %s: a single value is expected", v.Line, what, k.Value)
		}
		m[k.Value] = v.Value
	}
	return m, nil
}

// decodeCommunities reads [{name: public, access: ro}, ...].
func decodeCommunities(n *yaml.Node) ([]community, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, errors.New("communities: a list is expected, e.g. [{name: public, access: ro}]")
	}
	var out []community
	seen := map[string]bool{}
	for _, item := range n.Content {
		f, err := fields(item, "community", "name", "access", "hidden")
		if err != nil {
			return nil, err
		}
		c := community{Name: f["name"]}
		if c.Name == "" || len(c.Name) > 32 {
			return nil, fmt.Errorf("line %d: community: a name of 1 to 32 characters is required", item.Line)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("line %d: community %q is given twice", item.Line, c.Name)
		}
		seen[c.Name] = true
		switch f["access"] {
		case "ro", "":
		case "rw":
			c.Access = accessRW
		default:
			return nil, fmt.Errorf("line %d: community %q: access %q: ro or rw is expected", item.Line, c.Name, f["access"])
		}
		switch f["hidden"] {
		case "", "false":
		case "true":
			c.Hidden = true
		default:
			return nil, fmt.Errorf("line %d: community %q: hidden %q: true or false is expected", item.Line, c.Name, f["hidden"])
		}
		out = append(out, c)
	}
	return out, nil
}

// decodeUsers reads [{name: learner, auth: SHA, auth_pass: ..., priv: AES, priv_pass: ...}].
func decodeUsers(n *yaml.Node) ([]user, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, errors.New("users: a list is expected, e.g. [{name: learner, auth: SHA, auth_pass: ..., priv: AES, priv_pass: ...}]")
	}
	var out []user
	seen := map[string]bool{}
	for _, item := range n.Content {
		f, err := fields(item, "user", "name", "auth", "auth_pass", "priv", "priv_pass")
		if err != nil {
			return nil, err
		}
		u := user{Name: f["name"], Auth: strings.ToUpper(f["auth"]), AuthPass: f["auth_pass"],
			Priv: strings.ToUpper(f["priv"]), PrivPass: f["priv_pass"]}
		if u.Name == "" || len(u.Name) > 32 {
			return nil, fmt.Errorf("line %d: user: a name of 1 to 32 characters is required", item.Line)
		}
		if seen[u.Name] {
			return nil, fmt.Errorf("line %d: user %q is given twice", item.Line, u.Name)
		}
		seen[u.Name] = true
		switch u.Auth {
		case "", "MD5", "SHA":
		default:
			return nil, fmt.Errorf("line %d: user %q: auth %q: MD5 or SHA is expected", item.Line, u.Name, u.Auth)
		}
		switch u.Priv {
		case "", "DES", "AES":
		default:
			return nil, fmt.Errorf("line %d: user %q: priv %q: DES or AES is expected", item.Line, u.Name, u.Priv)
		}
		if u.Auth != "" && len(u.AuthPass) < 8 || u.Priv != "" && len(u.PrivPass) < 8 {
			return nil, fmt.Errorf("line %d: user %q: passphrases of at least 8 characters are required (RFC 3414 §11.2)", item.Line, u.Name)
		}
		if u.Priv != "" && u.Auth == "" {
			return nil, fmt.Errorf("line %d: user %q: priv needs auth too (there is no noAuthPriv level)", item.Line, u.Name)
		}
		out = append(out, u)
	}
	return out, nil
}
