// Protolab instructor's dashboard: the class's grid, live, from /api/class
// and /api/class/events. The token travels in the cookie the server set
// when the page was opened with ?token=; nothing is fetched elsewhere.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  let cls = null;
  let shown = ""; // the learner whose timeline is open

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function time(s) {
    return s ? new Date(s).toLocaleTimeString() : "";
  }

  function drawHead() {
    const head = $("grid-head");
    head.replaceChildren(el("th", { scope: "col" }, "Learner"));
    for (const t of cls.tasks) {
      head.append(el("th", { scope: "col", class: "task", title: t.title }, t.id));
    }
    head.append(el("th", { scope: "col" }, "Done"), el("th", { scope: "col" }, "Points"), el("th", { scope: "col" }, "Last seen"));
  }

  function row(l) {
    const tr = el("tr", { "data-learner": l.id });
    const th = el("th", { scope: "row" });
    const b = el("button", { type: "button", title: "Timeline of " + l.id }, l.name ? l.id + " — " + l.name : l.id);
    b.addEventListener("click", () => openTimeline(l.id));
    th.append(b);
    tr.append(th);
    l.cells.forEach((c) => {
      const td = el("td", { class: c.done ? (c.late ? "late" : "done") : "" }, c.done ? "✓" : "·");
      td.title = c.task + (c.done ? " — " + time(c.done_at) : "") + (c.hints_shown ? " — hints " + c.hints_shown : "");
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
    const unknown = el("tr", { class: "unknown" });
    unknown.append(el("th", { scope: "row" }, "unknown"), el("td", { colspan: String(cls.tasks.length + 3), id: "unknown" }));
    body.append(unknown);
    summary();
  }

  function summary() {
    const done = cls.learners.filter((l) => l.done === l.total).length;
    $("summary").textContent = cls.learners.length + " learners, " + done + " done every task; " + cls.events + " events";
    $("unknown").textContent = cls.unknown + " event(s) from no learner of the roster";
  }

  function updateLearner(l) {
    if (!cls) return;
    const i = cls.learners.findIndex((x) => x.id === l.id);
    if (i < 0) return;
    cls.learners[i] = l;
    const old = document.querySelector('tr[data-learner="' + CSS.escape(l.id) + '"]');
    if (old) old.replaceWith(row(l));
    summary();
    $("announce").textContent = l.id + ": " + l.done + "/" + l.total;
  }

  function eventLine(e) {
    const attrs = Object.keys(e.attrs || {}).sort().map((k) => k + "=" + e.attrs[k]).join(" ");
    return el("li", {}, time(e.time) + " " + (e.learner || "unknown") + " " + e.kind + " " + attrs + (e.client ? " (" + e.client + ")" : ""));
  }

  function addLive(e) {
    const live = $("live");
    live.prepend(eventLine(e));
    while (live.children.length > 50) live.lastChild.remove();
    if (shown && e.learner === shown) $("timeline-list").prepend(eventLine(e));
  }

  async function openTimeline(id) {
    shown = id;
    $("timeline-h").textContent = "Timeline of " + id;
    $("timeline").hidden = false;
    const r = await fetch("/api/class/learner?id=" + encodeURIComponent(id) + "&limit=200");
    const data = await r.json();
    if (!r.ok) {
      $("timeline-list").replaceChildren(el("li", {}, data.error || r.statusText));
      return;
    }
    $("timeline-list").replaceChildren(...data.events.reverse().map(eventLine));
  }

  $("close").addEventListener("click", () => { shown = ""; $("timeline").hidden = true; });
  $("reset").addEventListener("click", async () => {
    if (!shown || !confirm("Reset the progress of " + shown + "?")) return;
    const r = await fetch("/api/class/reset?id=" + encodeURIComponent(shown), { method: "POST" });
    if (r.ok) { cls = await r.json(); draw(); }
  });

  function connect() {
    const es = new EventSource("/api/class/events");
    es.addEventListener("open", () => { $("conn").textContent = "live"; });
    es.addEventListener("error", () => { $("conn").textContent = "reconnecting…"; });
    es.addEventListener("class", (m) => { cls = JSON.parse(m.data); draw(); });
    es.addEventListener("learner", (m) => updateLearner(JSON.parse(m.data)));
    es.addEventListener("event", (m) => {
      const e = JSON.parse(m.data);
      if (cls) { cls.events++; if (!e.learner) cls.unknown++; summary(); }
      addLive(e);
    });
  }

  // Drop the token from the address bar: the cookie carries it now.
  if (location.search.includes("token=")) history.replaceState(null, "", "/instructor");
  connect();
})();
