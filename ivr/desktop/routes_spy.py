"""`POST /api/v1/supervisor/agents/{agent}/spy` `{mode: listen|whisper|barge}`: a supervisor listens to,
whispers into or barges into an agent's live call from the page.

The request is decided at once (so a refusal is a clear error, and audited), then the supervisor's desk
phone (IVR_SUPERVISOR_INTERFACE, `PJSIP/{extension}`) is rung into the same dialplan path as the
*49/*50/*51 codes, carrying a one-time ticket: the FastAGI route `spy` decides again when the phone
answers, audits the start, and the end comes from the spy channel's hang-up (ivr.supervision.service).
The page follows it through `spy` messages: ringing, active, ended (with seconds) or failed.
"""

from __future__ import annotations

from aiohttp import web

from ivr.desktop.auth import require
from ivr.desktop.context import DesktopContext
from ivr.desktop.errors import api_error, json_body, text_field
from ivr.supervision.policy import FEATURE_CODES, Refusal, RefusalCode

# HTTP status of each refusal.
STATUS: dict[RefusalCode, int] = {
    "bad_mode": 400, "unknown_supervisor": 403, "unknown_agent": 404, "not_your_agent": 403, "not_your_group": 403,
    "listening_forbidden": 403, "not_in_call": 409, "not_a_queue_call": 409, "unavailable": 503,
}
CODE_FOR_MODE = {mode: code for code, mode in FEATURE_CODES.items()}


def routes(ctx: DesktopContext) -> list[web.RouteDef]:
    async def spy(request: web.Request) -> web.Response:
        user = require(request, "supervise")
        agent_id = request.match_info["agent"]
        mode = text_field(await json_body(request), "mode", max_length=16)
        service = ctx.app.spy
        if service is None:
            raise api_error(503, "unavailable", "listening in is not available on this server")
        try:
            decision = await service.decide(user.id, agent_id, mode, "page")
        except Refusal as refusal:
            raise api_error(STATUS[refusal.code], refusal.code, refusal.message) from None
        config = ctx.app.config.current
        supervisor, agent = config.supervisors[user.id], config.agents[agent_id]
        ticket, pending = service.issue_ticket(user.id, agent_id, decision.mode)
        phone = ctx.app.settings.supervisor_interface.format(extension=supervisor.extension)
        service.ring(phone, f"{CODE_FOR_MODE[decision.mode]}{agent.extension}", pending, ticket,
                     caller_id=f'"{decision.mode.capitalize()} {agent.extension}" <{agent.extension}>')
        return web.json_response({"agent": agent_id, "mode": decision.mode, "state": "ringing",
                                  "group": decision.group}, status=202)

    return [web.post("/api/v1/supervisor/agents/{agent}/spy", spy)]
