package mailstore

import (
	"fmt"
	"mime"
	"strings"
	"time"
)

// welcome is the text of one welcome message; %[1]s is the user, %[2]s the
// domain.
type welcome struct {
	lang    string
	subject string
	body    string
}

// welcomeLangs are the welcome messages, French first: the order they
// arrive in each INBOX.
var welcomeLangs = []welcome{
	{
		lang:    "fr",
		subject: "Bienvenue dans votre boîte aux lettres du labo",
		body: `Bonjour %[1]s,

Voici votre boîte aux lettres du labo : %[1]s@%[2]s. Un seul magasin de
courrier se trouve derrière les trois serveurs de messagerie du labo :

- SMTP fait entrer le courrier : un message envoyé à %[1]s@%[2]s
  arrive ici, dans INBOX.
- POP3 permet à un client de télécharger les messages d'INBOX, et en
  général de les effacer du serveur ensuite.
- IMAP permet à un client de travailler sur le serveur : lire, marquer,
  déplacer et classer les messages dans des dossiers, depuis plusieurs
  clients à la fois.

Comme le magasin est commun, un message effacé par POP3 disparaît aussi
en IMAP. Essayez : lisez ce message en IMAP, puis effacez-le en POP3.

Ce courrier ne quitte jamais le labo : aucun message n'est envoyé à un
autre domaine que %[2]s.

La commande « lab reset » remet la boîte dans son état de départ, avec
ces deux messages de bienvenue.

-- 
Le postmaster du laboo
`,
	},
	{
		lang:    "en",
		subject: "Welcome to your lab mailbox",
		body: `Hello %[1]s,

This is your mailbox in the lab: %[1]s@%[2]s. One mail store sits behind
the three mail servers of the lab:

- SMTP brings mail in: a message sent to %[1]s@%[2]s lands here,
  in INBOX.
- POP3 lets a client download the messages of INBOX, and usually delete
  them from the server afterwards.
- IMAP lets a client work on the server: read, flag, move and file
  messages in folders, from several clients at once.

Because the store is shared, a message deleted over POP3 is gone over
IMAP too. Try it: read this message over IMAP, then delete it over POP3.

This mail never leaves the lab: nothing is sent to any domain but
%[2]s.

The command "lab reset" brings the mailbox back to where it started,
with these two welcome messages.

-- 
The lab postmaster
`,
	},
}

// welcomeMessages builds the welcome messages of a user, in RFC 5322 form
// with CRLF line ends. uidvalidity makes the Message-IDs unique per reset.
func welcomeMessages(user, domain string, now time.Time, uidvalidity uint32) [][]byte {
	out := make([][]byte, 0, len(welcomeLangs))
	for _, w := range welcomeLangs {
		var b strings.Builder
		hdr := func(name, value string) { fmt.Fprintf(&b, "%s: %s\r\n", name, value) }
		hdr("Date", now.Format(time.RFC1123Z))
		hdr("From", fmt.Sprintf("Lab postmaster <postmaster@%s>", domain))
		hdr("To", fmt.Sprintf("%s@%s", user, domain))
		hdr("Subject", mime.QEncoding.Encode("utf-8", w.subject))
		hdr("Message-ID", fmt.Sprintf("<welcome-%s.%s.%d@%s>", w.lang, user, uidvalidity, domain))
		hdr("Content-Language", w.lang)
		hdr("MIME-Version", "1.0")
		hdr("Content-Type", "text/plain; charset=utf-8")
		hdr("Content-Transfer-Encoding", "8bit")
		b.WriteString("\r\n")
		body := fmt.Sprintf(w.body, user, domain)
		b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
		out = append(out, []byte(b.String()))
	}
	return out
}
