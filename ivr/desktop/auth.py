"""Who is asking, for every desktop page and API request.

- A browser signs in with `POST /api/v1/session` and then carries the `ivr_session` cookie (HttpOnly,
  SameSite=Strict, Secure when IVR_WEB_SECURE_COOKIES=1). Every state-changing API request with a
  session must also carry `X-CSRF-Token`: a value derived from the session token (HMAC), handed to the
  page in the sign-in answer and by `GET /api/v1/me`, never stored.
- Other city systems send `Authorization: Bearer <token>` (`ivr api-token create`); such requests are
  exempt from CSRF (a browser never adds that header by itself) and act within the token's scopes.

The middleware identifies the requester once per request; handlers call `current_user(request)`
(401 without a session or token) or `require(request, scope)` (also 403 without the scope).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from ivr.desktop.context import DesktopContext
from ivr.desktop.errors import api_error
from ivr.desktop.store import StoreUnavailable
from ivr.desktop.users import WebUser, token_user, user_for

SESSION_COOKIE = "ivr_session"
CSRF_HEADER = "X-CSRF-Token"
USER_KEY = web.RequestKey("ivr.desktop.user", WebUser)
SESSION_KEY = web.RequestKey("ivr.desktop.session", str)  # the raw session token, with a valid cookie
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Signing in needs no CSRF token: it starts a new session whatever cookie the browser still has.
_CSRF_EXEMPT = frozenset({("POST", "/api/v1/session")})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def csrf_for(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"ivr-desktop-csrf", hashlib.sha256).hexdigest()


def current_user(request: web.Request) -> WebUser:
    user = request.get(USER_KEY)
    if not isinstance(user, WebUser):
        raise api_error(401, "unauthenticated", "sign in first (or send a valid API token)")
    return user


def require(request: web.Request, scope: str) -> WebUser:
    user = current_user(request)
    if scope not in user.scopes:
        raise api_error(403, "forbidden", f"this needs the '{scope}' scope")
    return user


def session_token(request: web.Request) -> str | None:
    token = request.get(SESSION_KEY)
    return token if isinstance(token, str) else None


# The wallboard's page and data, served by the same app: anyone signed in with `queues:read` (agents,
# supervisors, tokens) may see it (it hangs on the contact center's wall), nobody else. Its static
# files (script, style) and the desktop's hold no data and are served to anyone.
WALLBOARD_PATHS = frozenset({"/", "/api/state", "/events"})


def guarded(path: str) -> bool:
    return (path.startswith(("/api/v1/", "/desk")) and not path.startswith("/desk/static/")) or path in WALLBOARD_PATHS


def make_middleware(ctx: DesktopContext) -> Middleware:
    @web.middleware
    async def identify(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if guarded(request.path):
                await _identify(ctx, request)
                _check_csrf(request)
                if request.path in WALLBOARD_PATHS:
                    _wallboard_access(request)
            return await handler(request)
        except StoreUnavailable as exc:  # from here or from a handler (sign-in, audit)
            raise api_error(503, "store_unavailable", "the desktop's database is not reachable") from exc

    return identify


def _wallboard_access(request: web.Request) -> None:
    if request.get(USER_KEY) is None and request.path == "/":
        raise web.HTTPFound("/desk/login")
    require(request, "queues:read")


async def _identify(ctx: DesktopContext, request: web.Request) -> None:
    config = ctx.app.config.current
    authorization = request.headers.get("Authorization", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        found = await ctx.store.api_token(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if found is None:
            raise api_error(401, "bad_token", "the API token is unknown, revoked or expired")
        request[USER_KEY] = token_user(config, found.name, found.scopes)
        return
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if not cookie or len(cookie) > 200:
        return
    user_id = await ctx.store.session_user(cookie)
    user = user_for(config, user_id) if user_id else None
    if user is not None:
        request[USER_KEY] = user
        request[SESSION_KEY] = cookie


def _check_csrf(request: web.Request) -> None:
    token = session_token(request)
    if (token is None or request.method in _SAFE_METHODS or not request.path.startswith("/api/")
            or (request.method, request.path) in _CSRF_EXEMPT):
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), csrf_for(token).encode()):
        raise api_error(403, "csrf", f"missing or wrong {CSRF_HEADER} header")
    # And, when the browser says where the request comes from, it must be a page of this server (the
    # reverse proxy passes the Host the browser used).
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise api_error(403, "csrf", "the request comes from another site")
