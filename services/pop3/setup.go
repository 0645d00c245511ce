package pop3

import (
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"protolab/internal/service"
	"protolab/internal/yamlx"
)

// Defaults and bounds of the options.
const (
	defaultIdleTimeout = 10 * time.Minute // RFC 1939 §3: at least 10 minutes
	minIdleTimeout     = 10 * time.Second // shorter only to show autologout in a lab
	defaultMaxBad      = 10
	maxMaxBad          = 1000
)

// options are the settings of the pop3 service in a lab file.
type options struct {
	// IdleTimeout logs out a client that sends nothing for this long.
	IdleTimeout time.Duration
	// MaxBadCommands closes a connection after this many unknown, malformed
	// or misplaced commands.
	MaxBadCommands int
	// AllowInsecureAuth lets USER/PASS and AUTH PLAIN be used without TLS.
	// On by default: seeing the password cross in clear is a lesson.
	AllowInsecureAuth bool
}

// optionNames lists the known options, for error messages.
var optionNames = []string{"idle_timeout", "max_bad_commands", "allow_insecure_auth"}

// load reads the options; the pop3 service needs no files.
func load(opts *yaml.Node, _ fs.FS) (service.Prepared, error) {
	o, err := decodeOptions(opts)
	if err != nil {
		return nil, err
	}
	return &prepared{cfg: newConfig(o)}, nil
}

// decodeOptions reads the options strictly: an unknown option or a value of
// the wrong type is an error naming its line.
func decodeOptions(n *yaml.Node) (options, error) {
	o := options{IdleTimeout: defaultIdleTimeout, MaxBadCommands: defaultMaxBad, AllowInsecureAuth: true}
	n = yamlx.Resolve(n)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return o, nil
	}
	fields, order, err := yamlx.Mapping(n, "pop3 options", optionNames...)
	if err != nil {
		return o, fmt.Errorf("pop3: %w", err)
	}
	for _, name := range order {
		v := yamlx.Resolve(fields[name].Value)
		switch name {
		case "idle_timeout":
			s, err := yamlx.String(v, name)
			if err != nil {
				return o, fmt.Errorf("pop3: %w", err)
			}
			d, err := time.ParseDuration(s)
			if err != nil {
				return o, fmt.Errorf("pop3: %w", yamlx.Errorf(v, "idle_timeout: a duration such as 10m or 90s is expected, not %q", s))
			}
			if d < minIdleTimeout {
				return o, fmt.Errorf("pop3: %w", yamlx.Errorf(v, "idle_timeout: %s is too short: give at least %s (RFC 1939 asks for 10m)", d, minIdleTimeout))
			}
			o.IdleTimeout = d
		case "max_bad_commands":
			s, err := yamlx.String(v, name)
			if err != nil {
				return o, fmt.Errorf("pop3: %w", err)
			}
			k, err := strconv.Atoi(s)
			if err != nil || k < 1 || k > maxMaxBad {
				return o, fmt.Errorf("pop3: %w", yamlx.Errorf(v, "max_bad_commands: a whole number from 1 to %d is expected, not %q", maxMaxBad, s))
			}
			o.MaxBadCommands = k
		case "allow_insecure_auth":
			var b bool
			if v == nil || v.Decode(&b) != nil || v.Kind != yaml.ScalarNode {
				return o, fmt.Errorf("pop3: %w", yamlx.Errorf(v, "allow_insecure_auth: true or false is expected, found %s", yamlx.KindName(v)))
			}
			o.AllowInsecureAuth = b
		}
	}
	return o, nil
}
