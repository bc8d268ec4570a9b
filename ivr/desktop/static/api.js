// The desktop's JSON API (/api/v1, docs/openapi.yaml) and its live events (SSE /api/v1/events).

let csrf = "";

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** What to show of a failure: the server's message for an API error, the error's own text otherwise. */
export function errorText(err) {
  return err instanceof ApiError ? (err.message || err.code) : String(err && err.message || err);
}

export function setCsrf(token) { csrf = token || ""; }

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const answer = await fetch(`/api/v1${path}`, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (answer.status === 204) return null;
  let data = null;
  const type = answer.headers.get("Content-Type") || "";
  if (type.includes("json")) data = await answer.json();
  if (answer.status === 401 && path !== "/session" && path !== "/me") {
    window.location.assign("/desk/login"); // the session ended (expired, or signed out elsewhere)
  }
  if (!answer.ok) {
    throw new ApiError(answer.status, data?.error, data?.message,
                       Number(answer.headers.get("Retry-After")) || 0);
  }
  return data;
}

/** Who is signed in; to the sign-in page when nobody is. */
export async function whoami() {
  try {
    const me = await api("GET", "/me");
    setCsrf(me.csrf);
    return me;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      window.location.assign("/desk/login");
      return new Promise(() => {}); // the page is going away
    }
    throw err;
  }
}

export async function signOut() {
  try { await api("DELETE", "/session"); } finally { window.location.assign("/desk/login"); }
}

/** Live events: handlers by kind (state, screenpop, group, spy); onStatus(true|false) for the link. */
export function events(handlers, onStatus) {
  const source = new EventSource("/api/v1/events");
  for (const [kind, handle] of Object.entries(handlers)) {
    source.addEventListener(kind, (e) => {
      let data;
      try { data = JSON.parse(e.data); } catch { return; }
      handle(data);
    });
  }
  source.addEventListener("expired", () => { source.close(); window.location.assign("/desk/login"); });
  source.addEventListener("open", () => onStatus && onStatus(true));
  source.addEventListener("error", () => onStatus && onStatus(false));
  return source;
}

/** A list from an answer that may be a list or an object of lists ({agents: [...]}) or a map. */
export function listOf(value, key) {
  if (Array.isArray(value)) return value;
  if (value && Array.isArray(value[key])) return value[key];
  if (value && typeof value === "object") {
    return Object.entries(value).map(([code, label]) => ({ code, label }));
  }
  return [];
}

/** Elements built node by node (text never parsed as HTML): el("li", {class: "x", "data-field": "queue"}, "text", child). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Writes a message into a live region (cleared first so a repeat is announced again). */
export function announce(region, text) {
  region.textContent = "";
  window.setTimeout(() => { region.textContent = text; }, 50);
}

/** Pause reasons as [{code, label}], whatever the server's shape ({key, reason} or {code, label}). */
export function pauseReasons(answer, labelOf) {
  return listOf(answer, "reasons").map((r) => {
    const code = r.reason ?? r.code;
    return { code, label: r.label ?? labelOf(code) };
  });
}
