package dns

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"

	"protolab/internal/service"
)

// options are the settings of the dns service in a lab file.
type options struct {
	// Zones are zone files, relative to the lab directory.
	Zones []string
	// AllowTransfer lets anyone transfer the zones (AXFR); default true,
	// since the lab teaches why that leaks.
	AllowTransfer bool
}

// optionNames lists the known options, for error messages.
const optionNames = "zones, allow_transfer"

// load reads the options and the zone files.
func load(opts *yaml.Node, data fs.FS) (service.Prepared, error) {
	o, err := decodeOptions(opts)
	if err != nil {
		return nil, err
	}
	ix, err := loadZones(o.Zones, data)
	if err != nil {
		return nil, err
	}
	return &prepared{ix: ix, allowTransfer: o.AllowTransfer}, nil
}

// decodeOptions reads the options strictly: an unknown option or a value of
// the wrong type is an error naming its line.
func decodeOptions(n *yaml.Node) (options, error) {
	o := options{AllowTransfer: true}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return o, errors.New(`dns: option "zones" is required: list the zone files, e.g. "zones: [zones/lab.test.zone]"`)
	}
	if n.Kind != yaml.MappingNode {
		return o, fmt.Errorf("dns: line %d: options must be a mapping (zones: [...], allow_transfer: true)", n.Line)
	}
	haveZones := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "zones":
			if err := v.Decode(&o.Zones); err != nil {
				return o, fmt.Errorf("dns: line %d: zones: a list of zone file names is expected", v.Line)
			}
			haveZones = true
			for j, z := range o.Zones {
				if !fs.ValidPath(z) || z == "." {
					line := v.Line
					if j < len(v.Content) {
						line = v.Content[j].Line
					}
					return o, fmt.Errorf("dns: line %d: zone file %q: give a path inside the lab directory, without \"..\" or a leading \"/\"", line, z)
				}
			}
		case "allow_transfer":
			if err := v.Decode(&o.AllowTransfer); err != nil {
				return o, fmt.Errorf("dns: line %d: allow_transfer: true or false is expected, not %q", v.Line, v.Value)
			}
		default:
			return o, fmt.Errorf("dns: line %d: unknown option %q (known: %s)", k.Line, k.Value, optionNames)
		}
	}
	if !haveZones || len(o.Zones) == 0 {
		return o, fmt.Errorf("dns: line %d: option \"zones\" is required: list the zone files, e.g. \"zones: [zones/lab.test.zone]\"", n.Line)
	}
	return o, nil
}

// loadZones reads, checks and indexes the zone files.
func loadZones(files []string, data fs.FS) (*index, error) {
	if data == nil {
		return nil, errors.New("dns: no lab directory to read the zone files from")
	}
	zones := make([]*zone, 0, len(files))
	for _, f := range files {
		text, err := fs.ReadFile(data, f)
		if errors.Is(err, fs.ErrNotExist) && !strings.Contains(f, "/") {
			// A bare name is also looked for where labs keep their zones.
			if t, err2 := fs.ReadFile(data, path.Join("zones", f)); err2 == nil {
				f, text, err = path.Join("zones", f), t, nil
			}
		}
		if err != nil {
			return nil, fmt.Errorf("dns: zone file %s: %w (paths are relative to the lab directory)", f, err)
		}
		z, err := parseZone(f, text)
		if err != nil {
			return nil, fmt.Errorf("dns: %w", err)
		}
		zones = append(zones, z)
	}
	ix, err := newIndex(zones)
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	return ix, nil
}
