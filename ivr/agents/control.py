"""Agent login, logout, pause and unpause as AMI queue-member actions.

An agent is a dynamic member of every queue of their groups (`ivr.queues.membership`): QueueAdd
with MemberName = the agent's id and StateInterface = their phone, so Asterisk knows when the phone
is busy with any call. Pause applies to all their queues at once (QueuePause without Queue), with
a reason from routing_rules.yaml `queueing.pause_reasons`. Wrap-up after each call is the queue's
`wrapuptime` (the group's `wrapup`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ivr.ami.port import AmiPort
from ivr.config.loader import ConfigSet
from ivr.config.model import Agent
from ivr.queues.membership import memberships

_REASON = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Which phone rings: the desk (or desktop) softphone, or the web desktop's browser softphone.
Device = Literal["desk", "browser"]
DEVICES: tuple[Device, ...] = ("desk", "browser")


class AgentError(Exception):
    """The action could not be done (unknown agent, Asterisk refused)."""


@dataclass(frozen=True)
class Done:
    agent: str
    queues: tuple[str, ...]
    detail: str = ""


def interface_for(template: str, agent: Agent) -> str:
    return template.format(extension=agent.extension)


def agent_for_phone(config: ConfigSet, phone: str) -> tuple[str, Agent] | None:
    """The agent whose softphone (PJSIP endpoint = extension) this is."""
    for agent_id, agent in config.agents.items():
        if phone and agent.extension == phone:
            return agent_id, agent
    return None


class AgentControl:
    """`interface_template` is the desk phone's queue interface (IVR_AGENT_INTERFACE), `browser_template`
    the browser softphone's (IVR_AGENT_BROWSER_INTERFACE). An agent is logged in with one of them at a
    time: logging in with one leaves the other's queues; pause and logout act on whichever is in."""

    def __init__(self, ami: AmiPort, interface_template: str,
                 browser_template: str = "PJSIP/web{extension}") -> None:
        self.ami = ami
        self.template = interface_template
        self.templates: dict[Device, str] = {"desk": interface_template, "browser": browser_template}

    def _agent(self, config: ConfigSet, agent_id: str) -> Agent:
        agent = config.agents.get(agent_id)
        if agent is None:
            raise AgentError(f"unknown agent '{agent_id}'")
        return agent

    def interface(self, agent: Agent, device: Device) -> str:
        return interface_for(self.templates[device], agent)

    def _interfaces(self, agent: Agent) -> list[str]:
        return list(dict.fromkeys(self.interface(agent, device) for device in DEVICES))

    async def login(self, config: ConfigSet, agent_id: str, device: Device = "desk") -> Done:
        agent = self._agent(config, agent_id)
        interface = self.interface(agent, device)
        for other in self._interfaces(agent):
            if other != interface:  # switching phones: leave the other phone's queues first
                for member in memberships(config, agent):
                    await self.ami.action({"Action": "QueueRemove", "Queue": member.queue, "Interface": other})
        joined = []
        for member in memberships(config, agent):
            answer = await self.ami.action({
                "Action": "QueueAdd", "Queue": member.queue, "Interface": interface, "Penalty": str(member.penalty),
                "Paused": "false", "MemberName": agent_id, "StateInterface": interface})
            if not answer.ok:
                if "already" not in answer.message.lower():
                    raise AgentError(f"{member.queue}: {answer.message}")
                # Logged in already: keep the session, but make the penalty current.
                await self.ami.action({"Action": "QueuePenalty", "Interface": interface,
                                       "Penalty": str(member.penalty), "Queue": member.queue})
            joined.append(member.queue)
        return Done(agent_id, tuple(joined))

    async def logout(self, config: ConfigSet, agent_id: str) -> Done:
        agent = self._agent(config, agent_id)
        left = []
        for interface in self._interfaces(agent):
            for member in memberships(config, agent):
                answer = await self.ami.action({"Action": "QueueRemove", "Queue": member.queue,
                                                "Interface": interface})
                if answer.ok:
                    left.append(member.queue)
        return Done(agent_id, tuple(left))

    async def pause(self, config: ConfigSet, agent_id: str, reason: str) -> Done:
        if not _REASON.match(reason):
            raise AgentError(f"bad pause reason {reason!r}")
        return await self._pause(config, agent_id, paused=True, reason=reason)

    async def unpause(self, config: ConfigSet, agent_id: str) -> Done:
        return await self._pause(config, agent_id, paused=False, reason="")

    async def _pause(self, config: ConfigSet, agent_id: str, *, paused: bool, reason: str) -> Done:
        agent = self._agent(config, agent_id)
        refusal = ""
        for interface in self._interfaces(agent):
            fields = {"Action": "QueuePause", "Interface": interface, "Paused": "true" if paused else "false"}
            if reason:
                fields["Reason"] = reason
            answer = await self.ami.action(fields)
            if answer.ok:
                return Done(agent_id, (), reason)
            refusal = answer.message
        raise AgentError(f"not logged in ({refusal})")


def pause_reason(config: ConfigSet, key: str) -> str:
    """The reason for *47<key>; a plain *47 (or an unknown key) is a pause without a named reason."""
    return config.rules.queueing.pause_reasons.get(key, "pause")
