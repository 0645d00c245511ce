// Package servicetest holds what the services' tests share beside the
// event sink (eventtest): a service's options written as YAML text, as a
// lab file gives them to Spec.Load.
package servicetest

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

// YAML parses text into the node Spec.Load is given: the document's one
// value (a mapping of options, usually), or the document itself when it
// has none.
func YAML(t testing.TB, text string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	return &doc
}
