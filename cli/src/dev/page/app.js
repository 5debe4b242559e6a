// tally dev's live page. Every value from an event reaches the page through textContent (never
// innerHTML): event properties are untrusted input.
"use strict";

const MAX_ROWS = 500;
const state = { items: [], counts: {}, open: new Set(), person: null };
const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function time(iso) {
  const date = new Date(iso);
  return isNaN(date) ? iso : date.toLocaleTimeString([], { hour12: false }) + "." + String(date.getMilliseconds()).padStart(3, "0");
}

// ---- filters -------------------------------------------------------------------------------

function filters() {
  return {
    event: $("filter-event").value.trim().toLowerCase(),
    id: $("filter-id").value.trim(),
    violations: $("filter-violations").checked,
  };
}

function matches(item, f) {
  if (item.kind === "rejected") {
    if (f.id) return false;
    return !f.event || (item.data.event || "").toLowerCase().includes(f.event);
  }
  const e = item.data;
  if (f.event && !e.event.toLowerCase().includes(f.event) && !(e.catalog_event || "").toLowerCase().includes(f.event)) return false;
  if (f.id && e.distinct_id !== f.id) return false;
  if (f.violations && e.violations.length === 0) return false;
  return true;
}

// ---- rendering -----------------------------------------------------------------------------

function badge(item) {
  if (item.kind === "rejected") return el("span", "badge bad", "rejected " + item.data.status);
  const n = item.data.violations.length;
  return n === 0 ? el("span", "badge ok", "ok") : el("span", "badge bad", n + (n === 1 ? " violation" : " violations"));
}

function propertiesTable(properties) {
  const table = el("table", "props");
  const keys = Object.keys(properties || {});
  if (keys.length === 0) {
    const row = table.insertRow();
    row.appendChild(el("td", "muted", "no properties"));
    return table;
  }
  for (const key of keys) {
    const row = table.insertRow();
    row.appendChild(el("th", key.startsWith("$") ? "posthog" : "", key));
    const value = properties[key];
    row.appendChild(el("td", typeof value === "string" ? "string" : "json", typeof value === "string" ? value : JSON.stringify(value)));
  }
  return table;
}

function violationList(violations) {
  const list = el("ul", "violations");
  for (const v of violations) {
    const item = el("li");
    item.appendChild(el("span", "kind", v.kind.replace(/_/g, " ")));
    item.appendChild(el("span", "message", v.message));
    list.appendChild(item);
  }
  return list;
}

function eventRow(item, options) {
  const key = item.kind + ":" + item.data.seq;
  const li = el("li", "row " + item.kind);
  if (item.kind === "event" && item.data.violations.length > 0) li.classList.add("has-violations");
  if (item.kind === "event" && item.data.event === "$identify") li.classList.add("identify");
  li.dataset.seq = item.data.seq;

  const head = el("div", "head");
  head.setAttribute("role", "button");
  head.tabIndex = 0;
  head.appendChild(el("time", "when", time(item.data.received_at)));
  if (item.kind === "rejected") {
    head.appendChild(el("span", "name", item.data.event || item.data.path));
    head.appendChild(el("span", "reason", item.data.reason));
  } else {
    const e = item.data;
    head.appendChild(el("span", "name", e.event));
    const who = el("button", "who", e.distinct_id);
    who.type = "button";
    who.title = "Show this person's timeline";
    who.addEventListener("click", (event) => { event.stopPropagation(); openPerson(e.distinct_id); });
    head.appendChild(who);
    if (e.event === "$identify" && e.properties && typeof e.properties.$anon_distinct_id === "string") {
      head.appendChild(el("span", "merge", "merges " + e.properties.$anon_distinct_id));
    }
  }
  head.appendChild(badge(item));
  li.appendChild(head);

  const toggle = () => {
    if (state.open.has(key)) state.open.delete(key); else state.open.add(key);
    li.replaceWith(eventRow(item, options));
  };
  head.addEventListener("click", toggle);
  head.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); toggle(); } });

  if (state.open.has(key) || (options && options.expanded)) {
    li.classList.add("open");
    const body = el("div", "body");
    if (item.kind === "rejected") {
      body.appendChild(el("p", "muted", "PostHog refuses this request (HTTP " + item.data.status + ") at " + item.data.path));
      if (item.data.body_excerpt) body.appendChild(el("pre", "excerpt", item.data.body_excerpt));
    } else {
      const e = item.data;
      if (e.violations.length > 0) body.appendChild(violationList(e.violations));
      const meta = el("p", "muted");
      meta.textContent = [e.catalog_event ? "catalog: " + e.catalog_event : "not in the catalog", "via " + e.path, e.uuid ? "uuid " + e.uuid : null, e.timestamp ? "sent " + e.timestamp : null].filter(Boolean).join(" · ");
      body.appendChild(meta);
      body.appendChild(propertiesTable(e.properties));
    }
    li.appendChild(body);
  }
  return li;
}

