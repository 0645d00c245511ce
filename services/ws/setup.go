package ws

import (
	"fmt"
	"io/fs"
	"strings"

	"go.yaml.in/yaml/v3"

	"protolab/internal/service"
	"protolab/internal/yamlx"
)

// options are the settings of the ws service in a lab file.
type options struct {
	Zone  string // zone file LookupHost reads, relative to the lab directory
	Users []user // WS-Security accounts
}

// user is a WS-Security account.
type user struct{ Name, Password string }

// optionNames are the options a lab file may give.
var optionNames = []string{"zone", "users"}

// defaultUsers is the account when the lab file names none.
var defaultUsers = []user{{Name: "alice", Password: "wonderland"}}

// Bounds of the options.
const (
	maxUsers    = 64
	maxUserName = 64
	maxPassword = 128
)

// load reads the options and the zone file.
func load(opts *yaml.Node, data fs.FS) (service.Prepared, error) {
	o, err := decodeOptions(opts)
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, fmt.Errorf("ws: no lab directory to read the zone file %s from", o.Zone)
	}
	text, err := fs.ReadFile(data, o.Zone)
	if err != nil {
		return nil, fmt.Errorf("ws: zone file %s: %w (paths are relative to the lab directory)", o.Zone, err)
	}
	dir, err := parseDirectory(o.Zone, text)
	if err != nil {
		return nil, fmt.Errorf("ws: %w", err)
	}
	return &prepared{o: o, dir: dir}, nil
}

// decodeOptions reads the options strictly: an unknown option or a value of
// the wrong type is an error naming its line.
func decodeOptions(n *yaml.Node) (options, error) {
	o := options{Users: defaultUsers}
	n = yamlx.Resolve(n)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return o, fmt.Errorf(`ws: option "zone" is required: name the zone file LookupHost reads, e.g. "zone: lab.test.zone"`)
	}
	fields, _, err := yamlx.Mapping(n, "ws options", optionNames...)
	if err != nil {
		return o, err
	}
	f, ok := fields["zone"]
	if !ok {
		return o, yamlx.Errorf(n, `ws options: "zone" is required: name the zone file LookupHost reads, e.g. "zone: lab.test.zone"`)
	}
	if o.Zone, err = yamlx.String(f.Value, "zone"); err != nil {
		return o, err
	}
	if !fs.ValidPath(o.Zone) || o.Zone == "." {
		return o, yamlx.Errorf(f.Value, "zone: %q: give a path inside the lab directory, without \"..\" or a leading \"/\"", o.Zone)
	}
	if f, ok := fields["users"]; ok {
		if o.Users, err = decodeUsers(f.Value); err != nil {
			return o, err
		}
	}
	return o, nil
}

// decodeUsers reads [{name: alice, password: wonderland}, ...].
func decodeUsers(n *yaml.Node) ([]user, error) {
	items, err := yamlx.Sequence(n, "users")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 || len(items) > maxUsers {
		return nil, yamlx.Errorf(n, "users: give from 1 to %d accounts, e.g. [{name: alice, password: wonderland}]", maxUsers)
	}
	var out []user
	seen := map[string]int{}
	for _, it := range items {
		fields, _, err := yamlx.Mapping(it, "user", "name", "password")
		if err != nil {
			return nil, err
		}
		var u user
		for key, dst := range map[string]*string{"name": &u.Name, "password": &u.Password} {
			f, ok := fields[key]
			if !ok {
				return nil, yamlx.Errorf(it, "user: %s is required ({name: alice, password: wonderland})", key)
			}
			if *dst, err = yamlx.String(f.Value, key); err != nil {
				return nil, err
			}
		}
		switch {
		case u.Name == "" || len(u.Name) > maxUserName || strings.ContainsAny(u.Name, " \t\r\n<>&"):
			return nil, yamlx.Errorf(it, "user: name %q: 1 to %d characters, without spaces or <, >, &", u.Name, maxUserName)
		case u.Password == "" || len(u.Password) > maxPassword:
			return nil, yamlx.Errorf(it, "user %s: a password of 1 to %d characters is required", u.Name, maxPassword)
		}
		if prev, dup := seen[u.Name]; dup {
			return nil, yamlx.Errorf(it, "user %s is given twice (first at line %d)", u.Name, prev)
		}
		seen[u.Name] = it.Line
		out = append(out, u)
	}
	return out, nil
}
