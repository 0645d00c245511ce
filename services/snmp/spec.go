// Package snmp is the lab's SNMP agent: a router, rtr1.lab.test, whose MIB
// is read from a text file (one "OID|type|value" line per object). It
// answers SNMPv1, v2c and v3 (USM with MD5/SHA and DES/AES) Get, GetNext,
// GetBulk and Set as net-snmp's snmpd does, keeps live values (sysUpTime,
// interface traffic, its own counters), sends linkDown/linkUp traps or
// informs when a learner sets ifAdminStatus, and emits an event for every
// request, change and authentication failure. It sends packets only back
// to the manager and to the trap target named in the lab file.
package snmp

import (
	"protolab/internal/event"
	"protolab/internal/service"
)

// Spec describes the snmp service to the runner.
var Spec = service.Spec{
	Name: "snmp",
	Doc:  "SNMP agent of a router (v1, v2c, v3 USM): get, getnext, getbulk, set, linkDown/linkUp traps and informs",
	Listeners: []service.Listener{
		{Name: "snmp", Networks: []string{"udp"}, High: 1161, Standard: 161},
	},
	Events: []event.Spec{
		{
			Kind: KindRequest,
			Doc:  "a request was answered",
			Attrs: []event.Attr{
				{Name: "version", Doc: `"1", "2c" or "3"`},
				{Name: "community", Doc: "v1, v2c: the community"},
				{Name: "user", Doc: "v3: the USM user name"},
				{Name: "level", Doc: `v3: the security level, "noAuthNoPriv", "authNoPriv" or "authPriv"`},
				{Name: "pdu", Doc: `"get", "getnext", "getbulk" or "set"`},
				{Name: "oids", Doc: `the requested OIDs, space-separated, first 10: ".1.3.6.1.2.1.1.5.0"`},
				{Name: "error_status", Doc: `"noError", "tooBig", "noSuchName", "badValue", "noAccess", "notWritable", "wrongType", "wrongValue", "wrongLength", "noCreation"...`},
				{Name: "varbinds", Doc: "number of varbinds in the response"},
			},
			Brief: []string{"version", "community", "user", "pdu", "oids", "error_status"},
		},
		{
			Kind: KindSet,
			Doc:  "a Set changed a value (one event per varbind)",
			Attrs: []event.Attr{
				{Name: "oid", Doc: `the object: ".1.3.6.1.2.1.1.4.0"`},
				{Name: "name", Doc: `its name when known: "sysContact.0", "ifAdminStatus.2"; else empty`},
				{Name: "old", Doc: `the value before, as snmpget prints it: "STRING: \"noc@lab.test\""`},
				{Name: "new", Doc: `the value after: "INTEGER: 2"`},
			},
			Brief: []string{"name", "old", "new"},
		},
		{
			Kind: KindAuthFailure,
			Doc:  "a request was refused for its credentials (a wrong community is dropped without an answer)",
			Attrs: []event.Attr{
				{Name: "version", Doc: `"1", "2c" or "3"`},
				{Name: "reason", Doc: `"bad-community", "unknown-user", "wrong-digest", "not-in-time-window", "unknown-engine", "unsupported-sec-level", "decryption-error"`},
				{Name: "community", Doc: "v1, v2c: the community tried"},
				{Name: "user", Doc: "v3: the user name tried"},
			},
			Brief: []string{"version", "reason", "community", "user"},
		},
		{
			Kind: KindNotification,
			Doc:  "a linkDown or linkUp notification was sent (an inform once per try)",
			Attrs: []event.Attr{
				{Name: "kind", Doc: `"trap" or "inform"`},
				{Name: "trap", Doc: `"linkDown" or "linkUp"`},
				{Name: "target", Doc: "the trap target, host:port"},
				{Name: "ifindex", Doc: "the interface's ifIndex"},
			},
			Brief: []string{"kind", "trap", "target", "ifindex"},
		},
		{
			Kind: KindInformAcked,
			Doc:  "the trap target acknowledged an inform",
			Attrs: []event.Attr{
				{Name: "target", Doc: "the trap target, host:port"},
				{Name: "ifindex", Doc: "the interface's ifIndex"},
			},
			Brief: []string{"target", "ifindex"},
		},
	},
	Actions: actions,
	Load:    load,
	Solve:   solve,
}

// actions are the solve steps (apart from Spec, which refers to solve).
var actions = []service.Action{
	{Name: "snmp.get", Doc: "get one object, as snmpget does; fails unless it exists", Required: []string{"oid"}, Optional: []string{"version", "community", "user"}},
	{Name: "snmp.walk", Doc: "walk a subtree with GetNext, as snmpwalk does; fails if it is empty", Required: []string{"oid"}, Optional: []string{"version", "community"}},
	{Name: "snmp.bulk", Doc: "walk a subtree with GetBulk, as snmpbulkwalk does; fails if it is empty", Required: []string{"oid"}, Optional: []string{"version", "community", "max_repetitions"}},
	{Name: "snmp.set", Doc: "set one object, as snmpset does (type i, u, c, t, s, x, o, a as snmpset takes them); fails unless noError", Required: []string{"oid", "type", "value"}, Optional: []string{"version", "community"}},
	{Name: "snmp.guess", Doc: "try each community of a comma-separated list with one quick Get, as onesixtyone does; fails unless one answers", Required: []string{"oid", "communities"}, Optional: []string{"version"}},
	{Name: "snmp.v3", Doc: "get one object over SNMPv3 as a lab user (level noAuthNoPriv, authNoPriv or authPriv, default authPriv; the built-in users learner and learner-md5 need no passphrases)", Required: []string{"user", "oid"}, Optional: []string{"level", "auth", "auth_pass", "priv", "priv_pass"}},
}
