package dhcp

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"protolab/internal/eventtest"
	"protolab/internal/service"
)

// startRoster starts the lab's server with the runner's reservations.
func startRoster(t *testing.T, rs []service.Reservation) (*instance, error) {
	t.Helper()
	p := loadLab(t, "")
	col := eventtest.New(&Spec)
	inst, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Events: col, Reservations: rs})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := inst.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return inst.(*instance), nil
}

func res(learner, mac, ip, host string) service.Reservation {
	return service.Reservation{Learner: learner, MAC: mac, IP: netip.MustParseAddr(ip), Host: host}
}

func TestRosterReservations(t *testing.T) {
	in, err := startRoster(t, []service.Reservation{
		res("ada", "02:00:00:00:01:01", "192.0.2.101", "ada-pc.lab.test"), // inside the pool
		res("bob", "02:00:00:00:01:02", "192.0.2.12", "bob"),              // outside the pool
		res("cy", "02:00:00:00:01:03", "198.51.100.3", "cy"),              // another network: left out
		res("di", "02:00:00:00:00:42", "192.0.2.42", "di"),                // the lab file's own, again
		res("ed", "02:00:00:00:01:05", "2001:db8::5", "ed"),               // not IPv4: left out
		res("fay", "02:00:00:00:01:06", "192.0.2.16", "fay_1"),            // no valid host name
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &running{t: t, inst: in}
	tests := []struct {
		mac, want, host string
	}{
		{"02:00:00:00:01:01", "192.0.2.101", "ada-pc"},
		{"02:00:00:00:01:02", "192.0.2.12", "bob"},
		{"02:00:00:00:00:42", "192.0.2.42", "pc42"},
		{"02:00:00:00:01:06", "192.0.2.16", ""},
	}
	for _, tt := range tests {
		d := msg(t, dhcpv4.MessageTypeDiscover, tt.mac, dhcpv4.WithRequestedOptions(dhcpv4.OptionHostName))
		off := r.handle(d, netip.Addr{})
		if off == nil || off.YourIPAddr.String() != tt.want {
			t.Errorf("%s: offer %v, want %s", tt.mac, off, tt.want)
			continue
		}
		if got := off.HostName(); got != tt.host {
			t.Errorf("%s: host name %q, want %q", tt.mac, got, tt.host)
		}
	}
	// Nobody else is offered a learner's address, even asking; the learner
	// left out gets one of the pool.
	for _, mac := range []string{"02:00:00:00:09:09", "02:00:00:00:01:03"} {
		d := msg(t, dhcpv4.MessageTypeDiscover, mac, withRequested("192.0.2.101"))
		if off := r.handle(d, netip.Addr{}); off == nil || off.YourIPAddr.String() == "192.0.2.101" {
			t.Errorf("%s was offered %v", mac, off)
		}
	}
}

func TestRosterReservationConflicts(t *testing.T) {
	tests := []struct {
		name string
		rs   []service.Reservation
		want []string
	}{
		{"mac reserved elsewhere by the lab", []service.Reservation{res("ada", "02:00:00:00:00:42", "192.0.2.101", "")},
			[]string{"learner ada", "02:00:00:00:00:42", "192.0.2.101", "the lab file's reservation", "192.0.2.42"}},
		{"address reserved for another mac by the lab", []service.Reservation{res("bob", "02:00:00:00:01:02", "192.0.2.42", "")},
			[]string{"learner bob", "192.0.2.42", "02:00:00:00:01:02", "the lab file's reservation", "02:00:00:00:00:42"}},
		{"two learners, one address", []service.Reservation{res("ada", "02:00:00:00:01:01", "192.0.2.101", ""), res("bob", "02:00:00:00:01:02", "192.0.2.101", "")},
			[]string{"learner bob", "learner ada", "02:00:00:00:01:01"}},
		{"two learners, one mac", []service.Reservation{res("ada", "02:00:00:00:01:01", "192.0.2.101", ""), res("bob", "02:00:00:00:01:01", "192.0.2.102", "")},
			[]string{"learner bob", "learner ada", "192.0.2.101"}},
		{"the server's address", []service.Reservation{res("cy", "02:00:00:00:01:03", "192.0.2.1", "")},
			[]string{"learner cy", "192.0.2.1", "not a free host address"}},
		{"the broadcast address", []service.Reservation{res("cy", "02:00:00:00:01:03", "192.0.2.255", "")},
			[]string{"learner cy", "192.0.2.255"}},
		{"a bad mac", []service.Reservation{res("cy", "zz", "192.0.2.103", "")},
			[]string{"learner cy", `mac "zz"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := startRoster(t, tt.rs)
			if err == nil {
				t.Fatal("started")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
