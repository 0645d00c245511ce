package snmp

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"
)

// USM statistics OIDs (RFC 3414 §5), reported to a manager.
const (
	oidUnsupportedSecLevels = ".1.3.6.1.6.3.15.1.1.1.0"
	oidNotInTimeWindows     = ".1.3.6.1.6.3.15.1.1.2.0"
	oidUnknownUserNames     = ".1.3.6.1.6.3.15.1.1.3.0"
	oidUnknownEngineIDs     = ".1.3.6.1.6.3.15.1.1.4.0"
	oidWrongDigests         = ".1.3.6.1.6.3.15.1.1.5.0"
	oidDecryptionErrors     = ".1.3.6.1.6.3.15.1.1.6.0"
)

// timeWindow is the USM time window (RFC 3414 §3.2.7).
const timeWindow = 150 // seconds

// usm is the agent's User-based Security Model: its engine and users.
type usm struct {
	engineID string
	boots    int64 // snmpEngineBoots: 1 on the first run, one more at every start
	start    time.Time
	users    map[string]*usmUser
	stats    map[string]*uint32 // reported counters by OID; under agent.mu
}

// usmUser is a user with a decoder whose keys are localized to the engine.
type usmUser struct {
	u     user
	level gosnmp.SnmpV3MsgFlags
	sp    *gosnmp.UsmSecurityParameters // keys localized; a template
	dec   *gosnmp.GoSNMP
}

var authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{"": gosnmp.NoAuth, "MD5": gosnmp.MD5, "SHA": gosnmp.SHA}
var privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{"": gosnmp.NoPriv, "DES": gosnmp.DES, "AES": gosnmp.AES}

// newUSM localizes the users' keys to the engine ID.
func newUSM(engineID []byte, users []user, start time.Time) *usm {
	m := &usm{engineID: string(engineID), boots: 1, start: start, users: map[string]*usmUser{}, stats: map[string]*uint32{}}
	for _, o := range []string{oidUnsupportedSecLevels, oidNotInTimeWindows, oidUnknownUserNames, oidUnknownEngineIDs, oidWrongDigests, oidDecryptionErrors} {
		m.stats[o] = new(uint32)
	}
	for _, u := range users {
		level := gosnmp.NoAuthNoPriv
		if u.Priv != "" {
			level = gosnmp.AuthPriv
		} else if u.Auth != "" {
			level = gosnmp.AuthNoPriv
		}
		sp := &gosnmp.UsmSecurityParameters{
			AuthoritativeEngineID: m.engineID, UserName: u.Name,
			AuthenticationProtocol: authProtocols[u.Auth], AuthenticationPassphrase: u.AuthPass,
			PrivacyProtocol: privProtocols[u.Priv], PrivacyPassphrase: u.PrivPass,
		}
		_ = sp.InitSecurityKeys() // cannot fail for the protocols accepted by setup
		dec := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel,
			MsgFlags: level, SecurityParameters: sp}
		m.users[u.Name] = &usmUser{u: u, level: level, sp: sp, dec: dec}
	}
	return m
}

// engineTime is snmpEngineTime: seconds since the agent started.
func (m *usm) engineTime(now time.Time) uint32 { return uint32(now.Sub(m.start) / time.Second) }

// v3Header is what the agent reads of a v3 message before authenticating it.
type v3Header struct {
	msgID     uint32
	flags     gosnmp.SnmpV3MsgFlags
	secModel  int
	engineID  string
	boots     int64
	time      int64
	user      string
	authParam string
	requestID uint32 // 0 when the scoped PDU is encrypted
}

