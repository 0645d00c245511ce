package main

// Browser tests of the web console: the real `lab` binary, the real
// clients (dig, lab dhcp-client), and headless Chromium driven with
// chromedp. Each test waits for what the learner would see (a tick, a
// transcript row, the DHCP ladder) to appear without a reload, and writes
// screenshots under $LAB_ARTIFACTS (default: protolab-artifacts in the
// temporary directory). Without Chromium the tests are skipped, unless
// LAB_REQUIRE_CLIENTS=1.

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// browser starts headless Chromium with a fresh profile, closed when the
// test ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	bin := "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		bin = needTool(t, "chromium")
	}
	profile := t.TempDir() // removed after the browser is gone
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", bin, err)
	}
	return ctx
}

// artifacts is the directory screenshots are written to.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LAB_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "protolab-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves the whole page as a PNG test artefact.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shoot(t, ctx, name, chromedp.FullScreenshot(100))
}

// viewShot saves what the screen shows (the viewport) as a PNG.
func viewShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shoot(t, ctx, name, chromedp.CaptureScreenshot())
}

func shoot(t *testing.T, ctx context.Context, name string, capture chromedp.Action[[]byte]) {
	t.Helper()
	png, err := chromedp.Run(ctx, capture)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	file := filepath.Join(artifacts(t), name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}

// do runs browser actions, failing the test with what was being done.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitPage waits (by polling in the page, no sleeps) for a JavaScript
// predicate to hold.
func waitPage(t *testing.T, ctx context.Context, what, predicate string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, predicate, err)
	}
}

// openConsole opens the lab's web console and waits for the task list.
func openConsole(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	do(t, ctx, "opening "+url, chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`#task-list .task`)))
	waitPage(t, ctx, "the live stream", `document.getElementById("conn").textContent !== "" && !document.getElementById("conn").classList.contains("down")`)
	// Set a mark that a reload would wipe.
	eval[bool](t, ctx, `window.__noReload = true`)
}

func noReload(t *testing.T, ctx context.Context) {
	t.Helper()
	if !eval[bool](t, ctx, `window.__noReload === true`) {
		t.Error("the page was reloaded")
	}
}

// The DNS lab: dig's question ticks resolve-a and adds a row to the DNS
// table, live; the question of the lesson linked to resolve-a becomes
// "answered by doing"; a reload shows the past from the journal.
func TestConsoleDNS(t *testing.T) {
	dig := needTool(t, "dig")
	ctx := browser(t)
	p := startLab(t, t.TempDir())
	openConsole(t, ctx, p.api.Base)
	do(t, ctx, "opening the exchanges", chromedp.Click(chromedp.CSS(`#tab-exchanges`)),
		chromedp.WaitVisible(chromedp.CSS(`#panel-exchanges`)))
	if got := eval[string](t, ctx, `document.querySelector("#task-resolve-a .tick").textContent`); got != "○" {
		t.Fatalf("resolve-a shows %q before dig", got)
	}

	out := runTool(t, dig, "@"+p.host(), "-p", p.port(), "www.lab.test", "A")
	if !strings.Contains(out, "192.0.2.80") {
		t.Fatalf("dig: %s", out)
	}
	do(t, ctx, "the tick on resolve-a", chromedp.WaitVisible(chromedp.CSS(`#task-resolve-a.done`)))
	do(t, ctx, "the DNS row", chromedp.WaitVisible(chromedp.CSS(`#svc-dns tr[data-qname="www.lab.test."][data-qtype="A"]`)))
	row := eval[string](t, ctx, `document.querySelector('#svc-dns tr[data-qname="www.lab.test."]').innerText`)
	for _, want := range []string{"www.lab.test. IN A", "NOERROR", "192.0.2.80"} {
		if !strings.Contains(row, want) {
			t.Errorf("DNS row lacks %q:\n%s", want, row)
		}
	}
	if !regexp.MustCompile(`www\.lab\.test\.\s+3600\s+IN\s+A\s+192\.0\.2\.80`).MatchString(row) {
		t.Errorf("the answer is not in dig's style:\n%s", row)
	}
	tick := eval[string](t, ctx, `document.querySelector("#task-resolve-a .tick").textContent + "|" + document.getElementById("announce").textContent`)
	if !strings.HasPrefix(tick, "✓|Task done: ") {
		t.Errorf("tick and announcement: %q", tick)
	}
	waitPage(t, ctx, "the lesson's question answered by doing",
		`!!document.querySelector('.question.answered .doing.done[data-task="resolve-a"]')`)
	doing := eval[string](t, ctx, `document.querySelector('.doing.done[data-task="resolve-a"]').textContent`)
	if !strings.Contains(doing, "Answered by doing: you asked the lab DNS for www.lab.test (A)") {
		t.Errorf("answered by doing: %q", doing)
	}
	noReload(t, ctx)
	screenshot(t, ctx, "console-dns-exchanges")
	do(t, ctx, "opening the lesson", chromedp.Click(chromedp.CSS(`#tab-lesson`)),
		chromedp.ScrollIntoView(chromedp.CSS(`.question.answered`)))
	viewShot(t, ctx, "console-dns-lesson")

	// A reload shows the past, from the journal.
	do(t, ctx, "reloading", chromedp.Reload(), chromedp.WaitReady(chromedp.CSS(`#svc-dns tr[data-qname="www.lab.test."]`)),
		chromedp.WaitVisible(chromedp.CSS(`#task-resolve-a.done`)))

	// The layer view of that exchange.
	do(t, ctx, "opening the layers", chromedp.Click(chromedp.CSS(`#tab-layers`)),
		chromedp.WaitVisible(chromedp.CSS(`#layers table.models`)))
	layers := eval[string](t, ctx, `document.getElementById("layers").innerText`)
	for _, want := range []string{"Latest exchange: DNS (RFC 1035)", "7 Application", "1 Physical", "UDP", "loopback"} {
		if !strings.Contains(layers, want) {
			t.Errorf("layer view lacks %q:\n%s", want, layers)
		}
	}
	screenshot(t, ctx, "console-dns-layers")
}

