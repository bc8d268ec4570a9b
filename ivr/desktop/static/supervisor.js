// The supervisor's page: the agents of their groups (state, pause reason, time in state), callers
// waiting per queue, force pause/logout, and listen/whisper/barge (ChanSpy, audited by the server).
import { announce, api, el, errorText, events, listOf, pauseReasons, signOut, whoami } from "/desk/static/api.js";
import { duration, known, mountSwitch, pick, stateName, t, toDate } from "/desk/static/i18n.js";

const $ = (id) => document.getElementById(id);
const SPY = ["listen", "whisper", "barge"];

let me = null;
let reasons = [];
const agents = new Map();  // id -> {data, row}

function fail(err) { $("error").textContent = t("error.generic", { message: errorText(err) }); }

function reasonLabel(code) {
  const found = pauseReasons(reasons, (c) => known("reason", c)).find((r) => r.code === code);
  return found ? pick(found.label) : code;
}

function idOf(data) { return data.agent || data.id; }

function nameOf(data) { return data.name || idOf(data); }

// Rows are made once and then changed in place, so a keyboard user's focus on a button survives updates.
function makeRow(id) {
  const row = el("tr", { "data-agent": id },
    el("th", { scope: "row", "data-field": "name", tabindex: "-1" }),
    el("td", { "data-field": "groups" }),
    el("td", {}, el("span", { class: "state", "data-field": "state" })),
    el("td", { "data-field": "reason" }),
    el("td", { class: "num", "data-field": "time" }),
    el("td", {}, el("div", { class: "row" },
      el("button", { type: "button", "data-action": "pause" }),
      el("button", { type: "button", "data-action": "logout", class: "danger" }),
      ...SPY.map((mode) => el("button", { type: "button", "data-action": "spy", "data-mode": mode })))));
  row.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const action = button.dataset.action;
    if (action === "pause") force(id, "pause", { reason: $("force-reason").value }, t("sup.pause"));
    else if (action === "logout") force(id, "logout", undefined, t("sup.logout"));
    else if (action === "spy") spy(id, button.dataset.mode);
  });
  return row;
}

function cell(row, field) { return row.querySelector(`[data-field="${field}"]`); }

function drawRow(id) {
  const { data, row } = agents.get(id);
  const name = nameOf(data);
  const state = data.state || "unknown";
  cell(row, "name").textContent = name;
  cell(row, "groups").textContent = (data.groups || data.queues || []).join(", ");
  const badge = cell(row, "state");
  badge.dataset.state = state;
  badge.textContent = stateName(state);
  cell(row, "reason").textContent = state === "paused" && data.reason ? reasonLabel(data.reason) : "–";
  drawTime(id);
  const inQueues = !["logged_out", "unknown"].includes(state);
  const focused = row.contains(document.activeElement) ? document.activeElement : null;
  for (const button of row.querySelectorAll("button")) {
    const action = button.dataset.action;
    if (action === "pause") {
      button.textContent = t("sup.pause");
      button.setAttribute("aria-label", t("sup.pause.label", { name }));
      button.disabled = !inQueues || state === "paused";
    } else if (action === "logout") {
      button.textContent = t("sup.logout");
      button.setAttribute("aria-label", t("sup.logout.label", { name }));
      button.disabled = !inQueues;
    } else {
      const mode = t(`sup.${button.dataset.mode}`);
      button.textContent = mode;
      button.setAttribute("aria-label", t("sup.spy.label", { mode, name }));
      button.disabled = state !== "busy";
    }
  }
  // A button that just went grey under the keyboard user's focus: the focus stays in the row, on the
  // row's first button still usable, else on the agent's name.
  if (focused && focused.disabled) {
    const next = [...row.querySelectorAll("button")].find((b) => !b.disabled) || cell(row, "name");
    next.focus();
  }
}

function drawTime(id) {
  const { data, row } = agents.get(id);
  const since = toDate(data.since);
  cell(row, "time").textContent = since ? duration((Date.now() - since.getTime()) / 1000) : "–";
}

