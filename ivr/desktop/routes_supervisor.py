"""Supervisors: the agents of their groups (state, pause reason, time in state) and the callers waiting
in their groups' queues; forcing an agent's pause or logout (audited). API tokens with `agents:read`
may read the same picture over every group."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from ivr.desktop.actions import Action, act, checked_reason, done_json
from ivr.desktop.auth import require
from ivr.desktop.context import DesktopContext
from ivr.desktop.errors import api_error, json_body, text_field
from ivr.desktop.users import WebUser


def visible_agents(ctx: DesktopContext, user: WebUser) -> list[str]:
    return sorted(agent_id for agent_id, agent in ctx.app.config.current.agents.items()
                  if user.groups & set(agent.groups))


def waiting(ctx: DesktopContext, groups: frozenset[str]) -> list[dict[str, Any]]:
    config, view, now = ctx.app.config.current, ctx.view(), time.time()
    rows = []
    for name in sorted(groups):
        group = config.groups.get(name)
        if group is None:
            continue
        for queue in group.queues:
            snapshot = view.snapshot(queue, now)
            rows.append({"group": name, "queue": queue, "waiting": snapshot["waiting"],
                         "longest_wait_s": snapshot["longest_wait_s"]})
    return rows


def routes(ctx: DesktopContext) -> list[web.RouteDef]:
    def agent_row(agent_id: str) -> dict[str, Any]:
        agent = ctx.app.config.current.agents[agent_id]
        return {**ctx.states.current(agent_id), "name": agent.name, "groups": list(agent.groups)}

    def steered(request: web.Request) -> tuple[WebUser, str]:
        user = require(request, "supervise")
        agent_id = request.match_info["agent"]
        agent = ctx.app.config.current.agents.get(agent_id)
        if agent is None:
            raise api_error(404, "unknown_agent", "no such agent")
        if not user.groups & set(agent.groups):
            raise api_error(403, "forbidden", "this agent is not in one of your groups")
        return user, agent_id

    async def agents(request: web.Request) -> web.Response:
        user = require(request, "agents:read")
        return web.json_response({"agents": [agent_row(a) for a in visible_agents(ctx, user)],
                                  "queues": waiting(ctx, user.groups)})

    async def forced(user: WebUser, action: Action, agent_id: str, reason: str = "") -> web.Response:
        """Audited first: a forced change that cannot be recorded is not made. A refusal is recorded too."""
        detail = {"reason": reason} if reason else {}
        await ctx.store.audit(user.id, f"force_{action}", agent_id, detail)
        try:
            done = await act(ctx, action, agent_id, reason=reason)
        except web.HTTPException as exc:
            await ctx.store.audit(user.id, f"force_{action}_failed", agent_id, {**detail, "status": exc.status})
            raise
        return web.json_response(done_json(done))

    async def force_pause(request: web.Request) -> web.Response:
        user, agent_id = steered(request)
        reason = checked_reason(ctx, text_field(await json_body(request), "reason", max_length=32))
        return await forced(user, "pause", agent_id, reason)

    async def force_logout(request: web.Request) -> web.Response:
        user, agent_id = steered(request)
        return await forced(user, "logout", agent_id)

    return [
        web.get("/api/v1/supervisor/agents", agents),
        web.post("/api/v1/supervisor/agents/{agent}/pause", force_pause),
        web.post("/api/v1/supervisor/agents/{agent}/logout", force_logout),
    ]
