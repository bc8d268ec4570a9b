"""The agent's call as Asterisk has it right now, asked over AMI when a supervisor wants to spy.

Asked, not remembered: the daemon's own picture (the AMI bridge's view) knows that an agent is busy,
not which channel is in which bridge, and a spy must never land on a stale channel. `CoreShowChannels`
lists every channel with its bridge; the agent's channel is the one whose name starts with one of the
agent's queue interfaces (`PJSIP/1001-…`) and that is in a bridge. The other channel in that bridge is
the caller, whose `IVR_QUEUED` ([ivr-queue] in extensions.conf) names the queue they were connected
from; a queued callback's stand-in carries `IVR_CB_QUEUE` instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from ivr.ami.port import AmiPort
from ivr.ami.reply import header
from ivr.dialplan_variables import IVR_CB_QUEUE, IVR_QUEUED
from ivr.supervision.policy import LiveCall, channel_prefix

QUEUE_VARIABLES = (IVR_QUEUED, IVR_CB_QUEUE)


async def _variable(ami: AmiPort, channel: str, name: str) -> str:
    answer = await ami.action({"Action": "Getvar", "Channel": channel, "Variable": name})
    return answer.get("Value").strip() if answer.ok else ""


async def find_call(ami: AmiPort, interfaces: Iterable[str]) -> LiveCall | None:
    """The agent's bridged channel and the queue of the caller it is bridged with, or None."""
    prefixes = tuple({channel_prefix(i) for i in interfaces if "/" in i})
    rows = (await ami.action({"Action": "CoreShowChannels"})).named("CoreShowChannel")
    for row in rows:
        channel, bridge = header(row, "Channel"), header(row, "BridgeId")
        if not bridge or not channel.startswith(prefixes):
            continue
        peers = [header(p, "Channel") for p in rows
                 if header(p, "BridgeId") == bridge and header(p, "Channel") != channel]
        for peer in peers:
            for name in QUEUE_VARIABLES:
                queue = await _variable(ami, peer, name)
                if queue:
                    return LiveCall(channel, queue)
        return LiveCall(channel, "")
    return None
