package snmp

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// access is what a community may do.
type access int

const (
	accessRO   access = iota // read
	accessRW                 // read and write
	accessNone               // nothing: authorizationError (a v3 user below its level)
)

// request is a decoded request with what the agent made of it.
type request struct {
	pkt       *gosnmp.SnmpPacket
	version   string // "1", "2c"
	community string
	pdu       string // "get", "getnext", "getbulk", "set"
	resp      *gosnmp.SnmpPacket
	out       []byte
	sets      []setChange
	notify    []linkChange
}

// setChange is one committed change of a Set.
type setChange struct {
	oid      oid
	old, new gosnmp.SnmpPDU
}

// linkChange is an interface brought up or down by a Set.
type linkChange struct {
	ifIndex uint32
	up      bool
}

// pduNames are the request PDU types the agent answers.
var pduNames = map[gosnmp.PDUType]string{
	gosnmp.GetRequest:     "get",
	gosnmp.GetNextRequest: "getnext",
	gosnmp.GetBulkRequest: "getbulk",
	gosnmp.SetRequest:     "set",
}

// answer computes the response to a request with the given access into
// resp, which carries the message fields (version, community or security
// parameters), and marshals it.
func (a *agent) answer(r *request, acc access, resp *gosnmp.SnmpPacket) error {
	req := r.pkt
	v1 := req.Version == gosnmp.Version1
	resp.PDUType, resp.RequestID, resp.Error, resp.ErrorIndex = gosnmp.GetResponse, req.RequestID, gosnmp.NoError, 0
	r.resp = resp
	n := len(req.Variables)
	a.counters[cInTotalReqVars].Add(uint32(min(n, 1<<20)))
	if n > maxVarbinds {
		resp.Error = gosnmp.TooBig
		a.count(cOutTooBigs)
		return a.marshal(r)
	}
	reqOIDs := make([]oid, n)
	for i, vb := range req.Variables {
		reqOIDs[i] = requestOID(vb.Name)
	}
	switch {
	case acc == accessNone:
		resp.Error, resp.ErrorIndex = gosnmp.AuthorizationError, 0
	case req.PDUType == gosnmp.GetRequest:
		a.count(cInGetRequests)
		a.get(r, reqOIDs, v1)
	case req.PDUType == gosnmp.GetNextRequest:
		a.count(cInGetNexts)
		a.getNext(r, reqOIDs, v1)
	case req.PDUType == gosnmp.GetBulkRequest:
		a.getBulk(r, reqOIDs)
	case req.PDUType == gosnmp.SetRequest:
		a.count(cInSetRequests)
		a.set(r, reqOIDs, acc, v1)
	}
	if resp.Error != gosnmp.NoError {
		// An error response carries the request's varbinds.
		resp.Variables = echo(req.Variables)
		if resp.Error == gosnmp.NoSuchName {
			a.count(cOutNoSuchNames)
		}
	}
	return a.marshal(r)
}

// echo copies request varbinds for an error response: the values as they
// came (Null for a Get).
func echo(vbs []gosnmp.SnmpPDU) []gosnmp.SnmpPDU {
	out := make([]gosnmp.SnmpPDU, len(vbs))
	for i, vb := range vbs {
		out[i] = gosnmp.SnmpPDU{Name: vb.Name, Type: vb.Type, Value: vb.Value}
		if !marshalable(vb) {
			out[i].Type, out[i].Value = gosnmp.Null, nil
		}
	}
	return out
}

// marshalable reports whether gosnmp can marshal a decoded varbind back.
func marshalable(vb gosnmp.SnmpPDU) bool {
	switch vb.Type {
	case gosnmp.Null, gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView:
		return true
	case gosnmp.Integer:
		_, ok := vb.Value.(int)
		return ok
	case gosnmp.OctetString:
		_, ok := vb.Value.([]byte)
		return ok
	case gosnmp.ObjectIdentifier, gosnmp.IPAddress:
		s, ok := vb.Value.(string)
		return ok && s != ""
	case gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Counter64:
		switch vb.Value.(type) {
		case uint, uint32, uint64:
			return true
		}
	}
	return false
}

// marshal encodes r.resp; a response over the size bound becomes tooBig
// with no varbinds (RFC 3416 §4.2.1).
func (a *agent) marshal(r *request) error {
	out, err := r.resp.MarshalMsg()
	if err == nil && len(out) > a.maxResp {
		r.resp.Error, r.resp.ErrorIndex, r.resp.Variables = gosnmp.TooBig, 0, nil
		a.count(cOutTooBigs)
		out, err = r.resp.MarshalMsg()
	}
	if err != nil {
		return fmt.Errorf("encoding the response: %w", err)
	}
	r.out = out
	a.count(cOutGetResponses)
	a.count(cOutPkts)
	return nil
}

// hiddenInV1 reports whether object i is invisible to v1: Counter64 has
// no v1 encoding (RFC 3584 §4.2.2.1).
func (a *agent) hiddenInV1(i int, v1 bool) bool {
	return v1 && a.m.objs[i].typ == gosnmp.Counter64
}

