// Package explain says what the learner did, from the events the lab's
// servers reported: in a phrase ("you asked the lab DNS for www.lab.test
// (A)", see Describe), or layer by layer, the latest exchange set against
// the OSI and TCP/IP models (see Latest). The command line (lab quiz, lab
// explain) and the web console share it. Everything here is a pure function
// of the events and a Context.
package explain

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"protolab/internal/event"
	"protolab/internal/sandbox"
	"protolab/internal/service"
	"protolab/internal/termview"
)

// Context is what an explanation knows of the lab besides its events.
type Context struct {
	Lab       string
	Lang      string
	Sandboxed bool // the running lab is on a lab network
	Running   bool
	Endpoints service.Endpoints
	// Brief names an event kind's attributes worth a line, and Networks
	// the transports a service listens on (both from the services' specs;
	// see SpecFuncs). Nil functions know nothing.
	Brief    func(service, kind string) []string
	Networks func(service string) []string
}

// SpecFuncs builds Context.Brief and Context.Networks from a lookup of
// the services' specs (a registry, or the services of one lab).
func SpecFuncs(lookup func(name string) (*service.Spec, bool)) (brief func(svc, kind string) []string, networks func(svc string) []string) {
	brief = func(svc, kind string) []string {
		for _, e := range service.TransportEvents {
			if e.Kind == kind {
				return e.Brief
			}
		}
		if s, ok := lookup(svc); ok {
			if es, ok := s.Event(kind); ok {
				return es.Brief
			}
		}
		return nil
	}
	networks = func(svc string) []string {
		s, ok := lookup(svc)
		if !ok {
			return nil
		}
		seen := map[string]bool{}
		var out []string
		for _, l := range s.Listeners {
			for _, n := range l.Networks {
				if !seen[n] {
					seen[n] = true
					out = append(out, n)
				}
			}
		}
		return out
	}
	return brief, networks
}

// ErrNothing is wrapped by the error Nothing returns.
var ErrNothing = errors.New("nothing to explain")

type nothingError struct{ msg string }

func (e *nothingError) Error() string { return e.msg }
func (e *nothingError) Unwrap() error { return ErrNothing }

// Nothing is the error for a journal with no exchange to explain (with the
// service svc, when not empty): it says what to do to have one.
func Nothing(x Context, svc string) error {
	what := tr(x.Lang, "no exchange with the lab's servers", "aucun échange avec les serveurs du labo")
	if svc != "" {
		what = fmt.Sprintf(tr(x.Lang, "no exchange with the %s service", "aucun échange avec le service %s"), svc)
	}
	try := tr(x.Lang, "use a client against one of the servers 'lab status' lists", "utilisez un client sur l'un des serveurs que liste « lab status »")
	if addr, ok := x.Endpoints.Find("echo", "tcp"); ok && (svc == "" || svc == "echo") {
		host, port, _ := net.SplitHostPort(addr)
		try = fmt.Sprintf(tr(x.Lang, "try 'nc %s %s', type a line", "essayez « nc %s %s », tapez une ligne"), host, port)
	}
	return &nothingError{fmt.Sprintf(tr(x.Lang, "nothing to explain yet in lab %s: %s in the journal; %s, then run 'lab explain' again",
		"rien à expliquer pour l'instant dans le labo %s : %s dans le journal ; %s, puis relancez « lab explain »"), x.Lab, what, try)}
}

// tr picks the English or the French wording.
func tr(lang, en, fr string) string {
	if lang == "fr" {
		return fr
	}
	return en
}

// Explanation is the latest exchange, layer by layer (`lab explain --json`
// and the console's GET /api/explain).
type Explanation struct {
	Lab       string        `json:"lab"`
	Lang      string        `json:"lang"`
	Service   string        `json:"service"`
	Protocol  string        `json:"protocol"`
	Transport string        `json:"transport"` // "tcp", "udp", or "" when the lab cannot tell
	Family    string        `json:"family"`    // "ipv4" or "ipv6"
	Client    string        `json:"client"`
	Server    string        `json:"server,omitempty"`
	Link      string        `json:"link"` // "loopback", "veth" or "hidden"
	Layers    []Layer       `json:"layers"`
	Events    []event.Event `json:"events"`

	brief func(service, kind string) []string
}

