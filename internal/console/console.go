// Package console serves a running lab over HTTP: a small JSON API (status,
// hints, reset, the lesson, the event journal, the layer view), a live
// stream of events and task changes as Server-Sent Events, and the
// learner's web console, a page that shows them in a browser. The command
// line (lab status, lab hint, lab reset) reaches the lab through the same
// API, with the client in package api.
//
// Endpoints:
//
//	GET  /               the web console (files embedded from web/, nothing fetched elsewhere)
//	GET  /api/status     api.Status (?lang=fr|en: titles in that language)
//	GET  /api/events     text/event-stream: "status" first, then "event" and "task"
//	POST /api/hint?task=ID   api.Hint, the task's next hint (404 for an unknown task; ?lang=)
//	POST /api/reset      api.Status after progress is cleared
//	GET  /api/lesson     Lesson: the lesson as blocks, with the linked tasks' state (?lang=)
//	GET  /api/journal    Journal: the newest events, oldest first (?limit=N, at most 1000)
//	GET  /api/explain    explain.Explanation of the latest exchange (?lang=, ?service=); 404 when there is none
//
// The last three, and ?lang, need a Source that is also a Lab (the runner
// is); with a plain Source they answer 404 and the lab's language.
//
// Every other path answers 404 and every wrong method 405 with an Allow
// header, both with an api.Error body.
//
// A classroom (lab serve) puts a ClassServer in front: it serves the
// instructor's dashboard and API behind a token, and hands every other
// request to the console of the learner it comes from (see instructor.go).
//
// Cross-site request forgery: reading is harmless, but a page on another
// site must not be able to ask for hints or reset progress on the learner's
// behalf. POST requests are therefore refused (403) when the browser says
// they come from another site: Sec-Fetch-Site must be "same-origin" or
// "none" when present, and without it an Origin header must name the same
// host as the Host header (net/http's CrossOriginProtection). As a second
// line, a POST must carry no Content-Type or application/json (else 415):
// the content types an HTML form can send cross-site without a preflight are
// refused. Tools that are not browsers send neither header, so
// `curl -X POST` and the Go client work unchanged.
package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"protolab/internal/api"
	"protolab/internal/event"
	"protolab/internal/explain"
	"protolab/internal/lesson"
)

// Source is what the running lab offers the console (implemented by the
// runner). Its methods are called from many goroutines at once.
type Source interface {
	Status() api.Status
	// Hint returns the task's next hint, or an error wrapping
	// ErrUnknownTask when no task has that id.
	Hint(task string) (api.Hint, error)
	// Reset clears progress and returns the new status.
	Reset() (api.Status, error)
}

// Lab is the rest of what a running lab offers the web console: its
// texts in either language, its lesson, its event journal and the layer
// view of its latest exchange. The runner implements it; New checks for it
// with a type assertion.
type Lab interface {
	Source
	// StatusIn is Status with the titles in lang ("fr" or "en").
	StatusIn(lang string) api.Status
	// HintIn is Hint with the text in lang.
	HintIn(task, lang string) (api.Hint, error)
	// Lesson returns the lesson in lang, or in the language it falls back
	// to (the second result); nil when the lab has none.
	Lesson(lang string) (*lesson.Doc, string)
	// Did says, for each task done, what the learner did to tick it, in
	// lang (no entry when the journal no longer says).
	Did(lang string) map[string]string
	// Journal returns the newest events of the lab's journal, at most
	// limit, oldest first, transcripts rendered.
	Journal(limit int) ([]event.Event, error)
	// Explain explains the latest exchange (with the service svc, when
	// not empty) in lang; the error wraps explain.ErrNothing when there is
	// none yet.
	Explain(svc, lang string) (*explain.Explanation, error)
}

// ErrUnknownTask is wrapped by Source.Hint for a task id the lab does not
// have; the console answers 404 with the error's text.
var ErrUnknownTask = errors.New("unknown task")

// Options configures a Server. Zero values pick safe defaults.
type Options struct {
	Log          *slog.Logger  // nil: discard
	Ping         time.Duration // keep-alive comment on event streams; 0: 15 s
	ClientBuffer int           // frames queued per event stream before it is dropped; 0: 256
	// OnClients, if set, is told how many event streams are open each time
	// one opens or closes, so the lab can skip feeding events to nobody.
	OnClients func(n int)
}

const (
	defaultPing   = 15 * time.Second
	defaultBuffer = 256
	// writeTimeout bounds one write to a client, so a peer that stops
	// reading cannot hold a handler (or Shutdown) for long.
	writeTimeout = 30 * time.Second
	maxBody      = 1 << 16
)

// Server is the console of one running lab. Create it with New.
type Server struct {
	src    Source
	lab    Lab // src when it is one, else nil
	log    *slog.Logger
	ping   time.Duration
	buffer int
	onCli  func(int)

	handler http.Handler
	csrf    *http.CrossOriginProtection
	srv     *http.Server

	hub     hub
	dropped atomic.Uint64
	stop    sync.Once
}

