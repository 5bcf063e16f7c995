// Norc's page: plain JavaScript, no build step, no request to any other
// host. It reads the API under /api/v1 (docs/api.md, docs/web.md) with the
// session's cookie, follows the event stream (Server-Sent Events) to stay
// live without polling, and shows the controls the user's roles allow (the
// server refuses the rest anyway).
"use strict";

const TIMEFRAMES = ["10m", "30m", "1h", "3h", "12h", "1d", "7d", "all"];
const GROUPS = ["all", "waiting", "running", "succeeded", "failed"];
const TOPICS = ["instance.created", "instance.started", "instance.ended", "instance.requeued",
                "executor.status", "scheduler.status", "schedule.changed", "tick.skipped", "gap"];

const state = { me: null, csrf: null, roles: new Set(), zone: "utc", executors: new Map(), stream: null, viewer: null };

// ---------------------------------------------------------------------------
// The API

class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.detail ? problem.detail : "HTTP " + status);
    this.status = status;
    this.problem = problem;
  }
}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const response = await fetch("/api/v1" + path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const doc = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, doc);
  return doc;
}

const items = async (path) => (await api("GET", path)).items;

// ---------------------------------------------------------------------------
// Little helpers

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function table(columns, rows, empty) {
  if (!rows.length) return el("p", { class: "muted" }, empty || "None.");
  return el("table", {},
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { class: c.num ? "num" : null }, c.title)))),
    el("tbody", {}, rows.map((row) => el("tr", { "data-id": row.id },
      columns.map((c) => el("td", { class: c.num ? "num" : null }, c.cell(row)))))));
}

function card(title, ...content) {
  return el("section", { class: "card" }, el("h2", {}, title), ...content);
}

function can(role) {
  const r = state.roles;
  if (role === "viewer") return r.has("viewer") || r.has("operator") || r.has("admin");
  if (role === "operator") return r.has("operator") || r.has("admin");
  if (role === "logs:read") return r.has("logs:read") || r.has("admin");
  return r.has(role);
}

// Times: in UTC, the browser's zone, or the schedule's (where there is one)
function when(iso, scheduleZone) {
  if (!iso) return "-";
  const date = new Date(iso);
  let zone = "UTC";
  if (state.zone === "local") zone = undefined;
  if (state.zone === "schedule" && scheduleZone) zone = scheduleZone;
  const text = date.toLocaleString("sv-SE", { timeZone: zone, hour12: false });
  return text + (zone === "UTC" ? " UTC" : zone ? " " + zone : "");
}

function age(us) {
  if (!us) return "-";
  const s = Math.round(us / 1e6);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}

// A status, coloured; a RUNNING instance whose executor no longer
// heartbeats is shown as an error
function status(row, lostExecutor) {
  const code = row.status, name = row.status_name || "-";
  if (lostExecutor) return el("span", { class: "st st-bad", title: "its executor stopped heartbeating" }, name + " (executor lost)");
  const cls = code >= 13 ? "st-bad" : code === 7 || code === 8 ? "st-ok" : code === 9 || code === 12 || code === 3 || code === 5 || code === 6 ? "st-warn"
            : code >= 2 && code <= 4 ? "st-run" : "st-wait";
  return el("span", { class: "st " + cls }, name);
}

function link(href, text) {
  return el("a", { href }, text);
}

// A control: shown by role, confirmed (typed for what is host-wide or
// destructive), done, the view refreshed
function control(label, role, run, confirmText, typedWord) {
  if (!can(role)) return null;
  return el("button", {
    type: "button", class: typedWord ? "danger" : null, "data-control": label,
    onclick: async () => {
      if (!(await confirmAction(confirmText || label + "?", typedWord))) return;
      try { await run(); }
      catch (e) { showError(label + ": " + e.message); }
      refresh();
    },
  }, label);
}

function confirmAction(text, typedWord) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  const label = document.getElementById("confirm-typed-label");
  const typed = document.getElementById("confirm-typed");
  label.hidden = !typedWord;
  typed.value = "";
  document.getElementById("confirm-word").textContent = typedWord || "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok" && (!typedWord || typed.value === typedWord));
    }, { once: true });
    dialog.showModal();
  });
}

