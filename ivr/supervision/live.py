"""The agent's call as Asterisk has it right now, asked over AMI when a supervisor wants to spy.

Asked, not remembered: the daemon's own picture (the AMI bridge's view) knows that an agent is busy,
not which channel is in which bridge, and a spy must never land on a stale channel. `CoreShowChannels`
lists every channel with its bridge; the agent's channel is the one whose name starts with one of the
agent's queue interfaces (`PJSIP/1001-…`) and that is in a bridge. The other channel in that bridge is
the caller, whose `IVR_QUEUED` ([ivr-queue] in extensions.conf) names the queue they were connected
from; a queued callback's stand-in carries `IVR_CB_QUEUE` instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ivr.dialplan_variables import IVR_CB_QUEUE, IVR_QUEUED
from ivr.supervision.policy import LiveCall, channel_prefix

QUEUE_VARIABLES = (IVR_QUEUED, IVR_CB_QUEUE)


class AmiActions(Protocol):
    async def action(self, fields: Any, timeout: float | None = None) -> Any: ...

    async def originate(self, channel: str, *, context: str | None = None, exten: str | None = None,
                        caller_id: str | None = None, variables: Mapping[str, str] | None = None,
                        ring_timeout: float = 30.0) -> Any: ...


def _rows(answer: Any) -> list[Mapping[str, Any]]:
    messages = answer if isinstance(answer, list) else [answer]
    return [m for m in messages if str(m.get("Event", "")) == "CoreShowChannel"]


async def _variable(ami: AmiActions, channel: str, name: str) -> str:
    answer = await ami.action({"Action": "Getvar", "Channel": channel, "Variable": name})
    first = answer[0] if isinstance(answer, list) else answer
    if str(first.get("Response", "")).lower() != "success":
        return ""
    return str(first.get("Value", "") or "").strip()


async def find_call(ami: AmiActions, interfaces: Iterable[str]) -> LiveCall | None:
    """The agent's bridged channel and the queue of the caller it is bridged with, or None."""
    prefixes = tuple({channel_prefix(i) for i in interfaces if "/" in i})
    rows = _rows(await ami.action({"Action": "CoreShowChannels"}))
    for row in rows:
        channel, bridge = str(row.get("Channel", "")), str(row.get("BridgeId", "") or "")
        if not bridge or not channel.startswith(prefixes):
            continue
        peers = [str(p.get("Channel", "")) for p in rows
                 if str(p.get("BridgeId", "") or "") == bridge and str(p.get("Channel", "")) != channel]
        for peer in peers:
            for name in QUEUE_VARIABLES:
                queue = await _variable(ami, peer, name)
                if queue:
                    return LiveCall(channel, queue)
        return LiveCall(channel, "")
    return None
