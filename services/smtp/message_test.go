package smtp

import (
	"net/netip"
	"protolab/internal/dialogue"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestHeaderFields(t *testing.T) {
	tests := []struct {
		name      string
		msg       string
		subject   string
		messageID string
	}{
		{"plain", "Subject: Hello\r\nMessage-ID: <a.b@c>\r\n\r\nbody", "Hello", "a.b@c"},
		{"lower-case names, LF ends", "subject: hi there\nmessage-id:   <x@y>  \n\nbody\n", "hi there", "x@y"},
		{"folded subject", "Subject: a long\r\n subject line\r\n\r\n", "a long subject line", ""},
		{"RFC 2047 utf-8", "Subject: =?UTF-8?B?w4l0w6kgw6AgUGFyaXM=?=\r\n\r\n", "Été à Paris", ""},
		{"RFC 2047 latin-1", "Subject: =?iso-8859-1?q?caf=E9?=\r\n\r\n", "café", ""},
		{"unknown charset kept as written", "Subject: =?x-klingon?q?qapla?=\r\n\r\n", "=?x-klingon?q?qapla?=", ""},
		{"broken header line", "Subject: still found\r\nthis is not a header\r\nMessage-ID: <z@z>\r\n\r\n", "still found", "z@z"},
		{"no header", "\r\njust a body\r\nSubject: not a header\r\n", "", ""},
		{"no blank line", "Subject: only headers", "only headers", ""},
		{"control characters", "Subject: a\x01b\x7fc\r\n\r\n", "a b c", ""},
		{"invalid UTF-8", "Subject: caf\xe9\r\n\r\n", "caf\uFFFD", ""},
		{"subject in the body only", "From: a@b\r\n\r\nSubject: no\r\n", "", ""},
		{"first of two", "Subject: one\r\nSubject: two\r\n\r\n", "one", ""},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, id := headerFields([]byte(tt.msg))
			if s != tt.subject || id != tt.messageID {
				t.Errorf("headerFields = %q, %q; want %q, %q", s, id, tt.subject, tt.messageID)
			}
		})
	}
	t.Run("bounds", func(t *testing.T) {
		s, _ := headerFields([]byte("Subject: " + strings.Repeat("é", 1000) + "\r\n\r\n"))
		if n := utf8.RuneCountInString(s); n != maxFieldRunes {
			t.Errorf("subject of %d characters, want %d", n, maxFieldRunes)
		}
		s, _ = headerFields([]byte("X-Pad: " + strings.Repeat("x", maxHeaderBytes) + "\r\nSubject: too far\r\n\r\n"))
		if s != "" {
			t.Errorf("a subject past %d bytes was read: %q", maxHeaderBytes, s)
		}
	})
}

func TestReceived(t *testing.T) {
	date := time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("", 3600))
	tests := []struct {
		name string
		info receivedInfo
		want string
	}{
		{"MX", receivedInfo{helo: "learner.lab.test", ip: netip.MustParseAddr("192.0.2.7"), host: "mail.lab.test", proto: "ESMTP", id: "ABC", rcpt: "bob@lab.test", date: date},
			"Received: from learner.lab.test ([192.0.2.7])\r\n\tby mail.lab.test (Protolab) with ESMTP id ABC\r\n\tfor <bob@lab.test>; Sat, 14 Mar 2026 15:09:26 +0100\r\n"},
		{"submission over IPv6, two recipients", receivedInfo{helo: "[IPv6:::1]", ip: netip.MustParseAddr("::1"), authUser: "alice", host: "mail.lab.test", proto: "ESMTPSA", id: "DEF", date: date},
			"Received: from [IPv6:::1] ([IPv6:::1])\r\n\t(Authenticated sender: alice)\r\n\tby mail.lab.test (Protolab) with ESMTPSA id DEF; Sat, 14 Mar 2026 15:09:26 +0100\r\n"},
		{"hostile EHLO name", receivedInfo{helo: "evil\r\nX-Injected: yes (x)", host: "h", proto: "SMTP", id: "1", date: date},
			"Received: from evil??X-Injected:?yes??x?\r\n\tby h (Protolab) with SMTP id 1; Sat, 14 Mar 2026 15:09:26 +0100\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(received(tt.info, []byte("Subject: x\r\n\r\nbody\r\n")))
			if got != tt.want+"Subject: x\r\n\r\nbody\r\n" {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestProtocol(t *testing.T) {
	tests := []struct {
		ehlo      string
		tls, auth bool
		want      string
	}{
		{"HELO", true, true, "SMTP"},
		{"EHLO", false, false, "ESMTP"},
		{"EHLO", true, false, "ESMTPS"},
		{"EHLO", false, true, "ESMTPA"},
		{"EHLO", true, true, "ESMTPSA"},
	}
	for _, tt := range tests {
		if got := protocol(tt.ehlo, tt.tls, tt.auth); got != tt.want {
			t.Errorf("protocol(%s, tls %v, auth %v) = %s, want %s", tt.ehlo, tt.tls, tt.auth, got, tt.want)
		}
	}
}

func TestTranscriptBounds(t *testing.T) {
	var tr transcript
	for i := 0; i < 500; i++ {
		tr.client(strings.Repeat("x", 50))
	}
	d := tr.snapshot()
	if len(d.Lines()) > dialogue.MaxLines || d.Dropped() == 0 {
		t.Errorf("%d lines kept, %d dropped", len(d.Lines()), d.Dropped())
	}
	if s := d.String(); !strings.Contains(s, " lines not shown") || len(s) > dialogue.MaxBytes+200 {
		t.Errorf("rendered transcript of %d bytes", len(s))
	}
	tr = transcript{}
	tr.client("EHLO \x00\x1b[31mred" + strings.Repeat("y", 300))
	line := tr.snapshot().Lines()[0]
	if strings.ContainsAny(line, "\x00\x1b") || !strings.Contains(line, "more characters") {
		t.Errorf("line %q", line)
	}
}
