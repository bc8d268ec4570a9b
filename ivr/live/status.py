"""The live picture of the queues for the command line: one AMI QueueStatus, parsed by the same
code the daemon's AMI bridge uses (`AmiBridge.apply_status` into a `QueueView`)."""

from __future__ import annotations

import logging
import time
from typing import Any

import structlog
from structlog.typing import FilteringBoundLogger

from ivr.ami.port import AmiPort
from ivr.events.sink import FanoutSink
from ivr.live.ami_bridge import AmiBridge
from ivr.live.queue_view import QueueView


async def fetch_view(ami: AmiPort) -> QueueView:
    answer = await ami.action({"Action": "QueueStatus"})
    # Parse only: no sink, no ticker, and no "re-synchronised" log line in the command's output.
    quiet: FilteringBoundLogger = structlog.wrap_logger(
        structlog.ReturnLogger(), wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    bridge = AmiBridge(FanoutSink(), snapshot_every=0, logger=quiet)
    bridge.apply_status(answer.messages)
    return bridge.view


def queue_rows(view: QueueView, queues: list[str], now: float | None = None) -> list[dict[str, Any]]:
    """One row per queue: waiting, longest wait, agents by state (`ivr queues`)."""
    moment = time.time() if now is None else now
    rows = []
    for name in queues:
        snap = view.snapshot(name, moment) if name in view.queues else None
        rows.append({"queue": name, "known": snap is not None,
                     "waiting": snap["waiting"] if snap else 0,
                     "longest_wait_s": snap["longest_wait_s"] if snap else 0.0,
                     "agents": snap["agents"] if snap else {},
                     "members": snap["members"] if snap else []})
    return rows


def agent_rows(view: QueueView, agents: dict[str, str], now: float | None = None) -> list[dict[str, Any]]:
    """One row per configured agent (id → name): logged out, or their state and queues (`ivr agents list`)."""
    moment = time.time() if now is None else now
    rows = []
    for agent_id, name in sorted(agents.items()):
        state = view.agent_state(agent_id, moment)
        rows.append({"agent": agent_id, "name": name,
                     "state": state["state"] if state else "logged_out",
                     "reason": state["reason"] if state else "",
                     "queues": state["queues"] if state else []})
    return rows
