"""Time in states, from the agent log (`agent_events`): each `state` row holds until the agent's next
one, a `stopped` row (the daemon stopped: nothing known until it starts again) or the period's end
(or now, for a period still running). Only the part inside the period counts.

Logged in: any state but `unavailable` (paused included: a paused agent is at work, just not
taking calls). Paused: the `paused` state, by its reason. An agent in several queues has one state
(the most telling, docs/EVENTS.md), and its time counts for every group of its queues.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

NO_REASON = "(no reason)"


@dataclass
class TimeInStates:
    logged_in_s: float = 0.0
    paused_s: dict[str, float] = field(default_factory=dict)  # by pause reason

    @property
    def paused_total_s(self) -> float:
        return sum(self.paused_s.values())

    def add(self, state: str, reason: str, seconds: float) -> None:
        if seconds <= 0 or state == "unavailable":
            return
        self.logged_in_s += seconds
        if state == "paused":
            key = reason or NO_REASON
            self.paused_s[key] = self.paused_s.get(key, 0.0) + seconds


@dataclass(frozen=True)
class _Open:
    since: float
    state: str
    reason: str
    queues: tuple[str, ...]


def time_in_states(rows: Iterable[Mapping[str, Any]], start: float, end: float,
                   group_of: Callable[[str], str]) -> tuple[dict[str, TimeInStates], dict[str, TimeInStates]]:
    """Per agent and per group (through `group_of(queue)`), the logged-in and paused time in [start, end)."""
    agents: dict[str, TimeInStates] = {}
    groups: dict[str, TimeInStates] = {}
    current: dict[str, _Open] = {}

    def close(agent: str, until: float) -> None:
        spell = current.pop(agent, None)
        if spell is None:
            return
        seconds = min(until, end) - max(spell.since, start)
        agents.setdefault(agent, TimeInStates()).add(spell.state, spell.reason, seconds)
        for group in sorted({group_of(q) for q in spell.queues}):
            groups.setdefault(group, TimeInStates()).add(spell.state, spell.reason, seconds)

    for row in sorted(rows, key=lambda r: float(r["at"])):
        at, kind, agent = float(row["at"]), str(row["kind"]), str(row["agent"])
        if kind == "stopped":
            for name in list(current):
                close(name, at)
        elif kind == "state":
            close(agent, at)
            current[agent] = _Open(at, str(row["state"] or ""), str(row["reason"] or ""),
                                   tuple(json.loads(row["queues"] or "[]")))
    for name in list(current):
        close(name, end)
    return agents, groups