// A control that failed: said in the banner
function showError(text) {
  const banner = document.getElementById("banner");
  banner.textContent = text;
  banner.hidden = false;
}

// ---------------------------------------------------------------------------
// Views

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  return { parts: path.split("/").filter(Boolean), params: new URLSearchParams(query || "") };
}

function go(path, params) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
  location.hash = "#" + path + (query ? "?" + query : "");
}

async function viewStatus(params) {
  const since = params.get("since") || "10m";
  const [schedulers, executors, bridges, archivers, queues] = await Promise.all([
    items("/schedulers?since=" + since), items("/executors?since=" + since), items("/bridges?since=" + since),
    items("/archivers?since=" + since), items("/queues")]);
  state.executors = new Map(executors.map((e) => [e.id, e]));
  const hosts = [...new Set(executors.filter((e) => e.status < 7).map((e) => e.host))];
  return [
    timeframes("/", params),
    el("div", { class: "grid" },
      card("Schedulers", table([
        { title: "Id", cell: (r) => link("#/daemon/" + r.id, r.id) },
        { title: "Host", cell: (r) => r.host },
        { title: "Status", cell: (r) => status(r, r.status < 7 && !r.alive) },
        { title: "Heartbeat", cell: (r) => when(r.heartbeat) },
        { title: "Schedules", num: true, cell: (r) => r.claimed },
        { title: "", cell: (r) => r.status < 7 ? daemonControls(r) : null },
      ], schedulers, "No scheduler in this timeframe.")),
      card("Executors", table([
        { title: "Id", cell: (r) => link("#/daemon/" + r.id, r.id) },
        { title: "Host", cell: (r) => r.host },
        { title: "Queue", cell: (r) => r.queue },
        { title: "Status", cell: (r) => status(r, r.status < 7 && !r.alive) },
        { title: "Slots busy", num: true, cell: (r) => r.running },
        { title: "Slots free", num: true, cell: (r) => Math.max(0, (r.concurrency || 0) - (r.running || 0)) },
        { title: "Succeeded", num: true, cell: (r) => r.succeeded },
        { title: "Failed", num: true, cell: (r) => r.failed },
        { title: "Heartbeat", cell: (r) => when(r.heartbeat) },
        { title: "", cell: (r) => r.status < 7 ? daemonControls(r) : null },
      ], executors, "No executor in this timeframe.")),
      bridges.length ? card("SQS bridges", table([
        { title: "Id", cell: (r) => link("#/daemon/" + r.id, r.id) },
        { title: "Host", cell: (r) => r.host },
        { title: "Queue", cell: (r) => r.queue },
        { title: "Status", cell: (r) => status(r, r.status < 7 && !r.alive) },
        { title: "Held", num: true, cell: (r) => r.running },
        { title: "Heartbeat", cell: (r) => when(r.heartbeat) },
      ], bridges)) : null,
      archivers.length ? card("Log-archivers", table([
        { title: "Id", cell: (r) => link("#/daemon/" + r.id, r.id) },
        { title: "Host", cell: (r) => r.host },
        { title: "Status", cell: (r) => status(r, r.status < 7 && !r.alive) },
        { title: "Owed to S3", num: true, cell: (r) => r.running },
        { title: "Heartbeat", cell: (r) => when(r.heartbeat) },
      ], archivers)) : null,
      card("Queues", table([
        { title: "Name", cell: (r) => link("#/instances?queue=" + encodeURIComponent(r.name), r.name) },
        { title: "Kind", cell: (r) => r.kind },
        { title: "Waiting", num: true, cell: (r) => r.waiting },
        { title: "Oldest waiting", num: true, cell: (r) => age(r.oldest_us) },
        { title: "Executors", num: true, cell: (r) => r.executors },
      ], queues, "No queue yet.")),
      hosts.length && can("operator") ? card("Hosts", table([
        { title: "Host", cell: (h) => h },
        { title: "", cell: (h) => control("Stop every daemon", "operator",
            () => api("POST", "/control", { request: "stop", host: h }),
            "Stop every daemon on " + h + "? Their running instances finish first.", h) },
      ], hosts)) : null),
  ];
}

