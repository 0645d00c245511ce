package snmp

// column is a known object type of the standard MIBs the router serves:
// its OID and its name, to name the objects in events and transcripts.
type column struct {
	oid  oid
	name string
}

// knownNames are the object types the agent can name (RFC 1213, RFC 2863,
// RFC 3418) and the Protolab enterprise counters.
var knownNames = func() []column {
	defs := []struct{ oid, name string }{
		{"1.3.6.1.2.1.1.1", "sysDescr"}, {"1.3.6.1.2.1.1.2", "sysObjectID"},
		{"1.3.6.1.2.1.1.3", "sysUpTime"}, {"1.3.6.1.2.1.1.4", "sysContact"},
		{"1.3.6.1.2.1.1.5", "sysName"}, {"1.3.6.1.2.1.1.6", "sysLocation"},
		{"1.3.6.1.2.1.1.7", "sysServices"}, {"1.3.6.1.2.1.2.1", "ifNumber"},
		{"1.3.6.1.2.1.2.2.1.1", "ifIndex"}, {"1.3.6.1.2.1.2.2.1.2", "ifDescr"},
		{"1.3.6.1.2.1.2.2.1.3", "ifType"}, {"1.3.6.1.2.1.2.2.1.4", "ifMtu"},
		{"1.3.6.1.2.1.2.2.1.5", "ifSpeed"}, {"1.3.6.1.2.1.2.2.1.6", "ifPhysAddress"},
		{"1.3.6.1.2.1.2.2.1.7", "ifAdminStatus"}, {"1.3.6.1.2.1.2.2.1.8", "ifOperStatus"},
		{"1.3.6.1.2.1.2.2.1.9", "ifLastChange"}, {"1.3.6.1.2.1.2.2.1.10", "ifInOctets"},
		{"1.3.6.1.2.1.2.2.1.11", "ifInUcastPkts"}, {"1.3.6.1.2.1.2.2.1.16", "ifOutOctets"},
		{"1.3.6.1.2.1.2.2.1.17", "ifOutUcastPkts"},
		{"1.3.6.1.2.1.4.20.1.1", "ipAdEntAddr"}, {"1.3.6.1.2.1.4.20.1.2", "ipAdEntIfIndex"},
		{"1.3.6.1.2.1.4.20.1.3", "ipAdEntNetMask"}, {"1.3.6.1.2.1.4.20.1.4", "ipAdEntBcastAddr"},
		{"1.3.6.1.2.1.11.1", "snmpInPkts"}, {"1.3.6.1.2.1.11.2", "snmpOutPkts"},
		{"1.3.6.1.2.1.11.3", "snmpInBadVersions"}, {"1.3.6.1.2.1.11.4", "snmpInBadCommunityNames"},
		{"1.3.6.1.2.1.11.5", "snmpInBadCommunityUses"}, {"1.3.6.1.2.1.11.6", "snmpInASNParseErrs"},
		{"1.3.6.1.2.1.11.13", "snmpInTotalReqVars"}, {"1.3.6.1.2.1.11.14", "snmpInTotalSetVars"},
		{"1.3.6.1.2.1.11.15", "snmpInGetRequests"}, {"1.3.6.1.2.1.11.16", "snmpInGetNexts"},
		{"1.3.6.1.2.1.11.17", "snmpInSetRequests"}, {"1.3.6.1.2.1.11.20", "snmpOutTooBigs"},
		{"1.3.6.1.2.1.11.21", "snmpOutNoSuchNames"}, {"1.3.6.1.2.1.11.28", "snmpOutGetResponses"},
		{"1.3.6.1.2.1.11.29", "snmpOutTraps"}, {"1.3.6.1.2.1.11.30", "snmpEnableAuthenTraps"},
		{"1.3.6.1.2.1.31.1.1.1.1", "ifName"}, {"1.3.6.1.2.1.31.1.1.1.6", "ifHCInOctets"},
		{"1.3.6.1.2.1.31.1.1.1.10", "ifHCOutOctets"}, {"1.3.6.1.2.1.31.1.1.1.15", "ifHighSpeed"},
		{"1.3.6.1.2.1.31.1.1.1.18", "ifAlias"},
		{"1.3.6.1.4.1.32473.2.1", "protolabRequests"}, {"1.3.6.1.4.1.32473.2.2", "protolabSets"},
		{"1.3.6.1.4.1.32473.2.3", "protolabNotifications"}, {"1.3.6.1.4.1.32473.2.4", "protolabAuthFailures"},
		{"1.3.6.1.4.1.32473.3.1", "protolabDNSEvents"}, {"1.3.6.1.4.1.32473.3.2", "protolabDHCPEvents"},
		{"1.3.6.1.4.1.32473.3.3", "protolabSMTPEvents"}, {"1.3.6.1.4.1.32473.3.4", "protolabPOP3Events"},
		{"1.3.6.1.4.1.32473.3.5", "protolabIMAPEvents"}, {"1.3.6.1.4.1.32473.3.6", "protolabSNMPEvents"},
		{"1.3.6.1.4.1.32473.3.7", "protolabEchoEvents"}, {"1.3.6.1.4.1.32473.3.8", "protolabSOAPEvents"},
	}
	cols := make([]column, len(defs))
	for i, d := range defs {
		o, err := parseOID(d.oid)
		if err != nil {
			panic(err)
		}
		cols[i] = column{oid: o, name: d.name}
	}
	return cols
}()

// lookupColumn returns the known object type an instance OID belongs to.
func lookupColumn(o oid) (column, bool) {
	for _, c := range knownNames {
		if len(o) > len(c.oid) && o.hasPrefix(c.oid) {
			return c, true
		}
	}
	return column{}, false
}

// nameOf returns "sysContact.0" or "ifAdminStatus.2" when the object type
// is known, else "".
func nameOf(o oid) string {
	c, ok := lookupColumn(o)
	if !ok {
		return ""
	}
	return c.name + o[len(c.oid):].String()
}
