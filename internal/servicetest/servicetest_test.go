package servicetest

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestYAML(t *testing.T) {
	n := YAML(t, "zones: [a.zone]\nallow_transfer: true\n")
	if n.Kind != yaml.MappingNode || len(n.Content) != 4 || n.Content[0].Value != "zones" || n.Content[3].Value != "true" {
		t.Fatalf("node %+v", n)
	}
	if n := YAML(t, "# nothing\n"); len(n.Content) != 0 || n.Kind == yaml.MappingNode {
		t.Fatalf("a document without a value: %+v", n)
	}
}
