package smtp

import (
	"bytes"
	"testing"
	"time"
)

func TestDeadlineSlack(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	for _, tt := range []struct {
		name    string
		cur, to time.Time
		keep    bool
	}{
		{"none set yet", time.Time{}, t0, false},
		{"a little later", t0, t0.Add(300 * time.Millisecond), true},
		{"the same", t0, t0, true},
		{"a second later", t0, t0.Add(deadlineSlack), false},
		{"earlier", t0, t0.Add(-time.Millisecond), false},
		{"cleared", t0, time.Time{}, false},
		{"in the past, to wake a reader", t0, time.Unix(1, 0), false},
	} {
		if got := slack(tt.cur, tt.to); got != tt.keep {
			t.Errorf("%s: slack = %v, want %v", tt.name, got, tt.keep)
		}
	}
}

// scanBodyByByte is what scanBody stands for: each byte through the
// steps, one at a time. It returns the bytes handed over and where the
// message ended (-1 if it did not).
func scanBodyByByte(body []byte, bareLF bool) (out []byte, end int, l *link) {
	l = &link{bareLF: bareLF}
	for i, c := range body {
		if c == '\n' && !l.body.prevCR && l.bareLF {
			l.lfFixed = true
			l.in = append(l.in, '\r')
			l.body.step('\r')
		}
		l.in = append(l.in, c)
		l.body.prevCR = c == '\r'
		if l.body.step(c) {
			return l.in, i + 1, l
		}
	}
	return l.in, -1, l
}

// scanBodyPieces runs scanBody over body given in pieces of at most piece
// bytes, taking what it hands over whenever a chunk is full.
func scanBodyPieces(body []byte, bareLF bool, piece int) (out []byte, end int, l *link) {
	l = &link{bareLF: bareLF}
	pos := 0
	for pos < len(body) {
		buf := body[pos:min(len(body), pos+piece)]
		n, done := l.scanBody(buf)
		pos += n
		out = append(out, l.in...)
		l.in = l.in[:0]
		if done {
			return out, pos, l
		}
	}
	return out, -1, l
}

func TestScanBody(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 600)
	for _, body := range []string{
		"Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n",
		"..stuffed\r\n.\r\n",
		".\r\n",
		"typed\nby hand\n.\nNOOP\n",
		"mixed\r\nends\n.\n",
		"no end yet\r\n.",
		"\r\r\n.\r\r\n.\r\n",
		string(big) + "\r\n.\r\n",
	} {
		for _, bareLF := range []bool{false, true} {
			for _, piece := range []int{1, 3, 4096, 1 << 20} {
				checkScanBody(t, []byte(body), bareLF, piece)
			}
		}
	}
}

func checkScanBody(t *testing.T, body []byte, bareLF bool, piece int) {
	t.Helper()
	want, wantEnd, wl := scanBodyByByte(body, bareLF)
	got, gotEnd, gl := scanBodyPieces(body, bareLF, piece)
	if !bytes.Equal(got, want) || gotEnd != wantEnd || gl.body != wl.body || gl.lfFixed != wl.lfFixed {
		t.Fatalf("body %.40q (bare LF %v, pieces of %d): handed over %d bytes, end %d, state %+v; byte by byte: %d, %d, %+v",
			body, bareLF, piece, len(got), gotEnd, gl.body, len(want), wantEnd, wl.body)
	}
}

// FuzzScanBody checks the bulk message reader against the byte-by-byte
// steps it stands for.
func FuzzScanBody(f *testing.F) {
	for _, s := range []string{"a\r\n.\r\n", "a\n.\n", "\r\n..\r\n.\r", "x\r\r\n.\r\n"} {
		f.Add([]byte(s), false, uint16(7))
		f.Add([]byte(s), true, uint16(1))
	}
	f.Fuzz(func(t *testing.T, body []byte, bareLF bool, piece uint16) {
		checkScanBody(t, body, bareLF, int(piece)%5000+1)
	})
}
