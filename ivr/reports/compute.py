"""Figures from calls. Formulas (docs/reports.md):

- offered: calls that reached a queue; answered, abandoned: their outcomes.
- short abandons: abandoned after at most `short_abandon_s` (5 s) in the queue; the city leaves
  them out of the service level (the caller changed their mind, nobody could have answered).
- service level = answered within the target ÷ (offered − short abandons).
- wait: seconds from first joining a queue to the answer, over answered calls; p90 is the
  nearest-rank 90th percentile (the smallest wait that at least 90 % of answered calls stay under).
- handle time = talk + wrap-up (wrap-up counted only when known), over answered calls.
- share = calls in the group ÷ all calls of the period; in the wrap-up code section, which counts
  answered calls only (a code is given after an answered call), ÷ answered calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ivr.reports.query import Period, ReportCall

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NONE_LABEL = "(none)"


@dataclass(frozen=True)
class Stats:
    group: str
    calls: int
    share: float | None
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    answered_in_target: int
    service_level: float | None
    avg_wait_s: float | None
    p90_wait_s: float | None
    avg_handle_s: float | None
    # Callers who left a number to be called back at the next opening (callback_request node).
    callback_requests: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    period: Period
    sl_target_s: float
    short_abandon_s: float
    total: Stats
    sections: dict[str, list[Stats]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.period.first.isoformat(), "to": self.period.last.isoformat(),
            "timezone": str(self.period.zone), "sl_target_s": self.sl_target_s,
            "short_abandon_s": self.short_abandon_s, "total": self.total.as_dict(),
            "sections": {name: [s.as_dict() for s in rows] for name, rows in self.sections.items()},
        }


def percentile_nearest_rank(values: Iterable[float], pct: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def stats(group: str, calls: list[ReportCall], *, all_calls: int, sl_target_s: float,
          short_abandon_s: float) -> Stats:
    answered = [c for c in calls if c.outcome == "answered"]
    abandoned = [c for c in calls if c.outcome == "abandoned"]
    short = [c for c in abandoned if c.abandoned_after_s is not None and c.abandoned_after_s <= short_abandon_s]
    offered = sum(c.offered for c in calls)
    waits = [c.wait_s for c in answered if c.wait_s is not None]
    in_target = sum(1 for w in waits if w <= sl_target_s)
    handle = [c.talk_s + (c.wrapup_s or 0.0) for c in answered if c.talk_s is not None]
    base = offered - len(short)
    return Stats(
        group=group, calls=len(calls), share=len(calls) / all_calls if all_calls else None,
        offered=offered, answered=len(answered), abandoned=len(abandoned), short_abandoned=len(short),
        answered_in_target=in_target, service_level=in_target / base if base > 0 else None,
        avg_wait_s=_mean(waits), p90_wait_s=percentile_nearest_rank(waits, 90), avg_handle_s=_mean(handle),
        callback_requests=sum(1 for c in calls if c.outcome == "callback_request"),
    )


def _grouped(calls: list[ReportCall], key: Callable[[ReportCall], str], order: list[str] | None,
             **kwargs: Any) -> list[Stats]:
    groups: dict[str, list[ReportCall]] = {}
    for call in calls:
        groups.setdefault(key(call), []).append(call)
    names = order if order is not None else sorted(groups, key=lambda g: (-len(groups[g]), g))
    return [stats(name, groups.get(name, []), **kwargs) for name in names]


def _wrapup_codes(calls: list[ReportCall], **kwargs: Any) -> list[Stats]:
    """Answered calls by the agent's wrap-up code (`(none)`: no code was given)."""
    answered = [c for c in calls if c.outcome == "answered"]
    return _grouped(answered, lambda c: c.wrapup_code or NONE_LABEL, None, **{**kwargs, "all_calls": len(answered)})


def build_report(calls: list[ReportCall], period: Period, *, sl_target_s: float = 60.0,
                 short_abandon_s: float = 5.0) -> Report:
    kwargs: dict[str, Any] = {"all_calls": len(calls), "sl_target_s": sl_target_s,
                              "short_abandon_s": short_abandon_s}
    sections = {
        "hour": _grouped(calls, lambda c: f"{c.started.hour:02d}", [f"{h:02d}" for h in range(24)], **kwargs),
        "weekday": _grouped(calls, lambda c: WEEKDAYS[c.started.weekday()], list(WEEKDAYS), **kwargs),
        "service": _grouped(calls, lambda c: c.service or NONE_LABEL, None, **kwargs),
        "department": _grouped(calls, lambda c: c.department or NONE_LABEL, None, **kwargs),
        "language": _grouped(calls, lambda c: c.language or NONE_LABEL, None, **kwargs),
        "queue": _grouped(calls, lambda c: c.queue or NONE_LABEL, None, **kwargs),
        "wrapup_code": _wrapup_codes(calls, **kwargs),
    }
    return Report(period, sl_target_s, short_abandon_s, stats("all calls", calls, **kwargs), sections)
