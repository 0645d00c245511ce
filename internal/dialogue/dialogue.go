// Package dialogue keeps the transcript of a protocol session the way a
// learner reads it in a terminal ("C: EHLO learner.lab.test", "S: 250 ..."),
// bounded, and freezes it for events: the text is rendered by the event's
// subscribers, off the server's path.
package dialogue

import (
	"strconv"
	"strings"
)

// Bounds: the first Head lines of a session (greeting, login) are always
// kept; beyond MaxLines lines or MaxBytes bytes the oldest of the others
// are dropped, and the rendering says how many.
const (
	MaxLines = 200
	MaxBytes = 16 << 10
	Head     = 12
)

// Log is the dialogue of one session so far. It is not safe for concurrent
// use: a session writes its own.
type Log struct {
	lines   []string
	size    int
	dropped int
}

// Client records a line the client sent (secrets already masked).
func (l *Log) Client(line string) { l.Add("C: " + line) }

// Server records a line the server sent.
func (l *Log) Server(line string) { l.Add("S: " + line) }

// Note records a remark of the server's that is not on the wire.
func (l *Log) Note(line string) { l.Add("!! " + line) }

// Add records a line as it is.
func (l *Log) Add(line string) {
	l.lines = append(l.lines, line)
	l.size += len(line) + 1
	for len(l.lines) > Head+1 && (len(l.lines) > MaxLines || l.size > MaxBytes) {
		l.size -= len(l.lines[Head]) + 1
		l.lines = append(l.lines[:Head], l.lines[Head+1:]...)
		l.dropped++
	}
}

// Extend adds text to the last line (e.g. what a base64 prompt says).
func (l *Log) Extend(text string) {
	if len(l.lines) == 0 {
		l.Add(text)
		return
	}
	l.lines[len(l.lines)-1] += text
	l.size += len(text)
}

// Snapshot returns the dialogue so far; it does not change afterwards.
func (l *Log) Snapshot() Frozen {
	return Frozen{lines: append([]string(nil), l.lines...), dropped: l.dropped}
}

// Frozen is a dialogue as it was when an event was published.
type Frozen struct {
	lines   []string
	dropped int
}

// Lines is the lines kept.
func (f Frozen) Lines() []string { return f.lines }

// Dropped is how many lines were dropped to keep within the bounds.
func (f Frozen) Dropped() int { return f.dropped }

// String renders the dialogue, one line each.
func (f Frozen) String() string {
	var b strings.Builder
	for i, l := range f.lines {
		if i == Head && f.dropped > 0 {
			b.WriteString("   … ")
			b.WriteString(strconv.Itoa(f.dropped))
			b.WriteString(" lines not shown\n")
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
