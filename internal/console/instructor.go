package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"protolab/internal/api"
	"protolab/internal/event"
)

// A classroom server (lab serve) answers on one address for the whole
// class. ClassServer routes each request:
//
//	GET  /instructor                    the instructor's dashboard (token; ?lang=fr|en, else the lab's language)
//	GET  /instructor.js, /instructor.css its files
//	GET  /api/class                     api.Class: the learners by the tasks (token)
//	GET  /api/class/events              text/event-stream: "class" first, then "learner" (an api.ClassLearner) and "event" (token)
//	GET  /api/class/learner?id=X        Timeline: a learner's newest events (?limit=N, at most 1000) (token)
//	POST /api/class/reset?id=X          clears one learner's progress; answers the new api.Class (token)
//	GET  /api/class/export?format=csv|json  the grid as a file (token)
//	anything else                       the console of the learner whose address the request comes from
//
// GET /api/status from an address that is no learner's answers the lab's
// status without anyone's progress (for lab status and lab healthz).
//
// The token is given as "Authorization: Bearer TOKEN", as ?token=TOKEN, or
// by the cookie the dashboard sets when opened with ?token=; it is compared
// in constant time, and a request without the right one gets 401. A
// request from an address that is not a learner's of the roster gets a
// page saying so (403), never another learner's data.

// ClassSource is what a running class offers the classroom server
// (implemented by the runner). Its methods are called from many goroutines.
type ClassSource interface {
	// Snapshot is the whole grid.
	Snapshot() api.Class
	// Timeline returns a learner's newest events, at most limit, oldest
	// first; the error wraps ErrUnknownLearner for an id not in the roster.
	Timeline(learner string, limit int) ([]event.Event, error)
	// ResetLearner clears one learner's progress (ErrUnknownLearner as
	// above).
	ResetLearner(learner string) error
	// LearnerConsole returns the learner at a remote address and their
	// console, or false.
	LearnerConsole(ip netip.Addr) (learner string, h http.Handler, ok bool)
	// Overview is the lab's status with no learner's progress: what
	// GET /api/status answers an address not on the roster (lab status
	// and lab healthz on the server itself).
	Overview() api.Status
}

// ErrUnknownLearner is wrapped by a ClassSource for a learner id that is
// not in the roster; the server answers 404.
var ErrUnknownLearner = errors.New("no such learner in the roster")

// ClassOptions configures a ClassServer.
type ClassOptions struct {
	Token string       // required: guards the instructor's pages and API
	Log   *slog.Logger // nil: discard
	Ping  time.Duration
}

// Timeline is GET /api/class/learner.
type Timeline struct {
	Learner string        `json:"learner"`
	Events  []event.Event `json:"events"`
}

// tokenCookie holds the instructor's token in the browser.
const tokenCookie = "lab_instructor"

// ClassServer is the web server of a classroom. Create it with NewClass.
type ClassServer struct {
	src   ClassSource
	token []byte
	log   *slog.Logger
	ping  time.Duration
	csrf  *http.CrossOriginProtection
	srv   *http.Server
	hub   hub
	stop  sync.Once
}

// NewToken returns a random token for the instructor (128 bits, hex).
func NewToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// NewClass returns a classroom server for src.
func NewClass(src ClassSource, opts ClassOptions) *ClassServer {
	s := &ClassServer{src: src, token: []byte(opts.Token), log: opts.Log, ping: opts.Ping,
		csrf: http.NewCrossOriginProtection()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.ping <= 0 {
		s.ping = defaultPing
	}
	s.hub.streams = make(map[*stream]struct{})
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.route),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the server's HTTP handler, for tests.
func (s *ClassServer) Handler() http.Handler { return s.srv.Handler }

// Serve answers HTTP requests on ln until Shutdown, then returns nil.
func (s *ClassServer) Serve(ln net.Listener) error {
	err := s.srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("classroom server: %w", err)
	}
	return nil
}

// Shutdown ends the instructor's event streams and stops the server,
// waiting for requests in flight up to ctx. The learners' consoles end
// their own streams (Server.Shutdown).
func (s *ClassServer) Shutdown(ctx context.Context) error {
	s.stop.Do(s.hub.close)
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
		return fmt.Errorf("classroom server: shutdown: %w", err)
	}
	return nil
}

// PublishLearner sends a learner's new row to the instructor's streams.
func (s *ClassServer) PublishLearner(r api.ClassLearner) {
	if s.hub.len() > 0 {
		s.publish("learner", r)
	}
}

