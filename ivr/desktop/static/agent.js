// The agent's page: own state (log in with a device, pause with a reason, unpause, log out), the screen
// pop, wrap-up, the browser phone's buttons, and the live picture of the agent's groups.
import { announce, api, el, errorText, events, listOf, pauseReasons, signOut, whoami } from "/desk/static/api.js";
import { duration, known, mountSwitch, pick, stateName, t, toDate } from "/desk/static/i18n.js";

const $ = (id) => document.getElementById(id);
const STATE_BUTTONS = ["login", "pause", "unpause", "logout"];

let me = null;
let agent = null;        // GET /agent/state
let call = null;         // the screen pop
let reasons = [];        // GET /pause-reasons as it came
const live = new Map();  // group -> {data, at}
let targets = { groups: [], officials: [] };
let softphone = null;    // H4's module, once started
let phone = "off";       // off | ready | incoming | in_call | error

function fail(err) { $("error").textContent = t("error.generic", { message: errorText(err) }); }

function clearError() { $("error").textContent = ""; }

// ---- state -----------------------------------------------------------------------------------------
function reasonLabel(code) {
  const found = pauseReasons(reasons, (c) => known("reason", c)).find((r) => r.code === code);
  return found ? pick(found.label) : (code || "–");
}

function loggedIn() { return Boolean(agent && agent.state && !["logged_out", "unknown"].includes(agent.state)); }

function drawState() {
  const state = agent ? agent.state || "unknown" : "unknown";
  const badge = $("state");
  badge.dataset.state = state;
  badge.textContent = stateName(state);
  $("reason").textContent = state === "paused" ? reasonLabel(agent.reason) : "–";
  const since = agent && toDate(agent.since);
  $("since").textContent = since ? since.toLocaleTimeString(document.documentElement.lang) : "–";
  $("device").textContent = agent && agent.device && loggedIn() ? t(`device.${agent.device}`) : "–";
  $("queues").textContent = agent && agent.queues && agent.queues.length ? agent.queues.join(", ") : "–";
  const focused = document.activeElement;
  const inQueues = loggedIn();
  $("login").disabled = inQueues;
  $("pause").disabled = !inQueues || state === "paused";
  $("unpause").disabled = state !== "paused";
  $("logout").disabled = !inQueues;
  for (const input of document.querySelectorAll('input[name="device"]')) {
    input.disabled = inQueues;
    if (agent && agent.device && inQueues) input.checked = input.value === agent.device;
  }
  $("pause-reason").disabled = !inQueues || state === "paused";
  // A button that just went grey must not leave keyboard users nowhere: on to the next sensible one.
  if (focused && focused.disabled && (STATE_BUTTONS.includes(focused.id) || focused.name === "device")) {
    const next = !inQueues ? $("login") : state === "paused" ? $("unpause") : $("pause-reason");
    next.focus();
  }
}

function setState(data) {
  const before = agent && agent.state;
  agent = data;
  drawState();
  if (data.state !== before) announce($("announce"), t("agent.announce.state", { state: stateName(data.state) }));
  if (data.device === "browser" && loggedIn()) startPhone();
}

// Each live `state` event counts: an answer to a request sent before the latest event is older than
// what the page shows, and must not paint over it (on a busy machine answers can come late).
let stateEvents = 0;

async function refreshState() {
  const seen = stateEvents;
  const data = await api("GET", "/agent/state");
  if (seen === stateEvents) setState(data);
}

let popEvents = 0;

async function refreshCall() {
  const seen = popEvents;
  const data = await api("GET", "/agent/call");
  if (seen === popEvents) setCall(data);
}

// The page follows Asterisk (SSE `state` from the AMI bridge), not the answer to its own request; if no
// event has come after a while (a lost link), it asks once.
async function act(path, body) {
  clearError();
  const seen = agent;
  try {
    await api("POST", path, body);
  } catch (err) {
    fail(err);
    return;
  }
  window.setTimeout(() => { if (agent === seen) refreshState().catch(fail); }, 3000);
}

function drawReasons() {
  const select = $("pause-reason");
  const chosen = select.value;
  const list = pauseReasons(reasons, (c) => known("reason", c));
  select.replaceChildren(...list.map((r) => el("option", { value: r.code }, pick(r.label))));
  if (chosen) select.value = chosen;
}

