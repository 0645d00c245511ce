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
// the token dropped from the address bar.
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
	if got := eval[string](t, ctx, `document.getElementById("timeline-list").textContent`); !strings.Contains(got, "dns.query") {
		t.Errorf("timeline: %q", got)
	}
	screenshot(t, ctx, "instructor-dashboard")
}
