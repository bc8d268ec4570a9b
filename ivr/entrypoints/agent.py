"""`agi://…/agent,<action>`: an agent's feature code from their softphone ([agent-phones] in
extensions.conf): *45 login, *46 logout, *47[digit] pause (with a reason), *48 unpause.

The agent is the phone: the dialplan puts the authenticated PJSIP endpoint in IVR_AGENT_PHONE; the
route never takes an identity from digits or caller ID. It answers with a short prompt and sets
IVR_AGENT_RESULT (ok, unknown-phone, failed) so the dialplan knows the daemon handled it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ivr.agents.control import AgentControl, AgentError, agent_for_phone, pause_reason
from ivr.agi.channel import AgiChannel
from ivr.ami.errors import AmiError
from ivr.dialplan_variables import IVR_AGENT_PHONE, IVR_AGENT_RESULT, IVR_PAUSE_KEY

if TYPE_CHECKING:
    from ivr.agi.session import AgiSession
    from ivr.app import App

_PHONE = re.compile(r"^[0-9]{2,8}$")
_KEY = re.compile(r"^[1-9]$")
_PROMPTS = {"login": "agent-logged-in", "logout": "agent-logged-out", "pause": "agent-paused",
            "unpause": "agent-unpaused"}
# Agents hear the daemon's answers in Swedish, the contact center's working language.
LANGUAGE = "sv"


async def _variable(session: AgiSession, name: str) -> str:
    reply = await session.command("GET VARIABLE", name)
    return (reply.data or "").strip() if reply.result == "1" else ""


async def handle(app: App, session: AgiSession) -> None:
    call = app.calls.start(session, route="agent")
    channel = AgiChannel(session)
    action = session.args[0] if session.args else ""
    phone = await _variable(session, IVR_AGENT_PHONE)
    config = app.config.current
    found = agent_for_phone(config, phone) if _PHONE.match(phone) else None
    if action not in _PROMPTS or found is None:
        call.log.warning("feature code refused", action=action[:16], phone_known=found is not None)
        await _answer(channel, "agent-unknown-phone", "unknown-phone")
        return
    agent_id, _ = found
    settings = app.settings
    ami = app.ami
    try:
        if ami is None or not ami.connected:
            raise AgentError("AMI is not connected")
        control = AgentControl(ami, settings.agent_interface, settings.agent_browser_interface)
        if action == "login":
            done = await control.login(config, agent_id)
        elif action == "logout":
            done = await control.logout(config, agent_id)
        elif action == "pause":
            key = await _variable(session, IVR_PAUSE_KEY)
            done = await control.pause(config, agent_id, pause_reason(config, key if _KEY.match(key) else ""))
        else:
            done = await control.unpause(config, agent_id)
    except (AgentError, AmiError) as exc:
        call.log.warning("feature code failed", action=action, agent=agent_id, error=str(exc))
        await _answer(channel, "agent-failed", "failed")
        return
    call.log.info("feature code", action=action, agent=agent_id, queues=list(done.queues), reason=done.detail)
    await _answer(channel, _PROMPTS[action], "ok")


async def _answer(channel: AgiChannel, prompt: str, result: str) -> None:
    await channel.play(f"ivr/{LANGUAGE}/{prompt}", interrupt_keys="")
    await channel.set_variable(IVR_AGENT_RESULT, result)
