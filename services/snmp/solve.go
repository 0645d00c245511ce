package snmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"protolab/internal/service"
)

// solveTimeout bounds a solve step when ctx has no deadline.
const solveTimeout = 5 * time.Second

// labUsers are the v3 users of the lab's router, so that a solve step
// needs only the user's name.
var labUsers = map[string]user{
	"learner":     {Name: "learner", Auth: "SHA", AuthPass: "labauthpass", Priv: "AES", PrivPass: "labprivpass"},
	"learner-md5": {Name: "learner-md5", Auth: "MD5", AuthPass: "labauthpass", Priv: "DES", PrivPass: "labprivpass"},
}

// solve performs one step as a learner's manager would.
func solve(ctx context.Context, eps service.Endpoints, step service.Step) error {
	ctx, cancel, _, err := service.StartSolve(ctx, "snmp", actions, step, solveTimeout)
	defer cancel()
	if err != nil {
		return err
	}
	addr, ok := eps.Find("snmp", "udp")
	if !ok {
		return errors.New("snmp: the agent is not running")
	}
	args := step.Args
	if step.Action == "snmp.guess" {
		return guess(ctx, addr, args)
	}
	x, err := manager(ctx, addr, step.Action, args)
	if err != nil {
		return fmt.Errorf("snmp: %s: %w", step.Action, err)
	}
	if err := x.Connect(); err != nil {
		return fmt.Errorf("snmp: %s: %w", step.Action, err)
	}
	defer x.Conn.Close()
	if err := run(x, step.Action, args); err != nil {
		return fmt.Errorf("snmp: %s: %w", step.Action, err)
	}
	return nil
}

// guess tries each community of a list with one quick Get, as onesixtyone
// does: the wrong ones time out (the agent drops them), the right ones
// answer. It fails when none answers.
func guess(ctx context.Context, addr string, args map[string]string) error {
	var found []string
	for _, c := range strings.Split(args["communities"], ",") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		x, err := manager(ctx, addr, "snmp.get", map[string]string{"community": c, "version": args["version"]})
		if err != nil {
			return fmt.Errorf("snmp: snmp.guess: %w", err)
		}
		x.Timeout, x.Retries = 300*time.Millisecond, 0
		if err := x.Connect(); err != nil {
			return fmt.Errorf("snmp: snmp.guess: %w", err)
		}
		if p, err := x.Get([]string{args["oid"]}); err == nil && check(p, true) == nil {
			found = append(found, c)
		}
		x.Conn.Close()
	}
	if len(found) == 0 {
		return errors.New("snmp: snmp.guess: no community of the list answered")
	}
	return nil
}

// manager sets up gosnmp for the step.
func manager(ctx context.Context, addr, action string, args map[string]string) (*gosnmp.GoSNMP, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p, _ := strconv.Atoi(port)
	timeout := time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d)/3, 50*time.Millisecond)
	}
	x := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Context: ctx, Timeout: timeout, Retries: 2, MaxOids: gosnmp.MaxOids}
	if action == "snmp.v3" {
		u, ok := labUsers[args["user"]]
		if !ok {
			u = user{Name: args["user"]}
		}
		for k, f := range map[string]*string{"auth": &u.Auth, "auth_pass": &u.AuthPass, "priv": &u.Priv, "priv_pass": &u.PrivPass} {
			if v := args[k]; v != "" {
				*f = strings.ToUpper(v)
				if strings.HasSuffix(k, "_pass") {
					*f = v
				}
			}
		}
		level := gosnmp.AuthPriv
		switch strings.ToLower(args["level"]) {
		case "", "authpriv":
		case "authnopriv":
			level = gosnmp.AuthNoPriv
			u.Priv = ""
		case "noauthnopriv":
			level = gosnmp.NoAuthNoPriv
			u.Auth, u.Priv = "", ""
		default:
			return nil, fmt.Errorf("level %q: noAuthNoPriv, authNoPriv or authPriv", args["level"])
		}
		x.Version, x.SecurityModel, x.MsgFlags = gosnmp.Version3, gosnmp.UserSecurityModel, level
		x.SecurityParameters = &gosnmp.UsmSecurityParameters{UserName: u.Name,
			AuthenticationProtocol: authProtocols[u.Auth], AuthenticationPassphrase: u.AuthPass,
			PrivacyProtocol: privProtocols[u.Priv], PrivacyPassphrase: u.PrivPass}
		return x, nil
	}
	switch args["version"] {
	case "", "2c", "2":
		x.Version = gosnmp.Version2c
	case "1":
		x.Version = gosnmp.Version1
	default:
		return nil, fmt.Errorf("version %q: 1 or 2c (use snmp.v3 for SNMPv3)", args["version"])
	}
	x.Community = args["community"]
	if x.Community == "" {
		x.Community = "public"
		if action == "snmp.set" {
			x.Community = "private"
		}
	}
	return x, nil
}

