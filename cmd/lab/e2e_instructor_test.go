package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"protolab/internal/service"
)

// The instructor's dashboard in a browser: the grid of the roster, a
// learner's tick shown live without a reload, the timeline on a click, and
// the token dropped from the address bar; then the same page in French.
func TestInstructorDashboard(t *testing.T) {
	dig := needTool(t, "dig")
	ctx := browser(t)
	dir := t.TempDir()
	roster := filepath.Join(dir, "roster.yaml")
	if err := os.WriteFile(roster, []byte(serveRoster), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	p := startServe(t, state, roster)
	st := (&labProc{t: t, state: state}).status()
	a, ok := service.Endpoints(st.Endpoints).Find("dns", "udp")
	if !ok {
		t.Fatalf("no DNS endpoint: %+v", st)
	}
	host, port, _ := net.SplitHostPort(a)

	do(t, ctx, "opening the dashboard", chromedp.Navigate(p.web+"/instructor?token="+p.token),
		chromedp.WaitVisible(chromedp.CSS(`#grid-body tr[data-learner="b"]`)))
	waitPage(t, ctx, "the live stream", `document.getElementById("conn").textContent === "live"`)
	if got := eval[string](t, ctx, `location.search`); got != "" {
		t.Errorf("the token stays in the address bar: %q", got)
	}
	eval[bool](t, ctx, `window.__noReload = true`)

	runTool(t, dig, "-b", "127.0.0.1", "@"+host, "-p", port, "www.lab.test", "A")
	waitPage(t, ctx, "a's tick", `document.querySelector('tr[data-learner="a"] td.done') !== null`)
	if n := eval[int](t, ctx, `document.querySelectorAll('tr[data-learner="b"] td.done').length`); n != 0 {
		t.Errorf("b shows %d ticks", n)
	}
	runTool(t, dig, "-b", "127.0.0.2", "@"+host, "-p", port, "lab.test", "MX")
	waitPage(t, ctx, "the unknown event counted", `document.getElementById("unknown").textContent.startsWith("1 ")`)
	noReload(t, ctx)
	do(t, ctx, "opening a's timeline", chromedp.Click(chromedp.CSS(`tr[data-learner="a"] th button`)),
		chromedp.WaitVisible(chromedp.CSS(`#timeline-list li`)))
	waitPage(t, ctx, "a's timeline", `document.getElementById("timeline-list").textContent.includes("dns.query")`)
	// The learner's own account and flag, for the instructor to check an
	// answer against.
	info := eval[string](t, ctx, `document.getElementById("timeline-info").textContent`)
	if !strings.Contains(info, "Their account: a / ") || !strings.Contains(info, "Their values: secret="+labValue(t, "dns", "a", "secret")) {
		t.Errorf("a's timeline says %q", info)
	}
	screenshot(t, ctx, "instructor-dashboard")

	// In French: ?lang=fr (the cookie carries the token), then the switch
	// back to English.
	do(t, ctx, "opening the French dashboard", chromedp.Navigate(p.web+"/instructor?lang=fr"),
		chromedp.WaitVisible(chromedp.CSS(`#grid-body tr[data-learner="b"]`)))
	waitPage(t, ctx, "the live stream in French", `document.getElementById("conn").textContent === "en direct"`)
	for _, tt := range []struct{ what, expr, want string }{
		{"language", `document.documentElement.lang`, "fr"},
		{"address", `location.search`, "?lang=fr"},
		{"grid heading", `document.getElementById("grid-h").textContent`, "Apprenants × tâches"},
		{"reset button", `document.getElementById("reset").textContent`, "Réinitialiser cet apprenant"},
		{"first column", `document.querySelector("#grid-head th").textContent`, "Apprenant"},
		{"export link", `document.getElementById("export-csv").textContent`, "Exporter en CSV"},
		{"unknown row", `document.querySelector("#grid-body tr.unknown th").textContent`, "inconnus"},
		{"summary", `/^3 apprenants, aucun n'a terminé toutes les tâches\u00a0; \d+ événements?$/.test(document.getElementById("summary").textContent) + ""`, "true"},
	} {
		if got := eval[string](t, ctx, tt.expr); got != tt.want {
			t.Errorf("French dashboard, %s: %q, want %q", tt.what, got, tt.want)
		}
	}
	screenshot(t, ctx, "instructor-dashboard-fr")
	do(t, ctx, "switching to English", chromedp.Click(chromedp.CSS(`#langs button[data-lang="en"]`)))
	waitPage(t, ctx, "the English grid heading", `document.getElementById("grid-h").textContent === "Learners × tasks"`)
	if got := eval[string](t, ctx, `location.search + " " + document.getElementById("reset").textContent`); got != "?lang=en Reset this learner" {
		t.Errorf("after the switch: %q", got)
	}
}