// ---- screen pop ------------------------------------------------------------------------------------
function language(code) {
  const key = `lang.${code}`;
  const text = t(key);
  return text === key ? String(code || "–") : text;
}

function fact(field, label, value) {
  return [el("dt", { "data-label": field }, label), el("dd", { "data-field": field }, value)];
}

function drawPop() {
  const pop = $("pop");
  const section = $("call");
  if (!call) {
    pop.hidden = true;
    pop.replaceChildren();
    $("no-call").hidden = false;
    $("wrapup").hidden = true;
    section.classList.remove("ringing");
    section.removeAttribute("data-uniqueid");
    $("transfer-submit").disabled = true;
    drawTargets();
    return;
  }
  $("no-call").hidden = true;
  section.dataset.uniqueid = call.uniqueid;
  section.classList.toggle("ringing", call.state === "ringing");
  const facts = el("dl", { class: "facts" });
  const path = el("ol", { class: "path" }, ...(call.path || []).map((node) => el("li", {}, node)));
  facts.append(
    ...fact("state", t("call.status"), t(`call.state.${call.state}`)),
    ...(call.kind === "callback" ? fact("kind", t("call.kind"), t("call.kind.callback")) : []),
    ...fact("group", t("call.group"), call.group_name || call.group || "–"),
    ...fact("queue", t("call.queue"), call.queue || "–"),
    ...fact("department", t("call.department"), call.department_name || call.department || "–"),
    ...fact("language", t("call.language"), language(call.language)),
    ...fact("waited", t("call.waited"), call.waited_s == null ? "–" : duration(call.waited_s)),
    ...fact("repeat", t("call.repeat"), call.repeat_caller ? t("call.repeat.yes") : t("call.repeat.no")),
  );
  facts.append(el("dt", { "data-label": "path" }, t("call.path")), el("dd", { "data-field": "path" }, path));
  for (const [key, value] of Object.entries(call.tags || {})) {
    if (key === "department" && value === call.department && call.department_name) continue; // shown above
    const label = t(`tag.${key}`);
    facts.append(...fact(`tag-${key}`, label === `tag.${key}` ? key : label, value));
  }
  for (const [key, value] of Object.entries(call.digits || {})) {
    const label = t(`digit.${key}`);
    facts.append(...fact(`digit-${key}`, label === `digit.${key}` ? key : label, value));
  }
  const parts = [facts];
  const back = call.returning;
  if (back) {
    const known = el("dl", { class: "facts" });
    if (back.department_name || back.department) {
      known.append(...fact("returning-department", t("call.returning.department"), back.department_name || back.department));
    }
    if (back.attempted_at) {
      const when = toDate(back.attempted_at);
      const text = when ? when.toLocaleString(document.documentElement.lang, { dateStyle: "short", timeStyle: "short" })
        : String(back.attempted_at);
      known.append(...fact("returning-attempted_at", t("call.returning.when"), text));
    }
    if (back.official) known.append(...fact("returning-official", t("call.returning.official"), back.official));
    if (back.purpose) known.append(...fact("returning-purpose", t("call.returning.purpose"), back.purpose));
    parts.push(el("div", { class: "returning", id: "returning" },
      el("h3", { class: "flag" }, t("call.returning")), known));
  }
  pop.replaceChildren(...parts);
  pop.hidden = false;
  drawWrapup();
  drawTargets();
  $("transfer-submit").disabled = call.state !== "answered";
}

function drawWrapup() {
  const form = $("wrapup");
  const wrap = call && call.wrapup;
  const codes = wrap && Array.isArray(wrap.codes) ? wrap.codes : [];
  if (!call || !codes.length || call.state === "ringing" || wrap.submitted) {
    form.hidden = true;
    return;
  }
  const select = $("wrapup-code");
  const chosen = select.value;
  const options = codes.map((c) => el("option", { value: c.code }, pick(c.labels || c.label) || c.code));
  if (!wrap.required) options.unshift(el("option", { value: "" }, `– ${t("wrapup.choose")} –`));
  select.replaceChildren(...options);
  if (chosen) select.value = chosen;
  select.required = Boolean(wrap.required);
  $("wrapup-rule").textContent = wrap.required ? t("wrapup.required") : t("wrapup.optional");
  form.hidden = false;
}