// handleV3 answers an SNMPv3 message (RFC 3412, RFC 3414).
func (s *server) handleV3(raw []byte, client string) []byte {
	h, err := parseV3Header(raw)
	if err != nil || h.secModel != int(gosnmp.UserSecurityModel) {
		s.a.count(cInASNParseErrs)
		return nil
	}
	m := s.usm
	reportable := h.flags&gosnmp.Reportable != 0
	if h.engineID != m.engineID {
		// Discovery (RFC 3414 §4): a probe with no engine ID, or one for
		// another engine, gets a Report carrying the engine's ID and clock.
		if h.user != "" || h.engineID != "" {
			s.authFailure("unknown-engine", h.user, client)
		}
		return s.report(h, oidUnknownEngineIDs, nil, reportable)
	}
	uu, ok := m.users[h.user]
	if !ok {
		s.authFailure("unknown-user", h.user, client)
		return s.report(h, oidUnknownUserNames, nil, reportable)
	}
	if h.flags&gosnmp.AuthPriv > uu.level {
		s.authFailure("unsupported-sec-level", h.user, client)
		return s.report(h, oidUnsupportedSecLevels, nil, reportable)
	}
	dec := uu.dec
	if h.flags&gosnmp.AuthNoPriv == 0 && uu.level != gosnmp.NoAuthNoPriv {
		// A user with keys asking without them: read the clear PDU and
		// refuse access, as snmpd's VACM does with authorizationError.
		dec = &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.NoAuthNoPriv,
			SecurityParameters: &gosnmp.UsmSecurityParameters{AuthoritativeEngineID: m.engineID, UserName: h.user}}
	}
	req, err := dec.UnmarshalTrap(append([]byte(nil), raw...), true)
	if err != nil {
		if h.flags&gosnmp.AuthNoPriv == 0 {
			s.a.count(cInASNParseErrs)
			return nil
		}
		reason, stat := "decryption-error", oidDecryptionErrors
		if strings.Contains(err.Error(), "authentic") || h.flags&gosnmp.AuthPriv != gosnmp.AuthPriv {
			reason, stat = "wrong-digest", oidWrongDigests
		}
		s.authFailure(reason, h.user, client)
		return s.report(h, stat, nil, reportable)
	}
	if h.flags&gosnmp.AuthNoPriv != 0 {
		now := m.engineTime(s.a.now())
		if h.boots != s.usm.boots || math.Abs(float64(h.time)-float64(now)) > timeWindow {
			// RFC 3414 §3.2.7: the report is authenticated so that the
			// manager may trust the clock it carries.
			s.authFailure("not-in-time-window", h.user, client)
			return s.report(h, oidNotInTimeWindows, uu, reportable)
		}
	}
	r := &request{pkt: req, version: "3", community: h.user, pdu: pduNames[req.PDUType]}
	if r.pdu == "" {
		return nil
	}
	acc := accessRW
	switch {
	case uu.level == gosnmp.NoAuthNoPriv:
		acc = accessRO
	case h.flags&gosnmp.AuthNoPriv == 0:
		acc = accessNone
	}
	sp := &gosnmp.UsmSecurityParameters{AuthoritativeEngineID: m.engineID, UserName: h.user,
		AuthoritativeEngineBoots: uint32(m.boots), AuthoritativeEngineTime: m.engineTime(s.a.now())}
	if h.flags&gosnmp.AuthNoPriv != 0 {
		sp = s.responseParams(uu)
	}
	resp := &gosnmp.SnmpPacket{
		Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel,
		MsgFlags: h.flags & gosnmp.AuthPriv, MsgID: h.msgID, MsgMaxSize: maxResponseSize,
		ContextEngineID: m.engineID, ContextName: req.ContextName,
		SecurityParameters: sp,
	}
	if err := uu.sp.InitPacket(resp); err != nil {
		s.log.Warn("snmp: v3 salt", "err", err)
		return nil
	}
	if err := s.a.answer(r, acc, resp); err != nil {
		s.log.Warn("snmp: cannot answer", "err", err, "client", client)
		return nil
	}
	s.publish(r, client)
	return r.out
}

// responseParams returns the security parameters of a message to the
// user's manager: the engine's ID and clock, the user's keys.
func (s *server) responseParams(uu *usmUser) *gosnmp.UsmSecurityParameters {
	sp := uu.sp.Copy().(*gosnmp.UsmSecurityParameters)
	sp.AuthoritativeEngineBoots = uint32(s.usm.boots)
	sp.AuthoritativeEngineTime = s.usm.engineTime(s.a.now())
	return sp
}

// authFailure counts and reports a v3 message refused.
func (s *server) authFailure(reason, userName, client string) {
	s.a.count(cAuthFailures)
	s.events.Publish(authFailureEvent("3", reason, userName, client))
}

// report answers with a Report PDU carrying a USM counter, when the
// message asked for reports. It is sent without authentication, or with
// the user's authentication (uu not nil).
func (s *server) report(h v3Header, statOID string, uu *usmUser, reportable bool) []byte {
	s.a.mu.Lock()
	p := s.usm.stats[statOID]
	*p++
	n := *p
	s.a.mu.Unlock()
	if !reportable {
		return nil
	}
	var sp *gosnmp.UsmSecurityParameters
	flags := gosnmp.NoAuthNoPriv
	if uu != nil {
		sp = s.responseParams(uu)
		flags = gosnmp.AuthNoPriv
	} else {
		sp = &gosnmp.UsmSecurityParameters{AuthoritativeEngineID: s.usm.engineID,
			AuthoritativeEngineBoots: uint32(s.usm.boots), AuthoritativeEngineTime: s.usm.engineTime(s.a.now()),
			UserName: h.user}
	}
	resp := &gosnmp.SnmpPacket{
		Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: flags,
		MsgID: h.msgID, MsgMaxSize: maxResponseSize, ContextEngineID: s.usm.engineID,
		SecurityParameters: sp, PDUType: gosnmp.Report, RequestID: h.requestID,
		Variables: []gosnmp.SnmpPDU{{Name: statOID, Type: gosnmp.Counter32, Value: n}},
	}
	out, err := resp.MarshalMsg()
	if err != nil {
		s.log.Warn("snmp: report", "err", err)
		return nil
	}
	s.a.count(cOutPkts)
	return out
}

