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
from ivr.cluster.agents import Action
from ivr.dialplan_variables import IVR_AGENT_PHONE, IVR_AGENT_RESULT, IVR_PAUSE_KEY

if TYPE_CHECKING:
    from ivr.agi.session import AgiSession
    from ivr.app import App

_PHONE = re.compile(r"^[0-9]{2,8}$")
_KEY = re.compile(r"^[1-9]$")
_PROMPTS = {"login": "agent-logged-in", "logout": "agent-logged-out", "pause": "agent-paused",
            "unpause": "agent-unpaused"}
_ACTIONS: dict[str, Action] = {"login": "login", "logout": "logout", "pause": "pause", "unpause": "unpause"}
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
    reason = ""
    if action == "pause":
        key = await _variable(session, IVR_PAUSE_KEY)
        reason = pause_reason(config, key if _KEY.match(key) else "")
    try:
        if ami is None or not ami.connected:
            raise AgentError("AMI is not connected")
        control = AgentControl(ami, settings.agent_interface, settings.agent_browser_interface)
        if action == "login":
            done = await control.login(config, agent_id)
        elif action == "logout":
            done = await control.logout(config, agent_id)
        elif action == "pause":
            done = await control.pause(config, agent_id, reason)
        else:
            done = await control.unpause(config, agent_id)
    except (AgentError, AmiError) as exc:
        # In a cluster a node whose Asterisk is away still passes the change to the others (and to
        # its own Asterisk once it is back): the phone's code reached it through the edge.
        if app.agent_sessions is not None and (ami is None or not ami.connected) \
                and await app.agent_sessions.changed(agent_id, _ACTIONS[action], reason=reason):
            call.log.warning("feature code passed to the cluster; this node's AMI is down", action=action,
                             agent=agent_id)
            await _answer(channel, _PROMPTS[action], "ok")
            return
        call.log.warning("feature code failed", action=action, agent=agent_id, error=str(exc))
        await _answer(channel, "agent-failed", "failed")
        return
    call.log.info("feature code", action=action, agent=agent_id, queues=list(done.queues), reason=done.detail)
    if app.agent_sessions is not None:  # the other nodes of a cluster do the same (ivr.cluster.agents)
        await app.agent_sessions.changed(agent_id, _ACTIONS[action], reason=reason)
    await _answer(channel, _PROMPTS[action], "ok")


async def _answer(channel: AgiChannel, prompt: str, result: str) -> None:
    await channel.play(f"ivr/{LANGUAGE}/{prompt}", interrupt_keys="")
    await channel.set_variable(IVR_AGENT_RESULT, result)
