"""An agent's own state: `GET /api/v1/agent/state`, log in (desk or browser phone), pause with a
reason, unpause, log out; and `GET /api/v1/pause-reasons` (the *47x reasons of routing_rules.yaml)."""

from __future__ import annotations

from aiohttp import web

from ivr.agents.control import DEVICES, Device
from ivr.desktop.actions import act, checked_reason, done_json, pause_reasons
from ivr.desktop.auth import current_user, require
from ivr.desktop.context import DesktopContext
from ivr.desktop.errors import api_error, json_body, text_field


def routes(ctx: DesktopContext) -> list[web.RouteDef]:
    async def state(request: web.Request) -> web.Response:
        user = require(request, "agent:self")
        return web.json_response(ctx.states.current(user.id))

    async def login(request: web.Request) -> web.Response:
        user = require(request, "agent:self")
        body = await json_body(request)
        device = body.get("device", "desk")
        if device not in DEVICES:
            raise api_error(400, "bad_device", "device must be 'desk' or 'browser'")
        chosen: Device = "browser" if device == "browser" else "desk"
        return web.json_response(done_json(await act(ctx, "login", user.id, device=chosen)))

    async def pause(request: web.Request) -> web.Response:
        user = require(request, "agent:self")
        reason = checked_reason(ctx, text_field(await json_body(request), "reason", max_length=32))
        return web.json_response(done_json(await act(ctx, "pause", user.id, reason=reason)))

    async def unpause(request: web.Request) -> web.Response:
        user = require(request, "agent:self")
        return web.json_response(done_json(await act(ctx, "unpause", user.id)))

    async def logout(request: web.Request) -> web.Response:
        user = require(request, "agent:self")
        return web.json_response(done_json(await act(ctx, "logout", user.id)))

    async def reasons(request: web.Request) -> web.Response:
        current_user(request)
        return web.json_response(pause_reasons(ctx))

    return [
        web.get("/api/v1/agent/state", state),
        web.post("/api/v1/agent/login", login),
        web.post("/api/v1/agent/pause", pause),
        web.post("/api/v1/agent/unpause", unpause),
        web.post("/api/v1/agent/logout", logout),
        web.get("/api/v1/pause-reasons", reasons),
    ]
