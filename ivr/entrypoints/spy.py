"""`agi://…/spy,<mode>,<agent's extension>`: a supervisor listens to (`listen`), whispers into
(`whisper`) or barges into (`barge`) an agent's live call ([supervisor-spy] in extensions.conf).

Reached by dialling *49/*50/*51<extension> from a supervisor's phone, or by the page ringing the
supervisor's phone into the same place. The supervisor is the authenticated PJSIP endpoint
(IVR_SPY_PHONE), or the one named by the page's one-time ticket (IVR_SPY_TICKET, which only the daemon
issues); never anything dialled. `SpyService` decides and audits. Allowed: the route sets
IVR_SPY_CHANNEL (the agent's channel), IVR_SPY_OPTIONS (ChanSpy's), IVR_SPY_ID (for the hangup
handler's end-of-spy event) and IVR_SPY_RESULT=ok last. Refused: a short prompt, and IVR_SPY_RESULT is
the refusal's code.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ivr.agi.channel import AgiChannel
from ivr.dialplan_variables import (
    IVR_SPY_AGENT,
    IVR_SPY_CHANNEL,
    IVR_SPY_ID,
    IVR_SPY_OPTIONS,
    IVR_SPY_PHONE,
    IVR_SPY_RESULT,
    IVR_SPY_SUPERVISOR,
    IVR_SPY_TICKET,
)
from ivr.supervision.policy import Refusal, RefusalCode, agent_for_extension, supervisor_for_phone
from ivr.supervision.service import SpyService, Via

if TYPE_CHECKING:
    from ivr.agi.session import AgiSession
    from ivr.app import App

_PHONE = re.compile(r"^[0-9]{2,8}$")
_MODE = re.compile(r"^[a-z]{1,16}$")
# Supervisors hear the daemon's answers in Swedish, the contact center's working language.
LANGUAGE = "sv"
_PROMPTS: dict[RefusalCode, str] = {
    "listening_forbidden": "spy-forbidden",
    "not_in_call": "spy-not-in-call",
    "unavailable": "agent-failed",
}


async def _variable(session: AgiSession, name: str) -> str:
    reply = await session.command("GET VARIABLE", name)
    return (reply.data or "").strip() if reply.result == "1" else ""


async def handle(app: App, session: AgiSession) -> None:
    call = app.calls.start(session, route="spy")
    channel = AgiChannel(session)
    mode = session.args[0] if session.args else ""
    target = session.args[1] if len(session.args) > 1 else ""
    service: SpyService | None = app.spy
    config = app.config.current
    phone = await _variable(session, IVR_SPY_PHONE)
    ticket = service.redeem(await _variable(session, IVR_SPY_TICKET)) if service is not None else None
    supervisor = ticket.supervisor if ticket is not None else (
        supervisor_for_phone(config, phone) if _PHONE.match(phone) else None)
    via: Via = "page" if ticket is not None else "phone"
    if service is None or supervisor is None:
        call.log.warning("spy refused: not a supervisor's phone", service=service is not None)
        if service is not None:
            await service.refused(f"phone {phone[:16] or '?'}", f"extension {target[:8]}", mode, "unknown_phone",
                                  via)
        await _answer(channel, "spy-unknown-phone", "unknown_phone")
        return
    agent = agent_for_extension(config, target) if _PHONE.match(target) else None
    if ticket is not None and (ticket.agent != agent or ticket.mode != mode):
        agent = None  # the page's ticket was for another agent or mode: nothing dialled overrides it
    try:
        decision = await service.decide(supervisor, agent or f"extension {target[:8]}", mode if _MODE.match(mode)
                                        else "?", via)
        started = await service.start(decision, via)
    except Refusal as refusal:
        call.log.info("spy refused", supervisor=supervisor, code=refusal.code)
        if ticket is not None:  # the page asked: it hears why (e.g. the call ended while the phone rang)
            service.announce_failed(ticket, refusal.code)
        await _answer(channel, _PROMPTS.get(refusal.code, "spy-not-allowed"), refusal.code)
        return
    await channel.set_variable(IVR_SPY_CHANNEL, decision.channel)
    await channel.set_variable(IVR_SPY_OPTIONS, decision.options)
    await channel.set_variable(IVR_SPY_ID, started.spy_id)
    await channel.set_variable(IVR_SPY_SUPERVISOR, decision.supervisor)
    await channel.set_variable(IVR_SPY_AGENT, decision.agent)
    await channel.set_variable(IVR_SPY_RESULT, "ok")
    call.log.info("spy", supervisor=supervisor, agent=decision.agent, mode=decision.mode, via=via)


async def _answer(channel: AgiChannel, prompt: str, result: str) -> None:
    await channel.play(f"ivr/{LANGUAGE}/{prompt}", interrupt_keys="")
    await channel.set_variable(IVR_SPY_RESULT, result)
