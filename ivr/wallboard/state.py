"""What the wallboard shows, kept up to date by product events (it is an EventSink).

Queue pictures come from `queue_snapshot`; today's service level per queue is counted from
`answered` (its wait in that queue) and `abandoned` events:

    service level today = answered within the target ÷ (answered + abandoned − abandoned within 5 s)

i.e. over the calls that finished waiting today (callers still waiting are not counted yet). It is
reset at local midnight and starts from zero when the daemon starts; `ivr report` has the
authoritative figure from the call records.

With several daemons, the nodes' health (ivr.cluster) is shown too, so that a node that is down (its
Last Will), stopped or silent is seen on the wall, not only in `ivr cluster status`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ivr.events import names

if TYPE_CHECKING:
    from ivr.calls import ActiveCall
    from ivr.cluster.health import NodeHealth


@dataclass
class Today:
    answered: int = 0
    in_target: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    callback_requests: int = 0  # numbers left today to be called back at the next opening

    @property
    def service_level(self) -> float | None:
        base = self.answered + self.abandoned - self.short_abandoned
        return self.in_target / base if base > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "service_level": self.service_level}


class WallboardState:
    def __init__(self, *, site: str = "", zone: ZoneInfo | None = None, sl_target_s: float = 60.0,
                 short_abandon_s: float = 5.0, clock: Callable[[], float] = time.time) -> None:
        self.site = site
        self.zone = zone or ZoneInfo("Europe/Stockholm")
        self.sl_target_s = sl_target_s
        self.short_abandon_s = short_abandon_s
        self.version = 0
        self._clock = clock
        self._snapshots: dict[str, dict[str, Any]] = {}
        self._snapshot_at: dict[str, float] = {}
        self._today: dict[str, Today] = {}
        self._day = self._local_day()
        self._changed = asyncio.Event()
        self._nodes: dict[str, NodeHealth] = {}
        self._requests_waiting: dict[str, int] = {}  # callback requests waiting for the opening

    def emit(self, event: str, call: ActiveCall | None = None, **data: Any) -> None:
        queue = str(data.get("queue") or "")
        if event == names.QUEUE_SNAPSHOT and queue:
            self._snapshots[queue] = dict(data)
            self._snapshot_at[queue] = self._clock()
        elif event == names.ANSWERED and queue:
            today = self._counts(queue)
            today.answered += 1
            today.in_target += float(data.get("wait_s") or 0) <= self.sl_target_s
        elif event == names.CALLBACK_REQUESTS_WAITING and queue:
            self._requests_waiting[queue] = int(data.get("waiting") or 0)
        elif event == names.CALLBACK_BOOKED and queue:
            self._counts(queue).callback_requests += 1
        elif event == names.ABANDONED and queue:
            today = self._counts(queue)
            today.abandoned += 1
            today.short_abandoned += float(data.get("wait_s") or 0) <= self.short_abandon_s
        else:
            return
        self._bump()

    def set_nodes(self, nodes: dict[str, NodeHealth]) -> None:
        """The cluster's nodes as their last health messages say (called on every change)."""
        self._nodes = dict(nodes)
        self._bump()

    def _counts(self, queue: str) -> Today:
        day = self._local_day()
        if day != self._day:
            self._day, self._today = day, {}
        return self._today.setdefault(queue, Today())

    def _local_day(self) -> dt.date:
        return dt.datetime.fromtimestamp(self._clock(), self.zone).date()

    def _bump(self) -> None:
        self.version += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()  # wakes every page waiting in `wait_change`

    async def wait_change(self, seen: int, timeout: float) -> bool:
        """Wait until the version moves past `seen`; False on timeout."""
        if self.version != seen:
            return True
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def as_dict(self) -> dict[str, Any]:
        if self._local_day() != self._day:
            self._day, self._today = self._local_day(), {}
        now = self._clock()
        queues = []
        waiting = {queue: count for queue, count in self._requests_waiting.items() if count}
        for name in sorted(set(self._snapshots) | set(self._today) | set(waiting)):
            snap = self._snapshots.get(name, {"queue": name, "waiting": 0, "longest_wait_s": 0, "agents": {},
                                             "members": [], "callers": []})
            queues.append({**snap, "queue": name, "age_s": round(now - self._snapshot_at.get(name, now), 1),
                           "today": self._today.get(name, Today()).as_dict(),
                           "requests_waiting": waiting.get(name, 0)})
        return {"site": self.site, "version": self.version, "ts": now, "sl_target_s": self.sl_target_s,
                "short_abandon_s": self.short_abandon_s, "queues": queues,
                "nodes": [health.as_dict(now) for _, health in sorted(self._nodes.items())]}
