"""CallRecorder: an EventSink that folds a call's product events into its `CallRecord`.

The record is handed to the writer (never awaited) at each milestone: call start, each menu node,
end of the menu, first queueing, answer, abandon, callback, transfer and hang-up. The writer builds its
row when it writes (at once when idle, within its min_interval_s when busy), so a record that changes
several times before it is written is built once. So a call that ends
in the menu (menu_finished says `abandoned`) is on disk at once, `call_ended` only adds the end time,
and if the daemon dies mid-call the record already says how far into the menu the caller got. Events
may arrive in either order around a hang-up (AMI's Hangup can beat the route's menu_finished), so a
record stays in memory for `linger_s` after its end and later events still update it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from structlog.typing import FilteringBoundLogger

from ivr.events import names
from ivr.records.model import CallRecord

if TYPE_CHECKING:
    from ivr.calls import ActiveCall

# Events that change what the stored record says (others only update memory).
_MILESTONES = frozenset({names.CALL_STARTED, names.IVR_NODE, names.MENU_FINISHED, names.QUEUED, names.ANSWERED,
                         names.ABANDONED, names.CALLBACK_REQUESTED, names.CALLBACK_BOOKED, names.TRANSFERRED,
                         names.CALL_ENDED, names.WRAPUP, names.SURVEY_OPTED_IN, names.SURVEY_ANSWERED})
_CALL_EVENTS = _MILESTONES | {names.LANGUAGE_CHOSEN, names.POSITION_CHANGED}


class RowSink(Protocol):
    def submit_later(self, key: str, build: Callable[[], dict[str, Any]]) -> None:
        """Write the row `build()` returns, built when it is written; a newer `build` of the same key
        replaces one not yet written."""


class CallRecorder:
    def __init__(self, writer: RowSink, *, clock: Callable[[], float] = time.time, linger_s: float = 60.0,
                 max_age_s: float = 6 * 3600.0, logger: FilteringBoundLogger | None = None) -> None:
        self.writer = writer
        self.open: dict[str, CallRecord] = {}
        self._clock = clock
        self._linger_s = linger_s
        self._max_age_s = max_age_s
        self._last_sweep = 0.0
        self._log: FilteringBoundLogger = logger or structlog.get_logger("ivr.records")

    def emit(self, event: str, call: ActiveCall | None = None, **data: Any) -> None:
        if event not in _CALL_EVENTS:
            return
        uniqueid = call.uniqueid if call is not None else str(data.get("uniqueid") or "")
        if not uniqueid:
            return
        now = self._clock()
        record = self.open.get(uniqueid)
        if record is None:
            record = self.open[uniqueid] = CallRecord(uniqueid, started=call.started if call is not None else now)
        if call is not None and not record.caller_ref:
            record.caller_ref = call.caller_ref
        self._apply(record, event, data, now)
        if event in _MILESTONES:
            self.writer.submit_later(uniqueid, lambda: record.row(self._clock()))
        self._sweep(now)

    def _apply(self, record: CallRecord, event: str, data: dict[str, Any], now: float) -> None:
        if event == names.CALL_STARTED:
            record.plan = data.get("plan") or record.plan
            record.caller_ref = data.get("caller_ref") or record.caller_ref
        elif event == names.IVR_NODE:
            record.path.append(str(data.get("node", "")))
        elif event == names.LANGUAGE_CHOSEN:
            record.language = data.get("language") or record.language
        elif event == names.MENU_FINISHED:
            record.menu_outcome = str(data.get("outcome") or "")
            record.reason = data.get("reason")
            record.path = [str(n) for n in data.get("nodes") or record.path]
            record.language = data.get("language") or record.language
            record.tags = {str(k): str(v) for k, v in (data.get("tags") or {}).items()}
            record.config_version = data.get("config_version") or record.config_version
            record.queue = data.get("queue") or record.queue
        elif event == names.QUEUED:
            record.queue = data.get("queue") or record.queue
            if record.enqueued_at is None:  # an overflow to another queue keeps the first join time
                record.enqueued_at = now
            record.caller_ref = record.caller_ref or data.get("caller_ref")
        elif event == names.ANSWERED:
            record.answered_at = record.answered_at or now
            record.agent = data.get("agent") or record.agent
            record.queue = data.get("queue") or record.queue
        elif event == names.ABANDONED:
            record.abandoned_at = now
            record.abandoned_wait_s = _float(data.get("wait_s"))
            record.abandoned_position = _int(data.get("position"))
            record.queue = data.get("queue") or record.queue
        elif event == names.CALLBACK_REQUESTED:
            record.callback = True
        elif event == names.CALLBACK_BOOKED:
            record.callback_request = True
        elif event == names.TRANSFERRED:
            record.transferred = True
        elif event == names.WRAPUP:
            # Often minutes after the hang-up, when the record may have left memory: the row written
            # then carries little else, and the store's merge keeps what the row already says.
            record.wrapup_code = str(data.get("code") or "") or record.wrapup_code
            record.agent = record.agent or data.get("agent")
        elif event == names.SURVEY_OPTED_IN:
            record.survey_opt_in = True
        elif event == names.SURVEY_ANSWERED:
            # After the agent hung up, like a wrap-up code: the store's merge keeps the rest of the row.
            score = _int(data.get("score"))
            if score is not None and 1 <= score <= 5:
                record.survey_score = score
                record.survey_opt_in = True
        elif event == names.CALL_ENDED:
            record.ended = record.ended or now
            record.talk_s = _float(data.get("talk_s"), record.talk_s)
            record.wrapup_s = _float(data.get("wrapup_s"), record.wrapup_s)

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < min(self._linger_s, 30.0):
            return
        self._last_sweep = now
        for uniqueid, record in list(self.open.items()):
            ended_long_ago = record.ended is not None and now - record.ended > self._linger_s
            if ended_long_ago or now - record.started > self._max_age_s:
                del self.open[uniqueid]


def _float(value: Any, default: float | None = None) -> float | None:
    try:
        return default if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return default


def _int(value: Any) -> int | None:
    number = _float(value)
    return None if number is None else int(number)
