package explain_test

import (
	"testing"
	"time"

	"protolab/internal/event"
	"protolab/internal/explain"
)

func TestDescribe(t *testing.T) {
	ev := func(kind string, kv ...string) event.Event {
		e := event.Event{Kind: kind, Attrs: map[string]string{}}
		for i := 0; i+1 < len(kv); i += 2 {
			e.Attrs[kv[i]] = kv[i+1]
		}
		return e
	}
	tests := []struct {
		e      event.Event
		en, fr string
	}{
		{ev("smtp.delivered", "to", "bob@lab.test", "from", "alice@lab.test"),
			"you sent a mail to bob@lab.test with SMTP", "vous avez envoyé un courriel à bob@lab.test en SMTP"},
		{ev("smtp.delivered", "to", "bob@lab.test,alice@lab.test"),
			"you sent a mail to bob@lab.test, alice@lab.test with SMTP", "vous avez envoyé un courriel à bob@lab.test, alice@lab.test en SMTP"},
		{ev("dns.query", "qname", "www.lab.test.", "qtype", "A", "rcode", "NOERROR", "transport", "udp"),
			"you asked the lab DNS for www.lab.test (A)", "vous avez demandé www.lab.test (A) au DNS du labo"},
		{ev("dns.query", "qname", "www.lab.test.", "qtype", "A", "rcode", "NOERROR", "transport", "tcp"),
			"you asked the lab DNS for www.lab.test (A) over TCP", "vous avez demandé www.lab.test (A) au DNS du labo en TCP"},
		{ev("dns.query", "qname", "nosuchhost.lab.test.", "qtype", "A", "rcode", "NXDOMAIN"),
			"you asked the lab DNS for nosuchhost.lab.test (A) and got NXDOMAIN", "vous avez demandé nosuchhost.lab.test (A) au DNS du labo et obtenu NXDOMAIN"},
		{ev("dns.query", "qname", "lab.test.", "qtype", "AXFR", "transport", "tcp"),
			"you transferred the zone lab.test from the lab DNS (AXFR)", "vous avez transféré la zone lab.test depuis le DNS du labo (AXFR)"},
		{ev("pop3.retr", "user", "bob", "msg", "3"),
			"you read message 3 of bob's mailbox with POP3 (RETR)", "vous avez lu le message 3 de la boîte de bob en POP3 (RETR)"},
		{ev("pop3.login", "user", "bob", "result", "ok"),
			"you logged in to bob's mailbox with POP3", "vous vous êtes connecté à la boîte de bob en POP3"},
		{ev("imap.fetch", "user", "bob", "mailbox", "INBOX", "uid", "3", "section", "BODY[]"),
			"you read message UID 3 in bob's INBOX with IMAP (FETCH BODY[])", "vous avez lu le message d'UID 3 dans la boîte INBOX de bob en IMAP (FETCH BODY[])"},
		{ev("imap.select", "user", "bob", "mailbox", "INBOX"),
			"you opened bob's INBOX with IMAP", "vous avez ouvert la boîte INBOX de bob en IMAP"},
		{ev("dhcp.ack", "mac", "02:00:00:00:00:01", "ip", "192.0.2.100", "state", "selecting"),
			"you got the address 192.0.2.100 from the lab DHCP server (MAC 02:00:00:00:00:01)", "vous avez obtenu l'adresse 192.0.2.100 du serveur DHCP du labo (MAC 02:00:00:00:00:01)"},
		{ev("dhcp.ack", "ip", "192.0.2.100", "state", "renewing"),
			"you renewed the lease of 192.0.2.100 with the lab DHCP server", "vous avez renouvelé le bail de 192.0.2.100 auprès du serveur DHCP du labo"},
		{ev("snmp.request", "version", "2c", "community", "public", "pdu", "get", "oids", ".1.3.6.1.2.1.1.5.0"),
			"you read .1.3.6.1.2.1.1.5.0 from the lab SNMP agent (SNMPv2c, community public)", "vous avez lu .1.3.6.1.2.1.1.5.0 sur l'agent SNMP du labo (SNMPv2c, communauté public)"},
		{ev("snmp.request", "version", "3", "user", "learner", "pdu", "getnext", "oids", ".1.3.6.1.2.1.2.2 .1.3.6.1.2.1.2.3"),
			"you walked the lab SNMP agent from .1.3.6.1.2.1.2.2… (SNMPv3, user learner)", "vous avez parcouru l'agent SNMP du labo à partir de .1.3.6.1.2.1.2.2… (SNMPv3, utilisateur learner)"},
		{ev("snmp.set", "oid", ".1.3.6.1.2.1.1.4.0", "name", "sysContact.0", "new", `STRING: "me@lab.test"`),
			`you set sysContact.0 to STRING: "me@lab.test" on the lab SNMP agent`, `vous avez mis sysContact.0 à STRING: "me@lab.test" sur l'agent SNMP du labo`},
		{ev("echo.tcp", "bytes", "6", "text", "hello"),
			`you sent "hello" to the lab echo server over TCP and got it back`, "vous avez envoyé « hello » au serveur d'écho du labo en TCP et l'avez reçu en retour"},
		{ev("echo.tcp", "bytes", "3"),
			"you sent 3 bytes to the lab echo server over TCP and got it back", "vous avez envoyé 3 octets au serveur d'écho du labo en TCP et l'avez reçu en retour"},
		{ev("udp.datagram", "bytes", "6", "text", "hi", "port", "1007", "echoed", "true"),
			`you sent "hi" in a UDP datagram to port 1007 of the lab and got it back`, "vous avez envoyé « hi » dans un datagramme UDP au port 1007 du labo et l'avez reçu en retour"},
		{ev("tcp.accept", "port", "2525", "service", "smtp"),
			"you opened a TCP connection to port 2525 of the lab (smtp)", "vous avez ouvert une connexion TCP vers le port 2525 du labo (smtp)"},
		{ev("tcp.close", "port", "1007", "bytes_in", "6", "bytes_out", "6"),
			"you closed a TCP connection to port 1007 of the lab (6 bytes sent, 6 received)", "vous avez fermé une connexion TCP vers le port 1007 du labo (6 octets envoyés, 6 reçus)"},
		{ev("ws.request", "operation", "LookupHost", "version", "1.1", "status", "200", "name", "www.lab.test"),
			"you called LookupHost on the lab SOAP service (SOAP 1.1) for www.lab.test", "vous avez appelé LookupHost sur le service SOAP du labo (SOAP 1.1) pour www.lab.test"},
		{ev("ws.request", "version", "1.2", "status", "400", "fault", "env:Sender", "reason", "malformed-xml"),
			"you sent the lab SOAP service a request it answered with a Fault (env:Sender)", "vous avez envoyé au service SOAP du labo une requête qui a reçu une Fault (env:Sender)"},
		{ev("ws.wsdl", "path", "/directory?wsdl"), "you fetched the WSDL of the lab SOAP service", "vous avez récupéré le WSDL du service SOAP du labo"},
		{ev("smtp.starttls", "result", "ok"), "event smtp.starttls", "événement smtp.starttls"},
	}
	for _, tt := range tests {
		if got := explain.Describe(tt.e, "en"); got != tt.en {
			t.Errorf("%s (en):\n got %q\nwant %q", tt.e.Summary(), got, tt.en)
		}
		if got := explain.Describe(tt.e, "fr"); got != tt.fr {
			t.Errorf("%s (fr):\n got %q\nwant %q", tt.e.Summary(), got, tt.fr)
		}
	}
}