function daemonControls(d) {
  const kind = d.kind, id = d.id;
  const ask = (request) => () => api("POST", "/control", { request, daemon: id });
  return el("span", {},
    d.status === 3 ? control("Resume", "operator", ask("resume"), "Resume " + kind + " " + id + "?")
                   : control("Pause", "operator", ask("pause"), "Pause " + kind + " " + id + "?"),
    control("Stop", "operator", ask("stop"), "Stop " + kind + " " + id + " on " + d.host + "?", String(id)),
    control("Kill", "operator", ask("kill"), "Kill " + kind + " " + id + " and what it runs?", String(id)));
}

function timeframes(path, params) {
  const current = params.get("since") || (path === "/" ? "10m" : "1h");
  return el("div", { class: "filters", id: "timeframes" }, el("span", { class: "muted" }, "Timeframe:"),
    TIMEFRAMES.map((t) => el("a", {
      href: "#" + path + "?" + new URLSearchParams({ ...Object.fromEntries(params), since: t }),
      class: t === current ? "active" : null, "data-since": t }, t)));
}

async function viewInstances(params) {
  const since = params.get("since") || "1h";
  const group = params.get("group") || "all";
  const queue = params.get("queue") || "", task = params.get("task") || "", host = params.get("host") || "";
  const from = params.get("from") || "", to = params.get("to") || "";
  // The server filters (status group, queue, task, host, until); the page
  // only the lower bound of the time, within the timeframe
  const query = { since, limit: "1000", queue, task, host, before: params.get("before") || "" };
  if (group !== "all") query.status = group;
  if (to) query.until = new Date(to).toISOString();
  const [page, executors] = await Promise.all([
    api("GET", "/instances?" + new URLSearchParams(Object.entries(query).filter(([, v]) => v))),
    items("/executors?since=all")]);
  const rows = page.items;
  state.executors = new Map(executors.map((e) => [e.id, e]));
  const shown = rows.filter((r) => !from || (r.enqueued || "") >= new Date(from).toISOString());
  const set = (key) => (event) => go("/instances", { ...Object.fromEntries(params), [key]: event.target.value });
  return [
    timeframes("/instances", params),
    el("div", { class: "filters" }, el("span", { class: "muted" }, "Status:"),
      GROUPS.map((g) => el("a", {
        href: "#/instances?" + new URLSearchParams({ ...Object.fromEntries(params), group: g }),
        class: g === group ? "active" : null, "data-group": g }, g))),
    el("div", { class: "filters" },
      el("label", {}, "Queue ", el("input", { value: queue, name: "queue", onchange: set("queue") })),
      el("label", {}, "Task ", el("input", { value: task, name: "task", onchange: set("task") })),
      el("label", {}, "Host ", el("input", { value: host, name: "host", onchange: set("host") })),
      el("label", {}, "From ", el("input", { value: from, name: "from", type: "datetime-local", onchange: set("from") })),
      el("label", {}, "To ", el("input", { value: to, name: "to", type: "datetime-local", onchange: set("to") }))),
    card("Instances (" + shown.length + (page.next ? ", newest first: more after them" : "") + ")",
         instanceTable(shown), older("/instances", params, page.next)),
  ];
}

// A paged list's next page: the same view, before the last id shown
function older(path, params, next) {
  if (!next) return null;
  return el("p", {}, link("#" + path + "?" + new URLSearchParams({ ...Object.fromEntries(params), before: next }),
                          "Older →"));
}

function lost(r) {
  const e = state.executors.get(r.executor_id);
  return r.status === 2 && e && (!e.alive || e.status >= 7);
}

function instanceTable(rows) {
  return table([
    { title: "Id", cell: (r) => link("#/instance/" + r.id, r.id) },
    { title: "Task", cell: (r) => link("#/task/" + encodeURIComponent(r.task), r.task) },
    { title: "Queue", cell: (r) => r.queue },
    { title: "Status", cell: (r) => status(r, lost(r)) },
    { title: "Host", cell: (r) => r.host || "-" },
    { title: "Enqueued", cell: (r) => when(r.enqueued) },
    { title: "Started", cell: (r) => when(r.started) },
    { title: "Ended", cell: (r) => when(r.ended) },
    { title: "Exit", num: true, cell: (r) => r.exit_code === null ? "-" : r.exit_code },
    { title: "", cell: (r) => instanceControls(r) },
  ], rows, "No instance matches.");
}

