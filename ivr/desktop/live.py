"""A group's live picture for its agents and supervisors (`GET /api/v1/groups/{group}/live` and the
`group` messages): callers waiting over the group's queues (its own and its skill queues), the
longest wait, agents by state, and queued callbacks not done yet.

`waiting` counts every place in the queues, a queued callback's stand-in included (it holds the
citizen's place); `callbacks_pending` counts the group's callbacks still to be made (waiting for their
turn in the queue, or for their next attempt), as the callback service saw them at its last scan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ivr.config.loader import ConfigSet
from ivr.live.queue_view import AGENT_STATES, QueueView


def group_live(config: ConfigSet, view: QueueView, group: str, callbacks_pending: Callable[[str], int],
               now: float) -> dict[str, Any]:
    queues = config.groups[group].queues
    snapshots = [view.snapshot(queue, now) for queue in queues]
    agents = dict.fromkeys(AGENT_STATES, 0)
    seen: set[str] = set()
    for snapshot in snapshots:
        for member in snapshot["members"]:
            if member["agent"] not in seen:  # an agent is a member of each of the group's queues
                seen.add(member["agent"])
                agents[member["state"]] += 1
    return {
        "group": group, "queue": queues[0], "queues": list(queues),
        "waiting": sum(s["waiting"] for s in snapshots),
        "longest_wait_s": max((s["longest_wait_s"] for s in snapshots), default=0.0),
        "callbacks_pending": sum(callbacks_pending(queue) for queue in queues),
        "agents": agents,
    }
