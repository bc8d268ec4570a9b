"""Signing in and out (`/api/v1/session`), who am I (`/api/v1/me`), and the pages themselves."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from ivr.desktop.auth import SESSION_COOKIE, csrf_for, current_user, session_token
from ivr.desktop.context import DesktopContext
from ivr.desktop.errors import api_error, json_body, text_field
from ivr.desktop.users import WebUser, user_for

STATIC = Path(__file__).parent / "static"
# A client behind the TLS proxy on this machine: its address is the last X-Forwarded-For hop.
_LOOPBACK = frozenset({"127.0.0.1", "::1"})


def client_address(request: web.Request) -> str:
    remote = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if remote in _LOOPBACK and forwarded:
        return forwarded.split(",")[-1].strip()[:64]
    return remote


def routes(ctx: DesktopContext) -> list[web.RouteDef]:
    settings = ctx.app.settings

    async def sign_in(request: web.Request) -> web.Response:
        body = await json_body(request)
        username = text_field(body, "username", max_length=64)
        password = text_field(body, "password", max_length=1024)
        address = client_address(request)
        wait = await ctx.limiter.retry_after(username, address)
        if wait:
            raise api_error(429, "rate_limited", f"too many failed sign-ins; try again in {wait} s",
                            headers={"Retry-After": str(wait)})
        user = user_for(ctx.app.config.current, username)
        if not await ctx.store.check_password(username, password) or user is None:
            await ctx.limiter.failed(username, address)
            await ctx.store.audit(username, "login_failed", username, {"address": address})
            raise api_error(401, "bad_credentials", "wrong user name or password")
        await ctx.limiter.succeeded(username)
        token = await ctx.store.create_session(user.id)
        await ctx.store.audit(user.id, "login", user.id, {"address": address})
        response = web.json_response({"user": user.as_dict(), "csrf": csrf_for(token)})
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict", path="/",
                            secure=settings.web_secure_cookies, max_age=int(settings.web_session_max_s))
        return response

    async def sign_out(request: web.Request) -> web.Response:
        user = current_user(request)
        token = session_token(request)
        if token is not None:
            await ctx.store.end_session(token)
            await ctx.store.audit(user.id, "logout", user.id, {})
        response = web.Response(status=204)
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    async def me(request: web.Request) -> web.Response:
        user = current_user(request)
        token = session_token(request)
        return web.json_response({**user.as_dict(), "csrf": csrf_for(token) if token else ""})

    async def login_page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "login.html")

    async def agent_page(request: web.Request) -> web.StreamResponse:
        user = _page_user(request)
        if user.role == "supervisor":
            raise web.HTTPFound("/desk/supervisor")
        return web.FileResponse(STATIC / "agent.html")

    async def supervisor_page(request: web.Request) -> web.StreamResponse:
        if _page_user(request).role != "supervisor":
            raise web.HTTPFound("/desk/")
        return web.FileResponse(STATIC / "supervisor.html")

    async def to_desk(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/desk/")

    return [
        web.post("/api/v1/session", sign_in),
        web.delete("/api/v1/session", sign_out),
        web.get("/api/v1/me", me),
        web.get("/desk", to_desk),
        web.get("/desk/", agent_page),
        web.get("/desk/supervisor", supervisor_page),
        web.get("/desk/login", login_page),
    ]


def _page_user(request: web.Request) -> WebUser:
    """The signed-in user of a page; without a session, the browser goes to the sign-in page."""
    try:
        user = current_user(request)
    except web.HTTPUnauthorized:
        raise web.HTTPFound("/desk/login") from None
    if user.role == "token":
        raise api_error(403, "forbidden", "the pages are for people; use the API with a token")
    return user
