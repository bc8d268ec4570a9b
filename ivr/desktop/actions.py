"""Agents' state changes from the desktop, through `AgentControl` (the feature codes' code path), with
its failures turned into API errors. The answer only says the action was taken: pages learn the new
state from the `state` events the AMI bridge's `agent_state` produces, so they show what Asterisk says."""

from __future__ import annotations

from typing import Literal

from ivr.agents.control import AgentError, Device, Done
from ivr.ami.errors import AmiError
from ivr.desktop.context import DesktopContext
from ivr.desktop.errors import api_error

Action = Literal["login", "logout", "pause", "unpause"]


def pause_reasons(ctx: DesktopContext) -> list[dict[str, str]]:
    reasons = ctx.app.config.current.rules.queueing.pause_reasons
    return [{"key": key, "reason": reason} for key, reason in sorted(reasons.items())]


def checked_reason(ctx: DesktopContext, reason: str) -> str:
    if reason not in {r["reason"] for r in pause_reasons(ctx)}:
        raise api_error(422, "bad_reason", "the reason must be one of GET /api/v1/pause-reasons")
    return reason


async def act(ctx: DesktopContext, action: Action, agent_id: str, *, reason: str = "",
              device: Device = "desk") -> Done:
    ami = ctx.app.ami
    if ami is None or not ami.connected:
        raise api_error(503, "asterisk_unavailable", "Asterisk is not reachable just now; try again")
    config = ctx.app.config.current
    try:
        if action == "login":
            done = await ctx.control.login(config, agent_id, device)
        elif action == "logout":
            done = await ctx.control.logout(config, agent_id)
        elif action == "pause":
            done = await ctx.control.pause(config, agent_id, reason)
        else:
            done = await ctx.control.unpause(config, agent_id)
    except AgentError as exc:
        raise api_error(409, "agent_state", str(exc)) from exc
    except AmiError as exc:
        raise api_error(503, "asterisk_unavailable", f"Asterisk did not answer: {exc}") from exc
    if ctx.app.agent_sessions is not None:  # the other nodes of a cluster do the same (ivr.cluster.agents)
        await ctx.app.agent_sessions.changed(agent_id, action, device=device, reason=reason)
    return done


def done_json(done: Done) -> dict[str, object]:
    return {"agent": done.agent, "queues": list(done.queues)}