// Layer is one layer of the TCP/IP model and what the lab knows of it.
type Layer struct {
	TCPIP      string   `json:"tcpip"` // "application", "transport", "internet", "link"
	Name       string   `json:"name"`
	OSI        []int    `json:"osi"` // the OSI layers it covers
	Summary    string   `json:"summary"`
	Facts      []string `json:"facts"`
	Hidden     []string `json:"hidden,omitempty"`
	Transcript string   `json:"transcript,omitempty"`
}

// protocols names each service's application protocol.
var protocols = map[string]string{
	"echo": "Echo (RFC 862)", "dns": "DNS (RFC 1035)", "smtp": "SMTP (RFC 5321)", "pop3": "POP3 (RFC 1939)",
	"imap": "IMAP (RFC 9051)", "snmp": "SNMP (RFC 3416)", "dhcp": "DHCP (RFC 2131)", "ws": "HTTP and SOAP",
}

// Bounds of what an explanation shows.
const (
	maxGroup       = 50 // events of one exchange
	maxShownEvents = 8  // application events listed
	maxTransLines  = 20 // transcript lines
	maxLineRunes   = 160
)

func isTCPKind(kind string) bool {
	return kind == service.KindTCPAccept || kind == service.KindTCPClose
}

// eventTransport is the transport an event says it used, if it says.
func eventTransport(e *event.Event) string {
	if isTCPKind(e.Kind) {
		return "tcp"
	}
	if t := e.Attrs["transport"]; t == "tcp" || t == "udp" {
		return t
	}
	return ""
}

// Latest explains the latest exchange among evs (oldest first):
// the newest event with a client, and the events of the same connection
// (for TCP, from its tcp.accept) or the same client port (for UDP).
func Latest(evs []event.Event, x Context, svc string) (*Explanation, bool) {
	last := -1
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Client != "" && (svc == "" || evs[i].Service == svc) {
			last = i
			break
		}
	}
	if last < 0 {
		return nil, false
	}
	anchor := evs[last]
	transport := eventTransport(&anchor)
	if transport == "" {
		if nets := x.Networks(anchor.Service); len(nets) == 1 {
			transport = nets[0]
		}
	}
	same := func(e *event.Event) bool { return e.Client == anchor.Client && e.Service == anchor.Service }
	var group []event.Event
	if transport == "udp" {
		for i := last; i >= 0 && len(group) < maxGroup; i-- {
			if same(&evs[i]) && eventTransport(&evs[i]) != "tcp" {
				group = append(group, evs[i])
			}
		}
	} else {
		// Back to the connection's accept. A server may report the end of
		// a session after the close: the first close met is this
		// connection's, a second one an earlier connection's from the same
		// port.
		closes := 0
		for i := last; i >= 0 && len(group) < maxGroup; i-- {
			if !same(&evs[i]) {
				continue
			}
			if evs[i].Kind == service.KindTCPClose {
				if closes++; closes > 1 {
					break
				}
			}
			group = append(group, evs[i])
			if evs[i].Kind == service.KindTCPAccept {
				break
			}
		}
	}
	for i, j := 0, len(group)-1; i < j; i, j = i+1, j-1 {
		group[i], group[j] = group[j], group[i]
	}
	if transport == "" {
		for i := range group {
			if t := eventTransport(&group[i]); t != "" {
				transport = t
			}
		}
	}
	return build(group, transport, x), true
}

