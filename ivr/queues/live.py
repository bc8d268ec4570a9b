"""The routing view of the live queues: counts from the AMI bridge's `QueueView`, or "unknown"
while AMI is down or not yet synchronised (a stale picture must not send callers elsewhere)."""

from __future__ import annotations

from collections.abc import Callable

from ivr.live.queue_view import QueueView
from ivr.queues.membership import SKILL_GAP
from ivr.queues.overflow import QueueLoad


class LiveQueues:
    def __init__(self, view: Callable[[], QueueView], is_current: Callable[[], bool]) -> None:
        self._view = view
        self._is_current = is_current

    def load(self, queue: str) -> QueueLoad:
        if not self._is_current():
            return QueueLoad()
        state = self._view().queues.get(queue)
        if state is None:
            return QueueLoad(logged_in=0, skilled_present=0, waiting=0)
        members = [m for m in state.members.values() if m.logged_in]
        skilled = [m for m in members if not m.paused and m.penalty < SKILL_GAP]
        return QueueLoad(logged_in=len(members), skilled_present=len(skilled), waiting=len(state.callers))
