// Live wallboard: renders /api/state, then every state pushed on /events (Server-Sent Events).
"use strict";

let received = { at: Date.now(), state: null };

function mmss(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function pct(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

function figure(label, value, cls) {
  return el("div", { class: `figure ${cls}` }, el("div", { class: "value" }, value), el("div", { class: "label" }, label));
}

function renderQueue(q, elapsed) {
  const longest = q.waiting ? q.longest_wait_s + elapsed : 0;
  const level = longest > 120 ? "critical" : longest > 60 ? "busy" : "";
  const card = el("section", { class: `queue ${level}`, "data-queue": q.queue });
  card.append(el("h2", {}, q.queue));
  card.append(el("div", { class: "figures" },
    figure("waiting", String(q.waiting), "waiting-count"),
    figure("longest wait", mmss(longest), "longest"),
    figure("service level today", pct(q.today.service_level), "sl")));
  const agents = el("div", { class: "agents" });
  for (const m of q.members || []) agents.append(el("span", { class: `agent ${m.state}`, title: m.state }, m.agent));
  if (!(q.members || []).length) agents.append(el("span", { class: "empty" }, "no agents"));
  card.append(agents);
  const counts = Object.entries(q.agents || {}).filter(([, n]) => n > 0).map(([state, n]) => `${n} ${state}`);
  card.append(el("div", { class: "counts" }, counts.length ? counts.join(" · ") : ""));
  const list = el("ul", { class: "waiting" });
  for (const c of q.callers || []) {
    list.append(el("li", { "data-uniqueid": c.uniqueid },
      el("span", { class: "pos" }, `#${c.position}`), el("span", { class: "wait" }, mmss(c.wait_s + elapsed))));
  }
  card.append(list);
  const t = q.today;
  card.append(el("div", { class: "empty" }, `today: ${t.answered} answered, ${t.abandoned} abandoned, `
    + `${t.callback_requests || 0} callback requests left`));
  if (q.requests_waiting) {
    card.append(el("div", { class: "requests", "data-requests-waiting": q.requests_waiting },
      `${q.requests_waiting} to call back at the opening`));
  }
  return card;
}

// The cluster's daemons: a node that is not up (down by its Last Will, stopped, or silent) stands out.
function renderNodes(nodes) {
  const strip = document.getElementById("nodes");
  strip.replaceChildren(...(nodes || []).map((n) => el("span", {
    class: `node ${n.state === "up" && n.healthy ? "up" : n.state === "up" ? "unhealthy" : "down"}`,
    "data-node": n.node, "data-state": n.state,
    title: `config ${n.config_version}, ${n.calls} calls, seen ${Math.round(n.last_seen_s)} s ago`,
  }, n.state === "up" ? `${n.node}${n.healthy ? "" : " (unhealthy)"}` : `${n.node} ${n.state.toUpperCase()}`)));
}

function render() {
  const state = received.state;
  if (!state) return;
  const elapsed = (Date.now() - received.at) / 1000;
  document.getElementById("site").textContent = state.site || "";
  document.getElementById("target").textContent = state.sl_target_s;
  document.getElementById("short").textContent = state.short_abandon_s;
  document.getElementById("updated").textContent = new Date(state.ts * 1000).toLocaleTimeString();
  renderNodes(state.nodes);
  const main = document.getElementById("queues");
  main.replaceChildren(...state.queues.map((q) => renderQueue(q, elapsed)));
  if (!state.queues.length) main.append(el("p", { class: "empty" }, "no queues yet"));
}

function accept(state) {
  received = { at: Date.now(), state };
  document.body.setAttribute("data-version", String(state.version));
  render();
}

function setStatus(text, cls) {
  const node = document.getElementById("status");
  node.textContent = text;
  node.className = `status ${cls}`;
}

let streaming = false;  // once the stream has spoken, it alone sets the state

function connect() {
  const source = new EventSource("/events");
  source.addEventListener("state", (event) => {
    streaming = true;
    accept(JSON.parse(event.data));
    setStatus("live", "live");
  });
  // EventSource reconnects by itself; show that the numbers may be stale meanwhile.
  source.onerror = () => setStatus("reconnecting…", "down");
}

// A quick first picture. On a busy machine its answer can come after the stream's newer states; it must
// not paint over them (the board would then show old numbers until the next change).
fetch("/api/state").then((r) => r.json()).then((state) => { if (!streaming) accept(state); })
  .catch(() => { if (!streaming) setStatus("no data", "down"); });
connect();
setInterval(render, 1000);  // wait times keep counting between updates
