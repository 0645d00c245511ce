package console

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
)

// pageHTML is the whole page: markup, style and script in one file, no
// external resources, no build step. All data comes from /api/events.
//
//go:embed page.html
var pageHTML []byte

// pageCSP allows exactly the page's own inline style and script (by hash)
// and connections back to the console, nothing else.
var pageCSP = "default-src 'none'; " +
	"script-src " + inlineHash("script") + "; " +
	"style-src " + inlineHash("style") + "; " +
	"connect-src 'self'; img-src data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// inlineHash returns the CSP source for the content of the page's only
// <tag> element.
func inlineHash(tag string) string {
	open, end := []byte("<"+tag+">"), []byte("</"+tag+">")
	i := bytes.Index(pageHTML, open)
	j := bytes.Index(pageHTML, end)
	if i < 0 || j < i {
		panic("console: page.html has no <" + tag + "> element")
	}
	sum := sha256.Sum256(pageHTML[i+len(open) : j])
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(pageHTML)
}