// New returns a console serving src.
func New(src Source, opts Options) *Server {
	s := &Server{
		src:    src,
		log:    opts.Log,
		ping:   opts.Ping,
		buffer: opts.ClientBuffer,
		onCli:  opts.OnClients,
		csrf:   http.NewCrossOriginProtection(),
	}
	s.lab, _ = src.(Lab)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.ping <= 0 {
		s.ping = defaultPing
	}
	if s.buffer <= 0 {
		s.buffer = defaultBuffer
	}
	s.hub.streams = make(map[*stream]struct{})
	s.handler = s.router()
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		// No ReadTimeout or WriteTimeout: they would cut event streams.
		// Writes are bounded one by one instead (see writeTimeout).
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the console's HTTP handler, for tests or to mount it in
// another server.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers HTTP requests on ln until Shutdown, then returns nil.
func (s *Server) Serve(ln net.Listener) error {
	err := s.srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// Shutdown ends every event stream, then stops the HTTP server, waiting for
// requests in flight up to ctx. If ctx ends first, remaining connections
// are closed and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop.Do(s.hub.close)
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
		return fmt.Errorf("console: shutdown: %w", err)
	}
	return nil
}

type route struct {
	methods []string
	handle  http.HandlerFunc
}

func (s *Server) router() http.Handler {
	routes := map[string]route{
		"/api/status":  {[]string{http.MethodGet, http.MethodHead}, s.status},
		"/api/events":  {[]string{http.MethodGet}, s.events},
		"/api/hint":    {[]string{http.MethodPost}, s.hint},
		"/api/reset":   {[]string{http.MethodPost}, s.reset},
		"/api/lesson":  {[]string{http.MethodGet, http.MethodHead}, s.lesson},
		"/api/journal": {[]string{http.MethodGet, http.MethodHead}, s.journal},
		"/api/explain": {[]string{http.MethodGet, http.MethodHead}, s.explain},
	}
	for _, name := range webFiles {
		routes[name] = route{[]string{http.MethodGet, http.MethodHead}, s.page}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// Bound the whole answer; the event stream sets its own deadline
		// before each write.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))

		rt, ok := routes[r.URL.Path]
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf(
				"no such page %q: the console answers /, /api/status, /api/events, /api/hint, /api/reset, /api/lesson, /api/journal and /api/explain", r.URL.Path))
			return
		}
		if !allowed(rt.methods, r.Method) {
			h.Set("Allow", strings.Join(rt.methods, ", "))
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf(
				"method %s is not allowed on %s: use %s", r.Method, r.URL.Path, strings.Join(rt.methods, " or ")))
			return
		}
		if r.Method == http.MethodPost {
			if err := s.csrf.Check(r); err != nil {
				writeError(w, http.StatusForbidden,
					"cross-site request refused: use the lab's own page, the lab command or curl")
				return
			}
			if ct := r.Header.Get("Content-Type"); ct != "" {
				if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
					writeError(w, http.StatusUnsupportedMediaType,
						"content type "+ct+" refused: send no body, or application/json")
					return
				}
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		rt.handle(w, r)
	})
}

func allowed(methods []string, m string) bool {
	for _, x := range methods {
		if x == m {
			return true
		}
	}
	return false
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	lang, ok := s.langParam(w, r)
	if !ok {
		return
	}
	if s.lab != nil && lang != "" {
		writeJSON(w, http.StatusOK, s.lab.StatusIn(lang))
		return
	}
	writeJSON(w, http.StatusOK, s.src.Status())
}

func (s *Server) hint(w http.ResponseWriter, r *http.Request) {
	// The body, if any, carries nothing; drain a little so the connection
	// can be reused.
	_, _ = io.Copy(io.Discard, r.Body)
	task := r.URL.Query().Get("task")
	if task == "" {
		writeError(w, http.StatusBadRequest, "missing task: use /api/hint?task=ID (lab status lists the ids)")
		return
	}
	lang, ok := s.langParam(w, r)
	if !ok {
		return
	}
	var h api.Hint
	var err error
	if s.lab != nil && lang != "" {
		h, err = s.lab.HintIn(task, lang)
	} else {
		h, err = s.src.Hint(task)
	}
	switch {
	case errors.Is(err, ErrUnknownTask):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		s.log.Warn("console: hint failed", "task", task, "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, h)
	}
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	st, err := s.src.Reset()
	if err != nil {
		s.log.Warn("console: reset failed", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	// Every open page learns of the reset at once.
	s.PublishStatus(st)
	writeJSON(w, http.StatusOK, st)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(api.Error{Error: "cannot encode the answer: " + err.Error()})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, api.Error{Error: msg})
}