// ber is a cursor over BER-encoded bytes.
type ber struct{ b []byte }

// next reads one TLV and returns its tag and contents.
func (r *ber) next() (byte, []byte, error) {
	if len(r.b) < 2 {
		return 0, nil, errors.New("truncated")
	}
	tag, l := r.b[0], int(r.b[1])
	i := 2
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 3 || len(r.b) < 2+n {
			return 0, nil, errors.New("bad length")
		}
		l = 0
		for _, c := range r.b[2 : 2+n] {
			l = l<<8 | int(c)
		}
		i += n
	}
	if l > len(r.b)-i {
		return 0, nil, errors.New("truncated")
	}
	v := r.b[i : i+l]
	r.b = r.b[i+l:]
	return tag, v, nil
}

// expect reads one TLV of the given tag.
func (r *ber) expect(tag byte) ([]byte, error) {
	t, v, err := r.next()
	if err != nil {
		return nil, err
	}
	if t != tag {
		return nil, fmt.Errorf("tag %#x where %#x is expected", t, tag)
	}
	return v, nil
}

// integer reads an INTEGER of up to 8 bytes.
func (r *ber) integer() (int64, error) {
	v, err := r.expect(0x02)
	if err != nil {
		return 0, err
	}
	if len(v) == 0 || len(v) > 8 {
		return 0, errors.New("bad integer")
	}
	n := int64(int8(v[0]))
	for _, c := range v[1:] {
		n = n<<8 | int64(c)
	}
	return n, nil
}

// parseV3Header reads the header and USM parameters of a v3 message.
func parseV3Header(raw []byte) (v3Header, error) {
	var h v3Header
	outer := ber{raw}
	msg, err := outer.expect(0x30)
	if err != nil {
		return h, err
	}
	r := ber{msg}
	if v, err := r.integer(); err != nil || v != 3 {
		return h, errors.New("not SNMPv3")
	}
	hdr, err := r.expect(0x30)
	if err != nil {
		return h, err
	}
	hr := ber{hdr}
	id, err := hr.integer()
	if err != nil {
		return h, err
	}
	if _, err := hr.integer(); err != nil { // msgMaxSize
		return h, err
	}
	flags, err := hr.expect(0x04)
	if err != nil || len(flags) != 1 {
		return h, errors.New("bad msgFlags")
	}
	model, err := hr.integer()
	if err != nil {
		return h, err
	}
	secParams, err := r.expect(0x04)
	if err != nil {
		return h, err
	}
	sr := ber{secParams}
	usmSeq, err := sr.expect(0x30)
	if err != nil {
		return h, err
	}
	u := ber{usmSeq}
	engine, err := u.expect(0x04)
	if err != nil {
		return h, err
	}
	boots, err := u.integer()
	if err != nil {
		return h, err
	}
	tm, err := u.integer()
	if err != nil {
		return h, err
	}
	name, err := u.expect(0x04)
	if err != nil {
		return h, err
	}
	auth, err := u.expect(0x04)
	if err != nil {
		return h, err
	}
	// The request-id, when the scoped PDU is in clear: a Report echoes it.
	var requestID int64
	if sc, err := r.expect(0x30); err == nil {
		pr := ber{sc}
		_, err1 := pr.expect(0x04)
		_, err2 := pr.expect(0x04)
		if tag, pdu, err3 := pr.next(); err1 == nil && err2 == nil && err3 == nil && tag >= 0xa0 && tag <= 0xa8 {
			requestID, _ = (&ber{pdu}).integer()
		}
	}
	if requestID < math.MinInt32 || requestID > math.MaxInt32 {
		requestID = 0
	}
	if id < 0 || id > math.MaxInt32 || model < 0 || model > math.MaxInt32 {
		return h, errors.New("bad header")
	}
	return v3Header{msgID: uint32(id), flags: gosnmp.SnmpV3MsgFlags(flags[0]), secModel: int(model),
		engineID: string(engine), boots: boots, time: tm, user: string(name), authParam: string(auth),
		requestID: uint32(requestID)}, nil
}