// run performs the step's exchange and checks its outcome.
func run(x *gosnmp.GoSNMP, action string, args map[string]string) error {
	o := args["oid"]
	switch action {
	case "snmp.get", "snmp.v3":
		p, err := x.Get([]string{o})
		if err != nil {
			return err
		}
		return check(p, true)
	case "snmp.walk", "snmp.bulk":
		var n int
		count := func(gosnmp.SnmpPDU) error { n++; return nil }
		var err error
		if action == "snmp.walk" {
			err = x.Walk(o, count)
		} else {
			if r := args["max_repetitions"]; r != "" {
				v, perr := strconv.ParseUint(r, 10, 8)
				if perr != nil || v == 0 {
					return fmt.Errorf("max_repetitions %q: a number from 1 to 255", r)
				}
				x.MaxRepetitions = uint32(v)
			}
			err = x.BulkWalk(o, count)
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("nothing under %s", o)
		}
		return nil
	default: // snmp.set
		vb, err := setVarbind(o, args["type"], args["value"])
		if err != nil {
			return err
		}
		p, err := x.Set([]gosnmp.SnmpPDU{vb})
		if err != nil {
			return err
		}
		return check(p, false)
	}
}

// check fails on an error status or an exception.
func check(p *gosnmp.SnmpPacket, get bool) error {
	if p.Error != gosnmp.NoError {
		return fmt.Errorf("the agent answered %s (index %d)", errorName(p.Error), p.ErrorIndex)
	}
	for _, vb := range p.Variables {
		switch vb.Type {
		case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView:
			return fmt.Errorf("%s", varbindText(vb))
		}
	}
	if get && len(p.Variables) == 0 {
		return errors.New("the response holds no varbind")
	}
	return nil
}

// setVarbind builds a Set varbind from snmpset's type letters.
func setVarbind(o, typ, value string) (gosnmp.SnmpPDU, error) {
	vb := gosnmp.SnmpPDU{Name: o}
	u32 := func() (uint32, error) {
		v, err := strconv.ParseUint(value, 10, 32)
		return uint32(v), err
	}
	var err error
	switch typ {
	case "i":
		var v int64
		v, err = strconv.ParseInt(value, 10, 32)
		vb.Type, vb.Value = gosnmp.Integer, int(v)
	case "u":
		vb.Type = gosnmp.Gauge32
		vb.Value, err = u32()
	case "c":
		vb.Type = gosnmp.Counter32
		vb.Value, err = u32()
	case "t":
		vb.Type = gosnmp.TimeTicks
		vb.Value, err = u32()
	case "s":
		vb.Type, vb.Value = gosnmp.OctetString, value
	case "x":
		var b []byte
		b, err = parseHex(value)
		vb.Type, vb.Value = gosnmp.OctetString, b
	case "o":
		vb.Type, vb.Value = gosnmp.ObjectIdentifier, value
	case "a":
		vb.Type, vb.Value = gosnmp.IPAddress, value
	default:
		return vb, fmt.Errorf("type %q: one of i, u, c, t, s, x, o, a (as snmpset takes them)", typ)
	}
	if err != nil {
		return vb, fmt.Errorf("value %q does not suit type %s", value, typ)
	}
	return vb, nil
}

// parseHex reads "02 00 5e" or "02005e".
func parseHex(s string) ([]byte, error) {
	s = strings.NewReplacer(" ", "", ":", "").Replace(s)
	b := make([]byte, 0, len(s)/2)
	for i := 0; i+1 < len(s); i += 2 {
		v, err := strconv.ParseUint(s[i:i+2], 16, 8)
		if err != nil {
			return nil, err
		}
		b = append(b, byte(v))
	}
	if len(s)%2 != 0 {
		return nil, errors.New("odd number of hex digits")
	}
	return b, nil
}
