"""`ivr report --agents` on a hand-made Monday (2026-11-02, Europe/Stockholm), every figure worked out
by hand below, on SQLite and PostgreSQL; and the agent log that feeds it."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import json
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr.cli import main
from ivr.events import names
from ivr.records import agent_store, store
from ivr.records.agent_log import AgentLog
from ivr.records.model import COLUMNS
from ivr.store.db import open_database
from ivr.testing.postgres import pg_schema

ZONE = ZoneInfo("Europe/Stockholm")
REPO = Path(__file__).resolve().parents[2]
ANNA, DAVID = "anna.andersson", "david.lind"
ANNA_QUEUES = ["kc-general", "kc-school"]
DAVID_QUEUES = ["kc-building", "kc-streets"]


def local(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZONE).timestamp()


def call(uid: str, when: str, outcome: str, *, agent: str | None, queue: str, talk: float | None = None,
         wrapup: float | None = None) -> dict[str, Any]:
    started = local(when)
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(uniqueid=uid, started=started, ended=started + 600, plan="main", path="[]", tags="{}",
               outcome=outcome, queue=queue, agent=agent, talk_s=talk, wrapup_s=wrapup, enqueued_at=started + 5,
               answered_at=started + 20 if outcome == "answered" else None, updated_at=started + 600)
    return row


CALLS = [
    call("C1", "2026-11-02T09:00", "answered", agent=ANNA, queue="kc-school-ar", talk=300, wrapup=15),
    call("C2", "2026-11-02T09:20", "answered", agent=ANNA, queue="kc-general", talk=120, wrapup=10),
    call("C3", "2026-11-02T13:05", "answered", agent=ANNA, queue="kc-general", talk=60),
    call("D1", "2026-11-02T08:30", "answered", agent=DAVID, queue="kc-streets", talk=200, wrapup=10),
    call("X1", "2026-11-02T09:30", "abandoned", agent=None, queue="kc-school"),
    call("X2", "2026-11-03T09:00", "answered", agent=ANNA, queue="kc-general", talk=999, wrapup=99),  # next day
]


def state(at: str, agent: str, name: str, queues: list[str], reason: str = "") -> dict[str, Any]:
    return {"id": f"{agent}-{at}", "at": local(at), "agent": agent, "kind": "state", "state": name,
            "reason": reason, "queues": json.dumps(queues)}


def ring(at: str, agent: str, queue: str) -> dict[str, Any]:
    return {"id": f"ring-{agent}-{at}", "at": local(at), "agent": agent, "kind": "ring_no_answer", "queue": queue,
            "uniqueid": "X1", "ring_s": 15.0, "queues": "[]"}


EVENTS = [
    # Anna logged out the evening before: the day starts with her away.
    state("2026-11-01T17:00", ANNA, "unavailable", [], "removed"),
    state("2026-11-02T08:00", ANNA, "available", ANNA_QUEUES),
    state("2026-11-02T09:00", ANNA, "busy", ANNA_QUEUES),
    state("2026-11-02T09:05", ANNA, "wrapup", ANNA_QUEUES),
    state("2026-11-02T09:05:10", ANNA, "available", ANNA_QUEUES),
    ring("2026-11-02T09:30", ANNA, "kc-school"),
    state("2026-11-02T10:00", ANNA, "paused", ANNA_QUEUES, "lunch"),
    state("2026-11-02T10:30", ANNA, "available", ANNA_QUEUES),
    state("2026-11-02T11:00", ANNA, "paused", ANNA_QUEUES),
    state("2026-11-02T11:10", ANNA, "available", ANNA_QUEUES),
    ring("2026-11-02T11:30", ANNA, "kc-general"),
    state("2026-11-02T12:00", ANNA, "unavailable", [], "removed"),
    state("2026-11-02T13:00", ANNA, "available", ["kc-general"]),
    # The daemon stopped at 13:30 and started again at 14:00 (re-announcing Anna): 13:30-14:00 unknown.
    {"id": "stop", "at": local("2026-11-02T13:30"), "agent": "", "kind": "stopped", "queues": "[]"},
    state("2026-11-02T14:00", ANNA, "available", ["kc-general"]),
    state("2026-11-02T14:30", ANNA, "unavailable", [], "removed"),
    state("2026-11-03T08:00", ANNA, "available", ANNA_QUEUES),  # the next day: not counted
    # David was logged in over midnight, had a meeting, and logged in again late (until the day's end).
    state("2026-11-01T22:00", DAVID, "available", DAVID_QUEUES),
    state("2026-11-02T01:00", DAVID, "unavailable", [], "removed"),
    state("2026-11-02T08:00", DAVID, "paused", DAVID_QUEUES, "meeting"),
    state("2026-11-02T09:00", DAVID, "available", DAVID_QUEUES),
    ring("2026-11-02T09:40", DAVID, "kc-building"),
    state("2026-11-02T10:00", DAVID, "unavailable", [], "removed"),
    state("2026-11-02T23:00", DAVID, "available", DAVID_QUEUES),
]


@pytest.fixture(params=["sqlite", "postgres"])
def day_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{tmp_path / 'ivr.db'}" if request.param == "sqlite" else stack.enter_context(pg_schema())
        db = open_database(url)
        store.upsert(db, CALLS)
        agent_store.insert(db, EVENTS)
        db.close()
        yield url


@pytest.fixture(autouse=True)
def _long_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report runs long after the day (a period still running would end now)."""
    monkeypatch.setattr("ivr.cli.report_agents.time", types.SimpleNamespace(time=lambda: local("2027-01-01T00:00")))


