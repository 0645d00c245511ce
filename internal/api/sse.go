package api

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// SSEReader reads messages from a text/event-stream body as the HTML
// standard describes: lines end in CRLF, LF or CR; a blank line ends a
// message; "event:" sets its type (default "message"); "data:" lines are
// joined with LF; lines starting with ':' are comments; other fields (id,
// retry) are ignored; a message without data is not dispatched; a message
// cut off by the end of the stream is discarded.
type SSEReader struct {
	sc    *bufio.Scanner
	max   int
	first bool
}

// ErrSSETooLong is returned for a line or a message longer than the
// reader's bound.
var ErrSSETooLong = errors.New("event-stream message too long")

// NewSSEReader reads r, refusing lines and messages over max bytes.
func NewSSEReader(r io.Reader, max int) *SSEReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), max)
	sc.Split(scanSSELines)
	return &SSEReader{sc: sc, max: max, first: true}
}

var bom = []byte("\uFEFF")

// Next returns the next message's type and data, or io.EOF at the end of
// the stream.
func (r *SSEReader) Next() (kind string, data []byte, err error) {
	hasData := false
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if r.first {
			r.first = false
			line = bytes.TrimPrefix(line, bom)
		}
		if len(line) == 0 {
			if !hasData {
				kind = ""
				continue
			}
			if kind == "" {
				kind = "message"
			}
			if data == nil {
				data = []byte{}
			}
			return kind, data, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value, found := bytes.Cut(line, []byte(":"))
		if found {
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(field) {
		case "event":
			kind = string(value)
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			hasData = true
			data = append(data, value...)
			if len(data) > r.max {
				return "", nil, fmt.Errorf("%w (over %d bytes)", ErrSSETooLong, r.max)
			}
		}
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return "", nil, fmt.Errorf("%w (a line over %d bytes)", ErrSSETooLong, r.max)
		}
		return "", nil, err
	}
	return "", nil, io.EOF
}

// scanSSELines is a bufio.SplitFunc for lines ending in CRLF, LF or CR.
func scanSSELines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	i := bytes.IndexAny(data, "\r\n")
	if i < 0 {
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	}
	if data[i] == '\n' {
		return i + 1, data[:i], nil
	}
	if i+1 < len(data) {
		if data[i+1] == '\n' {
			return i + 2, data[:i], nil
		}
		return i + 1, data[:i], nil
	}
	if atEOF {
		return i + 1, data[:i], nil
	}
	// A CR at the end of what was read: wait to see whether LF follows.
	return 0, nil, nil
}