// The DHCP lab: lab dhcp-client's exchange is drawn as a ladder with its
// four arrows, client to server and back.
func TestConsoleDHCP(t *testing.T) {
	ctx := browser(t)
	state := t.TempDir()
	p := startLabID(t, "dhcp", state)
	openConsole(t, ctx, p.api.Base)
	do(t, ctx, "opening the exchanges", chromedp.Click(chromedp.CSS(`#tab-exchanges`)))

	out, stderr, code := labRun(t, "dhcp-client", "--state", state)
	if code != 0 {
		t.Fatalf("lab dhcp-client: exit %d\n%s%s", code, out, stderr)
	}
	do(t, ctx, "the ladder", chromedp.WaitVisible(chromedp.CSS(`#svc-dhcp ol.ladder li.msg:nth-child(4)`)),
		chromedp.WaitVisible(chromedp.CSS(`#task-dhcp-lease.done`)))
	got := eval[string](t, ctx, `Array.from(document.querySelectorAll("#svc-dhcp ol.ladder li.msg")).map(function (m) {
		return m.dataset.name + ":" + (m.classList.contains("to-server") ? ">" : "<") }).join(" ")`)
	if want := "DHCPDISCOVER:> DHCPOFFER:< DHCPREQUEST:> DHCPACK:<"; got != want {
		t.Errorf("ladder = %q, want %q", got, want)
	}
	fields := eval[string](t, ctx, `document.querySelector("#svc-dhcp ol.ladder").innerText`)
	for _, want := range []string{"192.0.2.100", "lease 120s", "xid 0x"} {
		if !strings.Contains(fields, want) {
			t.Errorf("ladder lacks %q:\n%s", want, fields)
		}
	}
	actors := eval[string](t, ctx, `document.querySelector("#svc-dhcp .lifelines").innerText`)
	if !strings.Contains(actors, "02:00:00:00:00:01") || !strings.Contains(actors, "192.0.2.1") {
		t.Errorf("lifelines: %q", actors)
	}
	noReload(t, ctx)
	screenshot(t, ctx, "console-dhcp-ladder")
	do(t, ctx, "phone viewport", chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.ScrollIntoView(chromedp.CSS(`#svc-dhcp`)))
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the ladder is %d px wide on a 360 px screen", w)
	}
	viewShot(t, ctx, "console-phone-dhcp")
}