// build assembles the explanation of one exchange.
func build(group []event.Event, transport string, x Context) *Explanation {
	first := group[0]
	ex := &Explanation{Lab: x.Lab, Lang: x.Lang, Service: first.Service, Transport: transport,
		Client: first.Client, Events: group, brief: x.Brief}
	ex.Protocol = protocols[first.Service]
	if ex.Protocol == "" {
		ex.Protocol = strings.ToUpper(first.Service)
	}
	var accept, closed *event.Event
	var app []*event.Event
	for i := range group {
		e := &group[i]
		switch e.Kind {
		case service.KindTCPAccept:
			accept = e
		case service.KindTCPClose:
			closed = e
		default:
			app = append(app, e)
		}
		if s := e.Attrs["server"]; s != "" && ex.Server == "" {
			ex.Server = s
		}
	}
	if ex.Server == "" {
		ex.Server = endpointFor(x.Endpoints, first.Service, transport)
	}
	clientIP, clientPort := splitAddr(ex.Client)
	serverIP, serverPort := splitAddr(ex.Server)
	ex.Family = "ipv4"
	if clientIP.IsValid() && !clientIP.Unmap().Is4() {
		ex.Family = "ipv6"
	}
	lang := x.Lang
	ex.Layers = []Layer{
		applicationLayer(lang, ex, app, closed),
		transportLayer(lang, transport, clientPort, serverPort, accept, closed, app),
		internetLayer(lang, ex.Family, clientIP, serverIP, x.Running),
		linkLayer(lang, ex, clientIP, x),
	}
	return ex
}

// endpointFor is where the service listens over the transport, as the
// running lab says ("" when unknown).
func endpointFor(eps service.Endpoints, svc, transport string) string {
	for _, e := range eps {
		if e.Service == svc && (transport == "" || e.Network == transport) {
			return e.Addr
		}
	}
	return ""
}

// splitAddr parses "host:port"; the zero Addr when it is not an IP.
func splitAddr(s string) (netip.Addr, string) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.Addr{}, ""
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, port
	}
	return ip.Unmap(), port
}

func applicationLayer(lang string, ex *Explanation, app []*event.Event, closed *event.Event) Layer {
	l := Layer{TCPIP: "application", Name: ex.Protocol, OSI: []int{7, 6, 5}}
	if len(app) == 0 {
		if closed != nil && closed.Attrs["bytes_in"] == "0" && closed.Attrs["bytes_out"] == "0" {
			l.Summary = shortName(ex.Protocol) + tr(lang, ": no data, opened and closed as a port scan does", " : aucune donnée, ouverte puis fermée comme lors d'un balayage")
			l.Facts = []string{tr(lang, "no application data crossed this connection: the client opened it and closed it without a byte, as nc -z or a port scanner does",
				"aucune donnée applicative n'a traversé cette connexion : le client l'a ouverte et refermée sans un octet, comme nc -z ou un outil de balayage")}
		} else {
			l.Summary = shortName(ex.Protocol) + tr(lang, ": no application event yet", " : pas encore d'événement applicatif")
			l.Facts = []string{tr(lang, "the server has reported nothing of the application yet (the connection may still be open, or the data did not make a whole message)",
				"le serveur n'a encore rien signalé de l'application (la connexion est peut-être encore ouverte, ou les données ne formaient pas un message complet)")}
		}
		return l
	}
	last := app[len(app)-1]
	l.Summary = strings.TrimSpace(fmt.Sprintf("%s: %s %s", shortName(ex.Protocol), last.Kind, briefValues(last, ex.briefFor(last))))
	if n := len(app) - maxShownEvents; n > 0 {
		l.Facts = append(l.Facts, fmt.Sprintf(tr(lang, "(%d earlier events not listed)", "(%d événements précédents non listés)"), n))
		app = app[n:]
	}
	for _, e := range app {
		l.Facts = append(l.Facts, clip(termview.EventLine(*e, ex.briefFor(e))))
	}
	for i := len(app) - 1; i >= 0; i-- {
		e := *app[i]
		e.Render()
		if e.Transcript != "" {
			l.Transcript = clipLines(e.Transcript)
			break
		}
	}
	return l
}

// briefFor names the attributes of e worth showing (nil: all of them).
func (ex *Explanation) briefFor(e *event.Event) []string {
	if ex.brief != nil {
		return ex.brief(e.Service, e.Kind)
	}
	return nil
}

