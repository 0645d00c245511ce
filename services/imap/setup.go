package imap

import (
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"protolab/internal/service"
	"protolab/internal/yamlx"
)

// options are the settings of the imap service in a lab file.
type options struct {
	// AllowInsecureAuth lets clients log in without TLS (default true: the
	// lab shows what a password in clear looks like; the transcript warns).
	AllowInsecureAuth bool
	// MaxConnections bounds the connections open at once.
	MaxConnections int
	// IdleTimeout closes a connection that sends nothing for that long,
	// IDLE included. The library's own limit is 35 minutes; values under 30
	// seconds also shorten the time a client has to finish a command line.
	IdleTimeout time.Duration
	// MaxLoginFailures closes a connection after that many failed logins.
	MaxLoginFailures int
}

// Bounds and defaults of the options.
const (
	defaultMaxConnections   = 100
	maxMaxConnections       = 10000
	defaultIdleTimeout      = 30 * time.Minute
	minIdleTimeout          = time.Second
	maxIdleTimeout          = 35 * time.Minute // the library's own limit
	defaultMaxLoginFailures = 5
	maxMaxLoginFailures     = 100
)

// optionNames lists the known options, for error messages.
var optionNames = []string{"allow_insecure_auth", "max_connections", "idle_timeout", "max_login_failures"}

func defaultOptions() options {
	return options{
		AllowInsecureAuth: true,
		MaxConnections:    defaultMaxConnections,
		IdleTimeout:       defaultIdleTimeout,
		MaxLoginFailures:  defaultMaxLoginFailures,
	}
}

// load reads the options; the mail store is found at start.
func load(opts *yaml.Node, _ fs.FS) (service.Prepared, error) {
	o, err := decodeOptions(opts)
	if err != nil {
		return nil, err
	}
	return &prepared{opts: o, delays: defaultDelays}, nil
}

// decodeOptions reads the options strictly: an unknown option or a value of
// the wrong type is an error naming its line. Every option is optional.
func decodeOptions(n *yaml.Node) (options, error) {
	o := defaultOptions()
	n = yamlx.Resolve(n)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return o, nil
	}
	fields, order, err := yamlx.Mapping(n, "imap options", optionNames...)
	if err != nil {
		return o, fmt.Errorf("imap: %w", err)
	}
	for _, name := range order {
		v := fields[name].Value
		var err error
		switch name {
		case "allow_insecure_auth":
			o.AllowInsecureAuth, err = boolOption(v, name)
		case "max_connections":
			o.MaxConnections, err = intOption(v, name, 1, maxMaxConnections)
		case "max_login_failures":
			o.MaxLoginFailures, err = intOption(v, name, 1, maxMaxLoginFailures)
		case "idle_timeout":
			o.IdleTimeout, err = durationOption(v, name, minIdleTimeout, maxIdleTimeout)
		}
		if err != nil {
			return o, fmt.Errorf("imap: %w", err)
		}
	}
	return o, nil
}

func boolOption(n *yaml.Node, name string) (bool, error) {
	s, err := yamlx.String(n, name)
	if err != nil {
		return false, err
	}
	switch s {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off":
		return false, nil
	}
	return false, yamlx.Errorf(n, "%s: true or false is expected, not %q", name, s)
}

func intOption(n *yaml.Node, name string, lo, hi int) (int, error) {
	v, err := yamlx.Int(n, name)
	if err != nil {
		return 0, err
	}
	if v < lo || v > hi {
		return 0, yamlx.Errorf(n, "%s: %d is out of range (%d to %d)", name, v, lo, hi)
	}
	return v, nil
}

// durationOption reads "30m", "90s", "1h" or a bare number of seconds.
func durationOption(n *yaml.Node, name string, lo, hi time.Duration) (time.Duration, error) {
	s, err := yamlx.String(n, name)
	if err != nil {
		return 0, err
	}
	d, perr := time.ParseDuration(s)
	if perr != nil {
		secs, aerr := strconv.Atoi(s)
		if aerr != nil {
			return 0, yamlx.Errorf(n, "%s: %q is not a duration; write it like 90s, 10m or 30m", name, s)
		}
		d = time.Duration(secs) * time.Second
	}
	if d < lo || d > hi {
		return 0, yamlx.Errorf(n, "%s: %s is out of range (%s to %s)", name, d, lo, hi)
	}
	return d, nil
}
