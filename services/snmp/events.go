package snmp

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"

	"protolab/internal/event"
)

// Event kinds.
const (
	KindRequest      = "snmp.request"
	KindSet          = "snmp.set"
	KindAuthFailure  = "snmp.auth-failure"
	KindNotification = "snmp.notification-sent"
	KindInformAcked  = "snmp.inform-acked"
)

// maxEventOIDs is how many OIDs a request event lists.
const maxEventOIDs = 10

// errorNames are the error-status names events use.
var errorNames = map[gosnmp.SNMPError]string{
	gosnmp.NoError: "noError", gosnmp.TooBig: "tooBig", gosnmp.NoSuchName: "noSuchName",
	gosnmp.BadValue: "badValue", gosnmp.ReadOnly: "readOnly", gosnmp.GenErr: "genErr",
	gosnmp.NoAccess: "noAccess", gosnmp.WrongType: "wrongType", gosnmp.WrongLength: "wrongLength",
	gosnmp.WrongEncoding: "wrongEncoding", gosnmp.WrongValue: "wrongValue", gosnmp.NoCreation: "noCreation",
	gosnmp.InconsistentValue: "inconsistentValue", gosnmp.ResourceUnavailable: "resourceUnavailable",
	gosnmp.CommitFailed: "commitFailed", gosnmp.UndoFailed: "undoFailed",
	gosnmp.AuthorizationError: "authorizationError", gosnmp.NotWritable: "notWritable",
	gosnmp.InconsistentName: "inconsistentName",
}

// errorName returns the RFC 3416 name of an error status.
func errorName(e gosnmp.SNMPError) string {
	if n, ok := errorNames[e]; ok {
		return n
	}
	return strconv.Itoa(int(e))
}

// requestEvent describes an answered request.
func requestEvent(r *request, client string) event.Event {
	oids := make([]string, 0, min(len(r.pkt.Variables), maxEventOIDs))
	for i, vb := range r.pkt.Variables {
		if i == maxEventOIDs {
			break
		}
		oids = append(oids, displayOID(vb.Name))
	}
	attrs := map[string]string{
		"version":      r.version,
		"pdu":          r.pdu,
		"oids":         strings.Join(oids, " "),
		"error_status": errorName(r.resp.Error),
		"varbinds":     strconv.Itoa(len(r.resp.Variables)),
	}
	if r.version == "3" {
		attrs["user"] = r.community
		attrs["level"] = "noAuthNoPriv"
		if r.pkt != nil {
			switch r.pkt.MsgFlags & gosnmp.AuthPriv {
			case gosnmp.AuthPriv:
				attrs["level"] = "authPriv"
			case gosnmp.AuthNoPriv:
				attrs["level"] = "authNoPriv"
			}
		}
	} else {
		attrs["community"] = r.community
	}
	return event.Event{Service: "snmp", Kind: KindRequest, Client: client, Attrs: attrs,
		TranscriptFrom: transcript{r: r, client: client}}
}

// setEvent describes one committed varbind of a Set.
func setEvent(c setChange, client string) event.Event {
	return event.Event{
		Service: "snmp", Kind: KindSet, Client: client,
		Attrs: map[string]string{
			"oid": c.oid.String(), "name": nameOf(c.oid),
			"old": valueText(c.old), "new": valueText(c.new),
		},
	}
}

// authFailureEvent describes a request dropped for its credentials.
func authFailureEvent(version, reason, who, client string) event.Event {
	attrs := map[string]string{"version": version, "reason": reason}
	if version == "3" {
		attrs["user"] = who
	} else {
		attrs["community"] = who
	}
	return event.Event{Service: "snmp", Kind: KindAuthFailure, Client: client, Attrs: attrs}
}

// displayOID gives a request OID with its leading dot, as net-snmp prints.
func displayOID(name string) string {
	if !strings.HasPrefix(name, ".") {
		return "." + name
	}
	return name
}

