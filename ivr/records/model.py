"""One call's record, as the recorder builds it from events and as `call_records` stores it.

Outcomes (final once `ended` is set; `in_menu` and `queued` only appear on calls still running):

| outcome | when |
|---|---|
| answered | an agent answered (AgentConnect), whatever happened before |
| callback | the caller asked to be called back (callback_requested) |
| callback_request | the caller left a number to be called back at the next opening (callback_booked) |
| abandoned | the caller hung up while waiting in a queue (QueueCallerAbandon) |
| transferred | the menu sent the call to another number |
| closed_hours | the menu played a closed message (hangup node whose reason starts with `closed`) |
| message | the menu played another message and hung up, or every queue gave the caller back |
| menu_hangup | the caller hung up in the menu |
| unknown | the call ended and none of the above was seen |
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

COLUMNS = (
    "uniqueid", "started", "ended", "plan", "config_version", "path", "language", "department", "service",
    "tags", "queue", "enqueued_at", "answered_at", "wait_s", "agent", "outcome", "menu_outcome", "reason",
    "abandoned_after_s", "abandoned_position", "talk_s", "wrapup_s", "total_s", "caller_ref", "updated_at",
    "wrapup_code", "survey_opt_in", "survey_score",
)
FINAL_OUTCOMES = ("answered", "callback", "callback_request", "abandoned", "transferred", "closed_hours", "message",
                  "menu_hangup", "unknown")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass
class CallRecord:
    uniqueid: str
    started: float
    ended: float | None = None
    plan: str | None = None
    config_version: str | None = None
    path: list[str] = field(default_factory=list)
    language: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    queue: str | None = None
    enqueued_at: float | None = None
    answered_at: float | None = None
    agent: str | None = None
    menu_outcome: str | None = None  # the interpreter's: queue, transfer, hangup, message, abandoned
    reason: str | None = None
    abandoned_at: float | None = None
    abandoned_wait_s: float | None = None  # Asterisk's HoldTime, when we missed the join
    abandoned_position: int | None = None
    callback: bool = False
    callback_request: bool = False  # booked for the next opening (ivr/entrypoints/callback_request.py)
    transferred: bool = False
    talk_s: float | None = None
    wrapup_s: float | None = None
    caller_ref: str | None = None
    wrapup_code: str | None = None  # the agent's disposition (desktop), from the `wrapup` event
    survey_opt_in: bool = False  # the caller agreed to the after-call survey (`survey_opted_in`)
    survey_score: int | None = None  # their answer, 1-5 (`survey_answered`); None: no answer

    @property
    def outcome(self) -> str:
        if self.answered_at is not None:
            return "answered"
        if self.callback:
            return "callback"
        if self.callback_request:
            return "callback_request"
        if self.abandoned_at is not None:
            return "abandoned"
        if self.transferred or self.menu_outcome == "transfer":
            return "transferred"
        if self.menu_outcome in ("hangup", "message", "callback"):  # callback: a request not booked
            return "closed_hours" if (self.reason or "").startswith("closed") else "message"
        if self.menu_outcome == "abandoned":
            return "menu_hangup"
        if self.ended is None:
            queueing = self.enqueued_at is not None or self.menu_outcome == "queue"
            return "queued" if queueing else "in_menu"
        return "message" if self.enqueued_at is not None else "unknown"

    @property
    def wait_s(self) -> float | None:
        if self.enqueued_at is not None and self.answered_at is not None:
            return max(0.0, self.answered_at - self.enqueued_at)
        return None

    @property
    def abandoned_after_s(self) -> float | None:
        if self.abandoned_at is None:
            return None
        if self.enqueued_at is not None:
            return max(0.0, self.abandoned_at - self.enqueued_at)
        return self.abandoned_wait_s

    @property
    def talk_time(self) -> float | None:
        if self.talk_s is not None:
            return self.talk_s
        if self.answered_at is not None and self.ended is not None:
            return max(0.0, self.ended - self.answered_at)
        return None

    def row(self, updated_at: float) -> dict[str, Any]:
        return {
            "uniqueid": self.uniqueid, "started": self.started, "ended": self.ended, "plan": self.plan,
            "config_version": self.config_version, "path": json.dumps(self.path),
            "language": self.language, "department": self.tags.get("department"),
            "service": self.tags.get("service"), "tags": json.dumps(self.tags, sort_keys=True),
            "queue": self.queue, "enqueued_at": self.enqueued_at, "answered_at": self.answered_at,
            "wait_s": _round(self.wait_s), "agent": self.agent, "outcome": self.outcome,
            "menu_outcome": self.menu_outcome, "reason": self.reason,
            "abandoned_after_s": _round(self.abandoned_after_s), "abandoned_position": self.abandoned_position,
            "talk_s": _round(self.talk_time), "wrapup_s": _round(self.wrapup_s),
            "total_s": _round(None if self.ended is None else max(0.0, self.ended - self.started)),
            "caller_ref": self.caller_ref or None, "updated_at": updated_at, "wrapup_code": self.wrapup_code,
            # NULL, not 0, when the caller did not opt in: a later row (e.g. the score) never clears it.
            "survey_opt_in": 1 if self.survey_opt_in else None, "survey_score": self.survey_score,
        }
