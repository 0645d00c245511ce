package snmp

import (
	"time"

	"github.com/gosnmp/gosnmp"
)

// set answers a Set: every varbind is checked first (RFC 3416 §4.2.5),
// then all are committed, or none.
func (a *agent) set(r *request, oids []oid, acc access, v1 bool) {
	fail := func(k int, e gosnmp.SNMPError) {
		if v1 {
			e = v1Error(e)
		}
		r.resp.Error, r.resp.ErrorIndex = e, uint8(k+1)
	}
	if acc != accessRW {
		a.count(cInBadCommunityUses)
		fail(0, gosnmp.NoAccess)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	idx := make([]int, len(oids))
	vals := make([]any, len(oids))
	for k, o := range oids {
		vb := r.pkt.Variables[k]
		i, ok := a.m.find(o)
		if !ok {
			if a.m.knownType(o) {
				fail(k, gosnmp.NoCreation)
			} else {
				fail(k, gosnmp.NotWritable)
			}
			return
		}
		obj := a.m.objs[i]
		if !obj.writable {
			fail(k, gosnmp.NotWritable)
			return
		}
		v, e := convertSet(obj, vb)
		if e != gosnmp.NoError {
			fail(k, e)
			return
		}
		idx[k], vals[k] = i, v
	}
	// Commit.
	a.counters[cInTotalSetVars].Add(uint32(len(oids)))
	vbs := make([]gosnmp.SnmpPDU, len(oids))
	for k, i := range idx {
		old := a.varbindLocked(i)
		a.vals[i] = vals[k]
		o := a.m.objs[i].oid
		if len(o) == len(oidIfAdminStatus)+1 && o.hasPrefix(oidIfAdminStatus) {
			if ch, changed := a.setLinkLocked(o[len(o)-1], vals[k].(int) == 1); changed {
				r.notify = append(r.notify, ch)
			}
		}
		vbs[k] = a.varbindLocked(i)
		r.sets = append(r.sets, setChange{oid: o, old: old, new: vbs[k]})
		a.count(cSets)
	}
	r.resp.Variables = vbs
}

// setLinkLocked makes ifOperStatus follow ifAdminStatus and stamps
// ifLastChange; it reports whether the link changed.
func (a *agent) setLinkLocked(ifIndex uint32, up bool) (linkChange, bool) {
	oper := append(append(oid{}, oidIfOperStatus...), ifIndex)
	i, ok := a.m.find(oper)
	if !ok {
		return linkChange{}, false
	}
	status := 2
	if up {
		status = 1
	}
	if a.vals[i] == status {
		return linkChange{}, false
	}
	a.vals[i] = status
	now := a.now()
	if c := a.ifs[ifIndex]; c != nil {
		if up {
			c.upAt = now
		} else if !c.upAt.IsZero() {
			c.active += now.Sub(c.upAt)
			c.upAt = time.Time{}
		}
	}
	if j, ok := a.m.find(append(append(oid{}, oidIfLastChange...), ifIndex)); ok {
		a.vals[j] = a.uptime()
	}
	return linkChange{ifIndex: ifIndex, up: up}, true
}

// convertSet checks a Set value against the object and converts it to the
// stored Go type.
func convertSet(obj object, vb gosnmp.SnmpPDU) (any, gosnmp.SNMPError) {
	if vb.Type != obj.typ {
		return nil, gosnmp.WrongType
	}
	switch obj.typ {
	case gosnmp.Integer:
		v, ok := vb.Value.(int)
		if !ok {
			return nil, gosnmp.WrongType
		}
		if obj.oid.hasPrefix(oidIfAdminStatus) && v != 1 && v != 2 {
			return nil, gosnmp.WrongValue // up(1) or down(2); testing(3) is not offered
		}
		return v, gosnmp.NoError
	case gosnmp.OctetString:
		b, ok := vb.Value.([]byte)
		if !ok {
			return nil, gosnmp.WrongType
		}
		if len(b) > maxWritableString {
			return nil, gosnmp.WrongLength
		}
		return string(b), gosnmp.NoError
	case gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks:
		switch v := vb.Value.(type) {
		case uint:
			return uint32(v), gosnmp.NoError
		case uint32:
			return v, gosnmp.NoError
		}
	case gosnmp.Counter64:
		if v, ok := vb.Value.(uint64); ok {
			return v, gosnmp.NoError
		}
	case gosnmp.ObjectIdentifier:
		if s, ok := vb.Value.(string); ok {
			if o, err := parseOID(s); err == nil {
				return o.String(), gosnmp.NoError
			}
			return nil, gosnmp.WrongValue
		}
	case gosnmp.IPAddress:
		if s, ok := vb.Value.(string); ok && s != "" {
			return s, gosnmp.NoError
		}
		return nil, gosnmp.WrongLength
	}
	return nil, gosnmp.WrongType
}

// v1Error maps a v2 error to v1 (RFC 3584 §4.4).
func v1Error(e gosnmp.SNMPError) gosnmp.SNMPError {
	switch e {
	case gosnmp.NoError, gosnmp.TooBig, gosnmp.NoSuchName, gosnmp.BadValue, gosnmp.ReadOnly, gosnmp.GenErr:
		return e
	case gosnmp.WrongValue, gosnmp.WrongEncoding, gosnmp.WrongType, gosnmp.WrongLength, gosnmp.InconsistentValue:
		return gosnmp.BadValue
	case gosnmp.NoAccess, gosnmp.NotWritable, gosnmp.NoCreation, gosnmp.InconsistentName, gosnmp.AuthorizationError:
		return gosnmp.NoSuchName
	default:
		return gosnmp.GenErr
	}
}
