package progress

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"protolab/internal/event"
)

type lazy string

func (l lazy) String() string { return string(l) }

func testEvents(n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = event.Event{
			Seq:     uint64(i + 1),
			Time:    t0.Add(time.Duration(i) * time.Second),
			Service: "dns",
			Kind:    "dns.query",
			Client:  "127.0.0.1:40000",
			Attrs:   map[string]string{"qname": fmt.Sprintf("n%d.lab.test.", i), "qtype": "A"},
		}
	}
	return evs
}

func TestAppendRecent(t *testing.T) {
	s := openTest(t)
	local := time.FixedZone("CET", 3600)
	in := []event.Event{
		{Seq: 1, Time: t0.In(local), Service: "dns", Kind: "dns.query", Client: "127.0.0.1:5353",
			Attrs: map[string]string{"qname": "www.lab.test.", "qtype": "A", "odd": "a\"b\n\x00é"}},
		{Seq: 2, Time: t0.Add(time.Second), Service: "smtp", Kind: "smtp.delivered", Learner: "u1",
			TranscriptFrom: lazy("MAIL FROM:<alice@lab.test>\n250 OK")},
		{Seq: 1<<63 + 5, Time: t0.Add(2 * time.Second), Service: "echo", Kind: "echo.line",
			Transcript: "already rendered", TranscriptFrom: lazy("ignored")},
	}
	if err := s.Append("dns", in); err != nil {
		t.Fatal(err)
	}
	if in[1].TranscriptFrom == nil || in[1].Transcript != "" {
		t.Error("Append changed the caller's events")
	}
	want := []event.Event{
		{Seq: 1, Time: t0, Service: "dns", Kind: "dns.query", Client: "127.0.0.1:5353",
			Attrs: map[string]string{"qname": "www.lab.test.", "qtype": "A", "odd": "a\"b\n\x00é"}},
		{Seq: 2, Time: t0.Add(time.Second), Service: "smtp", Kind: "smtp.delivered", Learner: "u1",
			Transcript: "MAIL FROM:<alice@lab.test>\n250 OK"},
		{Seq: 1<<63 + 5, Time: t0.Add(2 * time.Second), Service: "echo", Kind: "echo.line",
			Transcript: "already rendered"},
	}
	for _, tc := range []struct {
		n    int
		want []event.Event
	}{
		{0, nil},
		{-1, nil},
		{1, want[2:]},
		{2, want[1:]},
		{3, want},
		{10, want},
	} {
		got, err := s.Recent("dns", tc.n)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Recent(%d) =\n%+v\nwant\n%+v", tc.n, got, tc.want)
		}
	}
	if got, _ := s.Recent("mail", 10); len(got) != 0 {
		t.Errorf("Recent(mail) = %v, want none", got)
	}
	if err := s.Append("dns", nil); err != nil {
		t.Errorf("Append(nil) = %v", err)
	}
}

func TestRecentOrderAcrossBatches(t *testing.T) {
	s := openTest(t)
	// The bus's sequence restarts with each run: order is insertion order.
	for run := range 3 {
		evs := testEvents(2)
		for i := range evs {
			evs[i].Attrs = map[string]string{"run": fmt.Sprint(run), "i": fmt.Sprint(i)}
		}
		if err := s.Append("dns", evs); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Recent("dns", 5)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range got {
		order = append(order, e.Attrs["run"]+"."+e.Attrs["i"])
	}
	if want := []string{"0.1", "1.0", "1.1", "2.0", "2.1"}; !reflect.DeepEqual(order, want) {
		t.Errorf("Recent order = %v, want %v", order, want)
	}
}

func TestPrune(t *testing.T) {
	for _, tc := range []struct {
		have, keep, want int
	}{
		{10, 3, 3},
		{10, 10, 10},
		{10, 20, 10},
		{10, 0, 0},
		{0, 5, 0},
		{1, 1, 1},
	} {
		t.Run(fmt.Sprintf("%d-keep-%d", tc.have, tc.keep), func(t *testing.T) {
			s := openTest(t)
			if err := s.Append("dns", testEvents(tc.have)); err != nil {
				t.Fatal(err)
			}
			if err := s.Append("mail", testEvents(4)); err != nil {
				t.Fatal(err)
			}
			if err := s.Prune("dns", tc.keep); err != nil {
				t.Fatal(err)
			}
			n, err := s.Count("dns")
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.want {
				t.Errorf("Count after Prune = %d, want %d", n, tc.want)
			}
			if m, _ := s.Count("mail"); m != 4 {
				t.Errorf("Prune(dns) touched mail: %d events left, want 4", m)
			}
			// The newest survive.
			got, err := s.Recent("dns", tc.have)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range got {
				if want := uint64(tc.have - tc.want + i + 1); e.Seq != want {
					t.Errorf("event %d after prune has seq %d, want %d", i, e.Seq, want)
				}
			}
		})
	}
	s := openTest(t)
	if err := s.Prune("dns", -1); err == nil {
		t.Error("Prune(-1) succeeded")
	}
}
