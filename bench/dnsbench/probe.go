package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"protolab/bench/dnsbench/benchzone"
)

// firstAnswer sends the question to addr over UDP every interval until an
// answer with data comes back, and returns how long after start it arrived.
// It gives up when ctx ends or when exited is closed (the server died).
// Queries sent before the server listens are lost or refused, which is the
// point: the first answer marks the moment the server serves.
func firstAnswer(ctx context.Context, addr string, q benchzone.Question, start time.Time,
	interval time.Duration, exited <-chan struct{}) (time.Duration, error) {
	m := new(dns.Msg)
	m.SetQuestion(q.Name, q.Type)
	m.RecursionDesired = false
	wire, err := m.Pack()
	if err != nil {
		return 0, fmt.Errorf("first answer: %w", err)
	}
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return 0, fmt.Errorf("first answer: %w", err)
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return 0, fmt.Errorf("first answer: %w", err)
	}
	defer conn.Close()
	buf := make([]byte, dns.MaxMsgSize)
	for {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("no answer from %s: %w", addr, ctx.Err())
		case <-exited:
			return 0, fmt.Errorf("no answer from %s: the server exited", addr)
		default:
		}
		next := time.Now().Add(interval)
		_, _ = conn.Write(wire) // refused until the server binds; keep trying
		for {
			_ = conn.SetReadDeadline(next)
			n, err := conn.Read(buf)
			if err != nil {
				if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
					// ECONNREFUSED comes back at once: wait out the interval.
					time.Sleep(time.Until(next))
				}
				break
			}
			at := time.Now()
			r := new(dns.Msg)
			if r.Unpack(buf[:n]) == nil && r.Id == m.Id && r.Response &&
				r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 {
				return at.Sub(start), nil
			}
		}
	}
}

// checkAnswers asks addr every question of the zone once and compares each
// answer section with the zone's records (names, types, TTLs, data, in any
// order). It returns a description of each difference; none means the
// server answers exactly what the zone holds.
func checkAnswers(ctx context.Context, addr string, z *benchzone.Zone) ([]string, error) {
	want := make(map[benchzone.Question][]string)
	for _, r := range z.Records {
		q := benchzone.Question{Name: r.Name, Type: r.Type()}
		want[q] = append(want[q], r.RR().String())
	}
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	var diffs []string
	for _, q := range z.Questions() {
		m := new(dns.Msg)
		m.SetQuestion(q.Name, q.Type)
		m.RecursionDesired = false
		r, _, err := c.ExchangeContext(ctx, m, addr)
		if err != nil {
			return diffs, fmt.Errorf("check %s at %s: %w", q, addr, err)
		}
		var got []string
		for _, rr := range r.Answer {
			rr.Header().Name = strings.ToLower(rr.Header().Name)
			got = append(got, rr.String())
		}
		slices.Sort(got)
		w := slices.Sorted(slices.Values(want[q]))
		switch {
		case r.Rcode != dns.RcodeSuccess:
			diffs = append(diffs, fmt.Sprintf("%s: rcode %s", q, dns.RcodeToString[r.Rcode]))
		case !slices.Equal(got, w):
			diffs = append(diffs, fmt.Sprintf("%s: got [%s], want [%s]", q,
				strings.Join(got, "; "), strings.Join(w, "; ")))
		}
	}
	if len(diffs) > 0 {
		return diffs, errors.New("answers differ from the zone")
	}
	return nil, nil
}
