// The desktop's words in Swedish (the default) and English. The choice is kept in localStorage.
// Elements carry data-i18n="key" (text) or data-i18n-attr="attr:key;attr:key" (attributes).

const KEY = "ivr-desk-lang";

export const CATALOGUE = {
  sv: {
    "app.title": "Kontaktcenter – skrivbord",
    "skip": "Hoppa till innehållet",
    "lang.switch": "In English",
    "signout": "Logga ut från skrivbordet",
    "signed_in_as": "Inloggad som {name}",
    "login.title": "Logga in",
    "login.heading": "Logga in på skrivbordet",
    "login.username": "Användarnamn",
    "login.password": "Lösenord",
    "login.submit": "Logga in",
    "login.wrong": "Fel användarnamn eller lösenord.",
    "login.limited": "För många försök. Försök igen om {s} sekunder.",
    "login.failed": "Inloggningen misslyckades. Försök igen.",
    "login.help": "Använd ditt lösenord för skrivbordet (inte telefonens). Saknar du ett? Fråga din gruppledare.",
    "agent.title": "Agent",
    "agent.status": "Min status",
    "agent.state": "Status",
    "agent.reason": "Orsak",
    "agent.since": "Sedan",
    "agent.queues": "Köer",
    "agent.device": "Telefon",
    "agent.device.legend": "Svara med",
    "device.desk": "Bordstelefon",
    "device.browser": "Webbläsaren",
    "agent.login": "Logga in i köerna",
    "agent.pause": "Paus",
    "agent.pause.reason": "Orsak till paus",
    "agent.unpause": "Avsluta paus",
    "agent.logout": "Logga ut ur köerna",
    "agent.announce.state": "Din status: {state}",
    "reason.lunch": "Lunch",
    "reason.meeting": "Möte",
    "reason.admin": "Administration",
    "reason.training": "Utbildning",
    "state.available": "Ledig",
    "state.ringing": "Ringer",
    "state.busy": "I samtal",
    "state.wrapup": "Efterarbete",
    "state.paused": "Paus",
    "state.unavailable": "Telefonen nås inte",
    "state.logged_out": "Utloggad",
    "state.unknown": "Okänd",
    "call.heading": "Samtal",
    "call.none": "Inget samtal just nu.",
    "call.state.ringing": "Ringer",
    "call.state.answered": "Pågår",
    "call.state.ended": "Avslutat",
    "call.state.wrapup": "Efterarbete",
    "call.status": "Samtalets läge",
    "call.kind": "Typ",
    "call.kind.callback": "Återuppringning som medborgaren bokat",
    "call.queue": "Kö",
    "call.group": "Grupp",
    "call.department": "Förvaltning",
    "call.language": "Språk",
    "call.path": "Val i telefonmenyn",
    "call.tags": "Kategorier",
    "call.digits": "Inknappade siffror",
    "call.waited": "Väntetid",
    "call.repeat": "Har ringt nyss",
    "call.repeat.yes": "Ja, ringer igen",
    "call.repeat.no": "Nej",
    "call.returning": "Staden har sökt den som ringer",
    "call.returning.department": "Förvaltning som sökte",
    "call.returning.when": "Sökte",
    "call.returning.official": "Handläggare",
    "call.returning.purpose": "Ärende",
    "call.announce": "Samtal: {group}, {language}",
    "call.announce.case": ", ärendenummer {digits}",
    "digit.case_number": "Ärendenummer",
    "tag.department": "Förvaltning",
    "tag.service": "Tjänst",
    "lang.sv": "Svenska",
    "lang.en": "Engelska",
    "lang.ar": "Arabiska",
    "lang.bs": "Bosniska",
    "wrapup.heading": "Efterarbete",
    "wrapup.code": "Utfall",
    "wrapup.required": "Utfall måste anges för den här gruppen.",
    "wrapup.optional": "Utfall är frivilligt för den här gruppen.",
    "wrapup.submit": "Spara utfall",
    "wrapup.saved": "Utfallet sparat: {label}",
    "wrapup.choose": "Välj utfall",
    "phone.heading": "Webbtelefon",
    "phone.off": "Webbtelefonen används inte (du svarar i bordstelefonen).",
    "phone.ready": "Webbtelefonen är redo.",
    "phone.incoming": "Inkommande samtal i webbtelefonen.",
    "phone.in_call": "Samtal pågår i webbtelefonen.",
    "phone.error": "Webbtelefonen fungerar inte: {message}",
    "phone.answer": "Svara",
    "phone.hangup": "Lägg på",
    "phone.hold": "Parkera",
    "phone.mute": "Stäng av mikrofonen",
    "transfer.heading": "Koppla vidare",
    "transfer.kind": "Koppla till",
    "transfer.group": "En annan grupps kö",
    "transfer.official": "En handläggare",
    "transfer.target.group": "Grupp",
    "transfer.target.official": "Handläggare (id)",
    "transfer.submit": "Koppla",
    "transfer.done": "Samtalet är kopplat vidare.",
    "live.heading": "Mina grupper just nu",
    "live.group": "Grupp",
    "live.waiting": "Väntar",
    "live.longest": "Längsta väntan",
    "live.callbacks": "Återuppringningar i kö",
    "shortcuts.heading": "Kortkommandon",
    "shortcuts.text": "Knapparna har åtkomsttangenter (i Chromium och Firefox: Alt+Skift+bokstav; på Mac: Ctrl+Alt+bokstav):",
    "shortcuts.login": "I – logga in i köerna",
    "shortcuts.pause": "P – paus",
    "shortcuts.unpause": "R – avsluta paus",
    "shortcuts.answer": "S – svara",
    "shortcuts.hangup": "H – lägg på",
    "shortcuts.wrapup": "W – spara utfall",
    "conn.live": "Uppdateras direkt",
    "conn.lost": "Förbindelsen bröts – försöker igen…",
    "error.generic": "Det gick inte: {message}",
    "sup.title": "Gruppledare",
    "sup.agents": "Agenter i mina grupper",
    "sup.agent": "Agent",
    "sup.groups": "Grupper",
    "sup.state": "Status",
    "sup.reason": "Pausorsak",
    "sup.time": "Tid i status",
    "sup.actions": "Åtgärder",
    "sup.pause": "Pausa",
    "sup.pause.label": "Pausa {name}",
    "sup.logout": "Logga ut",
    "sup.logout.label": "Logga ut {name} ur köerna",
    "sup.listen": "Lyssna",
    "sup.whisper": "Viska",
    "sup.barge": "Delta",
    "sup.spy.label": "{mode} – {name}",
    "sup.queues": "Väntande i köerna",
    "sup.queue": "Kö",
    "sup.none": "Inga agenter.",
    "sup.force_reason": "Orsak vid tvingad paus",
    "sup.done": "{action}: {name}",
    "spy.ringing": "{mode} – {name}: din telefon ringer, svara för att koppla in dig.",
    "spy.active": "{mode} – {name}: du är inkopplad.",
    "spy.ended": "{mode} – {name}: avslutat efter {seconds} s.",
    "spy.failed": "{mode} – {name}: det gick inte (telefonen svarade inte).",
  },
  en: {
    "app.title": "Contact center – desktop",
    "skip": "Skip to content",
    "lang.switch": "På svenska",
    "signout": "Sign out of the desktop",
    "signed_in_as": "Signed in as {name}",
    "login.title": "Sign in",
    "login.heading": "Sign in to the desktop",
    "login.username": "User name",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.wrong": "Wrong user name or password.",
    "login.limited": "Too many attempts. Try again in {s} seconds.",
    "login.failed": "Signing in failed. Please try again.",
    "login.help": "Use your desktop password (not your phone's). No password yet? Ask your supervisor.",
    "agent.title": "Agent",
    "agent.status": "My status",
    "agent.state": "State",
    "agent.reason": "Reason",
    "agent.since": "Since",
    "agent.queues": "Queues",
    "agent.device": "Phone",
    "agent.device.legend": "Answer with",
    "device.desk": "Desk phone",
    "device.browser": "The browser",
    "agent.login": "Log in to the queues",
    "agent.pause": "Pause",
    "agent.pause.reason": "Pause reason",
    "agent.unpause": "End pause",
    "agent.logout": "Log out of the queues",
    "agent.announce.state": "Your state: {state}",
    "reason.lunch": "Lunch",
    "reason.meeting": "Meeting",
    "reason.admin": "Administration",
    "reason.training": "Training",
    "state.available": "Available",
    "state.ringing": "Ringing",
    "state.busy": "In a call",
    "state.wrapup": "Wrap-up",
    "state.paused": "Paused",
    "state.unavailable": "Phone unreachable",
    "state.logged_out": "Logged out",
    "state.unknown": "Unknown",
    "call.heading": "Call",
    "call.none": "No call right now.",
    "call.state.ringing": "Ringing",
    "call.state.answered": "In progress",
    "call.state.ended": "Ended",
    "call.state.wrapup": "Wrap-up",
    "call.status": "Call state",
    "call.kind": "Kind",
    "call.kind.callback": "Callback the citizen booked",
    "call.queue": "Queue",
    "call.group": "Group",
    "call.department": "Department",
    "call.language": "Language",
    "call.path": "Choices in the phone menu",
    "call.tags": "Categories",
    "call.digits": "Digits keyed in",
    "call.waited": "Time waited",
    "call.repeat": "Called recently",
    "call.repeat.yes": "Yes, calling again",
    "call.repeat.no": "No",
    "call.returning": "The city tried to reach the caller",
    "call.returning.department": "Department that called",
    "call.returning.when": "Tried",
    "call.returning.official": "Official",
    "call.returning.purpose": "Matter",
    "call.announce": "Call: {group}, {language}",
    "call.announce.case": ", case number {digits}",
    "digit.case_number": "Case number",
    "tag.department": "Department",
    "tag.service": "Service",
    "lang.sv": "Swedish",
    "lang.en": "English",
    "lang.ar": "Arabic",
    "lang.bs": "Bosnian",
    "wrapup.heading": "Wrap-up",
    "wrapup.code": "Outcome",
    "wrapup.required": "This group requires an outcome.",
    "wrapup.optional": "An outcome is optional in this group.",
    "wrapup.submit": "Save outcome",
    "wrapup.saved": "Outcome saved: {label}",
    "wrapup.choose": "Choose an outcome",
    "phone.heading": "Browser phone",
    "phone.off": "The browser phone is not in use (you answer on the desk phone).",
    "phone.ready": "The browser phone is ready.",
    "phone.incoming": "Incoming call on the browser phone.",
    "phone.in_call": "Call in progress on the browser phone.",
    "phone.error": "The browser phone does not work: {message}",
    "phone.answer": "Answer",
    "phone.hangup": "Hang up",
    "phone.hold": "Hold",
    "phone.mute": "Mute the microphone",
    "transfer.heading": "Transfer",
    "transfer.kind": "Transfer to",
    "transfer.group": "Another group's queue",
    "transfer.official": "An official",
    "transfer.target.group": "Group",
    "transfer.target.official": "Official (id)",
    "transfer.submit": "Transfer",
    "transfer.done": "The call was transferred.",
    "live.heading": "My groups now",
    "live.group": "Group",
    "live.waiting": "Waiting",
    "live.longest": "Longest wait",
    "live.callbacks": "Callbacks queued",
    "shortcuts.heading": "Keyboard shortcuts",
    "shortcuts.text": "The buttons have access keys (in Chromium and Firefox: Alt+Shift+letter; on a Mac: Ctrl+Option+letter):",
    "shortcuts.login": "I – log in to the queues",
    "shortcuts.pause": "P – pause",
    "shortcuts.unpause": "R – end pause",
    "shortcuts.answer": "S – answer",
    "shortcuts.hangup": "H – hang up",
    "shortcuts.wrapup": "W – save outcome",
    "conn.live": "Live",
    "conn.lost": "Connection lost – retrying…",
    "error.generic": "That did not work: {message}",
    "sup.title": "Supervisor",
    "sup.agents": "Agents in my groups",
    "sup.agent": "Agent",
    "sup.groups": "Groups",
    "sup.state": "State",
    "sup.reason": "Pause reason",
    "sup.time": "Time in state",
    "sup.actions": "Actions",
    "sup.pause": "Pause",
    "sup.pause.label": "Pause {name}",
    "sup.logout": "Log out",
    "sup.logout.label": "Log {name} out of the queues",
    "sup.listen": "Listen",
    "sup.whisper": "Whisper",
    "sup.barge": "Barge",
    "sup.spy.label": "{mode} – {name}",
    "sup.queues": "Waiting in the queues",
    "sup.queue": "Queue",
    "sup.none": "No agents.",
    "sup.force_reason": "Reason for a forced pause",
    "sup.done": "{action}: {name}",
    "spy.ringing": "{mode} – {name}: your phone rings; answer to join.",
    "spy.active": "{mode} – {name}: you are connected.",
    "spy.ended": "{mode} – {name}: ended after {seconds} s.",
    "spy.failed": "{mode} – {name}: that did not work (your phone did not answer).",
  },
};