let scheduled = false;
function render() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    const f = filters();
    const list = $("events");
    const rows = [];
    let total = 0;
    for (const item of state.items) {
      if (!matches(item, f)) continue;
      total += 1;
      if (rows.length < MAX_ROWS) rows.push(eventRow(item));
    }
    list.replaceChildren(...rows);
    list.dataset.rows = rows.length; // for tests: `#events[data-rows='3']`
    $("empty").hidden = state.items.length > 0;
    const filtered = f.event || f.id || f.violations;
    $("shown").textContent = filtered || total > MAX_ROWS
      ? "showing " + Math.min(total, MAX_ROWS) + " of " + total + " matching (" + state.items.length + " kept)"
      : "";
  });
}

function renderCounts(counts) {
  state.counts = counts;
  $("count-events").textContent = counts.events;
  $("count-violations").textContent = counts.with_violations;
  $("count-rejected").textContent = counts.rejected;
  $("count-kept").textContent = counts.kept + " / " + counts.capacity;
  $("count-requests").textContent = counts.requests;
  $("count-violations").parentElement.classList.toggle("lit", counts.with_violations > 0);
  $("count-rejected").parentElement.classList.toggle("lit", counts.rejected > 0);
}

// ---- person view ---------------------------------------------------------------------------

async function openPerson(id) {
  state.person = id;
  await refreshPerson();
}

let personTimer = null;
function refreshPersonSoon() {
  if (state.person === null || personTimer !== null) return;
  personTimer = setTimeout(() => { personTimer = null; refreshPerson(); }, 200);
}

async function refreshPerson() {
  const id = state.person;
  if (id === null) return;
  const response = await fetch("/api/persons/" + encodeURIComponent(id));
  if (!response.ok || state.person !== id) return;
  const person = await response.json();
  $("person").hidden = false;
  $("person-id").textContent = person.distinct_id;
  const others = person.ids.filter((other) => other !== person.distinct_id);
  $("person-ids").textContent = others.length > 0
    ? "one person with " + others.join(", ") + " (merged by $identify)"
    : "no other id merged into this person yet";
  $("person-events").replaceChildren(...person.events.map((e) => eventRow({ kind: "event", data: e })));
  $("person-events").dataset.rows = person.events.length;
}

$("person-close").addEventListener("click", () => { state.person = null; $("person").hidden = true; });

// ---- live stream ---------------------------------------------------------------------------

function status(text, className) {
  $("status").textContent = text;
  $("status").className = "status " + className;
}

function connect() {
  const stream = new EventSource("/api/stream");
  stream.addEventListener("open", () => status("live", "live"));
  stream.addEventListener("error", () => status("reconnecting…", "down"));
  stream.addEventListener("snapshot", (message) => {
    const data = JSON.parse(message.data);
    const items = data.events.map((e) => ({ kind: "event", data: e }))
      .concat(data.rejected.map((r) => ({ kind: "rejected", data: r })));
    items.sort((a, b) => b.data.seq - a.data.seq);
    state.items = items;
    renderCounts(data.counts);
    render();
    refreshPersonSoon();
  });
  stream.addEventListener("event", (message) => {
    const data = JSON.parse(message.data);
    state.items.unshift({ kind: "event", data: data.event });
    trim();
    renderCounts(data.counts);
    render();
    refreshPersonSoon();
  });
  stream.addEventListener("rejected", (message) => {
    const data = JSON.parse(message.data);
    state.items.unshift({ kind: "rejected", data: data.rejected });
    trim();
    renderCounts(data.counts);
    render();
  });
  stream.addEventListener("reset", (message) => {
    state.items = [];
    state.open.clear();
    renderCounts(JSON.parse(message.data).counts);
    render();
    refreshPersonSoon();
  });
}

// The server keeps `capacity` events and as many refusals; the page keeps no more.
function trim() {
  const limit = 2 * (state.counts.capacity || 10000);
  if (state.items.length > limit) state.items.length = limit;
}

for (const id of ["filter-event", "filter-id", "filter-violations"]) $(id).addEventListener("input", render);
$("reset").addEventListener("click", () => fetch("/api/reset", { method: "POST" }));
$("host-hint").textContent = "POSTHOG_HOST=" + location.origin;
connect();
