"""`GET /api/v1/events`: Server-Sent Events for an open page (`event: <kind>\\ndata: <json>\\n\\n`).

On connecting, the page first gets the current `state` of every agent it may see (itself, or the
agents of a supervisor's groups), then whatever the hub sends it (ivr.desktop.hub). Every
`ctx.keepalive_s` (15 s) a comment line keeps proxies from closing the stream, and the session is checked again:
once it has expired (or was signed out) the stream sends `event: expired` and ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ivr.desktop.auth import current_user, session_token
from ivr.desktop.context import DesktopContext
from ivr.desktop.hub import RESET, Subscriber
from ivr.desktop.routes_supervisor import visible_agents
from ivr.desktop.users import WebUser


def _frame(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def routes(ctx: DesktopContext) -> list[web.RouteDef]:
    def first_states(user: WebUser) -> list[dict[str, Any]]:
        if user.role == "agent":
            return [ctx.states.current(user.id)]
        if "agents:read" in user.scopes:
            return [ctx.states.current(agent_id) for agent_id in visible_agents(ctx, user)]
        return []

    async def still_signed_in(request: web.Request) -> bool:
        token = session_token(request)
        return token is None or await ctx.store.session_user(token) is not None

    async def events(request: web.Request) -> web.StreamResponse:
        user = current_user(request)
        subscriber = ctx.hub.subscribe(user)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        try:
            await response.prepare(request)
            for state in first_states(user):
                await response.write(_frame("state", state))
            await _pump(subscriber, response, lambda: still_signed_in(request), ctx.keepalive_s)
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            ctx.hub.unsubscribe(subscriber)
        return response

    return [web.get("/api/v1/events", events)]


async def _pump(subscriber: Subscriber, response: web.StreamResponse, signed_in: Callable[[], Awaitable[bool]],
                keepalive_s: float) -> None:
    while True:
        try:
            kind, data = await asyncio.wait_for(subscriber.queue.get(), keepalive_s)
        except TimeoutError:
            if not await signed_in():
                with contextlib.suppress(ConnectionError):
                    await response.write(_frame("expired", {}))
                return
            await response.write(b": keep-alive\n\n")
            continue
        if kind == RESET:
            return
        await response.write(_frame(kind, data))
