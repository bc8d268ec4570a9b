"""What the desktop asks of Asterisk for a call: end an agent's wrap-up early, transfer a caller.

**Ending wrap-up.** app_queue does not ring a member until the queue's `wrapuptime` has passed since
the member's last call (`lastcall`); nothing in AMI sets it back, and QueueReset clears it for every
member of a queue at once. A member removed and added again starts with none, so for each queue the
agent is in, the daemon originates `Local/s@ivr-desktop-wrapup-end/n`, whose dialplan
(asterisk-config/extensions.conf) removes and re-adds the member exactly as it is now (interface,
penalty, name, pause). Both steps run inside Asterisk: a daemon that dies between two AMI actions could
leave the agent logged out, this cannot (at worst the wrap-up ends by its time). With
`shared_lastcall`, every queue of the agent must be reset for them to be rung at once.

**Transfers.** Variables on the caller's channel (AMI Setvar), then AMI Redirect of that channel to
[ivr-desktop-transfer]: to another group's queue with the daemon's usual placement for the call's
language (skill queue, overflow), or to an official's direct line (no answer: back to the group's
queue). The caller leaving the bridge ends the agent's leg, whichever phone they answered on.
"""

from __future__ import annotations

import datetime as dt

from ivr.ami.port import AmiPort
from ivr.config.loader import ConfigSet
from ivr.dialplan_variables import (
    IVR_LANG,
    IVR_MAX_PENALTY,
    IVR_NEXT_QUEUE,
    IVR_PRIORITY,
    IVR_QUEUE,
    IVR_QUEUE_TIMEOUT,
    IVR_TARGET,
    IVR_TRANSFER_QUEUE,
    IVR_WU_INTERFACE,
    IVR_WU_NAME,
    IVR_WU_PAUSED,
    IVR_WU_PENALTY,
    IVR_WU_QUEUE,
)
from ivr.live.queue_view import QueueView
from ivr.queues.routing import QueueRouter

WRAPUP_CONTEXT = "ivr-desktop-wrapup-end"
TRANSFER_CONTEXT = "ivr-desktop-transfer"


class AsteriskRefused(Exception):
    """Asterisk did not do it (or the transfer makes no sense); `code` is the API's machine code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


async def end_wrapup(ami: AmiPort, view: QueueView, agent: str) -> list[str]:
    """Reset the agent's membership in each of their queues; the queues asked."""
    done: list[str] = []
    for name in sorted(view.queues):
        member = next((m for m in view.queues[name].members.values() if m.agent == agent), None)
        if member is None:
            continue
        variables = {IVR_WU_QUEUE: name, IVR_WU_INTERFACE: member.interface,
                     IVR_WU_PENALTY: str(member.penalty), IVR_WU_NAME: agent,
                     IVR_WU_PAUSED: (member.paused_reason or "pause") if member.paused else ""}
        answer = await ami.action({"Action": "Originate", "Channel": f"Local/s@{WRAPUP_CONTEXT}/n",
                                   "Application": "Wait", "Data": "1", "Async": "true", "Timeout": "10000",
                                   "Variable": [f"{k}={v}" for k, v in variables.items()]})
        if answer.ok:
            done.append(name)
    return done


async def _redirect(ami: AmiPort, channel: str, variables: dict[str, str], exten: str) -> None:
    for name, value in variables.items():
        answer = await ami.action({"Action": "Setvar", "Channel": channel, "Variable": name, "Value": value})
        if not answer.ok:
            raise AsteriskRefused("call_gone", f"the caller's channel is gone ({answer.message})")
    answer = await ami.action({"Action": "Redirect", "Channel": channel, "Context": TRANSFER_CONTEXT,
                               "Exten": exten, "Priority": "1"})
    if not answer.ok:
        raise AsteriskRefused("call_gone", f"the caller's channel is gone ({answer.message})")


async def transfer_to_group(ami: AmiPort, router: QueueRouter, config: ConfigSet, channel: str, group: str,
                            language: str, now: dt.datetime) -> str:
    """Queue the caller in `group` (placed as the menu would for `language`); the queue."""
    placement, priority = await router.route(config, group, language, now, priority=0, caller_hash="")
    if placement.closed_prompt or not placement.queue:
        raise AsteriskRefused("group_closed", f"group '{group}' is closed now")
    await _redirect(ami, channel, {
        IVR_QUEUE: placement.queue, IVR_PRIORITY: str(priority),
        IVR_MAX_PENALTY: "" if placement.max_penalty is None else str(placement.max_penalty),
        IVR_QUEUE_TIMEOUT: "" if placement.timeout is None else str(placement.timeout),
        IVR_NEXT_QUEUE: placement.next_queue or "", IVR_LANG: language}, "queue")
    return placement.queue


async def transfer_to_official(ami: AmiPort, config: ConfigSet, channel: str, official: str, back_queue: str) -> None:
    """Ring the official's direct line; when nobody answers, the caller waits in `back_queue`."""
    person = config.officials.get(official)
    if person is None:
        raise AsteriskRefused("unknown_official", f"no official '{official[:40]}'")
    await _redirect(ami, channel, {IVR_TARGET: person.direct_line, IVR_TRANSFER_QUEUE: back_queue}, "official")