function instanceControls(r) {
  return el("span", {},
    r.status < 7 ? control("Kill", "operator", () => api("POST", "/instances/" + r.id + "/kill", {}),
                           "Kill instance " + r.id + " (" + r.task + ")?") : null,
    r.status >= 13 ? control("Handle", "operator", () => api("POST", "/instances/" + r.id + "/handle", {}),
                             "Mark instance " + r.id + " handled?") : null,
    r.status >= 7 ? control("Rerun", "operator", () => api("POST", "/instances/" + r.id + "/rerun", {}),
                            "Run " + r.task + " again on " + r.queue + "?") : null);
}

function props(object, zone) {
  return el("dl", { class: "props" }, Object.entries(object).flatMap(([key, value]) => [
    el("dt", {}, key),
    el("dd", { "data-key": key }, typeof value === "string" && /^\d{4}-\d\d-\d\dT.*Z$/.test(value) ? when(value, zone)
      : value === null ? "-" : typeof value === "object" ? JSON.stringify(value) : String(value)),
  ]));
}

async function viewInstance(id) {
  const [r, executors] = await Promise.all([api("GET", "/instances/" + id), items("/executors?since=all")]);
  state.executors = new Map(executors.map((e) => [e.id, e]));
  return [card("Instance " + r.id + " — " + r.task, el("p", {}, status(r, lost(r))), props(r), instanceControls(r)),
          card("Log", can("logs:read") ? logViewer(r.id).node
                                       : el("p", { class: "muted" }, "Reading logs needs the logs:read role."))];
}

// ---------------------------------------------------------------------------
// The log viewer: opens at the tail, follows new output while the instance
// runs, never moves the scroll while the user reads above the end, and
// holds at most LOG_CAP bytes of a huge log (earlier bytes on request).
// It outlives the view's refreshes: the same instance keeps its viewer.

const LOG_CAP = 4 * 1024 * 1024, LOG_TAIL = 64 * 1024, LOG_STEP = 256 * 1024;

async function logBytes(id, query) {
  const response = await fetch("/api/v1/instances/" + id + "/log?" + new URLSearchParams(query),
                               { credentials: "same-origin" });
  if (!response.ok) {
    const text = await response.text();
    throw new ApiError(response.status, text ? JSON.parse(text) : null);
  }
  return {
    bytes: new Uint8Array(await response.arrayBuffer()),
    offset: Number(response.headers.get("X-Norc-Log-Offset")),
    size: Number(response.headers.get("X-Norc-Log-Size")),
    complete: response.headers.get("X-Norc-Log-Complete") === "true",
  };
}

class LogViewer {
  constructor(id) {
    this.id = id;
    this.start = 0;             // the offset of the first byte held
    this.end = 0;               // the offset past the last byte held
    this.size = 0;
    this.complete = false;
    this.stopped = false;
    this.segments = [];         // { node, length }, in order
    this.decoder = new TextDecoder();
    this.pre = el("pre", { class: "log", "data-log": id, tabindex: 0 });
    this.info = el("span", { class: "muted", "data-log-info": "" });
    this.earlier = el("button", { type: "button", "data-earlier": "", hidden: true, onclick: () => this.loadEarlier() }, "Earlier output");
    this.node = el("div", {}, el("div", { class: "filters" }, this.earlier, this.info), this.pre);
    this.run();
  }

  atBottom() {
    return this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 4;
  }

  say() {
    const held = this.end - this.start;
    this.info.textContent = (this.start ? "bytes " + this.start + "–" + this.end + " of " : "") + this.size + " bytes"
      + (this.complete ? ", complete" : ", following") + (held >= LOG_CAP ? " (the last " + (LOG_CAP >> 20) + " MiB held)" : "");
    this.earlier.hidden = this.start === 0;
  }

