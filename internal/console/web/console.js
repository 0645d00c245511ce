// Protolab web console: the lesson, the tasks ticking live, hints, and the
// live protocol exchanges of the running lab. Plain JavaScript, no
// framework; data only from this console's API; text is always set with
// textContent, never parsed as HTML.
"use strict";
(function () {
  var WORDS = {
    en: {
      skip: "Skip to the lesson", tasks: "Tasks", endpoints: "Servers", views: "Views", lesson: "Lesson",
      exchanges: "Exchanges", layers: "Layers", api: "API", loading: "Loading…",
      noEvents: "Nothing yet: use a client against one of the lab's servers and the exchange shows here.",
      noLayers: "No exchange yet: use a client against one of the lab's servers; its latest exchange is shown here, layer by layer.",
      noLesson: "This lab has no lesson: do its tasks.", noTasks: "This lab has no tasks.",
      live: "Live", down: "Connection lost, retrying…",
      progress: function (d, t, p, m) { return d + " of " + t + " tasks done" + (m ? " · " + p + "/" + m + " points" : ""); },
      hint: "Hint", nextHint: "Next hint", lastHint: "Last hint again", hintFor: "for", noHint: "No hint for this task.",
      hintOf: function (l, o) { return "Hint " + l + "/" + o + ": "; },
      done: "done", todo: "to do", optional: "optional", late: "late: no points",
      first: function (id) { return "first: " + id; }, deadline: function (d) { return "deadline " + d; }, doneAt: function (t) { return "done at " + t; },
      ticked: function (t) { return "Task done: " + t; },
      failed: "Request failed: ",
      question: function (n) { return "Question " + n; },
      check: "Check my answer", pick: "Pick an answer first.",
      right: "Right.", wrong: function (r) { return "Not quite: the right answer is " + r + "."; },
      writtenTicksNothing: function (ids) { return " A written answer ticks nothing: do the task " + ids + " to answer it by doing."; },
      byDoing: "Answered by doing:", byDoingTask: function (id) { return "Answered by doing: task " + id + " done"; },
      notYet: function (id, title) { return "Not answered yet: do the task " + id + " (" + title + ")."; },
      at: function (t) { return "at " + t; }, rightMark: "right answer",
      client: "client", server: "server", clientCol: "Client", time: "Time", dnsQuestion: "Question", status: "Status", answer: "Answer",
      digOutput: "dig-style output", records: function (n) { return n + " records (zone transfer)"; }, noAnswer: "no answer records",
      transcript: "Transcript", request: "Request", object: "Object", type: "Type", value: "Value",
      silent: "no answer", toServer: "client to server", toClient: "server to client",
      latest: function (p, c, s) { return "Latest exchange: " + p + ", client " + c + ", server " + s; },
      osiModel: "OSI model (7 layers)", tcpipModel: "TCP/IP model (4 layers)", thisExchange: "This exchange",
      hidden: "Hidden:", unknown: "(not known)", newWord: "new",
      osi: ["", "Physical", "Data link", "Network", "Transport", "Session", "Presentation", "Application"],
      tcpip: { application: "Application", transport: "Transport", internet: "Internet", link: "Link" }
    },
    fr: {
      skip: "Aller à la leçon", tasks: "Tâches", endpoints: "Serveurs", views: "Vues", lesson: "Leçon",
      exchanges: "Échanges", layers: "Couches", api: "API", loading: "Chargement…",
      noEvents: "Rien pour l’instant : utilisez un client sur l’un des serveurs du labo et l’échange s’affiche ici.",
      noLayers: "Pas encore d’échange : utilisez un client sur l’un des serveurs du labo ; son dernier échange s’affiche ici, couche par couche.",
      noLesson: "Ce labo n’a pas de leçon : faites ses tâches.", noTasks: "Ce labo n’a pas de tâche.",
      live: "En direct", down: "Connexion perdue, nouvel essai…",
      progress: function (d, t, p, m) { return "Tâches faites : " + d + " sur " + t + (m ? " · " + p + "/" + m + " points" : ""); },
      hint: "Indice", nextHint: "Indice suivant", lastHint: "Revoir le dernier indice", hintFor: "pour", noHint: "Pas d’indice pour cette tâche.",
      hintOf: function (l, o) { return "Indice " + l + "/" + o + " : "; },
      done: "faite", todo: "à faire", optional: "facultative", late: "en retard : sans points",
      first: function (id) { return "d’abord : " + id; }, deadline: function (d) { return "échéance " + d; }, doneAt: function (t) { return "faite à " + t; },
      ticked: function (t) { return "Tâche faite : " + t; },
      failed: "Échec de la requête : ",
      question: function (n) { return "Question " + n; },
      check: "Vérifier ma réponse", pick: "Choisissez d’abord une réponse.",
      right: "Juste.", wrong: function (r) { return "Pas tout à fait : la bonne réponse est " + r + "."; },
      writtenTicksNothing: function (ids) { return " Une réponse écrite ne coche rien : faites la tâche " + ids + " pour y répondre par la pratique."; },
      byDoing: "Réponse par la pratique :", byDoingTask: function (id) { return "Réponse par la pratique : tâche " + id + " faite"; },
      notYet: function (id, title) { return "Pas encore de réponse : faites la tâche " + id + " (" + title + ")."; },
      at: function (t) { return "à " + t; }, rightMark: "bonne réponse",
      client: "client", server: "serveur", clientCol: "Client", time: "Heure", dnsQuestion: "Question", status: "Statut", answer: "Réponse",
      digOutput: "sortie à la manière de dig", records: function (n) { return n + " enregistrements (transfert de zone)"; }, noAnswer: "aucun enregistrement de réponse",
      transcript: "Échange", request: "Requête", object: "Objet", type: "Type", value: "Valeur",
      silent: "pas de réponse", toServer: "du client au serveur", toClient: "du serveur au client",
      latest: function (p, c, s) { return "Dernier échange : " + p + ", client " + c + ", serveur " + s; },
      osiModel: "Modèle OSI (7 couches)", tcpipModel: "Modèle TCP/IP (4 couches)", thisExchange: "Cet échange",
      hidden: "Caché :", unknown: "(inconnu)", newWord: "nouveaux",
      osi: ["", "Physique", "Liaison de données", "Réseau", "Transport", "Session", "Présentation", "Application"],
      tcpip: { application: "Application", transport: "Transport", internet: "Internet", link: "Accès au réseau" }
    }
  };
  var PROTOCOLS = {
    dns: "DNS", dhcp: "DHCP", smtp: "SMTP", pop3: "POP3", imap: "IMAP", snmp: "SNMP", echo: "Echo", ws: "HTTP / SOAP"
  };
  var DIALOGUES = { smtp: true, pop3: true, imap: true };
  var MAX_ROWS = 200, MAX_CARDS = 12, JOURNAL = 300;
  var SECRET_ATTR = /community|pass|secret|token|auth_?key|priv/i;

  var lang = "en";          // the page's language
  var langChosen = false;   // picked with the switch (or ?lang=)
  var status = null;        // the last status, in the page's language
  var tasks = new Map();    // id -> {task, li, tick, title, when, button, hints}
  var seen = new Set();     // events shown, by seq and time
  var queue = null;         // events received while the journal loads
  var lessonData = null, questions = [];
  var cards = {};           // key -> card state (dialogues, SNMP, DHCP)
  var unseen = 0;
  var layersTimer = 0, lessonTimer = 0;

  function w(k) { return (WORDS[lang] || WORDS.en)[k]; }
  function $(id) { return document.getElementById(id); }

  // el builds an element: attrs (class, text, and attributes) and children.
  function el(tag, attrs) {
    var n = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v == null || v === false) { return; }
        if (k === "class") { n.className = v; } else if (k === "text") { n.textContent = v; } else { n.setAttribute(k, v === true ? "" : v); }
      });
    }
    for (var i = 2; i < arguments.length; i++) { add(n, arguments[i]); }
    return n;
  }
  function add(parent, c) {
    if (c == null || c === false) { return; }
    if (Array.isArray(c)) { c.forEach(function (x) { add(parent, x); }); return; }
    parent.append(c);
  }

  // inline renders the lesson's inline markup: `code`; the rest is text.
  function inline(text) {
    var out = [];
    String(text).split(/(`[^`\n]+`)/).forEach(function (part, i) {
      if (i % 2 === 1) { out.push(el("code", { text: part.slice(1, -1) })); } else if (part) { out.push(part); }
    });
    return out;
  }

  function clock(t) {
    var d = new Date(t);
    if (isNaN(d)) { return ""; }
    return d.toLocaleTimeString(lang === "fr" ? "fr-FR" : "en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }
  function shortClock(t) {
    var d = new Date(t);
    if (isNaN(d)) { return ""; }
    return d.toLocaleTimeString(lang === "fr" ? "fr-FR" : "en-GB", { hour: "2-digit", minute: "2-digit" });
  }

  function mask(v) { v = String(v); return v ? v.charAt(0) + "*****" : v; }

  function api(path, opts) {
    return fetch(path, opts || { headers: { "Accept": "application/json" } }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) { var e = new Error(body.error || res.statusText); e.status = res.status; throw e; }
        return body;
      });
    });
  }
  function q(path) { return path + (path.indexOf("?") < 0 ? "?" : "&") + "lang=" + lang; }

  // ---- Language ----

  function applyWords() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-t]").forEach(function (n) { n.textContent = w(n.dataset.t); });
    document.querySelectorAll("#langs button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
    });
    if (connUp !== null) { setConn(connUp); }
  }

  function setLang(l, chosen) {
    if (!WORDS[l]) { return; }
    var changed = l !== lang;
    lang = l;
    if (chosen) {
      langChosen = true;
      var u = new URL(location.href);
      u.searchParams.set("lang", l);
      history.replaceState(null, "", u);
    }
    applyWords();
    if (changed && status) {
      api(q("api/status")).then(renderStatus).catch(function () {});
      loadLesson();
      refreshLayers();
      relabelExchanges();
    }
  }

  // ---- Tasks ----

  function renderStatus(st) {
    status = st;
    var name = st.title || st.lab || "Protolab";
    $("title").textContent = name;
    document.title = name + " · Protolab";
    var eps = $("endpoint-list");
    eps.replaceChildren();
    (st.endpoints || []).forEach(function (e) {
      eps.append(el("li", null, el("code", { text: e.addr }), " " + e.service + " · " + e.listener + " (" + e.network + ")"));
    });
    var list = $("task-list");
    var keep = tasks;
    tasks = new Map();
    list.replaceChildren();
    (st.tasks || []).forEach(function (t) {
      var item = keep.get(t.id) || taskItem(t);
      tasks.set(t.id, item);
      fillTask(item, t, false);
      list.append(item.li);
    });
    if (!tasks.size) { list.append(el("li", { class: "meta", text: w("noTasks") })); }
    (st.endpoints || []).forEach(function (e) { serviceSection(e.service); });
    summary();
  }

  function taskItem(t) {
    var item = {};
    item.li = el("li", { class: "task", id: "task-" + t.id, "data-task": t.id });
    item.tick = el("span", { class: "tick", "aria-hidden": "true" });
    item.state = el("span", { class: "sr" });
    item.title = el("span", { class: "task-title" });
    item.when = el("span", { class: "task-when" });
    item.note = el("span", { class: "task-note" });
    item.hints = el("ol", { class: "hints", id: "hints-" + t.id, "aria-live": "polite" });
    item.button = el("button", { type: "button", class: "hint-btn", "aria-controls": "hints-" + t.id, "data-task": t.id });
    item.button.addEventListener("click", function () { askHint(item); });
    item.li.append(item.tick, el("div", { class: "task-body" },
      el("div", { class: "task-head" }, item.state, item.title),
      el("div", { class: "task-meta" }, el("code", { class: "task-id", text: t.id }), item.when, item.note, item.button),
      item.hints));
    return item;
  }

  function fillTask(item, t, live) {
    var was = item.task && item.task.done;
    item.task = t;
    item.li.classList.toggle("done", !!t.done);
    item.tick.textContent = t.done ? "✓" : "○";
    item.state.textContent = (t.done ? w("done") : w("todo")) + ": ";
    item.title.textContent = t.title || t.id;
    item.when.textContent = t.done && t.done_at ? w("doneAt")(shortClock(t.done_at)) : "";
    // In an exercise: optional tasks, the order, the deadline.
    item.note.textContent = [t.optional ? w("optional") : "", t.waiting_for && !t.done ? w("first")(t.waiting_for) : "",
      t.late ? w("late") : ""].filter(Boolean).join(" · ");
    item.li.classList.toggle("waiting", !!t.waiting_for && !t.done);
    labelHint(item);
    if (live && t.done && !was) {
      item.li.classList.remove("fresh");
      void item.li.offsetWidth;
      item.li.classList.add("fresh");
      $("announce").textContent = w("ticked")(t.title || t.id);
    }
  }

  function labelHint(item) {
    var t = item.task, label;
    if (!t.hints) { label = w("hint"); } else if (t.hints_shown >= t.hints) { label = w("lastHint"); } else if (t.hints_shown > 0) { label = w("nextHint"); } else { label = w("hint"); }
    item.button.textContent = label + (t.hints ? " (" + Math.min(t.hints_shown + 1, t.hints) + "/" + t.hints + ")" : "");
    item.button.setAttribute("aria-label", label + " " + w("hintFor") + " " + (t.title || t.id));
    item.button.disabled = !t.hints;
  }

  function updateTask(t) {
    var item = tasks.get(t.id);
    if (!item) { return; }
    // Titles come from the status in the page's language.
    var merged = Object.assign({}, t);
    merged.title = (item.task && item.task.title) || t.title;
    fillTask(item, merged, true);
    summary();
  }

  function summary() {
    var done = 0, points = 0, max = 0;
    tasks.forEach(function (it) {
      max += it.task.points || 0;
      if (it.task.done) { done++; points += it.task.points || 0; }
    });
    $("summary").textContent = w("progress")(done, tasks.size, points, max) +
      (status && status.deadline ? " · " + w("deadline")(new Date(status.deadline).toLocaleString(lang === "fr" ? "fr-FR" : "en-GB", { dateStyle: "short", timeStyle: "short" })) : "");
    var m = $("meter");
    m.max = Math.max(tasks.size, 1);
    m.value = done;
  }

  function askHint(item) {
    var id = item.task.id;
    // The button keeps the focus (a disabled button would lose it): a
    // click while a request is out is ignored.
    if (item.pending) { return; }
    item.pending = true;
    item.button.setAttribute("aria-busy", "true");
    api(q("api/hint?task=" + encodeURIComponent(id)), { method: "POST", headers: { "Accept": "application/json" } })
      .then(function (h) {
        var li = el("li", { "data-level": h.level || 0 });
        if (h.text) { add(li, [el("strong", { text: w("hintOf")(h.level, h.of) }), inline(h.text)]); } else { li.textContent = w("noHint"); }
        var old = item.hints.querySelector('[data-level="' + (h.level || 0) + '"]');
        if (old) { old.replaceWith(li); } else { item.hints.append(li); }
        item.task.hints_shown = Math.max(item.task.hints_shown || 0, h.level || 0);
      })
      .catch(function (err) { item.hints.append(el("li", { text: w("failed") + err.message })); })
      .finally(function () {
        item.pending = false;
        item.button.removeAttribute("aria-busy");
        labelHint(item);
      });
  }

  // ---- Tabs ----

  function tabs() { return Array.prototype.slice.call(document.querySelectorAll('#tabs [role="tab"]')); }

  function selectTab(tab, focus) {
    tabs().forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    });
    if (focus) { tab.focus(); }
    if (tab.id === "tab-exchanges") { unseen = 0; badge(); }
    if (tab.id === "tab-layers") { refreshLayers(); }
  }

  function setupTabs() {
    tabs().forEach(function (t) { t.addEventListener("click", function () { selectTab(t, false); }); });
    $("tabs").addEventListener("keydown", function (e) {
      var list = tabs(), i = list.indexOf(document.activeElement);
      if (i < 0) { return; }
      var j = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: list.length - 1 }[e.key];
      if (j === undefined) { return; }
      e.preventDefault();
      selectTab(list[(j + list.length) % list.length], true);
    });
  }

  function activeTab() { return document.querySelector('#tabs [aria-selected="true"]').id; }

  function badge() {
    var b = $("exchange-count");
    b.hidden = unseen === 0;
    b.replaceChildren(unseen > 99 ? "99+" : String(unseen), el("span", { class: "sr", text: " " + w("newWord") }));
  }

  // ---- Lesson ----

  function loadLesson() {
    api(q("api/lesson")).then(renderLesson).catch(function (err) {
      $("lesson").replaceChildren(el("p", { class: "meta", text: err.status === 404 ? w("noLesson") : w("failed") + err.message }));
    });
  }

  function refreshLessonSoon() {
    clearTimeout(lessonTimer);
    lessonTimer = setTimeout(function () {
      api(q("api/lesson")).then(function (l) {
        if (!lessonData || l.lang !== lessonData.lang) { renderLesson(l); return; }
        lessonData = l;
        questions.forEach(fillDoing);
      }).catch(function () {});
    }, 150);
  }

  function renderLesson(l) {
    lessonData = l;
    questions = [];
    var art = $("lesson");
    art.setAttribute("lang", l.lang);
    art.replaceChildren.apply(art, blocks(l.blocks || []));
  }

  function blocks(bs) { return bs.map(block).filter(Boolean); }

  function block(b) {
    switch (b.type) {
    case "heading": return el("h" + Math.min(b.level + 1, 6), null, inline(b.text));
    case "paragraph": return el("p", null, inline(b.text));
    case "list":
      return el(b.ordered ? "ol" : "ul", { start: b.ordered && b.start !== 1 ? b.start : null },
        (b.items || []).map(function (it) { return el("li", null, inline(it)); }));
    case "code": return el("pre", { tabindex: "0" }, el("code", { text: b.text }));
    case "table":
      return el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": (b.header || []).join(", ") },
        el("table", null,
          el("thead", null, el("tr", null, (b.header || []).map(function (h) { return el("th", { scope: "col" }, inline(h)); }))),
          el("tbody", null, (b.rows || []).map(function (r) { return el("tr", null, r.map(function (c) { return el("td", null, inline(c)); })); }))));
    case "rule": return el("hr");
    case "box":
      return el("aside", { class: "box" }, b.title ? el("p", { class: "box-title" }, inline(b.title)) : null, blocks(b.body || []));
    case "question": return question(b);
    }
    return null;
  }

  function question(b) {
    var multi = (b.options || []).filter(function (o) { return o.correct; }).length > 1;
    var name = "q" + b.n;
    var fs = el("fieldset", { class: "question", id: "question-" + b.n, "data-question": b.n });
    var legend = el("legend", null, el("span", { class: "sr", text: w("question")(b.n) + ": " }), inline(b.text));
    var opts = el("ul", { class: "options" });
    var inputs = [];
    (b.options || []).forEach(function (o, i) {
      var id = name + "-" + i;
      var input = el("input", { type: multi ? "checkbox" : "radio", name: name, id: id, value: String(i) });
      inputs.push(input);
      opts.append(el("li", { "data-correct": o.correct ? "true" : "false" },
        el("label", { for: id }, input, el("span", null, String.fromCharCode(97 + i) + ") "), el("span", null, inline(o.text)))));
    });
    var verdict = el("p", { class: "verdict", "aria-live": "polite" });
    var check = el("button", { type: "button", class: "check", text: w("check") });
    check.addEventListener("click", function () {
      var chosen = inputs.filter(function (x) { return x.checked; }).map(function (x) { return +x.value; });
      if (!chosen.length) { verdict.className = "verdict"; verdict.textContent = w("pick"); return; }
      var right = b.options.map(function (o, i) { return o.correct ? i : -1; }).filter(function (i) { return i >= 0; });
      var ok = chosen.length === right.length && chosen.every(function (c, i) { return c === right[i]; });
      verdict.className = "verdict " + (ok ? "good" : "bad");
      var names = right.map(function (i) { return String.fromCharCode(97 + i) + ") " + b.options[i].text; }).join(", ");
      var text = ok ? w("right") : w("wrong")(names);
      var todo = (b.links || []).filter(function (id) { var t = lessonData.tasks[id]; return !(t && t.done); });
      if (todo.length) { text += w("writtenTicksNothing")(todo.join(", ")); }
      verdict.textContent = text;
      reveal(state);
    });
    var doing = el("div", { class: "doing-list" });
    fs.append(legend, opts, el("div", { class: "q-actions" }, check, verdict), doing);
    var state = { b: b, fs: fs, opts: opts, doing: doing, revealed: false };
    if ((b.links || []).length) { questions.push(state); fillDoing(state); }
    return fs;
  }

  function reveal(state) {
    if (state.revealed) { return; }
    state.revealed = true;
    state.opts.querySelectorAll('li[data-correct="true"]').forEach(function (li) {
      li.classList.add("right");
      li.querySelector("label").append(el("span", { class: "mark", text: "✓" }, el("span", { class: "sr", text: " " + w("rightMark") })));
    });
  }

  function fillDoing(state) {
    var links = state.b.links || [], all = links.length > 0;
    state.doing.replaceChildren();
    links.forEach(function (id) {
      var t = (lessonData.tasks || {})[id] || { title: id };
      if (!t.done) { all = false; }
      var p = el("p", { class: "doing" + (t.done ? " done" : ""), "data-task": id });
      if (t.done && t.did) {
        p.append(el("span", { class: "how", text: "✓ " + w("byDoing") }), " " + t.did + (t.done_at ? " " + w("at")(shortClock(t.done_at)) : "") + ".");
      } else if (t.done) {
        p.append(el("span", { class: "how", text: "✓ " + w("byDoingTask")(id) }), (t.done_at ? " " + w("at")(shortClock(t.done_at)) : "") + ".");
      } else {
        p.append("○ ", w("notYet")(id, t.title || id));
      }
      state.doing.append(p);
    });
    state.fs.classList.toggle("answered", all);
    if (all) { reveal(state); }
  }

  // ---- Exchanges ----

  function serviceSection(svc) {
    var id = "svc-" + svc.replace(/[^a-z0-9-]/gi, "_");
    var sec = $(id);
    if (sec) { return sec; }
    sec = el("section", { class: "service", id: id, "data-service": svc, "aria-labelledby": id + "-h" },
      el("h3", { id: id + "-h" }, PROTOCOLS[svc] || svc, el("span", { class: "meta", text: svc })));
    $("exchanges").append(sec);
    return sec;
  }

  function part(sec, cls, make) {
    var n = sec.querySelector(":scope > ." + cls);
    if (!n) { n = make(); sec.append(n); }
    return n;
  }

  function addEvent(ev, live) {
    var key = ev.seq + "|" + ev.time;
    if (seen.has(key)) { return; }
    seen.add(key);
    $("no-events").hidden = true;
    var sec = serviceSection(ev.service || "lab");
    var transport = ev.kind === "tcp.accept" || ev.kind === "tcp.close";
    try {
      if (ev.service === "dns" && ev.kind === "dns.query") { dnsRow(sec, ev); } else if (DIALOGUES[ev.service]) { dialogue(sec, ev, transport); } else if (ev.service === "snmp" && ev.kind === "snmp.request") { snmpCard(sec, ev); } else if (ev.service === "dhcp" && ev.transcript) { dhcpCard(sec, ev); } else { generic(sec, ev); }
    } catch (err) {
      console.error("console:", err);
      generic(sec, ev);
    }
    if (live) {
      if (activeTab() !== "tab-exchanges") { unseen++; badge(); }
      if (activeTab() === "tab-layers") { refreshLayersSoon(); }
    }
  }

  function trim(list, max) { while (list.children.length > max) { list.lastElementChild.remove(); } }

  function digParts(text) {
    var lines = String(text || "").split("\n"), answer = [], section = "", xfr = null;
    lines.forEach(function (line) {
      if (/^;; ANSWER SECTION:/.test(line)) { section = "answer"; return; }
      var m = /^;; XFR size: (\d+) records/.exec(line);
      if (m) { xfr = +m[1]; return; }
      if (/^;/.test(line)) { if (/^;; [A-Z ]+SECTION:/.test(line)) { section = "other"; } return; }
      if (line.trim() && section === "answer") { answer.push(line.replace(/\t+/g, "  ")); }
    });
    return { answer: answer, xfr: xfr };
  }

  function dnsRow(sec, ev) {
    var a = ev.attrs || {};
    var body = part(sec, "dns-table", function () {
      var t = el("table", { class: "dig stack" },
        el("thead", null, el("tr", null,
          ["time", "clientCol", "dnsQuestion", "status", "answer"].map(function (k) { return el("th", { scope: "col", "data-w": k, text: w(k) }); }))),
        el("tbody"));
      return el("div", { class: "scroll dns-table", tabindex: "0", role: "region", "aria-label": "DNS" }, t);
    }).querySelector("tbody");
    var p = digParts(ev.transcript);
    var rc = a.rcode || "";
    var answer = el("td", { class: "a", "data-label": w("answer") });
    if (p.xfr != null) { answer.append(el("div", { text: w("records")(p.xfr) })); }
    p.answer.forEach(function (r) { answer.append(el("div", { text: r })); });
    if (!p.answer.length && p.xfr == null) { answer.append(el("div", { class: "meta", text: w("noAnswer") })); }
    if (ev.transcript) {
      answer.append(el("details", null, el("summary", { text: w("digOutput") }), el("pre", { text: ev.transcript })));
    }
    var flags = [a.transport, a.aa === "true" ? "aa" : "", a.truncated === "true" ? "tc" : ""].filter(Boolean).join(" ");
    var row = el("tr", { "data-kind": ev.kind, "data-seq": ev.seq, "data-qname": a.qname, "data-qtype": a.qtype },
      el("td", { "data-label": w("time"), text: clock(ev.time) }),
      el("td", { "data-label": w("clientCol"), text: ev.client || "" }),
      el("td", { class: "q", "data-label": w("dnsQuestion"), text: (a.qname || "") + " " + (a.qclass || "IN") + " " + (a.qtype || "") }),
      el("td", { "data-label": w("status") }, el("span", { class: rc === "NOERROR" ? "rc-NOERROR" : "rc-bad", text: rc }), flags ? el("span", { class: "meta", text: " " + flags }) : null),
      answer);
    body.prepend(row);
    trim(body, MAX_ROWS);
  }

  function cardList(sec) { return part(sec, "cards", function () { return el("div", { class: "cards" }); }); }

  function newCard(sec, key, head) {
    var list = cardList(sec);
    var c = { el: el("article", { class: "card", "data-key": key }) };
    c.h = el("h4", null, head);
    c.el.append(c.h);
    list.prepend(c.el);
    while (list.children.length > MAX_CARDS) {
      var old = list.lastElementChild;
      delete cards[old.dataset.key];
      old.remove();
    }
    cards[key] = c;
    return c;
  }

  function dialogue(sec, ev, transport) {
    var key = ev.service + "|" + ev.client;
    var c = cards[key];
    if (!c || (ev.kind === "tcp.accept" || /\.connect$/.test(ev.kind)) && c.closed) {
      if (c) { delete cards[key]; c.el.dataset.key = key + "|" + ev.seq; cards[key + "|" + ev.seq] = c; }
      c = newCard(sec, key, [el("span", { text: w("client") + " " + (ev.client || "?") }), el("span", { class: "meta", text: clock(ev.time) })]);
      c.chips = el("ul", { class: "chips", "aria-label": "events" });
      c.chat = el("ol", { class: "chat dialogue", "data-service": ev.service });
      c.el.append(c.chips, c.chat);
    }
    var label = ev.kind;
    if (ev.kind === "tcp.close") { c.closed = true; label += " (" + ((ev.attrs || {}).closed_by || "") + ")"; }
    c.chips.append(el("li", { text: label }));
    if (/\.(quit|disconnect|logout)$/.test(ev.kind)) { c.closed = true; }
    if (transport || !ev.transcript) { return; }
    c.chat.replaceChildren();
    ev.transcript.replace(/\n$/, "").split("\n").forEach(function (line) {
      var m = /^(C|S): ?(.*)$/.exec(line);
      if (m) {
        c.chat.append(el("li", { class: m[1] === "C" ? "c" : "s" },
          el("span", { class: "who", "aria-label": m[1] === "C" ? w("client") : w("server"), text: m[1] + ":" }), m[2]));
      } else {
        c.chat.append(el("li", { class: "note", text: line }));
      }
    });
    c.chat.scrollTop = c.chat.scrollHeight;
  }

  function snmpParts(text) {
    var lines = String(text || "").replace(/\n$/, "").split("\n");
    var head = lines[0] || "", resp = "", vbs = [], after = false;
    lines.slice(1).forEach(function (line) {
      var m = /^Response: (.*)$/.exec(line);
      if (m) { resp = m[1]; after = true; return; }
      if (!after) { return; }
      var v = /^(\S+) = (.*)$/.exec(line);
      if (!v) { return; }
      var tv = /^([A-Za-z][A-Za-z0-9 -]*): (.*)$/.exec(v[2]);
      vbs.push({ oid: v[1], type: tv ? tv[1] : "", value: tv ? tv[2] : v[2] });
    });
    var who = (/, (SNMPv\S+, .*)$/.exec(head) || [])[1] || "";
    return { head: head, who: who, resp: resp, vbs: vbs };
  }

  function snmpCard(sec, ev) {
    var key = "snmp|" + ev.client;
    var a = ev.attrs || {};
    var c = cards[key];
    var p = snmpParts(ev.transcript);
    if (!c) {
      c = newCard(sec, key, [el("span", { text: w("client") + " " + (ev.client || "?") }), el("span", { class: "meta", text: p.who || ("SNMPv" + a.version) })]);
      c.body = el("tbody");
      c.table = el("table", { class: "varbinds stack" },
        el("thead", null, el("tr", null, ["request", "object", "type", "value"].map(function (k) { return el("th", { scope: "col", "data-w": k, text: w(k) }); }))), c.body);
      c.el.append(el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": "SNMP " + (ev.client || "") }, c.table));
    }
    var req = (a.pdu || "").toUpperCase() + " · " + (p.resp || a.error_status || "");
    var vbs = p.vbs.length ? p.vbs : [{ oid: a.oids || "", type: "", value: "" }];
    var rows = vbs.map(function (vb, i) {
      return el("tr", { "data-kind": ev.kind, "data-seq": ev.seq },
        i === 0 ? el("td", { rowspan: vbs.length, "data-label": w("request"), text: clock(ev.time) + " " + req }) : null,
        el("td", { class: "o", "data-label": w("object"), text: vb.oid }),
        el("td", { "data-label": w("type"), text: vb.type }),
        el("td", { class: "v", "data-label": w("value"), text: vb.value }));
    });
    rows.forEach(function (r) { c.body.append(r); });
    while (c.body.children.length > MAX_ROWS) { c.body.firstElementChild.remove(); }
  }

  function ladderSteps(text) {
    return String(text || "").split("\n").map(function (line) {
      var m = /^client (\S+) → DHCP(\w+)\s*(.*)$/.exec(line);
      if (m) { return { from: "client", who: m[1], name: "DHCP" + m[2], fields: m[3] }; }
      m = /^server (\S+) stays silent: (.*)$/.exec(line);
      if (m) { return { from: "server", who: m[1], name: "", silent: true, fields: m[2] }; }
      m = /^server (\S+) → DHCP(\w+)\s*(.*)$/.exec(line);
      if (m) { return { from: "server", who: m[1], name: "DHCP" + m[2], fields: m[3] }; }
      return null;
    }).filter(Boolean);
  }

  function dhcpCard(sec, ev) {
    var steps = ladderSteps(ev.transcript);
    if (!steps.length) { generic(sec, ev); return; }
    var mac = (ev.attrs || {}).mac || steps[0].who;
    var first = ev.transcript.split("\n")[0];
    var key = "dhcp|" + mac + "|" + first;
    var c = cards[key];
    if (!c) {
      c = newCard(sec, key, [el("span", { text: "DHCP · " + mac }), el("span", { class: "meta", text: clock(ev.time) })]);
      c.chips = el("ul", { class: "chips", "aria-label": "events" });
      c.diagram = el("div", { class: "ladder-box" });
      c.el.append(c.chips, c.diagram);
    }
    c.chips.append(el("li", { text: ev.kind }));
    if (c.steps && c.steps.length > steps.length) { return; }
    c.steps = steps;
    var server = "";
    steps.forEach(function (s) { if (s.from === "server") { server = s.who; } });
    var ol = el("ol", { class: "ladder", "aria-label": "DHCP " + mac });
    steps.forEach(function (s) {
      var dir = s.from === "client" ? "to-server" : "to-client";
      ol.append(el("li", { class: "msg " + dir + (s.silent ? " silent" : ""), "data-name": s.name },
        el("span", { class: "sr", text: (s.from === "client" ? w("toServer") : w("toClient")) + ": " }),
        el("span", { class: "msg-name", text: s.silent ? "✕ " + w("silent") : s.name }),
        el("span", { class: "arrow", "aria-hidden": "true" }),
        el("span", { class: "msg-fields", text: s.fields.replace(/\[[^\]]*\]/g, function (m) { return m.replace(/ /g, "\u00a0"); }) })));
    });
    c.diagram.replaceChildren(
      el("div", { class: "lifelines", "aria-hidden": "true" },
        el("div", { class: "actor" }, el("strong", { text: w("client") }), el("span", { text: mac })),
        el("div", { class: "actor" }, el("strong", { text: w("server") }), el("span", { text: server || "?" }))),
      ol);
  }

  function generic(sec, ev) {
    var list = part(sec, "generic", function () { return el("ol", { class: "generic", reversed: true }); });
    var li = el("li", { "data-kind": ev.kind, "data-seq": ev.seq },
      el("span", { class: "meta", text: clock(ev.time) + " " }), el("span", { class: "kind", text: ev.kind }),
      ev.client ? el("span", { class: "meta", text: " " + ev.client }) : null);
    var attrs = ev.attrs || {}, keys = Object.keys(attrs).sort();
    if (keys.length) {
      li.append(el("p", { class: "attrs" }, keys.map(function (k) {
        var v = SECRET_ATTR.test(k) ? mask(attrs[k]) : attrs[k];
        return [el("code", { text: k + "=" + v }), " "];
      })));
    }
    if (ev.transcript) { li.append(el("details", null, el("summary", { text: w("transcript") }), el("pre", { text: ev.transcript }))); }
    list.prepend(li);
    trim(list, MAX_ROWS);
  }

  function relabelExchanges() {
    document.querySelectorAll("th[data-w]").forEach(function (th) { th.textContent = w(th.dataset.w); });
  }

  function loadJournal() {
    queue = queue || [];
    return api("api/journal?limit=" + JOURNAL).then(function (j) {
      (j.events || []).forEach(function (ev) { addEvent(ev, false); });
    }).catch(function (err) { console.error("console: journal:", err); }).finally(function () {
      var pending = queue || [];
      queue = null;
      pending.forEach(function (ev) { addEvent(ev, true); });
    });
  }

  function clearExchanges() {
    seen = new Set();
    cards = {};
    $("exchanges").replaceChildren();
    $("no-events").hidden = false;
    unseen = 0;
    badge();
    if (status) { (status.endpoints || []).forEach(function (e) { serviceSection(e.service); }); }
  }

  // ---- Layers ----

  function refreshLayersSoon() {
    clearTimeout(layersTimer);
    layersTimer = setTimeout(refreshLayers, 300);
  }

  function refreshLayers() {
    if (activeTab() !== "tab-layers" || !status) { return; }
    api(q("api/explain")).then(renderLayers).catch(function (err) {
      $("layers").replaceChildren(el("p", { class: "meta", text: err.status === 404 ? w("noLayers") : w("failed") + err.message }));
    });
  }

  function renderLayers(ex) {
    var words = WORDS[ex.lang] || WORDS[lang];
    var rows = [];
    (ex.layers || []).forEach(function (l) {
      (l.osi || []).forEach(function (o, i) {
        rows.push(el("tr", { "data-osi": o },
          el("th", { scope: "row", text: o + " " + words.osi[o] }),
          i === 0 ? el("td", { class: "tcpip", rowspan: l.osi.length, text: words.tcpip[l.tcpip] || l.tcpip }) : null,
          i === 0 ? el("td", { class: "sum", rowspan: l.osi.length, text: l.summary }) : null));
      });
    });
    var details = (ex.layers || []).map(function (l) {
      return el("section", { class: "layer", "data-layer": l.tcpip },
        el("h4", { text: (words.tcpip[l.tcpip] || l.tcpip) + " — " + l.name }),
        (l.facts || []).length ? el("ul", null, l.facts.map(function (f) { return el("li", { text: f }); })) : null,
        l.transcript ? el("pre", { tabindex: "0", text: l.transcript }) : null,
        (l.hidden || []).map(function (h) { return el("p", { class: "hidden" }, el("strong", { text: words.hidden + " " }), h); }));
    });
    var box = $("layers");
    box.replaceChildren();
    add(box, [
      el("h3", { text: words.latest(ex.protocol, ex.client, ex.server || words.unknown) }),
      el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": words.osiModel },
        el("table", { class: "models" },
          el("thead", null, el("tr", null, el("th", { scope: "col", text: words.osiModel }), el("th", { scope: "col", text: words.tcpipModel }), el("th", { scope: "col", text: words.thisExchange }))),
          el("tbody", null, rows))),
      details]);
  }

  // ---- Live stream ----

  var connUp = null;
  function setConn(up) {
    connUp = up;
    var c = $("conn");
    c.classList.toggle("down", !up);
    c.textContent = up ? w("live") : w("down");
  }

  function handle(fn) {
    return function (m) {
      var data;
      try { data = JSON.parse(m.data); } catch (err) { console.error("console:", err); return; }
      fn(data);
    };
  }

  var started = false;
  function onStatus(st) {
    setConn(true);
    if (!langChosen && !started) { lang = WORDS[st.lang] ? st.lang : "en"; applyWords(); }
    if (st.lang === lang) { renderStatus(st); } else { api(q("api/status")).then(renderStatus).catch(function () { renderStatus(st); }); }
    if (!started) {
      started = true;
      loadLesson();
      loadJournal();
    } else {
      // A reconnection or a reset: redraw the exchanges from the journal.
      clearExchanges();
      refreshLessonSoon();
      loadJournal();
    }
  }

  function connect() {
    if (!window.EventSource) { return; }
    var es = new EventSource("api/events");
    es.addEventListener("status", handle(onStatus));
    es.addEventListener("task", handle(function (c) { updateTask(c.task); refreshLessonSoon(); }));
    es.addEventListener("event", handle(function (ev) { if (queue) { queue.push(ev); } else { addEvent(ev, true); } }));
    es.addEventListener("open", function () { setConn(true); });
    es.addEventListener("error", function () {
      setConn(false);
      if (es.readyState === EventSource.CLOSED) { setTimeout(connect, 3000); }
    });
  }

  function init() {
    var asked = new URL(location.href).searchParams.get("lang");
    if (WORDS[asked]) { lang = asked; langChosen = true; }
    applyWords();
    setupTabs();
    document.querySelectorAll("#langs button").forEach(function (b) {
      b.addEventListener("click", function () { setLang(b.dataset.lang, true); });
    });
    connect();
  }

  init();
})();