// PublishEvent sends an event, its learner named, to the instructor's
// streams.
func (s *ClassServer) PublishEvent(e event.Event) {
	if s.hub.len() > 0 {
		e.Render()
		s.publish("event", e)
	}
}

func (s *ClassServer) publish(kind string, v any) {
	f, err := jsonFrame(kind, v)
	if err != nil {
		s.log.Warn("classroom server: cannot encode "+kind, "err", err)
		return
	}
	if n := s.hub.publish(f); n > 0 {
		s.log.Info("classroom server: dropped event streams that fell behind", "streams", n)
	}
}

type classRoute struct {
	methods []string
	handle  http.HandlerFunc
}

func (s *ClassServer) routes() map[string]classRoute {
	get := []string{http.MethodGet, http.MethodHead}
	return map[string]classRoute{
		"/instructor":        {get, s.page},
		"/instructor.js":     {get, s.page},
		"/instructor.css":    {get, s.page},
		"/api/class":         {get, s.class},
		"/api/class/events":  {[]string{http.MethodGet}, s.events},
		"/api/class/learner": {get, s.timeline},
		"/api/class/reset":   {[]string{http.MethodPost}, s.reset},
		"/api/class/export":  {get, s.export},
	}
}

func (s *ClassServer) route(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	rt, ok := s.routes()[r.URL.Path]
	if !ok {
		s.learner(w, r)
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
	if !allowed(rt.methods, r.Method) {
		h.Set("Allow", strings.Join(rt.methods, ", "))
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf(
			"method %s is not allowed on %s: use %s", r.Method, r.URL.Path, strings.Join(rt.methods, " or ")))
		return
	}
	if !s.authorized(w, r) {
		h.Set("WWW-Authenticate", `Bearer realm="instructor"`)
		msg := "the instructor's token is missing or wrong: open the address lab serve printed at start (…/instructor?token=…)"
		if r.URL.Path == "/instructor" && s.pageLang(r) == "fr" {
			msg = "le jeton de l'enseignant manque ou n'est pas le bon : ouvrez l'adresse que lab serve a affichée au démarrage (…/instructor?token=…)"
		}
		writeError(w, http.StatusUnauthorized, msg)
		return
	}
	if r.Method == http.MethodPost {
		if err := s.csrf.Check(r); err != nil {
			writeError(w, http.StatusForbidden, "cross-site request refused: use the dashboard or curl")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	}
	rt.handle(w, r)
}

// authorized checks the token (header, query or cookie) in constant time;
// a right token in the query sets the cookie, so that the page's own
// requests carry it.
func (s *ClassServer) authorized(w http.ResponseWriter, r *http.Request) bool {
	if len(s.token) == 0 {
		return false
	}
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, tok, ok := strings.Cut(a, " ")
		return ok && strings.EqualFold(scheme, "Bearer") && s.same(strings.TrimSpace(tok))
	}
	if tok := r.URL.Query().Get("token"); tok != "" {
		if !s.same(tok) {
			return false
		}
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: tok, Path: "/",
			HttpOnly: true, SameSite: http.SameSiteStrictMode})
		return true
	}
	if c, err := r.Cookie(tokenCookie); err == nil {
		return s.same(c.Value)
	}
	return false
}

func (s *ClassServer) same(tok string) bool {
	return subtle.ConstantTimeCompare([]byte(tok), s.token) == 1
}

// learner serves the console of the learner the request comes from.
func (s *ClassServer) learner(w http.ResponseWriter, r *http.Request) {
	ip, ok := remoteIP(r)
	if ok {
		if _, h, found := s.src.LearnerConsole(ip); found {
			h.ServeHTTP(w, r)
			return
		}
	}
	if r.URL.Path == "/api/status" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		writeJSON(w, http.StatusOK, s.src.Overview())
		return
	}
	who := "this address"
	if ok {
		who = ip.String()
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeError(w, http.StatusForbidden, who+" is not on the class roster: ask the instructor to add your address to the roster")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, notOnRosterPage, htmlEscape(who), htmlEscape(who))
}

const notOnRosterPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Protolab — not on the roster</title></head>
<body><h1>Not on the roster</h1>
<p>You reach this lab server from %s, which is not on the class roster, so it cannot tell whose progress to show.
Ask the instructor to add your address to the roster.</p>
<p lang="fr">Vous joignez ce serveur depuis %s, qui n'est pas dans la liste de la classe : demandez à l'enseignant de l'y ajouter.</p>
</body></html>
`

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}

// remoteIP is the request's source address.
func remoteIP(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

func (s *ClassServer) page(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Path
	if name == "/instructor" {
		name = "/instructor.html"
	}
	b, err := web.ReadFile("web" + name)
	if err != nil {
		writeError(w, http.StatusNotFound, "no such page "+name)
		return
	}
	if name == "/instructor.html" && s.pageLang(r) == "fr" {
		// The script reads the page's language from <html lang>.
		b = []byte(strings.Replace(string(b), `<html lang="en">`, `<html lang="fr">`, 1))
	}
	h := w.Header()
	h.Set("Content-Type", contentTypes[name[strings.LastIndexByte(name, '.'):]])
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// pageLang is the dashboard's language: ?lang=fr or ?lang=en, else the
// lab's (French for a French lab, English otherwise).
func (s *ClassServer) pageLang(r *http.Request) string {
	switch l := r.URL.Query().Get("lang"); l {
	case "fr", "en":
		return l
	}
	if strings.HasPrefix(strings.ToLower(s.src.Overview().Lang), "fr") {
		return "fr"
	}
	return "en"
}

func (s *ClassServer) class(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.src.Snapshot())
}

func (s *ClassServer) timeline(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if id == "" {
		writeError(w, http.StatusBadRequest, "missing learner: use /api/class/learner?id=ID")
		return
	}
	limit := 200
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "limit "+strconv.Quote(v)+": give a number from 1 to 1000")
			return
		}
		limit = min(n, 1000)
	}
	evs, err := s.src.Timeline(id, limit)
	switch {
	case errors.Is(err, ErrUnknownLearner):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if evs == nil {
		evs = []event.Event{}
	}
	writeJSON(w, http.StatusOK, Timeline{Learner: id, Events: evs})
}

func (s *ClassServer) reset(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	id := r.URL.Query().Get("id")
	if id == "" {
		writeError(w, http.StatusBadRequest, "missing learner: use /api/class/reset?id=ID")
		return
	}
	err := s.src.ResetLearner(id)
	switch {
	case errors.Is(err, ErrUnknownLearner):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		s.log.Warn("classroom server: reset failed", "learner", id, "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	c := s.src.Snapshot()
	if s.hub.len() > 0 {
		s.publish("class", c)
	}
	writeJSON(w, http.StatusOK, c)
}

// ExportColumns are the columns of GET /api/class/export?format=csv.
var ExportColumns = []string{"learner", "name", "task", "title", "done", "when", "points", "possible", "hints_shown", "late", "user", "password", "values"}

func (s *ClassServer) export(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	c := s.src.Snapshot()
	name := "class"
	if c.Class != "" {
		name = c.Class
	}
	name += "-" + c.Lab
	switch format {
	case "json":
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.json"`)
		writeJSON(w, http.StatusOK, c)
	case "csv":
		h := w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		h.Set("Cache-Control", "no-store")
		cw := csv.NewWriter(w)
		_ = cw.Write(ExportColumns)
		for _, l := range c.Learners {
			var values []string
			for _, k := range slices.Sorted(maps.Keys(l.Values)) {
				values = append(values, k+"="+l.Values[k])
			}
			for i, cell := range l.Cells {
				title, possible := cell.Task, 0
				if i < len(c.Tasks) {
					title, possible = c.Tasks[i].Title, c.Tasks[i].Points
				}
				when := ""
				if cell.DoneAt != nil {
					when = cell.DoneAt.UTC().Format(time.RFC3339)
				}
				_ = cw.Write([]string{l.ID, l.Name, cell.Task, title, strconv.FormatBool(cell.Done), when,
					strconv.Itoa(cell.Points), strconv.Itoa(possible), strconv.Itoa(cell.Hints), strconv.FormatBool(cell.Late), l.User, l.Password, strings.Join(values, " ")})
			}
		}
		cw.Flush()
	default:
		writeError(w, http.StatusBadRequest, "format "+strconv.Quote(format)+": choose csv or json")
	}
}

func (s *ClassServer) events(w http.ResponseWriter, r *http.Request) {
	st := &stream{q: make(chan []byte, defaultBuffer), rc: http.NewResponseController(w)}
	if !s.hub.add(st) {
		writeError(w, http.StatusServiceUnavailable, "the lab is stopping")
		return
	}
	defer s.hub.remove(st)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	first, err := jsonFrame("class", s.src.Snapshot())
	if err != nil || st.write(w, first) != nil {
		return
	}
	st.pump(w, r, s.ping)
}