  // New bytes at the end: the scroll follows only a reader at the end
  append(chunk) {
    const follow = this.atBottom();
    const text = this.decoder.decode(chunk.bytes, { stream: !chunk.complete });
    if (text) {
      const node = document.createTextNode(text);
      this.pre.append(node);
      this.segments.push({ node, length: chunk.bytes.length });
    }
    this.end = chunk.offset + chunk.bytes.length;
    this.size = Math.max(chunk.size, this.end);
    this.complete = chunk.complete;
    // Over the cap: the oldest segments go, the reader's place kept
    while (this.end - this.start > LOG_CAP && this.segments.length > 1) {
      const before = this.pre.scrollHeight;
      const first = this.segments.shift();
      first.node.remove();
      this.start += first.length;
      if (!follow) this.pre.scrollTop -= before - this.pre.scrollHeight;
    }
    if (follow) this.pre.scrollTop = this.pre.scrollHeight;
    this.say();
  }

  async loadEarlier() {
    const from = Math.max(0, this.start - LOG_STEP);
    if (this.end - from > LOG_CAP) {
      this.info.textContent = "Holding the last " + (LOG_CAP >> 20) + " MiB: norcctl logs --offset " + from
        + " --limit " + LOG_STEP + " " + this.id + " reads earlier bytes.";
      return;
    }
    try {
      const chunk = await logBytes(this.id, { offset: from, limit: this.start - from });
      const before = this.pre.scrollHeight;
      const node = document.createTextNode(new TextDecoder().decode(chunk.bytes));
      this.pre.prepend(node);
      this.segments.unshift({ node, length: chunk.bytes.length });
      this.start = from;
      this.pre.scrollTop += this.pre.scrollHeight - before;
      this.say();
    } catch (e) {
      this.info.textContent = e.message;
    }
  }

  async run() {
    try {
      const first = await logBytes(this.id, { tail: LOG_TAIL });
      this.start = first.offset;
      this.append(first);
      this.pre.scrollTop = this.pre.scrollHeight;
      while (!this.complete && !this.stopped) {
        try {
          this.append(await logBytes(this.id, { offset: this.end, limit: LOG_STEP, follow: true }));
        } catch (e) {
          if (e instanceof ApiError && [401, 403, 404].includes(e.status)) throw e;
          this.info.textContent = e.message + " (trying again)";
          await new Promise((resolve) => setTimeout(resolve, 2000));
        }
      }
    } catch (e) {
      this.info.textContent = e.message;
    }
  }

  stop() {
    this.stopped = true;
  }

  // Where the reader is, kept across a refresh of the view (a node moved
  // in the page loses its scroll)
  place() {
    return { top: this.pre.scrollTop, bottom: this.atBottom() };
  }

  restore(place) {
    this.pre.scrollTop = place.bottom ? this.pre.scrollHeight : place.top;
  }
}

function logViewer(id) {
  if (state.viewer && state.viewer.id === id && !state.viewer.stopped) return state.viewer;
  if (state.viewer) state.viewer.stop();
  state.viewer = new LogViewer(id);
  return state.viewer;
}

async function viewSchedules(params) {
  const page = await api("GET", "/schedules?" + new URLSearchParams(params.get("before") ? { before: params.get("before") } : {}));
  const rows = page.items;
  return [card("Schedules", table([
    { title: "Id", cell: (r) => link("#/schedule/" + r.id, r.id) },
    { title: "Task", cell: (r) => link("#/task/" + encodeURIComponent(r.task), r.task) },
    { title: "Queue", cell: (r) => r.queue },
    { title: "Timing", cell: (r) => r.timing },
    { title: "Zone", cell: (r) => r.tz },
    { title: "Next", cell: (r) => when(r.next, r.tz) },
    { title: "Last", cell: (r) => when(r.last, r.tz) },
    { title: "", cell: (r) => r.paused ? el("span", { class: "st st-warn" }, "PAUSED") : null },
    { title: "", cell: (r) => scheduleControls(r) },
  ], rows, "No schedule yet."), older("/schedules", params, page.next))];
}