// shortName is a protocol's name without its reference: "DNS".
func shortName(proto string) string {
	name, _, _ := strings.Cut(proto, " (")
	return name
}

// briefValues is "k=v k=v" for the brief attributes present.
func briefValues(e *event.Event, brief []string) string {
	var parts []string
	for _, k := range brief {
		if v, ok := e.Attrs[k]; ok && v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, " ")
}

func transportLayer(lang, transport, clientPort, serverPort string, accept, closed *event.Event, app []*event.Event) Layer {
	l := Layer{TCPIP: "transport", Name: tr(lang, "Transport", "Transport"), OSI: []int{4}}
	ports := fmt.Sprintf(tr(lang, "client port %s → server port %s", "port du client %s → port du serveur %s"), orUnknown(clientPort), orUnknown(serverPort))
	switch transport {
	case "tcp":
		l.Name = "TCP"
		l.Facts = append(l.Facts, ports)
		state := tr(lang, "open", "ouverte")
		if accept != nil {
			l.Facts = append(l.Facts, fmt.Sprintf(tr(lang,
				"handshake: SYN, SYN-ACK, ACK completed at %s (done by the kernel, not by the programs; the server saw it as the accept)",
				"poignée de main : SYN, SYN-ACK, ACK achevée à %s (faite par le noyau, pas par les programmes ; le serveur l'a vue comme l'accept)"),
				clock(accept.Time)))
		} else {
			l.Facts = append(l.Facts, tr(lang,
				"handshake: SYN, SYN-ACK, ACK happened, but this lab does not record connections (only labs whose tasks watch tcp.* events do, like tcpip)",
				"poignée de main : SYN, SYN-ACK, ACK a eu lieu, mais ce labo n'enregistre pas les connexions (seuls les labos dont les tâches suivent les événements tcp.* le font, comme tcpip)"))
		}
		if closed != nil {
			by := tr(lang, "the client", "le client")
			if closed.Attrs["closed_by"] == "server" {
				by = tr(lang, "the server", "le serveur")
			}
			state = fmt.Sprintf(tr(lang, "closed by %s", "fermée par %s"), by)
			l.Facts = append(l.Facts, fmt.Sprintf(tr(lang,
				"data: %s bytes from the client, %s bytes back (what TCP delivered, headers not counted)",
				"données : %s octets du client, %s octets en retour (ce que TCP a livré, en-têtes non comptés)"),
				closed.Attrs["bytes_in"], closed.Attrs["bytes_out"]))
			l.Facts = append(l.Facts, fmt.Sprintf(tr(lang,
				"teardown: closed by %s (its FIN came first) at %s, after %s ms",
				"fermeture : par %s (son FIN est parti le premier) à %s, au bout de %s ms"),
				by, clock(closed.Time), closed.Attrs["duration_ms"]))
		} else if accept != nil {
			l.Facts = append(l.Facts, tr(lang, "teardown: not yet, the connection is still open", "fermeture : pas encore, la connexion est toujours ouverte"))
		}
		l.Summary = fmt.Sprintf("TCP %s → %s, %s", orUnknown(clientPort), orUnknown(serverPort), state)
		l.Hidden = []string{tr(lang,
			"sequence and acknowledgement numbers, window sizes, segment sizes, retransmissions and TCP checksums: the kernel handles them and does not tell the lab (tcpdump shows them)",
			"numéros de séquence et d'accusé de réception, fenêtres, taille des segments, retransmissions et sommes de contrôle TCP : le noyau s'en charge et ne les dit pas au labo (tcpdump les montre)")}
	case "udp":
		l.Name = "UDP"
		l.Facts = append(l.Facts, ports)
		var sizes []string
		n := 0
		for _, e := range app {
			n++
			if b := e.Attrs["bytes"]; b != "" {
				sizes = append(sizes, b)
			}
		}
		count := fmt.Sprintf(tr(lang, "%d datagram(s) from this client port", "%d datagramme(s) depuis ce port client"), n)
		if len(sizes) > 0 {
			count += fmt.Sprintf(tr(lang, " (payload: %s bytes)", " (charge utile : %s octets)"), strings.Join(sizes, ", "))
		}
		l.Facts = append(l.Facts, count,
			tr(lang, "no handshake and no teardown: each datagram travels alone, and nothing tells the sender it arrived except an answer",
				"ni poignée de main ni fermeture : chaque datagramme voyage seul, et rien ne dit à l'expéditeur qu'il est arrivé, sinon une réponse"))
		l.Summary = fmt.Sprintf("UDP %s → %s", orUnknown(clientPort), orUnknown(serverPort))
		if len(sizes) > 0 {
			l.Summary += fmt.Sprintf(tr(lang, ", %s bytes", ", %s octets"), sizes[len(sizes)-1])
		}
		l.Hidden = []string{tr(lang,
			"the UDP header's length and checksum: the kernel checks them and hands the server only the payload",
			"la longueur et la somme de contrôle de l'en-tête UDP : le noyau les vérifie et ne passe au serveur que la charge utile")}
	default:
		l.Facts = append(l.Facts, ports, tr(lang,
			"TCP or UDP: the lab cannot tell for this exchange (the service listens on both and its event does not say)",
			"TCP ou UDP : le labo ne peut pas le dire pour cet échange (le service écoute sur les deux et son événement ne le précise pas)"))
		l.Summary = fmt.Sprintf("? %s → %s", orUnknown(clientPort), orUnknown(serverPort))
	}
	return l
}