// Keyboard only: Tab reaches the first hint button, Enter shows the hint;
// the arrow keys move between the tabs.
func TestConsoleKeyboard(t *testing.T) {
	ctx := browser(t)
	p := startLab(t, t.TempDir())
	openConsole(t, ctx, p.api.Base)
	const button = `document.activeElement && document.activeElement.matches('.hint-btn[data-task="resolve-a"]')`
	found := false
	for range 40 {
		do(t, ctx, "pressing Tab", chromedp.KeyEvent(kb.Tab))
		if eval[bool](t, ctx, button) {
			found = true
			break
		}
	}
	if !found {
		t.Fatalf("Tab never reached the hint button of resolve-a; focus on %s", eval[string](t, ctx, `document.activeElement.outerHTML.slice(0, 120)`))
	}
	if !eval[bool](t, ctx, `getComputedStyle(document.activeElement).outlineStyle !== "none"`) {
		t.Error("the focused button shows no focus outline")
	}
	do(t, ctx, "pressing Enter", chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#hints-resolve-a li[data-level="1"]`)))
	hint := eval[string](t, ctx, `document.querySelector('#hints-resolve-a li').textContent`)
	if !strings.HasPrefix(hint, "Hint 1/") || len(hint) < 12 {
		t.Errorf("hint: %q", hint)
	}
	do(t, ctx, "pressing Space for the next hint", chromedp.KeyEvent(" "),
		chromedp.WaitVisible(chromedp.CSS(`#hints-resolve-a li[data-level="2"]`)))
	for _, tk := range p.status().Tasks {
		if tk.ID == "resolve-a" && tk.HintsShown != 2 {
			t.Errorf("hints shown = %d, want 2", tk.HintsShown)
		}
	}
	viewShot(t, ctx, "console-keyboard-hint")

	// The tabs: focus the selected one, then ArrowRight selects the next.
	do(t, ctx, "focusing the lesson tab", chromedp.Focus(chromedp.CSS(`#tab-lesson`)), chromedp.KeyEvent(kb.ArrowRight),
		chromedp.WaitVisible(chromedp.CSS(`#panel-exchanges`)))
	if !eval[bool](t, ctx, `document.activeElement.id === "tab-exchanges" && document.getElementById("panel-lesson").hidden`) {
		t.Error("ArrowRight did not move to the exchanges tab")
	}
	do(t, ctx, "End", chromedp.KeyEvent(kb.End), chromedp.WaitVisible(chromedp.CSS(`#panel-layers`)))

	// A question answered in writing with the keyboard: Space picks an
	// option, Tab and Enter check it.
	do(t, ctx, "back to the lesson", chromedp.KeyEvent(kb.Home), chromedp.WaitVisible(chromedp.CSS(`#question-1`)),
		chromedp.Focus(chromedp.CSS(`#q1-1`)), chromedp.KeyEvent(" "))
	for range 10 {
		if eval[bool](t, ctx, `document.activeElement.matches("#question-1 button.check")`) {
			break
		}
		do(t, ctx, "pressing Tab", chromedp.KeyEvent(kb.Tab))
	}
	do(t, ctx, "checking the answer", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#question-1 .verdict.good`)))
	if v := eval[string](t, ctx, `document.querySelector("#question-1 .verdict").textContent`); !strings.Contains(v, "Right.") || !strings.Contains(v, "ticks nothing") {
		t.Errorf("verdict: %q", v)
	}
}

// A phone-sized screen: nothing wider than 360 px, the tasks first, and
// the DNS table stacked.
func TestConsolePhone(t *testing.T) {
	dig := needTool(t, "dig")
	ctx := browser(t)
	p := startLab(t, t.TempDir())
	for _, args := range [][]string{{"www.lab.test", "A"}, {"lab.test", "MX"}, {"nosuchhost.lab.test", "A"}} {
		runTool(t, dig, append([]string{"@" + p.host(), "-p", p.port()}, args...)...)
	}
	p.waitDone("mx")
	do(t, ctx, "phone viewport", chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	openConsole(t, ctx, p.api.Base)
	do(t, ctx, "the lesson", chromedp.WaitVisible(chromedp.CSS(`#lesson h2`)))
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the page is %d px wide on a 360 px screen", w)
	}
	viewShot(t, ctx, "console-phone-top")
	do(t, ctx, "scrolling to the lesson", chromedp.ScrollIntoView(chromedp.CSS(`#tabs`)))
	viewShot(t, ctx, "console-phone-lesson")
	do(t, ctx, "the exchanges", chromedp.Click(chromedp.CSS(`#tab-exchanges`)),
		chromedp.WaitVisible(chromedp.CSS(`#svc-dns tr[data-qname="nosuchhost.lab.test."]`)))
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the exchanges are %d px wide on a 360 px screen", w)
	}
	if d := eval[string](t, ctx, `getComputedStyle(document.querySelector("#svc-dns td")).display`); d != "block" {
		t.Errorf("DNS cells are %q on a phone, want stacked (block)", d)
	}
	do(t, ctx, "scrolling to the exchanges", chromedp.ScrollIntoView(chromedp.CSS(`#svc-dns`)))
	viewShot(t, ctx, "console-phone-exchanges")
}

// French: a lab started in French shows the page in French; the switch
// turns it to English and back, lesson included.
func TestConsoleFrench(t *testing.T) {
	ctx := browser(t)
	web := startLabLang(t, "dns", "fr")
	openConsole(t, ctx, web)
	waitPage(t, ctx, "the lesson in French", `document.querySelector("#lesson[lang=fr] h2") !== null`)
	got := eval[string](t, ctx, `[document.documentElement.lang, document.getElementById("tab-lesson").textContent,
		document.getElementById("tasks-h").textContent, document.querySelector("#lesson h2").textContent,
		document.querySelector('#langs [data-lang="fr"]').getAttribute("aria-pressed"), document.getElementById("conn").textContent].join("|")`)
	if !strings.HasPrefix(got, "fr|Leçon|Tâches|DNS") || !strings.Contains(got, "des noms pour les humains") || !strings.HasSuffix(got, "|true|En direct") {
		t.Errorf("French page: %q", got)
	}
	if s := eval[string](t, ctx, `document.getElementById("summary").textContent`); !strings.HasPrefix(s, "Tâches faites : 0 sur ") {
		t.Errorf("summary: %q", s)
	}
	viewShot(t, ctx, "console-french")

	do(t, ctx, "switching to English", chromedp.Click(chromedp.CSS(`#langs [data-lang="en"]`)))
	waitPage(t, ctx, "the lesson in English", `document.querySelector("#lesson[lang=en] h2") !== null &&
		document.getElementById("tab-lesson").textContent === "Lesson" && location.search === "?lang=en"`)
	if title := eval[string](t, ctx, `document.querySelector("#task-resolve-a .task-title").textContent`); !strings.Contains(title, "IPv4") || strings.Contains(title, "adresse") {
		t.Errorf("task title after the switch: %q", title)
	}
	noReload(t, ctx)
}

// The mail lab: swaks's SMTP dialogue and curl's POP3 dialogue appear as
// client and server lines, the password masked.
func TestConsoleMail(t *testing.T) {
	swaks, curl := needTool(t, "swaks"), needTool(t, "curl")
	ctx := browser(t)
	p := startLabID(t, "mail", t.TempDir())
	openConsole(t, ctx, p.api.Base)
	do(t, ctx, "opening the exchanges", chromedp.Click(chromedp.CSS(`#tab-exchanges`)))
	host, port := p.addr("smtp")
	runTool(t, swaks, "--server", net.JoinHostPort(host, port), "--from", "alice@lab.test", "--to", "bob@lab.test", "--header", "Subject: console")
	do(t, ctx, "the SMTP dialogue", chromedp.WaitVisible(chromedp.CSS(`#task-smtp-send.done`)))
	waitPage(t, ctx, "the SMTP dialogue", `/RCPT TO:<bob@lab.test>/.test((document.querySelector("#svc-smtp ol.chat") || {}).textContent || "")`)
	smtp := eval[string](t, ctx, `Array.from(document.querySelectorAll("#svc-smtp ol.chat li")).map(function (li) { return li.className + " " + li.textContent }).join("\n")`)
	for _, want := range []string{"s S:220 ", "c C:MAIL FROM:<alice@lab.test>", "c C:DATA", "s S:250 2.0.0 Ok: queued"} {
		if !strings.Contains(smtp, want) {
			t.Errorf("SMTP dialogue lacks %q:\n%s", want, smtp)
		}
	}
	host, port = p.addr("pop3")
	// The message sent is the last of bob's maildrop: LIST gives its number.
	list := strings.Fields(runTool(t, curl, "-s", "--url", "pop3://"+net.JoinHostPort(host, port)+"/", "-u", "bob:builder"))
	if len(list) < 2 {
		t.Fatalf("curl pop3 LIST: %q", list)
	}
	last := list[len(list)-2]
	runTool(t, curl, "-s", "--url", "pop3://"+net.JoinHostPort(host, port)+"/"+last, "-u", "bob:builder")
	do(t, ctx, "the POP3 tick", chromedp.WaitVisible(chromedp.CSS(`#task-pop3-retr.done`)))
	waitPage(t, ctx, "the POP3 dialogue", `/C:RETR `+last+`/.test((document.querySelector("#svc-pop3 ol.chat") || {}).textContent || "")`)
	pop := eval[string](t, ctx, `document.getElementById("svc-pop3").textContent`)
	if !strings.Contains(pop, "********") || strings.Contains(pop, "builder") {
		t.Errorf("the POP3 password is not masked:\n%s", pop)
	}
	noReload(t, ctx)
	viewShot(t, ctx, "console-mail-dialogues")
}

// The SNMP lab: snmpget's varbinds appear as a table, the community
// masked.
func TestConsoleSNMP(t *testing.T) {
	snmpget := needTool(t, "snmpget")
	ctx := browser(t)
	p := startLabID(t, "snmp", t.TempDir())
	openConsole(t, ctx, p.api.Base)
	do(t, ctx, "opening the exchanges", chromedp.Click(chromedp.CSS(`#tab-exchanges`)))
	a, ok := p.eps.Find("snmp", "udp")
	if !ok {
		t.Fatalf("no SNMP endpoint in %+v", p.eps)
	}
	runTool(t, snmpget, "-v2c", "-c", "public", "-On", a, "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.6.0")
	do(t, ctx, "the varbinds", chromedp.WaitVisible(chromedp.CSS(`#svc-snmp table.varbinds tr[data-kind="snmp.request"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#task-snmp-get.done`)))
	rows := eval[string](t, ctx, `document.querySelector("#svc-snmp table.varbinds tbody").innerText`)
	for _, want := range []string{".1.3.6.1.2.1.1.5.0", "STRING", `"rtr1.lab.test"`, ".1.3.6.1.2.1.1.6.0", "GET · noError"} {
		if !strings.Contains(rows, want) {
			t.Errorf("varbinds lack %q:\n%s", want, rows)
		}
	}
	card := eval[string](t, ctx, `document.getElementById("svc-snmp").textContent`)
	if !strings.Contains(card, "community p*****") || strings.Contains(card, "public") {
		t.Errorf("the community is not masked:\n%s", card)
	}
	noReload(t, ctx)
	viewShot(t, ctx, "console-snmp-varbinds")
}

// The tcpip lab: the layer view follows the learner's latest exchange
// live, here nc's TCP echo from handshake to close, in French.
func TestConsoleLayers(t *testing.T) {
	nc := needTool(t, "nc")
	ctx := browser(t)
	p := startLabID(t, "tcpip", t.TempDir())
	openConsole(t, ctx, p.api.Base+"/?lang=fr")
	do(t, ctx, "opening the layers", chromedp.Click(chromedp.CSS(`#tab-layers`)),
		chromedp.WaitVisible(chromedp.CSS(`#layers p.meta`)))
	host, port := p.addr("echo")
	if out := runInput(t, "hello lab\n", nc, "-N", host, port); out != "hello lab\n" {
		t.Fatalf("nc over TCP printed %q", out)
	}
	waitPage(t, ctx, "the TCP exchange, closed", `/fermée par le client/.test(document.getElementById("layers").textContent)`)
	layers := eval[string](t, ctx, `document.getElementById("layers").innerText`)
	for _, want := range []string{"Dernier échange : Echo (RFC 862)", "Modèle OSI (7 couches)", "6 Présentation", "TCP ", "poignée de main : SYN, SYN-ACK, ACK",
		`C: "hello lab\n"`, "boucle locale", "Caché :"} {
		if !strings.Contains(layers, want) {
			t.Errorf("layer view lacks %q:\n%s", want, layers)
		}
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#layers table.models tbody tr").length`); n != 7 {
		t.Errorf("%d OSI rows, want 7", n)
	}
	noReload(t, ctx)
	viewShot(t, ctx, "console-tcpip-layers")
	do(t, ctx, "phone viewport", chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.ScrollIntoView(chromedp.CSS(`#layers h3`)))
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the layer view is %d px wide on a 360 px screen", w)
	}
	viewShot(t, ctx, "console-phone-layers")
}

var consoleURL = regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/`)

// startLabLang runs `lab start ID --lang LANG` and returns the console's
// URL once its header is printed.
func startLabLang(t *testing.T, id, lang string) string {
	t.Helper()
	cmd := exec.Command(labBin, "start", id, "--ports", "auto", "--web", "127.0.0.1:0", "--state", t.TempDir(), "--lang", lang)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			// "Web console:" in English, "Console web :" in French.
			if m := consoleURL.FindStringSubmatch(sc.Text()); m != nil && strings.Contains(strings.ToLower(sc.Text()), "console") {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case u := <-urls:
		if _, _, err := net.SplitHostPort(strings.TrimPrefix(u, "http://")); err != nil {
			t.Fatalf("console URL %q: %v", u, err)
		}
		return u
	case <-exited:
		t.Fatal("lab start exited before printing its console's address")
	case <-time.After(20 * time.Second):
		t.Fatal("lab start printed no console address in time")
	}
	return ""
}
