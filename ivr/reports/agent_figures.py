"""Per-agent and per-group figures for `ivr report --agents` (formulas: docs/reports.md).

- calls handled: answered calls whose record names the agent (per group: the group of the call's queue).
- average talk, average wrap-up: over those calls. Wrap-up is the call record's when it knows one,
  else the `wrapup` of the call's group (agents/groups.yaml): Asterisk holds an agent that long after
  each call (a wrap-up code given on the desktop can end it sooner; the log does not see that).
- rings not answered: the agent's phone rang for a caller and stopped unanswered (AgentRingNoAnswer).
- logged-in time and pause time by reason: from the agent log (`agent_time`).
- occupancy = (talk + wrap-up) ÷ (logged-in time − pause time): the share of the time the agent could
  take calls that went to calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ivr.reports.agent_time import TimeInStates, time_in_states
from ivr.reports.query import Period, ReportCall

if TYPE_CHECKING:
    from ivr.config.loader import ConfigSet


@dataclass(frozen=True)
class AgentFigures:
    name: str  # the agent's id, or the group's name
    calls_handled: int
    avg_talk_s: float | None
    avg_wrapup_s: float | None
    rings_unanswered: int
    logged_in_s: float
    paused_s: float
    paused_by_reason: dict[str, float]
    occupancy: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AgentReport:
    period: Period
    agents: list[AgentFigures]  # empty when nobody may see per-agent figures
    groups: list[AgentFigures]
    viewer: str | None = None  # the supervisor the per-agent rows were made for
    reasons: list[str] = field(default_factory=list)  # every pause reason seen, for the columns

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.period.first.isoformat(), "to": self.period.last.isoformat(),
                "timezone": str(self.period.zone), "for_supervisor": self.viewer,
                "agents": [a.as_dict() for a in self.agents], "groups": [g.as_dict() for g in self.groups]}


def configured_wrapups(config: ConfigSet) -> Callable[[str], float]:
    """queue → the `wrapup` of its group (skill queues included); 0 for a queue no group has."""
    wrapups = {queue: float(group.wrapup) for group in config.groups.values() for queue in group.queues}
    return lambda queue: wrapups.get(queue, 0.0)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def figures(name: str, calls: list[ReportCall], rings: int, time: TimeInStates,
            wrapup_of: Callable[[str], float]) -> AgentFigures:
    talk = [c.talk_s or 0.0 for c in calls]
    wrapup = [c.wrapup_s if c.wrapup_s is not None else wrapup_of(c.queue or "") for c in calls]
    available_s = time.logged_in_s - time.paused_total_s
    return AgentFigures(
        name=name, calls_handled=len(calls), avg_talk_s=_mean(talk), avg_wrapup_s=_mean(wrapup),
        rings_unanswered=rings, logged_in_s=round(time.logged_in_s, 3), paused_s=round(time.paused_total_s, 3),
        paused_by_reason={k: round(v, 3) for k, v in sorted(time.paused_s.items())},
        occupancy=(sum(talk) + sum(wrapup)) / available_s if available_s > 0 else None,
    )


def build_agent_report(calls: Iterable[ReportCall], events: Sequence[Mapping[str, Any]], period: Period, *,
                       group_of: Callable[[str], str], wrapup_of: Callable[[str], float],
                       shown_agents: set[str] | None, groups: list[str], now: float,
                       viewer: str | None = None) -> AgentReport:
    """`group_of(queue)`: the queue's group; `wrapup_of(queue)`: its group's configured wrap-up;
    `shown_agents`: whose per-agent rows to make (None: nobody's); `groups`: the groups to list."""
    end = min(period.end, now)
    answered = [c for c in calls if c.outcome == "answered" and c.agent]
    agent_time, group_time = time_in_states(events, period.start, end, group_of)
    rings = [e for e in events if e["kind"] == "ring_no_answer" and period.start <= float(e["at"]) < end]

    agent_rows = [figures(agent, [c for c in answered if c.agent == agent],
                          sum(1 for e in rings if e["agent"] == agent), agent_time.get(agent, TimeInStates()),
                          wrapup_of)
                  for agent in sorted(shown_agents or ())]
    group_rows = [figures(group, [c for c in answered if c.queue and group_of(c.queue) == group],
                          sum(1 for e in rings if e["queue"] and group_of(str(e["queue"])) == group),
                          group_time.get(group, TimeInStates()), wrapup_of)
                  for group in groups]
    reasons = sorted({r for row in (*agent_rows, *group_rows) for r in row.paused_by_reason})
    return AgentReport(period, agent_rows, group_rows, viewer, reasons)
