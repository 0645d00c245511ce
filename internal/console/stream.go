package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"protolab/internal/api"
	"protolab/internal/event"
)

// hub is the set of open event streams. Publishing offers a frame to every
// stream without waiting; a stream whose queue is full is dropped.
type hub struct {
	mu      sync.Mutex
	streams map[*stream]struct{}
	closed  bool
}

// stream is one client of /api/events. Its handler goroutine drains q into
// the connection; the hub closes q to end the stream.
type stream struct {
	q  chan []byte
	rc *http.ResponseController

	mu  sync.Mutex
	cut bool
}

var errCut = errors.New("event stream dropped")

// add registers st; it reports false once the hub is closed.
func (h *hub) add(st *stream) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.streams[st] = struct{}{}
	return true
}

// remove unregisters st when its handler returns.
func (h *hub) remove(st *stream) {
	h.mu.Lock()
	if _, ok := h.streams[st]; ok {
		delete(h.streams, st)
		close(st.q)
	}
	h.mu.Unlock()
}

// close ends every stream (each handler writes what is queued, then
// returns) and refuses new ones.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	for st := range h.streams {
		delete(h.streams, st)
		close(st.q)
	}
	h.mu.Unlock()
}

func (h *hub) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.streams)
}

// publish offers frame to every stream and returns how many were dropped
// because their queue was full.
func (h *hub) publish(frame []byte) (dropped int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for st := range h.streams {
		select {
		case st.q <- frame:
		default:
			delete(h.streams, st)
			close(st.q)
			st.interrupt()
			dropped++
		}
	}
	return dropped
}

// interrupt makes the stream's pending and future writes fail at once, so
// a handler blocked on a peer that stopped reading returns and the
// connection is closed. It runs on the publisher's goroutine: over HTTP/1
// the controller only sets the connection's deadline, which net.Conn allows
// at any time, and the hub calls it only while the handler is running.
func (st *stream) interrupt() {
	st.mu.Lock()
	st.cut = true
	_ = st.rc.SetWriteDeadline(time.Unix(1, 0))
	st.mu.Unlock()
}

// write sends one frame and flushes it, within writeTimeout.
func (st *stream) write(w http.ResponseWriter, frame []byte) error {
	st.mu.Lock()
	if st.cut {
		st.mu.Unlock()
		return errCut
	}
	_ = st.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	st.mu.Unlock()
	if _, err := w.Write(frame); err != nil {
		return err
	}
	return st.rc.Flush()
}

var pingFrame = []byte(": ping\n\n")

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	st := &stream{q: make(chan []byte, s.buffer), rc: http.NewResponseController(w)}
	// Register before taking the status, so that nothing published after
	// the status is missed.
	if !s.hub.add(st) {
		writeError(w, http.StatusServiceUnavailable, "the lab is stopping")
		return
	}
	s.clientsChanged()
	defer s.clientsChanged()
	defer s.hub.remove(st)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	first, err := jsonFrame("status", s.src.Status())
	if err != nil {
		s.log.Warn("console: cannot encode status", "err", err)
		return
	}
	if err := st.write(w, first); err != nil {
		return
	}
	st.pump(w, r, s.ping)
}

// pump writes the stream's frames, and a ping when it is quiet, until the
// stream is dropped, the client goes or a write fails.
func (st *stream) pump(w http.ResponseWriter, r *http.Request, ping time.Duration) {
	tick := time.NewTicker(ping)
	defer tick.Stop()
	for {
		var f []byte
		select {
		case q, ok := <-st.q:
			if !ok {
				return
			}
			f = q
		case <-tick.C:
			f = pingFrame
		case <-r.Context().Done():
			return
		}
		if err := st.write(w, f); err != nil {
			return
		}
	}
}

// PublishEvent sends e, transcript rendered, to every event stream. It
// never blocks: a stream that has fallen behind is dropped (its client
// reconnects and starts again from the status) and counted in Dropped.
func (s *Server) PublishEvent(e event.Event) {
	if s.hub.len() == 0 {
		return
	}
	e.Render()
	s.publish("event", e)
}

// PublishChange sends a task change to every event stream, like
// PublishEvent.
func (s *Server) PublishChange(c api.Change) {
	if s.hub.len() == 0 {
		return
	}
	s.publish("task", c)
}

// PublishStatus sends a whole status to every event stream, like
// PublishEvent; pages redraw from it. The console does so itself after a
// reset.
func (s *Server) PublishStatus(st api.Status) {
	if s.hub.len() == 0 {
		return
	}
	s.publish("status", st)
}

func (s *Server) publish(kind string, v any) {
	f, err := jsonFrame(kind, v)
	if err != nil {
		s.log.Warn("console: cannot encode "+kind, "err", err)
		return
	}
	if n := s.hub.publish(f); n > 0 {
		s.dropped.Add(uint64(n))
		s.log.Info("console: dropped event streams that fell behind", "streams", n)
	}
}

// Dropped is how many event streams were dropped because they fell behind.
func (s *Server) Dropped() uint64 { return s.dropped.Load() }

func (s *Server) clientsChanged() {
	if s.onCli != nil {
		s.onCli(s.hub.len())
	}
}

// Clients is how many event streams are open.
func (s *Server) Clients() int { return s.hub.len() }

// jsonFrame encodes v as one Server-Sent Events message of the given type.
func jsonFrame(kind string, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return frame(kind, data), nil
}

// frame builds an SSE message; each line of data gets its own "data:"
// field (JSON from encoding/json has no line breaks, but the format would
// require it).
func frame(kind string, data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(kind) + len(data) + 16)
	b.WriteString("event: ")
	b.WriteString(kind)
	b.WriteByte('\n')
	for {
		b.WriteString("data: ")
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			b.Write(data)
			b.WriteByte('\n')
			break
		}
		b.Write(data[:i])
		b.WriteByte('\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	b.WriteByte('\n')
	return b.Bytes()
}