function setCall(data) {
  if (!data || !call || data.uniqueid !== call.uniqueid) $("transfer-status").textContent = "";
  const fresh = data && (!call || call.uniqueid !== data.uniqueid);
  const before = call && data && call.uniqueid === data.uniqueid ? call.state : null;
  call = data && data.uniqueid ? data : null;
  drawPop();
  if (fresh && call) {
    let text = t("call.announce", { group: call.group_name || call.group, language: language(call.language) });
    const digits = Object.values(call.digits || {});
    if (digits.length) text += t("call.announce.case", { digits: digits.join(" ") });
    announce($("announce-call"), text);
  } else if (call && before && before !== call.state) {
    let text = `${t("call.status")}: ${t(`call.state.${call.state}`)}`;
    if (["ended", "wrapup"].includes(call.state) && call.wrapup && call.wrapup.required && !call.wrapup.submitted) {
      text += `. ${t("wrapup.required")}`;
    }
    announce($("announce"), text);
  }
}

async function submitWrapup(event) {
  event.preventDefault();
  if (!call) return;
  const code = $("wrapup-code").value;
  if (!code) return;
  clearError();
  try {
    await api("POST", `/agent/calls/${encodeURIComponent(call.uniqueid)}/wrapup`, { code });
  } catch (err) {
    fail(err);
    return;
  }
  const label = $("wrapup-code").selectedOptions[0]?.textContent || code;
  announce($("announce"), t("wrapup.saved", { label }));
  $("call").dataset.wrapup = code;
  call = null;
  drawPop();
  $("call-heading").setAttribute("tabindex", "-1");
  $("call-heading").focus();
}

// ---- transfer --------------------------------------------------------------------------------------
function drawTargets() {
  const kind = document.querySelector('input[name="kind"]:checked').value;
  $("transfer-group-field").hidden = kind !== "group";
  $("transfer-official-field").hidden = kind !== "official";
  const select = $("transfer-group");
  const chosen = select.value;
  // Another group's queue: never the group the call came through.
  const others = targets.groups.filter((g) => !call || g.id !== call.group);
  select.replaceChildren(...others.map((g) => el("option", { value: g.id }, pick(g.name) || g.id)));
  if (chosen && others.some((g) => g.id === chosen)) select.value = chosen;
  $("officials").replaceChildren(...targets.officials.map((o) =>
    el("option", { value: o.id }, [pick(o.name), pick(o.department_name)].filter(Boolean).join(", "))));
}

async function loadTargets() {
  try {
    const answer = await api("GET", "/transfer-targets");
    targets = { groups: listOf(answer.groups || [], "groups"), officials: listOf(answer.officials || [], "officials") };
  } catch {
    targets = { groups: (me.groups || []).map((id) => ({ id, name: id })), officials: [] };
  }
  drawTargets();
}

async function submitTransfer(event) {
  event.preventDefault();
  if (!call) return;
  const kind = document.querySelector('input[name="kind"]:checked').value;
  const target = kind === "group" ? $("transfer-group").value : $("transfer-official").value.trim();
  if (!target) return;
  clearError();
  try {
    await api("POST", `/agent/calls/${encodeURIComponent(call.uniqueid)}/transfer`, { [kind]: target });
    $("transfer-status").textContent = t("transfer.done");
    announce($("announce"), t("transfer.done"));
  } catch (err) {
    fail(err);
  }
}

// ---- the group's live picture ----------------------------------------------------------------------
function drawLive() {
  const now = Date.now() / 1000;
  const rows = [...live.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([group, { data, at }]) => {
    const longest = data.waiting ? (data.longest_wait_s || 0) + (now - at) : 0;
    return el("tr", { "data-group": group },
      el("th", { scope: "row" }, pick(data.name || data.group_name) || group),
      el("td", { class: "num", "data-field": "waiting" }, data.waiting ?? 0),
      el("td", { class: "num", "data-field": "longest" }, data.waiting ? duration(longest) : "–"),
      el("td", { class: "num", "data-field": "callbacks" }, data.callbacks_pending ?? 0));
  });
  $("live-rows").replaceChildren(...rows);
}

function setLive(data) {
  if (!data || !data.group) return;
  live.set(data.group, { data, at: Date.now() / 1000 });
  drawLive();
}

