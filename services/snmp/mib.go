package snmp

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// Bounds of a MIB file.
const (
	maxMIBObjects = 10000 // objects in one file
	maxOIDArcs    = 128   // arcs in one OID (RFC 2578 §3.5)
	maxStringLen  = 65535 // bytes in one OCTET STRING value
)

// oid is an object identifier as its arcs, compared numerically.
type oid []uint32

// parseOID reads "1.3.6.1" or ".1.3.6.1".
func parseOID(s string) (oid, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), ".")
	if s == "" {
		return nil, fmt.Errorf("empty OID")
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > maxOIDArcs {
		return nil, fmt.Errorf("OID %q: between 2 and %d arcs are expected", s, maxOIDArcs)
	}
	o := make(oid, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("OID %q: arc %q is not a number from 0 to 4294967295", s, p)
		}
		o[i] = uint32(v)
	}
	if o[0] > 2 || (o[0] < 2 && o[1] > 39) || o[1] > math.MaxUint32-80 {
		return nil, fmt.Errorf("OID %q: the first arcs must be 0.x, 1.x (x < 40) or 2.x", s)
	}
	return o, nil
}

// String returns the dotted form with a leading dot, as net-snmp prints it.
func (o oid) String() string {
	var b strings.Builder
	for _, a := range o {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(a), 10))
	}
	return b.String()
}

// compare orders OIDs arc by arc, a prefix before what extends it.
func (o oid) compare(p oid) int { return slices.Compare(o, p) }

// hasPrefix reports whether o starts with p.
func (o oid) hasPrefix(p oid) bool { return len(o) >= len(p) && slices.Equal(o[:len(p)], p) }

// object is one instance of the MIB: its OID, type and initial value (in
// the Go type gosnmp marshals for that type).
type object struct {
	oid      oid
	typ      gosnmp.Asn1BER
	value    any
	writable bool
	line     int // in the MIB file, for messages
}

// mib is the compiled MIB: objects ordered by OID, immutable once built.
type mib struct {
	file string
	objs []object
	// types holds the OIDs of the object types (an instance without its
	// index), to tell noSuchInstance from noSuchObject.
	types map[string]bool
}

// snmprec type tags and the BER types they stand for.
var recTypes = map[string]gosnmp.Asn1BER{
	"2":  gosnmp.Integer,
	"4":  gosnmp.OctetString,
	"4x": gosnmp.OctetString,
	"6":  gosnmp.ObjectIdentifier,
	"64": gosnmp.IPAddress,
	"65": gosnmp.Counter32,
	"66": gosnmp.Gauge32,
	"67": gosnmp.TimeTicks,
	"70": gosnmp.Counter64,
}

// parseMIB reads a MIB file in the snmprec-like format described in the
// README: "OID|type|value" per line, "#" comments, ":rw" after the type for
// a writable object. Errors name file:line.
func parseMIB(file string, text []byte) (*mib, error) {
	m := &mib{file: file, types: map[string]bool{}}
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 2*maxStringLen+1024)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		o, err := parseLine(s)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, line, err)
		}
		o.line = line
		k := o.oid.String()
		if prev, dup := seen[k]; dup {
			return nil, fmt.Errorf("%s:%d: %s is already defined on line %d", file, line, k, prev)
		}
		seen[k] = line
		if len(m.objs) == maxMIBObjects {
			return nil, fmt.Errorf("%s:%d: more than %d objects", file, line, maxMIBObjects)
		}
		m.objs = append(m.objs, o)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", file, line+1, err)
	}
	if len(m.objs) == 0 {
		return nil, fmt.Errorf("%s: no objects: write one \"OID|type|value\" line per object", file)
	}
	slices.SortFunc(m.objs, func(a, b object) int { return a.oid.compare(b.oid) })
	for _, o := range m.objs {
		m.types[typeOID(o.oid).String()] = true
	}
	return m, nil
}

// parseLine reads one "OID|type|value" line.
func parseLine(s string) (object, error) {
	f := strings.SplitN(s, "|", 3)
	if len(f) != 3 {
		return object{}, fmt.Errorf("%q: \"OID|type|value\" is expected", s)
	}
	o, err := parseOID(f[0])
	if err != nil {
		return object{}, err
	}
	tag := strings.TrimSpace(f[1])
	writable := false
	if t, ok := strings.CutSuffix(tag, ":rw"); ok {
		tag, writable = t, true
	}
	typ, ok := recTypes[tag]
	if !ok {
		return object{}, fmt.Errorf("type %q: one of 2, 4, 4x, 6, 64, 65, 66, 67, 70 is expected (optionally followed by :rw)", tag)
	}
	v, err := parseValue(typ, tag == "4x", f[2])
	if err != nil {
		return object{}, fmt.Errorf("%s: %w", o, err)
	}
	return object{oid: o, typ: typ, value: v, writable: writable}, nil
}

// parseValue converts the value column to the Go type gosnmp marshals.
func parseValue(typ gosnmp.Asn1BER, isHex bool, s string) (any, error) {
	switch typ {
	case gosnmp.Integer:
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("value %q: an integer from -2147483648 to 2147483647 is expected", s)
		}
		return int(v), nil
	case gosnmp.OctetString:
		if isHex {
			b, err := hex.DecodeString(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("value %q: hex digits are expected with type 4x", s)
			}
			s = string(b)
		}
		if len(s) > maxStringLen {
			return nil, fmt.Errorf("value longer than %d bytes", maxStringLen)
		}
		return s, nil
	case gosnmp.ObjectIdentifier:
		o, err := parseOID(s)
		if err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
		return o.String(), nil
	case gosnmp.IPAddress:
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("value %q: an IPv4 address is expected", s)
		}
		return a.String(), nil
	case gosnmp.Counter64:
		v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("value %q: a number from 0 to 18446744073709551615 is expected", s)
		}
		return v, nil
	default: // Counter32, Gauge32, TimeTicks
		v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("value %q: a number from 0 to 4294967295 is expected", s)
		}
		return uint32(v), nil
	}
}

// find returns the index of the object with OID o.
func (m *mib) find(o oid) (int, bool) {
	return slices.BinarySearchFunc(m.objs, o, func(x object, t oid) int { return x.oid.compare(t) })
}

// next returns the index of the first object after o (len(objs) if none).
func (m *mib) next(o oid) int {
	i, found := m.find(o)
	if found {
		i++
	}
	return i
}

// knownType reports whether o names an object type of the MIB or one of
// its instances: a Get of it is noSuchInstance rather than noSuchObject.
func (m *mib) knownType(o oid) bool {
	for i := 1; i <= len(o); i++ {
		if m.types[o[:i].String()] {
			return true
		}
	}
	return false
}

// typeOID strips the instance part of an instance OID: ".0" of a scalar,
// the index of a known table column (ipAddrTable has a four-arc index),
// else the last arc.
func typeOID(o oid) oid {
	if c, ok := lookupColumn(o); ok {
		return c.oid
	}
	return o[:len(o)-1]
}
