"""`ivr report --survey`: the satisfaction score per agent group, department and month, worked out by
hand for six calls that reach the store the way the daemon writes them (recorder events → call_records,
on SQLite and PostgreSQL), the score arriving after the agent hung up, once the record left memory.

| call | queue (group) | department | started (local) | opted in | score |
|---|---|---|---|---|---|
| u1 | kc-general (general) | contact_center | 2026-11-05 | yes | 5 |
| u2 | kc-general (general) | contact_center | 2026-11-06 | yes | 4 |
| u3 | kc-social-ar (social) | social_services | 2026-11-07 | yes | 2 |
| u4 | kc-social (social) | social_services | 2026-12-01 | yes | — (hung up) |
| u5 | kc-general (general) | education | 2026-12-02 | yes | 3 |
| u6 | kc-general (general) | contact_center | 2026-12-03 | no | — |

All: 5 opted in, 4 responses (80 %), score (5+4+2+3)/4 = 3.5, satisfied (4 or 5) 2/4 = 50 %.
general: 3, 3, (5+4+3)/3 = 4.0, 2/3. social: 2, 1 (50 %), 2.0, 0 %.
contact_center: 2, 2, 4.5, 100 %; social_services: 2, 1, 2.0, 0 %; education: 1, 1, 3.0, 0 %.
2026-11: 3, 3, 11/3, 2/3; 2026-12: 2, 1, 3.0, 0 %.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr.cli import main
from ivr.events import names
from ivr.records import store
from ivr.records.recorder import CallRecorder
from ivr.store.db import open_database

REPO = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Europe/Stockholm")
CALLS = [  # uniqueid, queue, department, day, opted in, score
    ("u1", "kc-general", "contact_center", dt.date(2026, 11, 5), True, 5),
    ("u2", "kc-general", "contact_center", dt.date(2026, 11, 6), True, 4),
    ("u3", "kc-social-ar", "social_services", dt.date(2026, 11, 7), True, 2),
    ("u4", "kc-social", "social_services", dt.date(2026, 12, 1), True, None),
    ("u5", "kc-general", "education", dt.date(2026, 12, 2), True, 3),
    ("u6", "kc-general", "contact_center", dt.date(2026, 12, 3), False, None),
]


class Rows:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def submit_later(self, key: str, build: Callable[[], dict[str, Any]]) -> None:
        self.rows.append(build())  # built at once: each milestone's row, as the writer would get it


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def recorded_rows() -> list[dict[str, Any]]:
    sink, clock = Rows(), Clock()
    recorder = CallRecorder(sink, clock=clock, linger_s=60.0)
    for uniqueid, queue, department, day, opted_in, score in CALLS:
        clock.now = dt.datetime.combine(day, dt.time(10, 0), ZONE).timestamp()
        recorder.emit(names.MENU_FINISHED, None, uniqueid=uniqueid, outcome="queue", queue=queue, reason="",
                      nodes=["welcome"], language="sv", tags={"department": department}, config_version="v1")
        if opted_in:
            recorder.emit(names.SURVEY_OPTED_IN, None, uniqueid=uniqueid, group="whatever")
        recorder.emit(names.QUEUED, None, uniqueid=uniqueid, queue=queue, position=1)
        clock.now += 30
        recorder.emit(names.ANSWERED, None, uniqueid=uniqueid, queue=queue, agent="anna.andersson", wait_s=30.0)
        clock.now += 120
        recorder.emit(names.CALL_ENDED, None, uniqueid=uniqueid, talk_s=100.0)
        clock.now += 300  # the record has left memory when the score comes (a long question, say)
        recorder.emit(names.QUEUED, None, uniqueid=f"other-{uniqueid}", queue="kc-general", position=1)
        assert uniqueid not in recorder.open
        if score is not None:
            recorder.emit(names.SURVEY_ANSWERED, None, uniqueid=uniqueid, score=score, queue=queue, group="x")
    return [row for row in sink.rows if not row["uniqueid"].startswith("other-")]


@pytest.fixture
def survey_db(db_url: str) -> str:
    db = open_database(db_url)
    try:
        store.upsert(db, recorded_rows())
    finally:
        db.close()
    return db_url


def report(url: str, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    code = main(["report", "--survey", "--from", "2026-11-01", "--to", "2026-12-31", "--db", url,
                 "--config", str(REPO), *extra])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_stored_rows_keep_the_late_score_and_the_call(survey_db: str) -> None:
    db = open_database(survey_db)
    try:
        rows = {r["uniqueid"]: r for r in store.fetch(db, 0, 2**40)}
    finally:
        db.close()
    assert {u: (r["survey_opt_in"], r["survey_score"]) for u, r in rows.items()} == {
        "u1": (1, 5), "u2": (1, 4), "u3": (1, 2), "u4": (1, None), "u5": (1, 3), "u6": (None, None)}
    assert (rows["u1"]["outcome"], rows["u1"]["queue"], rows["u1"]["department"], rows["u1"]["talk_s"]) == (
        "answered", "kc-general", "contact_center", 100.0)


def _row(stats: dict[str, Any]) -> tuple[Any, ...]:
    return (stats["opted_in"], stats["responses"], stats["response_rate"], stats["score"], stats["satisfied"])


def test_scores_match_the_hand_calculation(survey_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(report(survey_db, capsys, "--format", "json"))
    assert _row(data["total"]) == (5, 4, pytest.approx(0.8), pytest.approx(3.5), pytest.approx(0.5))
    assert data["total"]["by_score"] == {"1": 0, "2": 1, "3": 1, "4": 1, "5": 1}
    sections = {name: {s["group"]: _row(s) for s in rows} for name, rows in data["sections"].items()}
    assert sections["group"] == {
        "general": (3, 3, 1.0, pytest.approx(4.0), pytest.approx(2 / 3)),
        "social": (2, 1, 0.5, 2.0, 0.0)}
    assert sections["department"] == {
        "contact_center": (2, 2, 1.0, 4.5, 1.0), "social_services": (2, 1, 0.5, 2.0, 0.0),
        "education": (1, 1, 1.0, 3.0, 0.0)}
    assert sections["month"] == {"2026-11": (3, 3, 1.0, pytest.approx(11 / 3), pytest.approx(2 / 3)),
                                 "2026-12": (2, 1, 0.5, 3.0, 0.0)}
    assert [s["group"] for s in data["sections"]["month"]] == ["2026-11", "2026-12"]


def test_table_csv_and_chart(survey_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    table = report(survey_db, capsys)
    assert "opted in 5, responses 4 (80.0 %); score 3.50 of 5, satisfied (4 or 5) 50.0 %" in table
    general = next(line for line in table.splitlines() if line.startswith("general "))
    assert general.split() == ["general", "3", "3", "100.0", "%", "4.00", "66.7", "%", "0", "0", "1", "1", "1"]
    rows = list(csv.DictReader(io.StringIO(report(survey_db, capsys, "--format", "csv"))))
    social = next(r for r in rows if r["section"] == "group" and r["group"] == "social")
    assert (social["opted_in"], social["responses"], social["response_rate"], social["score"], social["score_2"]) == (
        "2", "1", "0.5", "2", "1")
    report(survey_db, capsys, "--format", "json", "--charts", str(tmp_path / "charts"))
    for name in ("group", "department", "month"):
        png = tmp_path / "charts" / f"satisfaction-per-{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (tmp_path / "charts" / f"satisfaction-per-{name}.svg").read_text(encoding="utf-8")


def test_no_survey_in_the_period(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(report(f"sqlite:///{tmp_path / 'empty.db'}", capsys, "--format", "json"))
    assert _row(data["total"]) == (0, 0, None, None, None)
    assert data["sections"] == {"group": [], "department": [], "month": []}