function setAgent(data) {
  const id = idOf(data);
  if (!id) return;
  const known = agents.get(id);
  if (known) {
    known.data = { ...known.data, ...data };
  } else {
    agents.set(id, { data, row: makeRow(id) });
    const rows = [...agents.entries()].sort(([, a], [, b]) => nameOf(a.data).localeCompare(nameOf(b.data)));
    $("agent-rows").replaceChildren(...rows.map(([, v]) => v.row));
  }
  drawRow(id);
  $("no-agents").hidden = agents.size > 0;
}

async function loadAgents() {
  const answer = await api("GET", "/supervisor/agents");
  for (const data of listOf(answer, "agents")) setAgent(data);
  $("no-agents").hidden = agents.size > 0;
  queues = { rows: Array.isArray(answer.queues) ? answer.queues : [], at: Date.now() / 1000 };
  drawQueues();
}

async function force(id, action, body, label) {
  $("error").textContent = "";
  try {
    await api("POST", `/supervisor/agents/${encodeURIComponent(id)}/${action}`, body);
    announce($("announce"), t("sup.done", { action: label, name: nameOf(agents.get(id).data) }));
  } catch (err) {
    fail(err);
  }
}

async function spy(id, mode) {
  $("error").textContent = "";
  const before = spyShown;
  try {
    await api("POST", `/supervisor/agents/${encodeURIComponent(id)}/spy`, { mode });
    // The server's own messages may overtake this answer (the phone can answer and join first): a newer
    // state is never overwritten by "ringing".
    if (spyShown === before) showSpy({ state: "ringing", agent: id, mode });
  } catch (err) {
    fail(err);
  }
}

// Waiting callers per queue: the `queues` of GET /supervisor/agents, asked again when a group changes.
let queues = { rows: [], at: 0 };

// Listening in: the server's `spy` messages (ringing, active, ended, failed) in words.
let spyShown = 0; // how many spy states the status line has shown
function showSpy(data) {
  if (!data || !data.state) return;
  spyShown += 1;
  const who = agents.get(data.agent);
  const text = t(`spy.${data.state}`, {
    mode: t(`sup.${data.mode}`), name: who ? nameOf(who.data) : data.agent || "", seconds: Math.round(data.seconds || 0),
  });
  $("spy-status").textContent = text;
}

function drawQueues() {
  const now = Date.now() / 1000;
  const rows = queues.rows.map((q) => el("tr", { "data-queue": q.queue },
    el("th", { scope: "row" }, q.group),
    el("td", {}, q.queue),
    el("td", { class: "num", "data-field": "waiting" }, q.waiting ?? 0),
    el("td", { class: "num", "data-field": "longest" },
      q.waiting ? duration((q.longest_wait_s || 0) + (now - queues.at)) : "–")));
  $("queue-rows").replaceChildren(...rows);
}

let reloading = null;
function reloadSoon() {
  if (!reloading) reloading = window.setTimeout(() => { reloading = null; loadAgents().catch(fail); }, 300);
}

function drawReasons() {
  const select = $("force-reason");
  const chosen = select.value;
  const list = pauseReasons(reasons, (c) => known("reason", c));
  select.replaceChildren(...list.map((r) => el("option", { value: r.code }, pick(r.label))));
  if (chosen) select.value = chosen;
}

let connected = true;
function drawConn() {
  $("conn").dataset.live = String(connected);
  $("conn").textContent = connected ? t("conn.live") : t("conn.lost");
}

function redraw() {
  document.title = `${t("sup.title")} – ${t("app.title")}`;
  $("who").textContent = me ? t("signed_in_as", { name: me.name }) : "";
  drawReasons();
  for (const id of agents.keys()) drawRow(id);
  drawQueues();
  drawConn();
}

async function main() {
  me = await whoami();
  mountSwitch($("lang"), redraw);
  $("signout").addEventListener("click", () => signOut());
  events({
    state: (data) => setAgent(data),
    group: () => reloadSoon(),
    spy: (data) => showSpy(data),
  }, (up) => {
    if (up && !connected) loadAgents().catch(fail);
    connected = up;
    drawConn();
  });
  redraw();
  try {
    reasons = await api("GET", "/pause-reasons");
    drawReasons();
    await loadAgents();
  } catch (err) {
    fail(err);
  }
  document.body.dataset.ready = "true";
  window.setInterval(() => {
    for (const id of agents.keys()) drawTime(id);
    drawQueues();
  }, 1000);
  window.setInterval(() => loadAgents().catch(fail), 10000);
}

main().catch(fail);