func internetLayer(lang, family string, client, server netip.Addr, running bool) Layer {
	name := "IPv4"
	if family == "ipv6" {
		name = "IPv6"
	}
	l := Layer{TCPIP: "internet", Name: name, OSI: []int{3}}
	srv := tr(lang, "(not known)", "(inconnue)")
	if server.IsValid() {
		srv = server.String()
	}
	cli := tr(lang, "(not known)", "(inconnue)")
	if client.IsValid() {
		cli = client.String()
	}
	l.Summary = fmt.Sprintf("%s %s → %s", name, cli, srv)
	l.Facts = append(l.Facts, fmt.Sprintf(tr(lang, "client %s → server %s", "client %s → serveur %s"), cli, srv))
	switch {
	case !server.IsValid() && running:
		l.Facts = append(l.Facts, tr(lang,
			"the server's address is not known for this exchange: its socket listens on every address of the lab server",
			"l'adresse du serveur n'est pas connue pour cet échange : sa socket écoute sur toutes les adresses du serveur du labo"))
	case !server.IsValid():
		l.Facts = append(l.Facts, tr(lang,
			"the server's address is not in its events, and the lab is no longer running to say where it listened",
			"l'adresse du serveur n'est pas dans ses événements, et le labo ne tourne plus pour dire où il écoutait"))
	}
	switch {
	case client.IsLoopback():
		l.Facts = append(l.Facts, tr(lang,
			"loopback addresses (127.0.0.0/8, ::1): the packets never leave this machine",
			"adresses de boucle locale (127.0.0.0/8, ::1) : les paquets ne quittent jamais cette machine"))
	case inLabNetwork(client):
		l.Facts = append(l.Facts, tr(lang,
			"the lab network, 192.0.2.0/24 and 2001:db8:89::/64 (documentation ranges, RFC 5737 and RFC 3849): one link, no router on the way",
			"le réseau du labo, 192.0.2.0/24 et 2001:db8:89::/64 (plages de documentation, RFC 5737 et RFC 3849) : un seul lien, aucun routeur en chemin"))
	case client.IsUnspecified():
		l.Facts = append(l.Facts, tr(lang,
			"0.0.0.0: the client had no address yet (a DHCP client before its lease)",
			"0.0.0.0 : le client n'avait pas encore d'adresse (un client DHCP avant son bail)"))
	}
	hidden := tr(lang,
		"the time to live (TTL), the identification and flags, the header checksum and the route the packets took: the kernel does not tell the lab",
		"la durée de vie (TTL), l'identification et les drapeaux, la somme de contrôle de l'en-tête et la route suivie : le noyau ne les dit pas au labo")
	if family == "ipv6" {
		hidden = tr(lang,
			"the hop limit, the flow label and the route the packets took (IPv6 has no header checksum): the kernel does not tell the lab",
			"la limite de sauts, l'étiquette de flux et la route suivie (IPv6 n'a pas de somme de contrôle d'en-tête) : le noyau ne les dit pas au labo")
	}
	l.Hidden = []string{hidden}
	return l
}