function scheduleControls(r) {
  return r.paused
    ? control("Resume", "operator", () => api("POST", "/schedules/" + r.id + "/resume", {}), "Resume schedule " + r.id + "?")
    : control("Pause", "operator", () => api("POST", "/schedules/" + r.id + "/pause", {}), "Pause schedule " + r.id + "?");
}

async function viewSchedule(id) {
  const [s, ticks] = await Promise.all([api("GET", "/schedules/" + id), items("/schedules/" + id + "/ticks?limit=100")]);
  const out = [card("Schedule " + s.id + " — " + s.task, props(s, s.tz), scheduleControls(s))];
  if (s.timing && s.timing !== "period" && !/^\d+$/.test(s.timing)) {
    const next = await items("/cron/next?" + new URLSearchParams({ expr: s.timing, tz: s.tz || "UTC", n: "10" }));
    out.push(card("Next fire times (" + (s.tz || "UTC") + ")", table([
      { title: "In its zone", cell: (r) => r.local },
      { title: "UTC", cell: (r) => when(r.time) },
      { title: "", cell: (r) => r.dst_change ? el("span", { class: "dst" }, "offset changes (daylight saving)") : null },
    ], next)));
  }
  out.push(card("Tick ledger", table([
    { title: "Nominal", cell: (r) => when(r.nominal, s.tz) },
    { title: "Ticks", num: true, cell: (r) => r.ticks },
    { title: "Outcome", cell: (r) => r.outcome },
    { title: "Why", cell: (r) => r.reason },
    { title: "Instance", cell: (r) => r.instance_id ? link("#/instance/" + r.instance_id, r.instance_id) : "-" },
    { title: "Status", cell: (r) => r.status ? status(r) : "-" },
    { title: "Late (ms)", num: true, cell: (r) => r.lateness_ms === null ? "-" : r.lateness_ms },
  ], ticks, "No tick yet.")));
  return out;
}

async function viewTasks() {
  const rows = await items("/tasks");
  return [card("Tasks", table([
    { title: "Name", cell: (r) => link("#/task/" + encodeURIComponent(r.name), r.name) },
    { title: "Kind", cell: (r) => r.kind },
    { title: "Command", cell: (r) => r.command },
    { title: "Timeout (s)", num: true, cell: (r) => r.timeout_s },
    { title: "Retries", num: true, cell: (r) => r.retry_max },
    { title: "Last run", cell: (r) => r.last_instance
        ? [link("#/instance/" + r.last_instance, "#" + r.last_instance), " ", status({ status: r.last_status, status_name: r.last_status_name })]
        : "-" },
    { title: "Instances", cell: (r) => link("#/instances?since=all&task=" + encodeURIComponent(r.name), "all") },
  ], rows, "No task yet."))];
}

async function viewTask(name) {
  const t = await api("GET", "/tasks/" + encodeURIComponent(name));
  return [card("Task " + t.name, props(t),
    control("Run now", "operator", async () => {
      const queue = prompt("Run " + t.name + " on which queue?");
      if (queue) await api("POST", "/runs", { task: t.name, queue });
    }, "Run " + t.name + " now?"))];
}

async function viewDaemon(id) {
  const d = await api("GET", "/daemons/" + id);
  return [card(d.kind + " " + d.id, props(d), d.status < 7 ? daemonControls(d) : null)];
}

async function viewAudit() {
  const rows = await items("/audit?limit=200");
  return [card("Audit", table([
    { title: "Id", cell: (r) => r.id },
    { title: "When", cell: (r) => when(r.at) },
    { title: "Who", cell: (r) => r.principal },
    { title: "What", cell: (r) => r.verb },
    { title: "Target", cell: (r) => r.target },
    { title: "Outcome", cell: (r) => el("span", { class: "st " + (r.outcome === "accepted" ? "st-ok" : "st-bad") }, r.outcome) },
    { title: "Why", cell: (r) => r.reason },
  ], rows, "Nothing audited yet."))];
}

