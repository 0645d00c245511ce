// Package yamlx holds the small helpers used to read lab files strictly and
// with line numbers: every error names the file and line, and says what to
// do about it.
package yamlx

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is a problem at a place in a file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Errorf builds an *Error at node's line (file left for the caller to fill).
func Errorf(n *yaml.Node, format string, args ...any) *Error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &Error{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Field is one key of a mapping, with its key and value nodes.
type Field struct {
	Key   *yaml.Node
	Value *yaml.Node
}

// Mapping returns the fields of a mapping node in order, refusing keys that
// are not in allowed (when allowed is non-empty) and duplicate keys.
func Mapping(n *yaml.Node, what string, allowed ...string) (map[string]Field, []string, error) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil, Errorf(n, "%s must be a mapping (key: value lines), found %s", what, KindName(n))
	}
	fields := make(map[string]Field, len(n.Content)/2)
	var order []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, nil, Errorf(k, "%s: keys must be plain words", what)
		}
		key := k.Value
		if len(allowed) > 0 && !contains(allowed, key) {
			return nil, nil, Errorf(k, "%s: unknown field %q (known fields: %s)", what, key, strings.Join(sorted(allowed), ", "))
		}
		if _, dup := fields[key]; dup {
			return nil, nil, Errorf(k, "%s: field %q is given twice", what, key)
		}
		fields[key] = Field{Key: k, Value: v}
		order = append(order, key)
	}
	return fields, order, nil
}

// Resolve follows aliases and unwraps a document node.
func Resolve(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		case yaml.AliasNode:
			n = n.Alias
		case 0:
			return nil // an empty document
		default:
			return n
		}
	}
	return nil
}

// String reads a scalar as a string.
func String(n *yaml.Node, what string) (string, error) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", Errorf(n, "%s must be a single value, found %s", what, KindName(n))
	}
	return n.Value, nil
}

// Int reads a scalar as a whole number.
func Int(n *yaml.Node, what string) (int, error) {
	s, err := String(n, what)
	if err != nil {
		return 0, err
	}
	v, perr := strconv.Atoi(s)
	if perr != nil {
		return 0, Errorf(n, "%s must be a whole number, found %q", what, s)
	}
	return v, nil
}

// Strings reads a scalar or a sequence of scalars.
func Strings(n *yaml.Node, what string) ([]string, error) {
	n = Resolve(n)
	if n != nil && n.Kind == yaml.SequenceNode {
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			s, err := String(c, what+" item")
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := String(n, what)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

// Sequence returns the items of a sequence node.
func Sequence(n *yaml.Node, what string) ([]*yaml.Node, error) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil, Errorf(n, "%s must be a list (lines starting with \"- \"), found %s", what, KindName(n))
	}
	return n.Content, nil
}

// KindName names a node's kind for error messages.
func KindName(n *yaml.Node) string {
	n = Resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "something else"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func sorted(list []string) []string {
	out := append([]string(nil), list...)
	sort.Strings(out)
	return out
}
