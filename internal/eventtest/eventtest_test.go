package eventtest

import (
	"reflect"
	"testing"

	"protolab/internal/event"
)

type specs map[string][]string

func (s specs) Event(kind string) (event.Spec, bool) {
	attrs, ok := s[kind]
	es := event.Spec{Kind: kind}
	for _, a := range attrs {
		es.Attrs = append(es.Attrs, event.Attr{Name: a})
	}
	return es, ok
}

func TestCollector(t *testing.T) {
	c := New(specs{"x.a": {"n"}, "x.b": nil})
	c.Publish(event.Event{Kind: "x.a", Attrs: map[string]string{"n": "1"}})
	c.Publish(event.Event{Kind: "x.b"})
	c.Publish(event.Event{Kind: "x.a", Attrs: map[string]string{"n": "2"}})
	if e := c.Next(t, "x.b"); e.Kind != "x.b" {
		t.Fatalf("Next: %+v", e)
	}
	if all := c.All(); len(all) != 1 || all[0].Attrs["n"] != "2" {
		t.Fatalf("All after Next: %+v", all)
	}
	c.None(t, "x.a")
	if u := c.Undeclared(); len(u) != 0 {
		t.Fatalf("undeclared: %v", u)
	}
	c.Publish(event.Event{Kind: "x.a", Attrs: map[string]string{"m": "1"}})
	c.Publish(event.Event{Kind: "x.c"})
	if u := c.Undeclared(); !reflect.DeepEqual(u, []string{"x.a m", "x.c"}) {
		t.Fatalf("undeclared: %v", u)
	}
}