// inLabNetwork reports whether ip is in the lab network's ranges.
func inLabNetwork(ip netip.Addr) bool {
	for _, p := range []string{"192.0.2.0/24", "2001:db8:89::/64"} {
		if netip.MustParsePrefix(p).Contains(ip) {
			return true
		}
	}
	return false
}

func linkLayer(lang string, ex *Explanation, client netip.Addr, x Context) Layer {
	l := Layer{TCPIP: "link", Name: tr(lang, "Link", "Accès au réseau"), OSI: []int{2, 1}}
	switch {
	case client.IsLoopback():
		ex.Link = "loopback"
		l.Name = tr(lang, "loopback (lo)", "boucle locale (lo)")
		l.Summary = tr(lang, "loopback (lo): no frames", "boucle locale (lo) : aucune trame")
		l.Facts = []string{
			tr(lang, "no link-layer frames and no MAC addresses: the loopback interface carries packets inside the kernel",
				"ni trame ni adresse MAC : l'interface de boucle locale transporte les paquets à l'intérieur du noyau"),
			tr(lang, "physical: nothing, the packets never leave this machine's memory",
				"physique : rien, les paquets ne quittent pas la mémoire de cette machine"),
		}
	case client.IsValid() && (x.Sandboxed || !x.Running) && inLabNetwork(client):
		ex.Link = "veth"
		l.Name = "Ethernet (veth)"
		l.Summary = fmt.Sprintf("Ethernet: %s %s ↔ %s %s", sandbox.LearnerLink, sandbox.LearnerMAC, sandbox.ServerLink, sandbox.ServerMAC)
		l.Facts = []string{
			fmt.Sprintf(tr(lang, "Ethernet frames over a veth pair: %s (your side, MAC %s) ↔ %s (the lab server, MAC %s)",
				"trames Ethernet sur une paire veth : %s (votre côté, MAC %s) ↔ %s (le serveur du labo, MAC %s)"),
				sandbox.LearnerLink, sandbox.LearnerMAC, sandbox.ServerLink, sandbox.ServerMAC),
			tr(lang, "each side found the other's MAC address with ARP (IPv4) or neighbour discovery (IPv6)",
				"chaque côté a trouvé l'adresse MAC de l'autre par ARP (IPv4) ou la découverte de voisins (IPv6)"),
			tr(lang, "physical: virtual, no cable; the kernel copies each frame from one end of the pair to the other",
				"physique : virtuelle, sans câble ; le noyau copie chaque trame d'un bout de la paire à l'autre"),
		}
		l.Hidden = []string{tr(lang,
			"the frames themselves: the lab knows these MAC addresses because it built the link, not from this exchange",
			"les trames elles-mêmes : le labo connaît ces adresses MAC parce qu'il a construit le lien, pas grâce à cet échange")}
	default:
		ex.Link = "hidden"
		l.Name = tr(lang, "hidden", "caché")
		l.Summary = tr(lang, "hidden", "caché")
		l.Facts = []string{}
		l.Hidden = []string{tr(lang,
			"the kernel does not tell the lab which interface carried the packets, nor the MAC addresses",
			"le noyau ne dit pas au labo quelle interface a transporté les paquets, ni les adresses MAC")}
	}
	return l
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func clock(t time.Time) string { return t.Local().Format("15:04:05.000") }

// clip bounds a line for the terminal.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxLineRunes {
		return s
	}
	r := []rune(s)
	return string(r[:maxLineRunes-1]) + "…"
}

