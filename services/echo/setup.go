package echo

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
	defaultMaxConns    = 64
	maxMaxConns        = 1024
	defaultIdleTimeout = 2 * time.Minute
	minIdleTimeout     = time.Second
	maxIdleTimeout     = time.Hour
	defaultMaxBytes    = 1 << 20
	maxMaxBytes        = 64 << 20
	defaultMaxDatagram = 8192
	maxMaxDatagram     = 65507 // the largest UDP payload over IPv4
	defaultUDPRate     = 100
	maxUDPRate         = 100000
)

// options are the settings of the echo service in a lab file.
type options struct {
	// MaxConns is how many TCP connections are served at once; one more is
	// closed as soon as it is accepted.
	MaxConns int
	// IdleTimeout closes a TCP connection on which nothing came for this
	// long: a client that connects and stays silent (half-open) does not
	// hold a place for ever.
	IdleTimeout time.Duration
	// MaxBytes is how many bytes one TCP connection may have echoed; the
	// server then closes it.
	MaxBytes int
	// MaxDatagram is the largest UDP payload sent back; larger ones are
	// dropped.
	MaxDatagram int
	// UDPRate is how many datagrams a second the server handles at most
	// (the rest are dropped and counted).
	UDPRate int
}

// optionNames lists the known options, for error messages.
var optionNames = []string{"max_conns", "idle_timeout", "max_bytes", "max_datagram", "udp_rate"}

// defaultOptions are the options when the lab file gives none.
func defaultOptions() options {
	return options{MaxConns: defaultMaxConns, IdleTimeout: defaultIdleTimeout, MaxBytes: defaultMaxBytes,
		MaxDatagram: defaultMaxDatagram, UDPRate: defaultUDPRate}
}

// load reads the options; the echo service needs no files.
func load(opts *yaml.Node, _ fs.FS) (service.Prepared, error) {
	o, err := decodeOptions(opts)
	if err != nil {
		return nil, err
	}
	return &prepared{o: o}, nil
}

// decodeOptions reads the options strictly: an unknown option, a value of
// the wrong type or out of bounds is an error naming its line.
func decodeOptions(n *yaml.Node) (options, error) {
	o := defaultOptions()
	n = yamlx.Resolve(n)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return o, nil
	}
	fields, order, err := yamlx.Mapping(n, "echo options", optionNames...)
	if err != nil {
		return o, fmt.Errorf("echo: %w", err)
	}
	intIn := func(v *yaml.Node, name string, lo, hi int) (int, error) {
		s, err := yamlx.String(v, name)
		if err != nil {
			return 0, err
		}
		k, perr := strconv.Atoi(s)
		if perr != nil || k < lo || k > hi {
			return 0, yamlx.Errorf(v, "%s: a whole number from %d to %d is expected, not %q", name, lo, hi, s)
		}
		return k, nil
	}
	for _, name := range order {
		v := yamlx.Resolve(fields[name].Value)
		var err error
		switch name {
		case "max_conns":
			o.MaxConns, err = intIn(v, name, 1, maxMaxConns)
		case "max_bytes":
			o.MaxBytes, err = intIn(v, name, 1, maxMaxBytes)
		case "max_datagram":
			o.MaxDatagram, err = intIn(v, name, 1, maxMaxDatagram)
		case "udp_rate":
			o.UDPRate, err = intIn(v, name, 1, maxUDPRate)
		case "idle_timeout":
			var s string
			if s, err = yamlx.String(v, name); err != nil {
				break
			}
			d, perr := time.ParseDuration(s)
			if perr != nil || d < minIdleTimeout || d > maxIdleTimeout {
				err = yamlx.Errorf(v, "idle_timeout: a duration from %s to %s is expected, such as 30s or 2m, not %q", minIdleTimeout, maxIdleTimeout, s)
				break
			}
			o.IdleTimeout = d
		}
		if err != nil {
			return o, fmt.Errorf("echo: %w", err)
		}
	}
	return o, nil
}