// get answers a Get.
func (a *agent) get(r *request, oids []oid, v1 bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	vbs := make([]gosnmp.SnmpPDU, len(oids))
	for k, o := range oids {
		name := r.pkt.Variables[k].Name
		i, ok := a.m.find(o)
		if ok && !a.hiddenInV1(i, v1) {
			vbs[k] = a.varbindLocked(i)
			continue
		}
		if v1 {
			r.resp.Error, r.resp.ErrorIndex = gosnmp.NoSuchName, uint8(k+1)
			return
		}
		typ := gosnmp.NoSuchObject
		if a.m.knownType(o) {
			typ = gosnmp.NoSuchInstance
		}
		vbs[k] = gosnmp.SnmpPDU{Name: name, Type: typ}
	}
	r.resp.Variables = vbs
}

// nextLocked returns the index of the first object visible after o, or
// -1 at the end of the MIB.
func (a *agent) nextLocked(o oid, v1 bool) int {
	for i := a.m.next(o); i < len(a.m.objs); i++ {
		if !a.hiddenInV1(i, v1) {
			return i
		}
	}
	return -1
}

// getNext answers a GetNext.
func (a *agent) getNext(r *request, oids []oid, v1 bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	vbs := make([]gosnmp.SnmpPDU, len(oids))
	for k, o := range oids {
		i := a.nextLocked(o, v1)
		if i >= 0 {
			vbs[k] = a.varbindLocked(i)
			continue
		}
		if v1 {
			r.resp.Error, r.resp.ErrorIndex = gosnmp.NoSuchName, uint8(k+1)
			return
		}
		vbs[k] = gosnmp.SnmpPDU{Name: r.pkt.Variables[k].Name, Type: gosnmp.EndOfMibView}
	}
	r.resp.Variables = vbs
}

// getBulk answers a GetBulk (RFC 3416 §4.2.3): the non-repeaters as a
// GetNext, then the others repeated, interleaved, until every one reaches
// the end of the MIB; then as many varbinds as fit in the response.
func (a *agent) getBulk(r *request, oids []oid) {
	nonRep := min(int(r.pkt.NonRepeaters), len(oids))
	reps := min(int(r.pkt.MaxRepetitions), maxRepetitions)
	a.mu.Lock()
	var vbs []gosnmp.SnmpPDU
	for k := range nonRep {
		if i := a.nextLocked(oids[k], false); i >= 0 {
			vbs = append(vbs, a.varbindLocked(i))
		} else {
			vbs = append(vbs, gosnmp.SnmpPDU{Name: r.pkt.Variables[k].Name, Type: gosnmp.EndOfMibView})
		}
	}
	cur := make([]oid, len(oids)-nonRep)
	names := make([]string, len(cur))
	for k := range cur {
		cur[k], names[k] = oids[nonRep+k], r.pkt.Variables[nonRep+k].Name
	}
	for range reps {
		if len(cur) == 0 || len(vbs)+len(cur) > maxBulkVarbinds {
			break
		}
		ended := 0
		for k, o := range cur {
			i := a.nextLocked(o, false)
			if i < 0 {
				vbs = append(vbs, gosnmp.SnmpPDU{Name: names[k], Type: gosnmp.EndOfMibView})
				ended++
				continue
			}
			vbs = append(vbs, a.varbindLocked(i))
			cur[k], names[k] = a.m.objs[i].oid, a.m.objs[i].oid.String()
		}
		if ended == len(cur) {
			break
		}
	}
	a.mu.Unlock()
	r.resp.Variables = vbs
	a.trimBulk(r, nonRep)
}

// trimBulk drops trailing varbinds until the response fits; when even the
// non-repeaters do not fit, marshal turns it into tooBig.
func (a *agent) trimBulk(r *request, nonRep int) {
	all := r.resp.Variables
	fits := func(n int) bool {
		r.resp.Variables = all[:n]
		out, err := r.resp.MarshalMsg()
		return err == nil && len(out) <= a.maxResp
	}
	if fits(len(all)) {
		return
	}
	// The largest n in [nonRep, len) that fits; n = nonRep if none does.
	n := nonRep + sort.Search(len(all)-nonRep, func(j int) bool { return !fits(nonRep + j + 1) })
	if n == nonRep && nonRep == 0 {
		n = 0
	}
	r.resp.Variables = all[:n]
}

// requestOID reads the OID of a request varbind as gosnmp decoded it
// (".1.3.6..."), leniently: it only has to order against the MIB.
func requestOID(s string) oid {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return oid{}
	}
	parts := strings.Split(s, ".")
	o := make(oid, 0, min(len(parts), maxOIDArcs+1))
	for _, p := range parts {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			v = math.MaxUint32
		}
		o = append(o, uint32(v))
		if len(o) > maxOIDArcs {
			break
		}
	}
	return o
}