const VIEWS = {
  "": { nav: "status", run: (r) => viewStatus(r.params) },
  instances: { nav: "instances", run: (r) => viewInstances(r.params) },
  instance: { nav: "instances", run: (r) => viewInstance(r.parts[1]) },
  schedules: { nav: "schedules", run: (r) => viewSchedules(r.params) },
  schedule: { nav: "schedules", run: (r) => viewSchedule(r.parts[1]) },
  tasks: { nav: "tasks", run: () => viewTasks() },
  task: { nav: "tasks", run: (r) => viewTask(decodeURIComponent(r.parts[1])) },
  daemon: { nav: "status", run: (r) => viewDaemon(r.parts[1]) },
  audit: { nav: "audit", run: () => viewAudit() },
};

let rendering = null, again = false;

async function refresh() {
  if (!state.me) return;
  if (rendering) { again = true; return; }
  const r = route();
  const view = VIEWS[r.parts[0] || ""] || VIEWS[""];
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.view === view.nav));
  // A log viewer lives while its instance is shown
  if (state.viewer && !(r.parts[0] === "instance" && r.parts[1] === String(state.viewer.id))) {
    state.viewer.stop();
    state.viewer = null;
  }
  rendering = (async () => {
    try {
      const content = await view.run(r);
      const place = state.viewer ? state.viewer.place() : null;
      document.getElementById("view").replaceChildren(...content.filter(Boolean));
      if (place) state.viewer.restore(place);
      await banner();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return showLogin();
      document.getElementById("view").replaceChildren(el("p", { class: "error" }, e.message));
    }
  })();
  await rendering;
  rendering = null;
  if (again) { again = false; refresh(); }
}

// The banner: no live scheduler means no schedule fires
async function banner() {
  const schedulers = await items("/schedulers?since=10m");
  const b = document.getElementById("banner");
  const alive = schedulers.some((s) => s.alive && s.status < 7);
  b.hidden = alive;
  b.textContent = alive ? "" : "No scheduler is alive: no schedule fires until one runs.";
}

// ---------------------------------------------------------------------------
// Live: the event stream refreshes the view (debounced), no polling

let pending = null;

function follow() {
  if (state.stream) state.stream.close();
  const stream = new EventSource("/api/v1/events?topic=instance.,executor.,scheduler.,schedule.,tick.");
  state.stream = stream;
  const live = document.getElementById("live");
  stream.onopen = () => live.classList.add("on");
  stream.onerror = () => live.classList.remove("on");
  for (const topic of TOPICS)
    stream.addEventListener(topic, () => {
      if (pending) return;
      pending = setTimeout(() => { pending = null; refresh(); }, 150);
    });
}

// ---------------------------------------------------------------------------
// Session

function showLogin() {
  state.me = null;
  if (state.stream) state.stream.close();
  document.getElementById("nav").hidden = true;
  document.getElementById("who").hidden = true;
  document.getElementById("view").replaceChildren();
  document.getElementById("login").hidden = false;
}

function signedIn(session) {
  state.me = session.name;
  state.csrf = session.csrf || null;
  state.roles = new Set((session.roles || "").split(",").filter(Boolean));
  document.getElementById("login").hidden = true;
  document.getElementById("nav").hidden = false;
  document.getElementById("who").hidden = false;
  document.getElementById("me").textContent = session.name + " (" + (session.roles || "no role") + ")";
  document.querySelectorAll("#nav [data-role]").forEach((a) => { a.hidden = !can(a.dataset.role); });
  follow();
  refresh();
}

async function start() {
  state.zone = localStorage.getItem("norc.zone") || "utc";
  const zone = document.getElementById("zone");
  zone.value = state.zone;
  zone.addEventListener("change", () => { state.zone = zone.value; localStorage.setItem("norc.zone", zone.value); refresh(); });
  document.getElementById("login").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      signedIn(await api("POST", "/session", { name: form.get("name"), password: form.get("password") }));
      document.getElementById("login-error").textContent = "";
    } catch (e) {
      document.getElementById("login-error").textContent = e.message;
    }
  });
  document.getElementById("logout").addEventListener("click", async () => {
    await api("DELETE", "/session");
    showLogin();
  });
  window.addEventListener("hashchange", refresh);
  const session = await api("GET", "/session");
  if (session.name) signedIn(session);
  else showLogin();
}

start();
