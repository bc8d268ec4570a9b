"""The `wrapup` event puts the agent's code into the call record, also when it comes after the record
has left the recorder's memory (the stored row keeps everything else), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ivr.events import names
from ivr.records import store
from ivr.records.recorder import CallRecorder
from ivr.store.db import open_database

T0 = 1_793_000_000.0


class Rows:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def submit_later(self, key: str, build: Callable[[], dict[str, Any]]) -> None:
        self.rows.append(build())  # built at once: each milestone's row, as the writer would get it


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def test_late_wrapup_code_is_merged_into_the_stored_record(db_url: str) -> None:
    sink, clock = Rows(), Clock()
    recorder = CallRecorder(sink, clock=clock, linger_s=60.0)
    recorder.emit(names.MENU_FINISHED, None, uniqueid="u1", outcome="queue", queue="kc-building", reason="",
                  nodes=["welcome", "queue_building"], language="sv", tags={"department": "city_planning"},
                  config_version="v1")
    recorder.emit(names.QUEUED, None, uniqueid="u1", queue="kc-building", position=1)
    clock.now += 20
    recorder.emit(names.ANSWERED, None, uniqueid="u1", queue="kc-building", agent="david.lind", wait_s=20.0)
    clock.now += 100
    recorder.emit(names.CALL_ENDED, None, uniqueid="u1", duration_s=120.0, talk_s=100.0, wrapup_s=15.0)
    clock.now += 300  # the record has left memory by the time the agent picks a code
    recorder.emit(names.QUEUED, None, uniqueid="other", queue="kc-general", position=1)
    assert "u1" not in recorder.open
    recorder.emit(names.WRAPUP, None, uniqueid="u1", agent="david.lind", queue="kc-building", group="building",
                  code="resolved")
    db = open_database(db_url)
    try:
        store.upsert(db, [r for r in sink.rows if r["uniqueid"] == "u1"])
        [row] = [r for r in store.fetch(db, 0, 2**40) if r["uniqueid"] == "u1"]
    finally:
        db.close()
    assert row["wrapup_code"] == "resolved"
    assert (row["outcome"], row["agent"], row["queue"], row["language"], row["department"]) == (
        "answered", "david.lind", "kc-building", "sv", "city_planning")
    assert row["path"] == '["welcome", "queue_building"]' and row["started"] == T0
    assert row["talk_s"] == 100.0 and row["wrapup_s"] == 15.0
