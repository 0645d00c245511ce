package explain

import (
	"fmt"
	"strings"
	"time"

	"protolab/internal/event"
)

// TickingEvent finds in the journal (oldest first) the event that ticked a
// task at the given time: the progress store records a tick with its
// event's time. kinds are the event kinds the task's check watches.
func TickingEvent(journal []event.Event, kinds []string, at time.Time) (event.Event, bool) {
	for i := len(journal) - 1; i >= 0; i-- {
		e := journal[i]
		if e.Time.Equal(at) && contains(kinds, e.Kind) {
			return e, true
		}
	}
	return event.Event{}, false
}

// Did says what the learner did to tick a task done at the given time,
// from the journal: Describe of the ticking event, "" when the journal no
// longer holds it.
func Did(journal []event.Event, kinds []string, at time.Time, lang string) string {
	if e, ok := TickingEvent(journal, kinds, at); ok {
		return Describe(e, lang)
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Describe says in a few words what the learner did, from the event that
// ticked a task: "you sent a mail to bob@lab.test with SMTP". Kinds it does
// not know give "event KIND".
func Describe(e event.Event, lang string) string {
	a := func(name string) string { return e.Attrs[name] }
	fr := lang == "fr"
	pick := func(en, frs string) string {
		if fr {
			return frs
		}
		return en
	}
	switch e.Kind {
	case "dns.query":
		name := strings.TrimSuffix(a("qname"), ".")
		if name == "" {
			name = "."
		}
		over := ""
		if a("transport") == "tcp" {
			over = pick(" over TCP", " en TCP")
		}
		if a("qtype") == "AXFR" || a("qtype") == "IXFR" {
			return fmt.Sprintf(pick("you transferred the zone %s from the lab DNS (%s)", "vous avez transféré la zone %s depuis le DNS du labo (%s)"), name, a("qtype"))
		}
		s := fmt.Sprintf(pick("you asked the lab DNS for %s (%s)%s", "vous avez demandé %s (%s) au DNS du labo%s"), name, a("qtype"), over)
		if rc := a("rcode"); rc != "" && rc != "NOERROR" {
			s += pick(" and got "+rc, " et obtenu "+rc)
		}
		return s
	case "echo.tcp", "udp.datagram":
		what := fmt.Sprintf(pick("%s bytes", "%s octets"), a("bytes"))
		if txt := a("text"); txt != "" {
			what = fmt.Sprintf(pick("%q", "« %s »"), txt)
		}
		if e.Kind == "echo.tcp" {
			return fmt.Sprintf(pick("you sent %s to the lab echo server over TCP and got it back", "vous avez envoyé %s au serveur d'écho du labo en TCP et l'avez reçu en retour"), what)
		}
		s := fmt.Sprintf(pick("you sent %s in a UDP datagram to port %s of the lab", "vous avez envoyé %s dans un datagramme UDP au port %s du labo"), what, a("port"))
		if a("echoed") == "true" {
			s += pick(" and got it back", " et l'avez reçu en retour")
		}
		return s
	case "tcp.accept":
		return fmt.Sprintf(pick("you opened a TCP connection to port %s of the lab (%s)", "vous avez ouvert une connexion TCP vers le port %s du labo (%s)"), a("port"), a("service"))
	case "tcp.close":
		return fmt.Sprintf(pick("you closed a TCP connection to port %s of the lab (%s bytes sent, %s received)", "vous avez fermé une connexion TCP vers le port %s du labo (%s octets envoyés, %s reçus)"), a("port"), a("bytes_in"), a("bytes_out"))
	case "ws.request":
		if a("fault") != "" {
			return fmt.Sprintf(pick("you sent the lab SOAP service a request it answered with a Fault (%s)", "vous avez envoyé au service SOAP du labo une requête qui a reçu une Fault (%s)"), a("fault"))
		}
		s := fmt.Sprintf(pick("you called %s on the lab SOAP service (SOAP %s)", "vous avez appelé %s sur le service SOAP du labo (SOAP %s)"), a("operation"), a("version"))
		if a("name") != "" {
			s += fmt.Sprintf(pick(" for %s", " pour %s"), a("name"))
		}
		return s
	case "ws.wsdl":
		return pick("you fetched the WSDL of the lab SOAP service", "vous avez récupéré le WSDL du service SOAP du labo")
	case "smtp.delivered":
		to := strings.ReplaceAll(a("to"), ",", ", ")
		return fmt.Sprintf(pick("you sent a mail to %s with SMTP", "vous avez envoyé un courriel à %s en SMTP"), to)
	case "pop3.retr":
		return fmt.Sprintf(pick("you read message %s of %s's mailbox with POP3 (RETR)", "vous avez lu le message %s de la boîte de %s en POP3 (RETR)"), a("msg"), a("user"))
	case "pop3.top":
		return fmt.Sprintf(pick("you read the headers of message %s of %s's mailbox with POP3 (TOP)", "vous avez lu les en-têtes du message %s de la boîte de %s en POP3 (TOP)"), a("msg"), a("user"))
	case "pop3.login", "imap.login":
		proto := strings.ToUpper(strings.TrimSuffix(e.Kind, ".login"))
		return fmt.Sprintf(pick("you logged in to %s's mailbox with %s", "vous vous êtes connecté à la boîte de %s en %s"), a("user"), proto)
	case "imap.fetch":
		what := pick("message", "le message")
		if uid := a("uid"); uid != "" {
			what = fmt.Sprintf(pick("message UID %s", "le message d'UID %s"), uid)
		}
		return fmt.Sprintf(pick("you read %s in %s's %s with IMAP (FETCH %s)", "vous avez lu %[1]s dans la boîte %[3]s de %[2]s en IMAP (FETCH %[4]s)"), what, a("user"), a("mailbox"), a("section"))
	case "imap.select":
		return fmt.Sprintf(pick("you opened %s's %s with IMAP", "vous avez ouvert la boîte %[2]s de %[1]s en IMAP"), a("user"), a("mailbox"))
	case "dhcp.ack":
		if s := a("state"); s == "renewing" || s == "rebinding" {
			return fmt.Sprintf(pick("you renewed the lease of %s with the lab DHCP server", "vous avez renouvelé le bail de %s auprès du serveur DHCP du labo"), a("ip"))
		}
		return fmt.Sprintf(pick("you got the address %s from the lab DHCP server (MAC %s)", "vous avez obtenu l'adresse %s du serveur DHCP du labo (MAC %s)"), a("ip"), a("mac"))
	case "dhcp.release":
		return fmt.Sprintf(pick("you gave the address %s back to the lab DHCP server", "vous avez rendu l'adresse %s au serveur DHCP du labo"), a("ip"))
	case "snmp.request":
		oids := strings.Fields(a("oids"))
		oid := ""
		if len(oids) > 0 {
			oid = oids[0]
			if len(oids) > 1 {
				oid += "…"
			}
		}
		who := pick("community ", "communauté ") + a("community")
		if a("version") == "3" {
			who = pick("user ", "utilisateur ") + a("user")
		}
		verb := map[string][2]string{
			"get":     {"you read %s from the lab SNMP agent", "vous avez lu %s sur l'agent SNMP du labo"},
			"getnext": {"you walked the lab SNMP agent from %s", "vous avez parcouru l'agent SNMP du labo à partir de %s"},
			"getbulk": {"you read objects in bulk from %s on the lab SNMP agent", "vous avez lu en bloc les objets à partir de %s sur l'agent SNMP du labo"},
			"set":     {"you wrote %s on the lab SNMP agent", "vous avez écrit %s sur l'agent SNMP du labo"},
		}[a("pdu")]
		if verb[0] == "" {
			verb = [2]string{"you queried the lab SNMP agent about %s", "vous avez interrogé l'agent SNMP du labo sur %s"}
		}
		return fmt.Sprintf(pick(verb[0], verb[1]), oid) + fmt.Sprintf(" (SNMPv%s, %s)", a("version"), who)
	case "snmp.set":
		obj := a("name")
		if obj == "" {
			obj = a("oid")
		}
		return fmt.Sprintf(pick("you set %s to %s on the lab SNMP agent", "vous avez mis %s à %s sur l'agent SNMP du labo"), obj, a("new"))
	}
	return pick("event ", "événement ") + e.Kind
}
