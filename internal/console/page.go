package console

import (
	"embed"
	"net/http"
	"path"
)

// web holds the web console: markup, style and script as plain files, no
// build step, nothing loaded from elsewhere. All data comes from the API.
//
//go:embed web/index.html web/console.css web/console.js
//go:embed web/instructor.html web/instructor.css web/instructor.js
var web embed.FS

// webFiles are the paths the page is served at.
var webFiles = []string{"/", "/console.css", "/console.js"}

// contentTypes of the page's files, by extension.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
}

// pageCSP allows the page's own files and connections back to the
// console, nothing else: no inline script or style, no other origin.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"connect-src 'self'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Path
	if name == "/" {
		name = "/index.html"
	}
	b, err := web.ReadFile("web" + name)
	if err != nil {
		writeError(w, http.StatusNotFound, "no such page "+name)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentTypes[path.Ext(name)])
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}