// The ticking event is the one of a watched kind at the tick's time; Did
// describes it, or says nothing when the journal no longer holds it.
func TestTickingEvent(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 14, 2, 0, 123456789, time.UTC)
	journal := []event.Event{
		{Kind: "smtp.delivered", Time: t0.Add(-time.Second)},
		{Kind: "pop3.login", Time: t0},
		{Kind: "pop3.retr", Time: t0, Attrs: map[string]string{"msg": "3", "user": "bob"}},
		{Kind: "pop3.retr", Time: t0.Add(time.Nanosecond), Attrs: map[string]string{"msg": "4", "user": "bob"}},
	}
	kinds := []string{"pop3.retr"}
	e, ok := explain.TickingEvent(journal, kinds, t0.In(time.Local))
	if !ok || e.Kind != "pop3.retr" || e.Attrs["msg"] != "3" {
		t.Fatalf("TickingEvent = %+v, %v", e, ok)
	}
	if _, ok := explain.TickingEvent(journal, []string{"imap.fetch"}, t0); ok {
		t.Error("found an event of a kind the task does not watch")
	}
	if got, want := explain.Did(journal, kinds, t0, "en"), "you read message 3 of bob's mailbox with POP3 (RETR)"; got != want {
		t.Errorf("Did = %q, want %q", got, want)
	}
	if got := explain.Did(journal, kinds, t0.Add(time.Hour), "fr"); got != "" {
		t.Errorf("Did at a time nothing happened = %q", got)
	}
}