// transcript renders an exchange the way snmpget prints varbinds.
type transcript struct {
	r      *request
	client string
}

// String renders the transcript; the community is masked.
func (t transcript) String() string {
	var b strings.Builder
	if t.r.version == "3" {
		fmt.Fprintf(&b, "%s from %s, SNMPv3, user %s\n", strings.ToUpper(t.r.pdu), t.client, t.r.community)
	} else {
		fmt.Fprintf(&b, "%s from %s, SNMPv%s, community %s\n", strings.ToUpper(t.r.pdu), t.client, t.r.version, mask(t.r.community))
	}
	if t.r.pdu == "getbulk" {
		fmt.Fprintf(&b, "non-repeaters %d, max-repetitions %d\n", t.r.pkt.NonRepeaters, t.r.pkt.MaxRepetitions)
	}
	for _, vb := range t.r.pkt.Variables {
		fmt.Fprintf(&b, "  %s\n", varbindText(vb))
	}
	fmt.Fprintf(&b, "Response: %s", errorName(t.r.resp.Error))
	if t.r.resp.ErrorIndex > 0 {
		fmt.Fprintf(&b, " (index %d)", t.r.resp.ErrorIndex)
	}
	b.WriteByte('\n')
	for _, vb := range t.r.resp.Variables {
		fmt.Fprintf(&b, "%s\n", varbindText(vb))
	}
	return b.String()
}

// mask hides a secret but its first letter.
func mask(s string) string {
	if s == "" {
		return `""`
	}
	r, _ := utf8.DecodeRuneInString(s)
	return string(r) + strings.Repeat("*", 5)
}

// varbindText prints a varbind as snmpget -On does:
// `.1.3.6.1.2.1.1.5.0 = STRING: "rtr1.lab.test"`.
func varbindText(vb gosnmp.SnmpPDU) string {
	return displayOID(vb.Name) + " = " + valueText(vb)
}

// valueText prints a value as net-snmp does.
func valueText(vb gosnmp.SnmpPDU) string {
	switch vb.Type {
	case gosnmp.Integer:
		return fmt.Sprintf("INTEGER: %v", vb.Value)
	case gosnmp.OctetString:
		var s string
		switch v := vb.Value.(type) {
		case string:
			s = v
		case []byte:
			s = string(v)
		}
		if s == "" {
			return `""`
		}
		if printable(s) {
			return fmt.Sprintf("STRING: %q", s)
		}
		var h strings.Builder
		for i := 0; i < len(s); i++ {
			fmt.Fprintf(&h, "%02X ", s[i])
		}
		return "Hex-STRING: " + h.String()
	case gosnmp.ObjectIdentifier:
		return fmt.Sprintf("OID: %s", displayOID(fmt.Sprint(vb.Value)))
	case gosnmp.IPAddress:
		return fmt.Sprintf("IpAddress: %v", vb.Value)
	case gosnmp.Counter32:
		return fmt.Sprintf("Counter32: %v", vb.Value)
	case gosnmp.Gauge32:
		return fmt.Sprintf("Gauge32: %v", vb.Value)
	case gosnmp.Counter64:
		return fmt.Sprintf("Counter64: %v", vb.Value)
	case gosnmp.TimeTicks:
		t := gosnmp.ToBigInt(vb.Value).Uint64()
		return fmt.Sprintf("Timeticks: (%d) %d:%02d:%02d.%02d", t, t/360000, t/6000%60, t/100%60, t%100)
	case gosnmp.Null:
		return "NULL"
	case gosnmp.NoSuchObject:
		return "No Such Object available on this agent at this OID"
	case gosnmp.NoSuchInstance:
		return "No Such Instance currently exists at this OID"
	case gosnmp.EndOfMibView:
		return "No more variables left in this MIB View (It is past the end of the MIB tree)"
	}
	return fmt.Sprintf("%v: %v", vb.Type, vb.Value)
}

// printable reports whether net-snmp would print s as a STRING.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}
