package mailstore

import (
	"io/fs"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"protolab/internal/service"
	"protolab/internal/yamlx"
)

// optionNames are the options a lab file may give.
var optionNames = []string{"domain", "users", "max_message_bytes", "max_mailbox_bytes", "welcome"}

// load reads and checks the options.
func load(opts *yaml.Node, _ fs.FS) (service.Prepared, error) {
	o, err := decodeOptions(opts)
	if err != nil {
		return nil, err
	}
	return &prepared{opts: o}, nil
}

// decodeOptions reads the options strictly: an unknown option, a value of
// the wrong type or out of bounds is an error naming its line. Absent
// options take the lab's defaults (welcome included).
func decodeOptions(n *yaml.Node) (Options, error) {
	o := Options{
		Domain:          DefaultDomain,
		Users:           DefaultUsers(),
		MaxMessageBytes: DefaultMaxMessageBytes,
		MaxMailboxBytes: DefaultMaxMailboxBytes,
		Welcome:         true,
	}
	n = yamlx.Resolve(n)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return o, nil
	}
	fields, _, err := yamlx.Mapping(n, "mailstore options", optionNames...)
	if err != nil {
		return o, err
	}
	if f, ok := fields["domain"]; ok {
		s, err := yamlx.String(f.Value, "domain")
		if err != nil {
			return o, err
		}
		if o.Domain, err = checkDomain(s); err != nil {
			return o, yamlx.Errorf(f.Value, "%v", err)
		}
	}
	if f, ok := fields["users"]; ok {
		if o.Users, err = decodeUsers(f.Value); err != nil {
			return o, err
		}
	}
	for _, sz := range []struct {
		name string
		dst  *int64
		max  int64
	}{
		{"max_message_bytes", &o.MaxMessageBytes, maxMessageLimit},
		{"max_mailbox_bytes", &o.MaxMailboxBytes, maxMailboxLimit},
	} {
		f, ok := fields[sz.name]
		if !ok {
			continue
		}
		s, err := yamlx.String(f.Value, sz.name)
		if err != nil {
			return o, err
		}
		v, ok := parseSize(s)
		if !ok || v < 1 || v > sz.max {
			return o, yamlx.Errorf(f.Value, "%s must be a size from 1 to %d bytes, such as 10485760 or 10MiB; found %q", sz.name, sz.max, s)
		}
		*sz.dst = v
	}
	if o.MaxMailboxBytes < o.MaxMessageBytes {
		at := n
		if f, ok := fields["max_mailbox_bytes"]; ok {
			at = f.Value
		}
		return o, yamlx.Errorf(at, "max_mailbox_bytes (%d) is smaller than max_message_bytes (%d): no message that large could be delivered; raise it", o.MaxMailboxBytes, o.MaxMessageBytes)
	}
	if f, ok := fields["welcome"]; ok {
		v := yamlx.Resolve(f.Value)
		if v == nil || v.Kind != yaml.ScalarNode || v.Decode(&o.Welcome) != nil {
			return o, yamlx.Errorf(f.Value, "welcome must be true or false, found %s", yamlx.KindName(f.Value))
		}
	}
	return o, nil
}

// decodeUsers reads the users: a list of {name, password}.
func decodeUsers(n *yaml.Node) ([]User, error) {
	items, err := yamlx.Sequence(n, "users")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, yamlx.Errorf(n, "users: give at least one user, e.g. [{name: alice, password: wonderland}]")
	}
	if len(items) > maxUsers {
		return nil, yamlx.Errorf(n, "users: at most %d users", maxUsers)
	}
	users := make([]User, 0, len(items))
	seen := map[string]int{}
	for _, it := range items {
		fields, _, err := yamlx.Mapping(it, "user", "name", "password")
		if err != nil {
			return nil, err
		}
		var u User
		for _, k := range []string{"name", "password"} {
			f, ok := fields[k]
			if !ok {
				return nil, yamlx.Errorf(it, "user: %s is required (name: alice, password: wonderland)", k)
			}
			s, err := yamlx.String(f.Value, "user "+k)
			if err != nil {
				return nil, err
			}
			if k == "name" {
				if u.Name, err = checkUserName(s); err != nil {
					return nil, yamlx.Errorf(f.Value, "%v", err)
				}
				if line, dup := seen[u.Name]; dup {
					return nil, yamlx.Errorf(f.Value, "user %q is already given at line %d (names are compared without case)", u.Name, line)
				}
				seen[u.Name] = f.Value.Line
			} else {
				if err := checkPassword(u.Name, s); err != nil {
					return nil, yamlx.Errorf(f.Value, "%v", err)
				}
				u.Password = s
			}
		}
		users = append(users, u)
	}
	return users, nil
}

// parseSize reads a number of bytes, optionally with a binary suffix:
// "10485760", "10MiB", "512KiB", "1GiB".
func parseSize(s string) (int64, bool) {
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(s, suf.s) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, suf.s)), suf.m
			break
		}
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v > (1<<62)/mult {
		return 0, false
	}
	return v * mult, true
}
