"""The agent's call: `GET /api/v1/agent/call` (the screen pop, or 204), wrap-up codes
(`POST /api/v1/agent/calls/{uniqueid}/wrapup`: kept in the call record through the `wrapup` event, and
the agent's wrap-up time in Asterisk ends at once), transfers (`.../transfer`), and a group's live
picture (`GET /api/v1/groups/{group}/live`), and where a call can be transferred
(`GET /api/v1/transfer-targets`: every group and every official). An agent only ever sees and acts on
their own calls."""

from __future__ import annotations

import time

from aiohttp import web

from ivr.desktop.asterisk import AsteriskRefused, end_wrapup, transfer_to_group, transfer_to_official
from ivr.desktop.auth import require
from ivr.desktop.calls import DesktopCalls, WrapupRefused
from ivr.desktop.context import DesktopContext
from ivr.desktop.errors import api_error, json_body, text_field
from ivr.desktop.live import group_live
from ivr.events import names

# Asterisk rings or talks to the agent now: resetting their membership could cut that short.
_IN_A_CALL = frozenset({"busy", "ringing"})


def routes(ctx: DesktopContext) -> list[web.RouteDef]:
    def calls() -> DesktopCalls:
        if not isinstance(ctx.calls, DesktopCalls):
            raise api_error(503, "no_calls", "the daemon keeps no screen pops")
        return ctx.calls

    async def current(request: web.Request) -> web.Response:
        user = require(request, "agent:self")
        pop = calls().current(user.id)
        return web.json_response(pop) if pop is not None else web.Response(status=204)

    async def wrapup(request: web.Request) -> web.Response:
        user = require(request, "agent:self")
        code = text_field(await json_body(request), "code", max_length=32)
        uniqueid = request.match_info["uniqueid"]
        try:
            known, group = calls().wrapup(user.id, uniqueid, code)
        except WrapupRefused as refused:
            raise api_error(refused.status, refused.code, str(refused)) from refused
        ctx.app.events.emit(names.WRAPUP, None, uniqueid=uniqueid, agent=user.id, queue=known.queue, group=group,
                            code=code)
        view = ctx.view()
        state = view.agent_state(user.id, time.time())
        ended: list[str] = []
        if state is not None and state["state"] not in _IN_A_CALL:
            try:
                ended = await end_wrapup(ctx.control.ami, view, user.id)
            except Exception as exc:  # the code is kept whatever Asterisk says; the wrap-up ends by time
                raise api_error(502, "asterisk", f"the code is kept, but the wrap-up did not end: {exc}") from exc
        return web.json_response({"uniqueid": uniqueid, "code": code, "group": group, "wrapup_ended": ended})

    async def transfer(request: web.Request) -> web.Response:
        user = require(request, "agent:self")
        body = await json_body(request)
        uniqueid = request.match_info["uniqueid"]
        try:
            known = calls().answered_by(user.id, uniqueid)
        except WrapupRefused as refused:
            raise api_error(refused.status, refused.code, str(refused)) from refused
        if known.ended_at is not None or not known.channel:
            raise api_error(409, "call_ended", "the call has ended (or was not taken by the IVR)")
        config = ctx.app.config.current
        calls().passing_on(user.id, uniqueid)
        try:
            if "group" in body:
                group = text_field(body, "group", max_length=64)
                if group not in config.groups:
                    raise api_error(404, "unknown_group", f"no group '{group}'")
                language = known.language or next(iter(config.plans.values())).default_language
                queue = await transfer_to_group(ctx.control.ami, ctx.app.queues, config, known.channel, group,
                                                language, ctx.app.clock.now())
                target: dict[str, str] = {"group": group, "queue": queue}
            elif "official" in body:
                official = text_field(body, "official", max_length=64)
                await transfer_to_official(ctx.control.ami, config, known.channel, official, known.queue)
                target = {"official": official}
            else:
                raise api_error(400, "bad_request", "give 'group' or 'official'")
        except AsteriskRefused as refused:
            calls().not_passed_on(user.id, uniqueid)
            status = 404 if refused.code == "unknown_official" else 409
            raise api_error(status, refused.code, str(refused)) from refused
        except BaseException:
            calls().not_passed_on(user.id, uniqueid)
            raise
        calls().transferred(user.id, uniqueid)
        return web.json_response({"uniqueid": uniqueid, "to": target})

    async def live(request: web.Request) -> web.Response:
        user = require(request, "queues:read")
        group = request.match_info["group"]
        config = ctx.app.config.current
        if group not in config.groups:
            raise api_error(404, "unknown_group", f"no group '{group[:64]}'")
        if group not in user.groups:
            raise api_error(403, "forbidden", "not one of your groups")
        return web.json_response(group_live(config, ctx.view(), group, ctx.callbacks_pending, time.time()))

    async def transfer_targets(request: web.Request) -> web.Response:
        require(request, "agent:self")
        config = ctx.app.config.current
        groups = [{"id": group_id, "name": group.description or group_id, "queue": group.queue}
                  for group_id, group in sorted(config.groups.items())]
        officials = [{"id": official_id, "name": official.name, "department": official.department,
                      "department_name": department.name if (department := config.departments.get(
                          official.department)) is not None else official.department}
                     for official_id, official in sorted(config.officials.items())]
        return web.json_response({"groups": groups, "officials": officials})

    return [
        web.get("/api/v1/transfer-targets", transfer_targets),
        web.get("/api/v1/agent/call", current),
        web.post("/api/v1/agent/calls/{uniqueid}/wrapup", wrapup),
        web.post("/api/v1/agent/calls/{uniqueid}/transfer", transfer),
        web.get("/api/v1/groups/{group}/live", live),
    ]