export const LANGUAGES = Object.keys(CATALOGUE);

export function lang() {
  let stored = null;
  try { stored = window.localStorage.getItem(KEY); } catch { /* storage off: default */ }
  return stored && CATALOGUE[stored] ? stored : "sv";
}

export function t(key, vars = {}) {
  const text = CATALOGUE[lang()][key] ?? CATALOGUE.sv[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** An agent's state (`paused`, `in_call`...) in the page's language; an unknown one as it came. */
export function stateName(state) {
  const key = `state.${state || "unknown"}`;
  const text = t(key);
  return text === key ? String(state) : text;
}

/** A label that may be a plain string or {sv, en}. */
export function pick(label) {
  if (label && typeof label === "object") return label[lang()] ?? label.sv ?? Object.values(label)[0] ?? "";
  return label == null ? "" : String(label);
}

export function apply(root = document) {
  document.documentElement.lang = lang();
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr, t(key));
    }
  }
}

/** The language button: switches, remembers, re-renders (onChange re-draws the dynamic parts). */
export function mountSwitch(button, onChange) {
  const draw = () => {
    const other = lang() === "sv" ? "en" : "sv";
    button.textContent = t("lang.switch");
    button.lang = other;
  };
  button.addEventListener("click", () => {
    const next = lang() === "sv" ? "en" : "sv";
    try { window.localStorage.setItem(KEY, next); } catch { /* not remembered */ }
    apply();
    draw();
    if (onChange) onChange();
  });
  apply();
  draw();
}

/** "1 min 05 s" style durations. */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
  return m ? `${m} min ${rest} s` : `${s % 60} s`;
}

/** A time given as epoch seconds or an ISO string; null when there is none. */
export function toDate(value) {
  if (value == null || value === "") return null;
  const when = new Date(typeof value === "number" ? value * 1000 : value);
  return Number.isNaN(when.getTime()) ? null : when;
}

/** A known word for a code (e.g. reason.lunch), else the code itself. */
export function known(prefix, code) {
  const key = `${prefix}.${code}`;
  const text = t(key);
  return text === key ? String(code ?? "") : text;
}
