"""The records of a period, as `ReportCall`s (only what the report needs)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from ivr.records import store
from ivr.store.db import Database


@dataclass(frozen=True)
class Period:
    """Whole local days, `first` to `last` inclusive, in `zone`."""

    first: dt.date
    last: dt.date
    zone: ZoneInfo

    @property
    def start(self) -> float:
        return dt.datetime.combine(self.first, dt.time(), self.zone).timestamp()

    @property
    def end(self) -> float:
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), self.zone).timestamp()


@dataclass(frozen=True)
class ReportCall:
    started: dt.datetime  # local time
    outcome: str
    offered: bool  # reached a queue
    wait_s: float | None
    abandoned_after_s: float | None
    talk_s: float | None
    wrapup_s: float | None
    queue: str | None
    department: str | None
    service: str | None
    language: str | None
    wrapup_code: str | None = None
    agent: str | None = None  # who answered (the queue member's name: the agent's id)
    survey_opt_in: bool = False  # the caller agreed to the after-call survey
    survey_score: int | None = None  # their answer 1-5, if any


def to_call(row: dict[str, Any], zone: ZoneInfo) -> ReportCall:
    return ReportCall(
        started=dt.datetime.fromtimestamp(float(row["started"]), zone),
        outcome=str(row["outcome"]),
        # Answered or abandoned calls were in a queue even if the join itself was missed (AMI down).
        offered=row["enqueued_at"] is not None or row["outcome"] in ("answered", "abandoned", "callback"),
        wait_s=_opt(row["wait_s"]),
        abandoned_after_s=_opt(row["abandoned_after_s"]),
        talk_s=_opt(row["talk_s"]),
        wrapup_s=_opt(row["wrapup_s"]),
        queue=row["queue"],
        department=row["department"],
        service=row["service"],
        language=row["language"],
        wrapup_code=row.get("wrapup_code"),
        agent=row.get("agent"),
        survey_opt_in=bool(row.get("survey_opt_in")),
        survey_score=_score(row.get("survey_score")),
    )


def load_calls(db: Database, period: Period) -> list[ReportCall]:
    return [to_call(row, period.zone) for row in store.fetch(db, period.start, period.end)]


def _score(value: Any) -> int | None:
    return int(value) if value is not None and 1 <= int(value) <= 5 else None


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)