// clipLines bounds a transcript.
func clipLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	extra := 0
	if len(lines) > maxTransLines {
		extra = len(lines) - maxTransLines
		lines = lines[:maxTransLines]
	}
	for i := range lines {
		lines[i] = clip(lines[i])
	}
	if extra > 0 {
		lines = append(lines, "… (+"+strconv.Itoa(extra)+")")
	}
	return strings.Join(lines, "\n")
}

// OSINames are the OSI layers, 1 to 7.
func OSINames(lang string) []string {
	if lang == "fr" {
		return []string{"", "Physique", "Liaison de données", "Réseau", "Transport", "Session", "Présentation", "Application"}
	}
	return []string{"", "Physical", "Data link", "Network", "Transport", "Session", "Presentation", "Application"}
}

// TCPIPName is the name of a layer of the TCP/IP model in lang.
func TCPIPName(lang, layer string) string {
	switch layer {
	case "application":
		return "Application"
	case "transport":
		return "Transport"
	case "internet":
		return "Internet"
	}
	return tr(lang, "Link", "Accès au réseau")
}

// renderExplanation prints the two models side by side, then each layer.

func Render(w io.Writer, ex *Explanation) {
	lang := ex.Lang
	server := ex.Server
	if server == "" {
		server = tr(lang, "(not known)", "(inconnu)")
	}
	fmt.Fprintf(w, tr(lang, "Latest exchange in lab %s: %s, client %s, server %s\n\n", "Dernier échange dans le labo %s : %s, client %s, serveur %s\n\n"),
		ex.Lab, ex.Protocol, ex.Client, server)
	for _, line := range Drawing(ex) {
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	for _, l := range ex.Layers {
		fmt.Fprintf(w, "\n%s — %s\n", TCPIPName(lang, l.TCPIP), l.Name)
		for _, f := range l.Facts {
			fmt.Fprintf(w, "  %s\n", f)
		}
		if l.Transcript != "" {
			for _, t := range strings.Split(l.Transcript, "\n") {
				fmt.Fprintln(w, strings.TrimRight("    "+t, " \t"))
			}
		}
		for _, h := range l.Hidden {
			fmt.Fprintf(w, tr(lang, "  hidden: %s\n", "  caché : %s\n"), h)
		}
	}
}

// Drawing is the OSI model and the TCP/IP model side by side, each TCP/IP
// layer facing the OSI layers it covers, with what this exchange shows.
func Drawing(ex *Explanation) []string {
	lang := ex.Lang
	osi := OSINames(lang)
	osiW := utf8.RuneCountInString(tr(lang, "OSI model (7 layers)", "Modèle OSI (7 couches)"))
	for _, n := range osi {
		osiW = max(osiW, utf8.RuneCountInString(n)+2)
	}
	tcpW := utf8.RuneCountInString(tr(lang, "TCP/IP model (4 layers)", "Modèle TCP/IP (4 couches)"))
	for _, l := range ex.Layers {
		tcpW = max(tcpW, utf8.RuneCountInString(TCPIPName(lang, l.TCPIP)))
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s))) }
	lines := []string{"  " + pad(tr(lang, "OSI model (7 layers)", "Modèle OSI (7 couches)"), osiW) + "      " +
		pad(tr(lang, "TCP/IP model (4 layers)", "Modèle TCP/IP (4 couches)"), tcpW) + "  " + tr(lang, "this exchange", "cet échange")}
	for _, l := range ex.Layers {
		n := len(l.OSI)
		label := n / 2
		for i, o := range l.OSI {
			mark := "   "
			switch {
			case n == 1:
				mark = "───"
			case i == 0:
				mark = "┐  "
			case i == n-1 && i == label:
				mark = "┘──"
			case i == n-1:
				mark = "┘  "
			case i == label:
				mark = "┤──"
			default:
				mark = "│  "
			}
			row := "  " + pad(strconv.Itoa(o)+" "+osi[o], osiW) + " " + mark + "  "
			if i == label {
				row += pad(TCPIPName(lang, l.TCPIP), tcpW) + "  " + clip(l.Summary)
			}
			lines = append(lines, row)
		}
	}
	return lines
}
