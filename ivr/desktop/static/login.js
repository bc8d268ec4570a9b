import { api, ApiError } from "/desk/static/api.js";
import { mountSwitch, t } from "/desk/static/i18n.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

function home(user) {
  return user && user.role === "supervisor" ? "/desk/supervisor" : "/desk/";
}

function retitle() { document.title = `${t("login.title")} – ${t("app.title")}`; }

mountSwitch(document.getElementById("lang"), retitle);
retitle();
document.body.dataset.ready = "true";

// Already signed in: straight to the page.
api("GET", "/me").then((me) => window.location.assign(home(me))).catch(() => {});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) {
    error.textContent = t("login.wrong");
    (username ? form.password : form.username).focus();
    return;
  }
  const button = document.getElementById("login-submit");
  button.disabled = true;
  try {
    const answer = await api("POST", "/session", { username, password });
    window.location.assign(home(answer.user));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) error.textContent = t("login.wrong");
    else if (err instanceof ApiError && err.status === 429) error.textContent = t("login.limited", { s: err.retryAfter || 60 });
    else error.textContent = t("login.failed");
    form.password.value = "";
    form.password.focus();
  } finally {
    button.disabled = false;
  }
});
