"""`ivr report` on a hand-made month, every expected figure worked out by hand below."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr.cli import main
from ivr.records import store
from ivr.records.model import COLUMNS
from ivr.reports.compute import percentile_nearest_rank
from ivr.store.db import open_database
from ivr.testing.postgres import pg_schema

ZONE = ZoneInfo("Europe/Stockholm")


def local(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZONE).timestamp()


def record(uid: str, when: str, outcome: str, *, dept: str | None, service: str | None = None, lang: str = "sv",
           wait: float | None = None, abandoned_after: float | None = None, talk: float | None = None,
           wrapup: float | None = None, offered: bool = True, code: str | None = None) -> dict[str, Any]:
    started = local(when)
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(uniqueid=uid, started=started, ended=started + 600, plan="main", path="[]", tags="{}",
               outcome=outcome, department=dept, service=service or dept, language=lang,
               enqueued_at=started + 10 if offered else None, wait_s=wait, abandoned_after_s=abandoned_after,
               talk_s=talk, wrapup_s=wrapup, queue="kc-x" if offered else None, updated_at=started + 600,
               answered_at=started + 10 + wait if wait is not None else None, wrapup_code=code)
    return row


# 2026-11-02 and 2026-11-30 are Mondays, 2026-11-03 a Tuesday.
MONTH = [
    record("A", "2026-11-02T09:10", "answered", dept="education", wait=10, talk=100, wrapup=20, code="resolved"),
    record("B", "2026-11-02T09:20", "answered", dept="education", wait=50, talk=200),
    record("C", "2026-11-02T09:40", "answered", dept="social_services", service="elder_care", lang="en",
           wait=70, talk=60, wrapup=10, code="resolved"),
    record("D", "2026-11-02T10:05", "answered", dept="social_services", service="individual_family", lang="ar",
           wait=120, talk=300, wrapup=0, code="forwarded"),
    record("E", "2026-11-02T10:30", "abandoned", dept="contact_center", service="general", abandoned_after=3),
    record("F", "2026-11-02T10:45", "abandoned", dept="contact_center", service="general", abandoned_after=40),
    record("G", "2026-11-03T11:00", "answered", dept="streets_and_parks", wait=30, talk=90, wrapup=30),
    record("H", "2026-11-03T19:00", "closed_hours", dept=None, offered=False),
    record("I", "2026-11-03T11:30", "menu_hangup", dept=None, offered=False),
    record("J", "2026-11-03T12:00", "callback", dept="social_services", service="elder_care"),
    record("K", "2026-11-03T12:30", "abandoned", dept="social_services", service="elder_care", abandoned_after=5),
    record("L", "2026-11-30T23:50", "answered", dept="streets_and_parks", lang="en", wait=20, talk=60),
    # Outside the period, in local time (UTC+1 in November): must not count.
    record("before", "2026-10-31T23:30", "answered", dept="education", wait=1, talk=1),
    record("after", "2026-12-01T00:30", "answered", dept="education", wait=1, talk=1),
]




@pytest.fixture(params=["sqlite", "postgres"])
def month_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        url = (f"sqlite:///{tmp_path / 'ivr.db'}" if request.param == "sqlite"
               else stack.enter_context(pg_schema()))
        db = open_database(url)
        store.upsert(db, MONTH)
        db.close()
        yield url


def report(url: str, *extra: str, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["report", "--from", "2026-11-01", "--to", "2026-11-30", "--db", url, *extra])
    assert code == 0
    return capsys.readouterr().out


def test_figures_match_the_hand_calculation(month_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(report(month_db, "--format", "json", capsys=capsys))
    total = data["total"]
    # 12 calls; offered = all but H and I; answered A B C D G L; abandoned E F K, of which E (3 s) and
    # K (5 s) are short. Answered within 60 s: A 10, B 50, G 30, L 20 → SL = 4 / (10 − 2).
    assert {k: total[k] for k in ("calls", "offered", "answered", "abandoned", "short_abandoned",
                                  "answered_in_target")} == {
        "calls": 12, "offered": 10, "answered": 6, "abandoned": 3, "short_abandoned": 2, "answered_in_target": 4}
    assert total["service_level"] == pytest.approx(0.5)
    # Waits 10 20 30 50 70 120: mean 50, nearest-rank p90 = the ceil(0.9 × 6) = 6th = 120.
    assert total["avg_wait_s"] == pytest.approx(50.0)
    assert total["p90_wait_s"] == pytest.approx(120.0)
    # Handle = talk + known wrap-up: 120 200 70 300 120 60 → 870 / 6.
    assert total["avg_handle_s"] == pytest.approx(145.0)
    depts = {s["group"]: s for s in data["sections"]["department"]}
    assert {g: s["calls"] for g, s in depts.items()} == {
        "social_services": 4, "contact_center": 2, "education": 2, "streets_and_parks": 2, "(none)": 2}
    assert depts["social_services"]["share"] == pytest.approx(4 / 12)
    assert depts["education"]["share"] == pytest.approx(2 / 12)
    assert sum(s["share"] for s in depts.values()) == pytest.approx(1.0)
    hours = {s["group"]: s for s in data["sections"]["hour"]}
    # 09: A B C all answered, A and B within 60 s → 2/3.
    assert (hours["09"]["calls"], hours["09"]["service_level"]) == (3, pytest.approx(2 / 3))
    assert hours["23"]["calls"] == 1 and hours["00"]["calls"] == 0
    weekdays = {s["group"]: s for s in data["sections"]["weekday"]}
    # Monday: A–F and L; offered 7, short abandon E, within target A B L → 3 / (7 − 1).
    assert (weekdays["Mon"]["calls"], weekdays["Tue"]["calls"], weekdays["Sun"]["calls"]) == (7, 5, 0)
    assert weekdays["Mon"]["service_level"] == pytest.approx(0.5)
    services = {s["group"]: s["calls"] for s in data["sections"]["service"]}
    assert services["elder_care"] == 3 and services["general"] == 2
    languages = {s["group"]: s["calls"] for s in data["sections"]["language"]}
    assert languages == {"sv": 9, "en": 2, "ar": 1}
    # Wrap-up codes over the 6 answered calls: A and C resolved, D forwarded, B G L none given.
    codes = {s["group"]: s for s in data["sections"]["wrapup_code"]}
    assert [s["group"] for s in data["sections"]["wrapup_code"]] == ["(none)", "resolved", "forwarded"]
    assert {g: (s["calls"], s["answered"]) for g, s in codes.items()} == {
        "(none)": (3, 3), "resolved": (2, 2), "forwarded": (1, 1)}
    assert codes["resolved"]["share"] == pytest.approx(2 / 6)
    # Handle time per code: resolved A 120 and C 70 → 95.
    assert codes["resolved"]["avg_handle_s"] == pytest.approx(95.0)


def test_sl_target_option_changes_the_service_level(month_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(report(month_db, "--format", "json", "--sl-target", "120", capsys=capsys))
    assert data["total"]["service_level"] == pytest.approx(6 / 8)


def test_table_and_csv(month_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    table = report(month_db, capsys=capsys)
    assert "service level 50.0 % (answered within 60 s ÷ (offered − short abandons) = 4 ÷ 8)" in table
    assert "Per department (cost allocation)" in table
    assert "90th percentile 2:00" in table
    rows = list(csv.DictReader(io.StringIO(report(month_db, "--format", "csv", capsys=capsys))))
    total = next(r for r in rows if r["section"] == "total")
    assert (total["calls"], total["service_level"], total["p90_wait_s"]) == ("12", "0.5", "120")
    social = next(r for r in rows if r["section"] == "department" and r["group"] == "social_services")
    assert social["share"] == "0.3333"
    assert {r["section"] for r in rows} == {"total", "hour", "weekday", "service", "department", "language", "queue",
                                            "wrapup_code"}
    codes = {r["group"]: (r["calls"], r["share"]) for r in rows if r["section"] == "wrapup_code"}
    assert codes == {"(none)": ("3", "0.5"), "resolved": ("2", "0.3333"), "forwarded": ("1", "0.1667")}
    assert "Per wrap-up code (answered calls)" in table


def test_charts_are_valid_png_and_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    db = open_database(url)
    store.upsert(db, MONTH)
    db.close()
    report(url, "--charts", str(tmp_path / "charts"), capsys=capsys)
    files = sorted((tmp_path / "charts").iterdir())
    assert [f.name for f in files] == [f"{n}.{ext}" for n in ("calls-per-hour", "calls-per-service",
                                                               "calls-per-weekday", "department-share")
                                       for ext in ("png", "svg")]
    import matplotlib.image

    for f in files:
        if f.suffix == ".png":
            assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            pixels = matplotlib.image.imread(f)
            assert pixels.shape[0] > 300 and pixels.shape[1] > 600
            assert len({tuple(p) for p in pixels.reshape(-1, pixels.shape[2])[::97]}) > 10  # not a blank image
        else:
            root = ET.parse(f).getroot()
            assert root.tag.endswith("svg")
            assert "social_services" in f.read_text() or "calls" in f.read_text()


def test_empty_period_and_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    data = json.loads(report(url, "--format", "json", capsys=capsys))
    assert data["total"]["calls"] == 0 and data["total"]["service_level"] is None
    assert main(["report", "--from", "2026-11-30", "--to", "2026-11-01", "--db", url]) == 2
    assert main(["report", "--from", "2026-11-01", "--to", "2026-11-30", "--db", url, "--tz", "Mars/Base"]) == 2


@pytest.mark.parametrize(("values", "expected"), [([], None), ([7.0], 7.0), (list(range(1, 11)), 9),
                                                   (list(range(1, 12)), 10), (list(range(1, 21)), 18)])
def test_nearest_rank_percentile(values: list[float], expected: float | None) -> None:
    assert percentile_nearest_rank(values, 90) == expected
