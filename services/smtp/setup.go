package smtp

import (
	"fmt"
	"io/fs"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"protolab/internal/service"
	"protolab/internal/yamlx"
)

// options are the settings of the smtp service in a lab file.
type options struct {
	// Hostname is the server's name in the greeting and the Received
	// header.
	Hostname string
	// MaxMessageBytes bounds a message (advertised as SIZE).
	MaxMessageBytes int64
	// MaxRecipients bounds the recipients of one message.
	MaxRecipients int
	// MaxBadCommands is how many bad commands (replies 500 to 504) a
	// session may send before it is closed with 421.
	MaxBadCommands int
	// ReadTimeout is how long the server waits for each command line, and
	// for each piece of a message inside DATA.
	ReadTimeout time.Duration
	// AllowInsecureAuth lets clients log in without STARTTLS (the
	// transcript and the event then carry a warning).
	AllowInsecureAuth bool
}

// Defaults and bounds of the options.
const (
	defaultHostname       = "mail.lab.test"
	defaultMaxMessage     = 1 << 20
	defaultMaxRecipients  = 20
	defaultMaxBadCommands = 10
	// RFC 5321 §4.5.3.2 suggests 5 minutes for a command and 3 for each
	// block of DATA; one value for both keeps the lab file simple.
	defaultReadTimeout = 5 * time.Minute

	minMessage, maxMessage   = 1 << 10, 64 << 20
	maxRecipientsBound       = 1000
	maxBadCommandsBound      = 1000
	minTimeout, maxTimeout   = time.Second, time.Hour
	hostnameMax              = 253
	optionNames              = "hostname, max_message_bytes, max_recipients, max_bad_commands, read_timeout, allow_insecure_auth"
	optionsExample           = "hostname: mail.lab.test"
	defaultAllowInsecureAuth = true
)

func defaultOptions() options {
	return options{
		Hostname:          defaultHostname,
		MaxMessageBytes:   defaultMaxMessage,
		MaxRecipients:     defaultMaxRecipients,
		MaxBadCommands:    defaultMaxBadCommands,
		ReadTimeout:       defaultReadTimeout,
		AllowInsecureAuth: defaultAllowInsecureAuth,
	}
}

// load reads the options; the mail store comes at Start (it is another
// service's).
func load(opts *yaml.Node, _ fs.FS) (service.Prepared, error) {
	o, err := decodeOptions(opts)
	if err != nil {
		return nil, err
	}
	return &prepared{opts: o, knobs: defaultKnobs()}, nil
}

// decodeOptions reads the options strictly: an unknown option or a value of
// the wrong type is an error naming its line.
func decodeOptions(n *yaml.Node) (options, error) {
	o := defaultOptions()
	n = yamlx.Resolve(n)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return o, nil
	}
	if n.Kind != yaml.MappingNode {
		return o, fmt.Errorf("smtp: line %d: options must be a mapping (%s), found %s", n.Line, optionsExample, yamlx.KindName(n))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return o, fmt.Errorf("smtp: line %d: option %q is given twice", k.Line, k.Value)
		}
		seen[k.Value] = true
		var err error
		switch k.Value {
		case "hostname":
			o.Hostname, err = hostnameOption(v)
		case "max_message_bytes":
			var x int
			x, err = intOption(v, k.Value, minMessage, maxMessage)
			o.MaxMessageBytes = int64(x)
		case "max_recipients":
			o.MaxRecipients, err = intOption(v, k.Value, 1, maxRecipientsBound)
		case "max_bad_commands":
			o.MaxBadCommands, err = intOption(v, k.Value, 1, maxBadCommandsBound)
		case "read_timeout":
			o.ReadTimeout, err = durationOption(v, k.Value)
		case "allow_insecure_auth":
			if derr := v.Decode(&o.AllowInsecureAuth); derr != nil || v.Kind != yaml.ScalarNode {
				err = fmt.Errorf("line %d: allow_insecure_auth: true or false is expected, not %s", v.Line, yamlx.KindName(v))
			}
		default:
			err = fmt.Errorf("line %d: unknown option %q (known: %s)", k.Line, k.Value, optionNames)
		}
		if err != nil {
			return o, fmt.Errorf("smtp: %w", err)
		}
	}
	return o, nil
}

func intOption(v *yaml.Node, name string, lo, hi int) (int, error) {
	x, err := yamlx.Int(v, name)
	if err != nil {
		return 0, err
	}
	if x < lo || x > hi {
		return 0, fmt.Errorf("line %d: %s: %d is out of range (%d to %d)", v.Line, name, x, lo, hi)
	}
	return x, nil
}

func durationOption(v *yaml.Node, name string) (time.Duration, error) {
	s, err := yamlx.String(v, name)
	if err != nil {
		return 0, err
	}
	d, perr := time.ParseDuration(s)
	if perr != nil {
		return 0, fmt.Errorf("line %d: %s: %q is not a duration: write it like 30s, 5m or 1h", v.Line, name, s)
	}
	if d < minTimeout || d > maxTimeout {
		return 0, fmt.Errorf("line %d: %s: %s is out of range (%s to %s)", v.Line, name, d, minTimeout, maxTimeout)
	}
	return d, nil
}

// hostnameOption reads a host name: letters, digits, hyphens and dots.
func hostnameOption(v *yaml.Node) (string, error) {
	s, err := yamlx.String(v, "hostname")
	if err != nil {
		return "", err
	}
	if !validHostname(s) {
		return "", fmt.Errorf("line %d: hostname %q is not a host name: use letters, digits, hyphens and dots, e.g. mail.lab.test", v.Line, s)
	}
	return strings.ToLower(s), nil
}

func validHostname(s string) bool {
	if s == "" || len(s) > hostnameMax {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