def report(url: str, *extra: str, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["report", "--agents", "--from", "2026-11-02", "--to", "2026-11-02", "--db", url,
                 "--config", str(REPO), *extra])
    assert code == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_agent_and_group_figures_match_the_hand_calculation(day_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(report(day_db, "--format", "json", "--supervisor", "lena.strand", capsys=capsys))
    # Lena supervises general, social and school: their agents, not David (building, streets).
    agents = {a["name"]: a for a in data["agents"]}
    assert set(agents) == {ANNA, "bilal.haddad", "cecilia.berg", "emina.hodzic", "farah.ali"}
    assert "personal data" in data["notice"] and data["for_supervisor"] == "lena.strand"
    anna = agents[ANNA]
    # C1 C2 C3: talk 300 120 60 → 160; wrap-up 15 10 and, for C3 without one, general's configured 10 → 35/3.
    assert (anna["calls_handled"], anna["avg_talk_s"], anna["avg_wrapup_s"]) == (3, 160.0, pytest.approx(35 / 3))
    assert anna["rings_unanswered"] == 2
    # Logged in 08:00-12:00 (4 h), 13:00-13:30 (the daemon stopped), 14:00-14:30: 18000 s.
    # Paused: lunch 10:00-10:30 (1800 s), no reason 11:00-11:10 (600 s).
    assert (anna["logged_in_s"], anna["paused_s"]) == (18000, 2400)
    assert anna["paused_by_reason"] == {"(no reason)": 600, "lunch": 1800}
    # Occupancy: (480 talk + 35 wrap-up) / (18000 − 2400).
    assert anna["occupancy"] == pytest.approx(515 / 15600)
    assert agents["bilal.haddad"] == {"name": "bilal.haddad", "calls_handled": 0, "avg_talk_s": None,
                                      "avg_wrapup_s": None, "rings_unanswered": 0, "logged_in_s": 0, "paused_s": 0,
                                      "paused_by_reason": {}, "occupancy": None}
    groups = {g["name"]: g for g in data["groups"]}
    assert list(groups) == ["general", "school", "social", "building", "streets"]
    general, school = groups["general"], groups["school"]
    # general: C2 C3 (talk 90 avg, wrap-up 10 and 10), Anna's 11:30 ring; all Anna's logged-in time was
    # in kc-general: 18000 s, paused 2400 s → (180 + 20) / 15600.
    assert (general["calls_handled"], general["avg_talk_s"], general["avg_wrapup_s"],
            general["rings_unanswered"]) == (2, 90.0, 10.0, 1)
    assert (general["logged_in_s"], general["paused_s"]) == (18000, 2400)
    assert general["occupancy"] == pytest.approx(200 / 15600)
    # school: C1 on the Arabic skill queue kc-school-ar; Anna was in kc-school 08:00-12:00 only.
    assert (school["calls_handled"], school["avg_talk_s"], school["rings_unanswered"]) == (1, 300.0, 1)
    assert (school["logged_in_s"], school["paused_s"]) == (14400, 2400)
    assert school["occupancy"] == pytest.approx(315 / 12000)
    # David: 00:00-01:00 (from the evening before), 08:00-10:00 (of which the meeting 08:00-09:00),
    # 23:00-24:00 (until the day's end): 14400 s, paused 3600 s, in both his groups.
    building, streets = groups["building"], groups["streets"]
    assert (building["calls_handled"], building["rings_unanswered"], building["occupancy"]) == (0, 1, 0.0)
    assert (streets["logged_in_s"], streets["paused_by_reason"]) == (14400, {"meeting": 3600})
    assert streets["occupancy"] == pytest.approx(210 / 10800)
    assert groups["social"]["logged_in_s"] == 0 and groups["social"]["occupancy"] is None


def test_per_agent_figures_only_for_a_supervisor(day_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(report(day_db, "--format", "json", capsys=capsys))
    assert data["agents"] == [] and data["for_supervisor"] is None
    table = report(day_db, capsys=capsys)
    assert ANNA not in table and "shown to a supervisor only" in table
    code = main(["report", "--agents", "--from", "2026-11-02", "--to", "2026-11-02", "--db", day_db,
                 "--config", str(REPO), "--supervisor", ANNA])
    assert code == 2 and "supervisors only" in capsys.readouterr().err


def test_table_csv_and_charts(day_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    table = report(day_db, "--supervisor", "lena.strand", "--charts", str(tmp_path / "charts"), capsys=capsys)
    assert "personal data about employees" in table
    anna_line = next(line for line in table.splitlines() if line.startswith(ANNA))
    # calls, avg talk 2:40, wrap-up 0:12, rings, logged in 5:00:00, paused 0:40:00: (no reason), lunch,
    # meeting (David's, in the group rows); occupancy 515 / 15600.
    assert anna_line.split()[1:] == ["3", "2:40", "0:12", "2", "5:00:00", "0:40:00", "0:10:00", "0:30:00",
                                     "0:00:00", "3.3", "%"]
    rows = list(csv.DictReader(io.StringIO(report(day_db, "--format", "csv", "--supervisor", "lena.strand",
                                                  capsys=capsys))))
    school = next(r for r in rows if (r["section"], r["name"]) == ("group", "school"))
    assert (school["calls_handled"], school["logged_in_s"], school["paused_lunch_s"], school["occupancy"]) == (
        "1", "14400", "1800", "0.0262")
    assert {p.name for p in (tmp_path / "charts").iterdir()} == {
        "occupancy-per-group.png", "occupancy-per-group.svg", "occupancy-per-agent.png", "occupancy-per-agent.svg"}


async def test_agent_log_stores_states_rings_and_the_stop(tmp_path: Path) -> None:
    now = [local("2026-11-02T08:00")]
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    log = AgentLog(url, tmp_path / "spool.jsonl", clock=lambda: now[0])
    await log.start()
    log.emit(names.AGENT_STATE, agent=ANNA, state="available", reason="", queues=["kc-school", "kc-general"])
    now[0] += 60
    log.emit(names.AGENT_RING_ENDED, uniqueid="1.2", queue="kc-school", agent=ANNA, ring_s=15.0)
    log.emit(names.QUEUED, uniqueid="1.2", queue="kc-school")  # not about agents
    now[0] += 60
    log.emit(names.AGENT_STATE, agent=ANNA, state="paused", reason="lunch", queues=["kc-general", "kc-school"])
    now[0] += 60
    await log.stop()
    await asyncio.sleep(0)
    db = open_database(url)
    try:
        rows = agent_store.fetch(db, 0, 2**40)
    finally:
        db.close()
    assert [(r["kind"], r["agent"], r["state"], r["reason"], r["queues"], r["queue"], r["ring_s"]) for r in rows] == [
        ("state", ANNA, "available", "", '["kc-general", "kc-school"]', None, None),
        ("ring_no_answer", ANNA, None, None, "[]", "kc-school", 15.0),
        ("state", ANNA, "paused", "lunch", '["kc-general", "kc-school"]', None, None),
        ("stopped", "", None, None, "[]", None, None)]
    assert [r["at"] - rows[0]["at"] for r in rows] == [0, 60, 120, 180]


def test_replayed_rows_are_not_stored_twice(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'ivr.db'}")
    try:
        agent_store.insert(db, EVENTS[:3])
        agent_store.insert(db, EVENTS[:4])  # a spool replay after a write that did land
        assert len(agent_store.fetch(db, 0, 2**40)) == 4
    finally:
        db.close()


def test_period_starts_in_the_last_state_before_it_unless_the_daemon_stopped_since(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'ivr.db'}")
    try:
        agent_store.insert(db, [state("2026-11-01T22:00", DAVID, "available", DAVID_QUEUES),
                                state("2026-11-01T20:00", ANNA, "available", ANNA_QUEUES),
                                {"id": "stop", "at": local("2026-11-01T21:00"), "agent": "", "kind": "stopped"}])
        rows = agent_store.fetch(db, local("2026-11-02T00:00"), local("2026-11-03T00:00"))
    finally:
        db.close()
    assert [r["agent"] for r in rows] == [DAVID]  # Anna's state ended with the stop at 21:00
