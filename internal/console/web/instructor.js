// Protolab instructor's dashboard: the class's grid, live, from /api/class
// and /api/class/events, in French or English (?lang=, else the lab's
// language the server put in <html lang>). The token travels in the cookie
// the server set when the page was opened with ?token=; nothing is fetched
// elsewhere; text is always set with textContent.
"use strict";

(function () {
  const NB = "\u00a0"; // French puts a non-breaking space before : ; ? !
  const WORDS = {
    en: {
      title: "Protolab — instructor", app: "Protolab · instructor", class: "Class",
      exportCSV: "Export CSV", exportJSON: "Export JSON",
      exportCSVTitle: "Download the grid as a CSV file", exportJSONTitle: "Download the grid as a JSON file",
      grid: "Learners × tasks", timeline: "Timeline", reset: "Reset this learner", close: "Close",
      live: "Latest events", loading: "Loading…",
      noLive: "No event yet: events show here as the learners use the lab's servers.",
      noLearners: "No learner on the roster: add them to the roster file and start lab serve again.",
      noTimeline: "No event from this learner yet.",
      learner: "Learner", done: "Done", points: "Points", lastSeen: "Last seen", unknownRow: "unknown", unknownLearner: "unknown",
      connLive: "live", connDown: "reconnecting…",
      cellDone: "done", cellTodo: "to do", cellLate: "done late",
      hints: (n) => n + (n === 1 ? " hint shown" : " hints shown"),
      timelineOf: (id) => "Timeline of " + id,
      account: (u, p) => "Their account: " + u + " / " + p,
      values: (v) => "Their values: " + v,
      summary: (n, d, e) => n + (n === 1 ? " learner, " : " learners, ") + d + " finished every task; " +
        e + (e === 1 ? " event" : " events"),
      unknown: (n) => n + (n === 1 ? " event" : " events") + " from addresses not on the roster",
      announce: (id, d, t) => id + ": " + d + " of " + t + " tasks done",
      confirmReset: (id) => "Reset the progress of " + id + "? Their ticks, points and hints are cleared.",
      errGone: (id) => id + " is not on the roster any more: reload the page.",
      errToken: "The instructor's token is missing or wrong: open the address lab serve printed at start (…/instructor?token=…).",
      errOther: (s) => "The lab server answered " + s + ": try again, or look at lab serve's output.",
      errNet: "The lab server cannot be reached: check that lab serve is still running, then try again.",
    },
    fr: {
      title: "Protolab — enseignant", app: "Protolab · enseignant", class: "Classe",
      exportCSV: "Exporter en CSV", exportJSON: "Exporter en JSON",
      exportCSVTitle: "Télécharger la grille au format CSV", exportJSONTitle: "Télécharger la grille au format JSON",
      grid: "Apprenants × tâches", timeline: "Chronologie", reset: "Réinitialiser cet apprenant", close: "Fermer",
      live: "Derniers événements", loading: "Chargement…",
      noLive: "Aucun événement pour l'instant" + NB + ": ils s'affichent ici dès que les apprenants utilisent les serveurs du lab.",
      noLearners: "Aucun apprenant dans la liste de la classe" + NB + ": ajoutez-les au fichier de la liste, puis relancez lab serve.",
      noTimeline: "Aucun événement de cet apprenant pour l'instant.",
      learner: "Apprenant", done: "Terminées", points: "Points", lastSeen: "Dernière activité", unknownRow: "inconnus", unknownLearner: "inconnu",
      connLive: "en direct", connDown: "reconnexion…",
      cellDone: "terminée", cellTodo: "à faire", cellLate: "terminée en retard",
      hints: (n) => n + (n > 1 ? " indices affichés" : " indice affiché"),
      timelineOf: (id) => "Chronologie de " + id,
      account: (u, p) => "Son compte" + NB + ": " + u + " / " + p,
      values: (v) => "Ses valeurs" + NB + ": " + v,
      summary: (n, d, e) => n + (n > 1 ? " apprenants, " : " apprenant, ") +
        (d === 0 ? "aucun n'a terminé" : d + (d > 1 ? " ont terminé" : " a terminé")) + " toutes les tâches" + NB + "; " +
        e + (e > 1 ? " événements" : " événement"),
      unknown: (n) => n + (n > 1 ? " événements venus d'adresses absentes" : " événement venu d'une adresse absente") +
        " de la liste de la classe",
      announce: (id, d, t) => id + NB + ": " + d + (d > 1 ? " tâches terminées" : " tâche terminée") + " sur " + t,
      confirmReset: (id) => "Réinitialiser la progression de " + id + NB + "? Ses tâches validées, ses points et ses indices seront effacés.",
      errGone: (id) => id + " ne figure plus dans la liste de la classe" + NB + ": rechargez la page.",
      errToken: "Le jeton de l'enseignant manque ou n'est pas le bon" + NB + ": ouvrez l'adresse que lab serve a affichée au démarrage (…/instructor?token=…).",
      errOther: (s) => "Le serveur du lab a répondu " + s + NB + ": réessayez, ou consultez la sortie de lab serve.",
      errNet: "Impossible de joindre le serveur du lab" + NB + ": vérifiez que lab serve tourne toujours, puis réessayez.",
    },
  };

  const $ = (id) => document.getElementById(id);
  let lang = WORDS[document.documentElement.lang] ? document.documentElement.lang : "en";
  let cls = null;
  let shown = "";   // the learner whose timeline is open
  let conn = null;  // true live, false reconnecting, null not yet
  let timelineEvents = null; // the open timeline's events, newest first; null while loading
  let problem = null; // a function giving the error shown in the timeline, in the page's language

  function w(k) { return WORDS[lang][k]; }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function time(s) {
    return s ? new Date(s).toLocaleTimeString(lang === "fr" ? "fr-FR" : "en-GB") : "";
  }

  // ---- Language ----

  function applyWords() {
    document.documentElement.lang = lang;
    document.title = w("title");
    document.querySelectorAll("[data-t]").forEach((n) => { n.textContent = w(n.dataset.t); });
    $("export-csv").title = w("exportCSVTitle");
    $("export-json").title = w("exportJSONTitle");
    document.querySelectorAll("#langs button").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
    });
    setConn(conn);
    if (cls) draw();
    if (shown) { $("timeline-h").textContent = w("timelineOf")(shown); drawInfo(); drawTimeline(); }
    showProblem(problem);
    drawLive();
  }

  function setLang(l) {
    if (!WORDS[l] || l === lang) return;
    lang = l;
    const u = new URL(location.href);
    u.searchParams.set("lang", l);
    history.replaceState(null, "", u);
    applyWords();
  }

  function setConn(up) {
    conn = up;
    $("conn").textContent = up === null ? "" : up ? w("connLive") : w("connDown");
  }

  // ---- The grid ----

  function drawHead() {
    const head = $("grid-head");
    head.replaceChildren(el("th", { scope: "col" }, w("learner")));
    for (const t of cls.tasks) {
      head.append(el("th", { scope: "col", class: "task", title: t.title }, t.id));
    }
    head.append(el("th", { scope: "col" }, w("done")), el("th", { scope: "col" }, w("points")), el("th", { scope: "col" }, w("lastSeen")));
  }

  function row(l) {
    const tr = el("tr", { "data-learner": l.id });
    const th = el("th", { scope: "row" });
    const b = el("button", { type: "button", title: w("timelineOf")(l.id) }, l.name ? l.id + " — " + l.name : l.id);
    b.addEventListener("click", () => openTimeline(l.id));
    th.append(b);
    tr.append(th);
    l.cells.forEach((c) => {
      const state = c.done ? (c.late ? w("cellLate") : w("cellDone")) : w("cellTodo");
      const td = el("td", { class: c.done ? (c.late ? "late" : "done") : "" }, c.done ? "✓" : "·");
      td.title = c.task + " — " + state + (c.done ? " " + time(c.done_at) : "") + (c.hints_shown ? " — " + w("hints")(c.hints_shown) : "");
      td.setAttribute("aria-label", c.task + (lang === "fr" ? NB : "") + ": " + state);
      tr.append(td);
    });
    tr.append(el("td", { class: "sum" }, l.done + "/" + l.total), el("td", { class: "sum" }, l.points + "/" + l.max_points),
      el("td", { class: "sum" }, time(l.last_seen)));
    return tr;
  }

  function draw() {
    $("title").textContent = (cls.class ? cls.class + " — " : "") + cls.title + " (" + cls.lab + ")";
    drawHead();
    const body = $("grid-body");
    body.replaceChildren(...cls.learners.map(row));
    if (cls.learners.length === 0) {
      const empty = el("tr", { class: "empty" });
      empty.append(el("td", { colspan: String(cls.tasks.length + 4) }, w("noLearners")));
      body.append(empty);
    }
    const unknown = el("tr", { class: "unknown" });
    unknown.append(el("th", { scope: "row" }, w("unknownRow")), el("td", { colspan: String(cls.tasks.length + 3), id: "unknown" }));
    body.append(unknown);
    summary();
  }

  function summary() {
    const done = cls.learners.filter((l) => l.done === l.total).length;
    $("summary").textContent = w("summary")(cls.learners.length, done, cls.events);
    $("unknown").textContent = w("unknown")(cls.unknown);
  }

  function updateLearner(l) {
    if (!cls) return;
    const i = cls.learners.findIndex((x) => x.id === l.id);
    if (i < 0) return;
    cls.learners[i] = l;
    const old = document.querySelector('tr[data-learner="' + CSS.escape(l.id) + '"]');
    if (old) old.replaceWith(row(l));
    summary();
    $("announce").textContent = w("announce")(l.id, l.done, l.total);
  }

  // ---- Events ----

  const liveEvents = []; // newest first, at most 50

  function eventLine(e) {
    const attrs = Object.keys(e.attrs || {}).sort().map((k) => k + "=" + e.attrs[k]).join(" ");
    return el("li", {}, time(e.time) + " " + (e.learner || w("unknownLearner")) + " " + e.kind + " " + attrs + (e.client ? " (" + e.client + ")" : ""));
  }

  function drawLive() {
    $("live").replaceChildren(...liveEvents.map(eventLine));
    $("no-live").hidden = liveEvents.length > 0;
  }

  function addLive(e) {
    liveEvents.unshift(e);
    if (liveEvents.length > 50) liveEvents.pop();
    const live = $("live");
    live.prepend(eventLine(e));
    while (live.children.length > 50) live.lastChild.remove();
    $("no-live").hidden = true;
    if (shown && e.learner === shown && timelineEvents) {
      timelineEvents.unshift(e);
      drawTimeline();
    }
  }

  // ---- A learner's timeline ----

  function errorText(status, id) {
    if (status === 404) return w("errGone")(id);
    if (status === 401) return w("errToken");
    return w("errOther")(status);
  }

  function showProblem(f) {
    problem = f;
    $("error").textContent = f ? f() : "";
  }

  function drawTimeline() {
    const list = $("timeline-list");
    if (problem && !timelineEvents) { list.replaceChildren(); return; }
    if (!timelineEvents) { list.replaceChildren(el("li", {}, w("loading"))); return; }
    list.replaceChildren(...(timelineEvents.length ? timelineEvents.map(eventLine) : [el("li", { class: "empty" }, w("noTimeline"))]));
  }

  // drawInfo says what is the open timeline's learner's own: their
  // account and their values of the lab's variables (their flag, their
  // word), so that the instructor can check an answer.
  function drawInfo() {
    const l = shown && cls ? cls.learners.find((x) => x.id === shown) : null;
    const parts = [];
    if (l && l.user) parts.push(w("account")(l.user, l.password || ""));
    if (l && l.values) {
      const v = Object.keys(l.values).sort().map((k) => k + "=" + l.values[k]).join(" · ");
      if (v) parts.push(w("values")(v));
    }
    $("timeline-info").textContent = parts.join(" — ");
    $("timeline-info").hidden = parts.length === 0;
  }

  async function openTimeline(id) {
    shown = id;
    timelineEvents = null;
    showProblem(null);
    $("timeline-h").textContent = w("timelineOf")(id);
    drawInfo();
    $("timeline").hidden = false;
    drawTimeline();
    let r, data;
    try {
      r = await fetch("/api/class/learner?id=" + encodeURIComponent(id) + "&limit=200");
      data = r.ok ? await r.json() : null;
    } catch (err) {
      if (shown === id) { showProblem(() => w("errNet")); drawTimeline(); }
      return;
    }
    if (shown !== id) return;
    if (r.ok) {
      timelineEvents = data.events.reverse();
    } else {
      const status = r.status;
      showProblem(() => errorText(status, id));
    }
    drawTimeline();
  }

  $("close").addEventListener("click", () => { shown = ""; timelineEvents = null; showProblem(null); $("timeline").hidden = true; });
  $("reset").addEventListener("click", async () => {
    const id = shown;
    if (!id || !confirm(w("confirmReset")(id))) return;
    showProblem(null);
    let r;
    try {
      r = await fetch("/api/class/reset?id=" + encodeURIComponent(id), { method: "POST" });
    } catch (err) {
      showProblem(() => w("errNet"));
      return;
    }
    if (!r.ok) { const status = r.status; showProblem(() => errorText(status, id)); return; }
    cls = await r.json();
    draw();
  });

  function connect() {
    const es = new EventSource("/api/class/events");
    es.addEventListener("open", () => setConn(true));
    es.addEventListener("error", () => setConn(false));
    es.addEventListener("class", (m) => { cls = JSON.parse(m.data); draw(); });
    es.addEventListener("learner", (m) => updateLearner(JSON.parse(m.data)));
    es.addEventListener("event", (m) => {
      const e = JSON.parse(m.data);
      if (cls) { cls.events++; if (!e.learner) cls.unknown++; summary(); }
      addLive(e);
    });
  }

  // ?lang= chosen in the address wins over the lab's language.
  const asked = new URL(location.href).searchParams.get("lang");
  if (WORDS[asked]) lang = asked;
  // Drop the token from the address bar (the cookie carries it now); keep
  // the language.
  if (location.search.includes("token=")) {
    const u = new URL(location.href);
    u.searchParams.delete("token");
    history.replaceState(null, "", u.pathname + u.search);
  }
  document.querySelectorAll("#langs button").forEach((b) => {
    b.addEventListener("click", () => setLang(b.dataset.lang));
  });
  applyWords();
  connect();
})();
