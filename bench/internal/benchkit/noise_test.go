package benchkit

import (
	"testing"
	"time"
)

func TestNoise(t *testing.T) {
	type load struct{ busy, total, own time.Duration }
	tests := []struct {
		name    string
		loads   []load
		unknown bool
		want    float64
	}{
		{"no loads", nil, false, -1},
		{"one load", []load{{3 * time.Second, 10 * time.Second, 2 * time.Second}}, false, 0.1},
		{"own above busy counts as none", []load{
			{time.Second, 4 * time.Second, 2 * time.Second},
			{3 * time.Second, 4 * time.Second, time.Second},
		}, false, 0.25},
		{"unknown load", []load{{3 * time.Second, 10 * time.Second, 0}}, true, -1},
	}
	for _, tt := range tests {
		var n Noise
		for _, l := range tt.loads {
			n.Add(l.busy, l.total, l.own)
		}
		if tt.unknown {
			n.Unknown()
		}
		if got := n.Share(); got != tt.want {
			t.Errorf("%s: Share() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