// ---- the browser phone (H4's softphone.js) ---------------------------------------------------------
function drawPhone() {
  const keys = { off: "phone.off", ready: "phone.ready", incoming: "phone.incoming", in_call: "phone.in_call" };
  if (phone !== "error") $("phone-status").textContent = t(keys[phone]);
  $("answer").disabled = phone !== "incoming";
  $("hangup").disabled = !["incoming", "in_call"].includes(phone);
  $("hold").disabled = phone !== "in_call";
  $("mute").disabled = phone !== "in_call";
  if (phone !== "in_call") {
    $("hold").setAttribute("aria-pressed", "false");
    $("mute").setAttribute("aria-pressed", "false");
  }
}

function setPhone(next) {
  phone = next;
  drawPhone();
  if (next === "incoming") announce($("announce-call"), t("phone.incoming"));
}

let phoneStarting = null;
function startPhone() {
  if (phoneStarting) return phoneStarting;
  phoneStarting = (async () => {
    try {
      const module = await import("/desk/static/softphone.js");
      softphone = module.Softphone || module.default;
      const config = await api("GET", "/agent/softphone");
      await softphone.start(config, {
        onIncoming: () => setPhone("incoming"),
        onAnswered: () => setPhone("in_call"),
        onEnded: () => setPhone("ready"),
        onError: (err) => {
          phone = "error";
          $("phone-status").textContent = t("phone.error", { message: String(err && err.message || err) });
          drawPhone();
        },
      });
      setPhone("ready");
    } catch (err) {
      phone = "error";
      $("phone-status").textContent = t("phone.error", { message: String(err && err.message || err) });
      drawPhone();
      phoneStarting = null;
    }
  })();
  return phoneStarting;
}

function toggle(button, method) {
  const on = button.getAttribute("aria-pressed") !== "true";
  try {
    softphone[method](on);
    button.setAttribute("aria-pressed", String(on));
  } catch (err) {
    fail(err);
  }
}

// ---- wiring ----------------------------------------------------------------------------------------
function redraw() {
  document.title = `${t("agent.title")} – ${t("app.title")}`;
  $("who").textContent = me ? t("signed_in_as", { name: me.name }) : "";
  drawReasons();
  drawState();
  drawPop();
  drawTargets();
  drawLive();
  drawPhone();
  drawConn();
}

let connected = true;
function drawConn() {
  $("conn").dataset.live = String(connected);
  $("conn").textContent = connected ? t("conn.live") : t("conn.lost");
}

async function main() {
  me = await whoami();
  mountSwitch($("lang"), redraw);
  $("signout").addEventListener("click", () => signOut());
  $("login").addEventListener("click", () => {
    const device = document.querySelector('input[name="device"]:checked').value;
    act("/agent/login", { device });
  });
  $("pause").addEventListener("click", () => act("/agent/pause", { reason: $("pause-reason").value }));
  $("unpause").addEventListener("click", () => act("/agent/unpause"));
  $("logout").addEventListener("click", () => act("/agent/logout"));
  $("wrapup").addEventListener("submit", submitWrapup);
  $("transfer").addEventListener("submit", submitTransfer);
  for (const input of document.querySelectorAll('input[name="kind"]')) input.addEventListener("change", drawTargets);
  $("answer").addEventListener("click", () => { try { softphone.answer(); } catch (err) { fail(err); } });
  $("hangup").addEventListener("click", () => { try { softphone.hangup(); } catch (err) { fail(err); } });
  $("hold").addEventListener("click", () => toggle($("hold"), "hold"));
  $("mute").addEventListener("click", () => toggle($("mute"), "mute"));

  events({
    state: (data) => { if (!data.agent || data.agent === me.id) { stateEvents += 1; setState(data); } },
    screenpop: (data) => { popEvents += 1; setCall(data); },
    group: (data) => setLive(data),
  }, (up) => {
    if (up && !connected) { // back after a gap: catch up
      refreshState().catch(fail);
      refreshCall().catch(fail);
    }
    connected = up;
    drawConn();
  });
  redraw();
  // Each first request on its own: one that fails leaves the rest of the page working.
  const first = [
    async () => { reasons = await api("GET", "/pause-reasons"); drawReasons(); },
    refreshState,
    refreshCall,
    ...(me.groups || []).map((group) => async () => {
      setLive(await api("GET", `/groups/${encodeURIComponent(group)}/live`));
    }),
    loadTargets,
  ];
  for (const step of first) {
    try { await step(); } catch (err) { fail(err); }
  }
  document.body.dataset.ready = "true";
  window.setInterval(drawLive, 1000);
}

main().catch(fail);
