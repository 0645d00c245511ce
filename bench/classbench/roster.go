package main

import (
	"fmt"
	"net/netip"
	"strings"
)

// maxLearners bounds the class: one loopback address each, all in
// 127.0.10.0/24 (the first is .1).
const maxLearners = 250

// className is the roster's class, as the dashboard shows it.
const className = "classbench"

// learner is one simulated learner: the roster's id and the loopback
// address the lab tells them apart by; the Go clients bind it.
type learner struct {
	ID   string
	Addr netip.Addr
}

// makeLearners returns n learners, learner-001 at 127.0.10.1, learner-002
// at 127.0.10.2, and so on; n must be between 1 and maxLearners.
func makeLearners(n int) ([]learner, error) {
	if n < 1 || n > maxLearners {
		return nil, fmt.Errorf("learners: %d, want 1 to %d", n, maxLearners)
	}
	out := make([]learner, n)
	for i := range out {
		out[i] = learner{ID: fmt.Sprintf("learner-%03d", i+1), Addr: netip.AddrFrom4([4]byte{127, 0, 10, byte(i + 1)})}
	}
	return out, nil
}

// rosterYAML is the roster of lab serve for ls: the class's name, then
// each learner's id, name and address.
func rosterYAML(ls []learner) []byte {
	var b strings.Builder
	b.WriteString("class: " + className + "\nlearners:\n")
	for _, l := range ls {
		fmt.Fprintf(&b, "  - id: %s\n    name: Learner %s\n    address: %s\n", l.ID, strings.TrimPrefix(l.ID, "learner-"), l.Addr)
	}
	return []byte(b.String())
}
