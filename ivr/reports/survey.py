"""Satisfaction from the after-call survey (docs/reports.md, "Satisfaction"), per agent group,
department and month.

- opted in: calls whose caller agreed to the survey before the queue (agents/groups.yaml `survey:`).
- responses: calls with a score 1-5 (the caller keyed it after the agent hung up).
- response rate = responses ÷ opted-in calls (a caller who opted in may still abandon the queue or
  hang up before answering).
- score = the mean of the scores (1 very dissatisfied … 5 very satisfied); satisfied = the share of
  responses that are 4 or 5.
A call counts in the group of the queue whose agent answered it (the record's queue), the department
the menu gave it, and the month it started in (local time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ivr.reports.compute import NONE_LABEL
from ivr.reports.query import Period, ReportCall

SCORES = (1, 2, 3, 4, 5)
SECTIONS = ("group", "department", "month")


@dataclass(frozen=True)
class SurveyStats:
    group: str
    opted_in: int
    responses: int
    response_rate: float | None
    score: float | None
    satisfied: float | None
    by_score: dict[str, int]  # "1".."5" -> responses

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SurveyReport:
    period: Period
    total: SurveyStats
    sections: dict[str, list[SurveyStats]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.period.first.isoformat(), "to": self.period.last.isoformat(),
                "timezone": str(self.period.zone), "total": self.total.as_dict(),
                "sections": {name: [s.as_dict() for s in rows] for name, rows in self.sections.items()}}


def survey_stats(name: str, calls: list[ReportCall]) -> SurveyStats:
    scores = [c.survey_score for c in calls if c.survey_score is not None]
    opted_in = sum(1 for c in calls if c.survey_opt_in or c.survey_score is not None)
    return SurveyStats(
        group=name, opted_in=opted_in, responses=len(scores),
        response_rate=len(scores) / opted_in if opted_in else None,
        score=sum(scores) / len(scores) if scores else None,
        satisfied=sum(1 for s in scores if s >= 4) / len(scores) if scores else None,
        by_score={str(s): scores.count(s) for s in SCORES},
    )


def _grouped(calls: list[ReportCall], key: Callable[[ReportCall], str], *, chronological: bool = False
             ) -> list[SurveyStats]:
    groups: dict[str, list[ReportCall]] = {}
    for call in calls:
        groups.setdefault(key(call), []).append(call)
    names = sorted(groups) if chronological else sorted(groups, key=lambda g: (-len(groups[g]), g))
    return [survey_stats(name, groups[name]) for name in names]


def build_survey_report(calls: list[ReportCall], period: Period, *, group_of: Callable[[str], str]) -> SurveyReport:
    """`group_of` names the agent group of a queue (its skill queues included)."""
    surveyed = [c for c in calls if c.survey_opt_in or c.survey_score is not None]
    sections = {
        "group": _grouped(surveyed, lambda c: group_of(c.queue) if c.queue else NONE_LABEL),
        "department": _grouped(surveyed, lambda c: c.department or NONE_LABEL),
        "month": _grouped(surveyed, lambda c: f"{c.started.year:04d}-{c.started.month:02d}", chronological=True),
    }
    return SurveyReport(period, survey_stats("all calls", surveyed), sections)
