"""`ivr report --funding`: the shipped funding.yaml and a hand-made year of calls, every amount worked
out by hand below; and the funding model's checks, with file, line and column."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr.cli import main
from ivr.config.problems import ConfigError
from ivr.records import store
from ivr.records.model import COLUMNS
from ivr.reports.funding import largest_remainder
from ivr.reports.funding_config import load_funding
from ivr.store.db import open_database
from ivr.testing.postgres import pg_schema
from ivr.validate import load_config

ZONE = ZoneInfo("Europe/Stockholm")
REPO = Path(__file__).resolve().parents[2]


def call(uid: str, when: str, outcome: str, dept: str | None, talk: float | None = None,
         wrapup: float | None = None) -> dict[str, Any]:
    started = dt.datetime.fromisoformat(when).replace(tzinfo=ZONE).timestamp()
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(uniqueid=uid, started=started, ended=started + 900, path="[]", tags="{}", outcome=outcome,
               department=dept, talk_s=talk, wrapup_s=wrapup, updated_at=started + 900)
    return row


YEAR = [
    # education (Grundskolenämnden): 3 calls, handle 315 + 120 = 435 s
    call("E1", "2026-01-02T09:00", "answered", "education", talk=300, wrapup=15),
    call("E2", "2026-06-15T10:00", "answered", "education", talk=100, wrapup=20),
    call("E3", "2026-06-15T11:00", "abandoned", "education"),
    # social services (Arbetsmarknads- och socialnämnden): 2 calls, handle 630 s
    call("S1", "2026-03-03T09:00", "answered", "social_services", talk=600, wrapup=30),
    call("S2", "2026-03-03T09:30", "callback", "social_services"),
    # city planning (Stadsbyggnadsnämnden): 1 call, 215 s
    call("P1", "2026-09-09T14:00", "answered", "city_planning", talk=200, wrapup=15),
    # streets and parks (Tekniska nämnden): 1 call, never answered: 0 s
    call("T1", "2026-12-31T23:30", "abandoned", "streets_and_parks"),
    # contact center (Kommunstyrelsen): 2 calls, 160 + 80 (no wrap-up known) = 240 s
    call("K1", "2026-04-01T08:00", "answered", "contact_center", talk=150, wrapup=10),
    call("K2", "2026-04-01T08:10", "answered", "contact_center", talk=80),
    # no department (closed hours): paid through the base part
    call("N1", "2026-12-24T10:00", "closed_hours", None),
    call("N2", "2026-12-25T10:00", "closed_hours", None),
    # outside the year, in local time
    call("old", "2025-12-31T23:30", "answered", "education", talk=5000, wrapup=10),
    call("new", "2027-01-01T00:30", "answered", "education", talk=5000, wrapup=10),
]


@pytest.fixture(params=["sqlite", "postgres"])
def year_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{tmp_path / 'ivr.db'}" if request.param == "sqlite" else stack.enter_context(pg_schema())
        db = open_database(url)
        store.upsert(db, YEAR)
        db.close()
        yield url


def funding(url: str, *extra: str, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["report", "--funding", "--year", "2026", "--db", url, "--config", str(REPO), *extra])
    assert code == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_split_by_handling_time_matches_the_hand_calculation(year_db: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(funding(year_db, "--format", "json", capsys=capsys))
    assert (data["yearly_cost"], data["base_amount"], data["service_amount"]) == (44_200_000, 17_000_000, 27_200_000)
    assert data["unassigned_calls"] == 2 and not data["service_by_base_key"]
    boards = {b["board"]: b for b in data["boards"]}
    assert {b: (x["calls"], x["handle_s"]) for b, x in boards.items()} == {
        "kommunstyrelsen": (2, 240), "grundskolenamnden": (3, 435), "arbetsmarknads_och_socialnamnden": (2, 630),
        "stadsbyggnadsnamnden": (1, 215), "tekniska_namnden": (1, 0)}
    # Base: 17 000 000 × 0.10 / 0.30 / 0.30 / 0.15 / 0.15.
    assert {b: x["base"] for b, x in boards.items()} == {
        "kommunstyrelsen": 1_700_000, "grundskolenamnden": 5_100_000, "arbetsmarknads_och_socialnamnden": 5_100_000,
        "stadsbyggnadsnamnden": 2_550_000, "tekniska_namnden": 2_550_000}
    # Service: 27 200 000 × handle ÷ 1520 s = 17 894.7368... kr a second:
    #   240 s → 4 294 736.84, 435 s → 7 784 210.53, 630 s → 11 273 684.21, 215 s → 3 847 368.42, 0 s → 0.
    #   The floors sum to 27 199 998; the 2 kronor left go to the largest remainders (.84 and .53).
    assert {b: x["service"] for b, x in boards.items()} == {
        "kommunstyrelsen": 4_294_737, "grundskolenamnden": 7_784_211, "arbetsmarknads_och_socialnamnden": 11_273_684,
        "stadsbyggnadsnamnden": 3_847_368, "tekniska_namnden": 0}
    assert {b: x["total"] for b, x in boards.items()} == {
        "kommunstyrelsen": 5_994_737, "grundskolenamnden": 12_884_211, "arbetsmarknads_och_socialnamnden": 16_373_684,
        "stadsbyggnadsnamnden": 6_397_368, "tekniska_namnden": 2_550_000}
    assert sum(x["total"] for x in boards.values()) == 44_200_000
    assert boards["grundskolenamnden"]["usage_share"] == pytest.approx(435 / 1520)


def test_weighted_measure(year_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = (REPO / "funding.yaml").read_text(encoding="utf-8").replace(
        "  measure: handle_time", "  measure: {calls: 0.5, handle_time: 0.5}")
    (tmp_path / "funding.yaml").write_text(text, encoding="utf-8")
    data = json.loads(funding(year_db, "--format", "json", "--funding-file", str(tmp_path / "funding.yaml"),
                              capsys=capsys))
    # 27 200 000 × (½ × calls ÷ 9 + ½ × handle ÷ 1520), exactly:
    #   Kommunstyrelsen 884 000 000 / 171 = 5 169 590.64, Grundskolenämnden 480 250 000 / 57 = 8 425 438.60,
    #   social 1 480 700 000 / 171 = 8 659 064.33, Stadsbyggnad 587 350 000 / 171 = 3 434 795.32,
    #   Tekniska 13 600 000 / 9 = 1 511 111.11. Floors sum to 27 199 998: +1 to the .64 and the .60.
    assert {b["board"]: b["service"] for b in data["boards"]} == {
        "kommunstyrelsen": 5_169_591, "grundskolenamnden": 8_425_439, "arbetsmarknads_och_socialnamnden": 8_659_064,
        "stadsbyggnadsnamnden": 3_434_795, "tekniska_namnden": 1_511_111}
    assert data["measure"] == {"calls": 0.5, "handle_time": 0.5}


def test_table_csv_and_chart(year_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    table = funding(year_db, "--charts", str(tmp_path), capsys=capsys)
    assert "yearly cost 44 200 000 kr = base 17 000 000 kr (by the base key) + service 27 200 000 kr" in table
    line = next(row for row in table.splitlines() if row.startswith("Grundskolenämnden"))
    assert line.split()[1:] == ["3", "7:15", "28.6", "%", "5", "100", "000", "kr", "7", "784", "211", "kr",
                                "12", "884", "211", "kr"]
    assert table.splitlines()[-1].split()[-3:] == ["200", "000", "kr"]
    rows = list(csv.DictReader(io.StringIO(funding(year_db, "--format", "csv", capsys=capsys))))
    assert [(r["board"], r["total_sek"]) for r in rows][:2] == [("kommunstyrelsen", "5994737"),
                                                                ("grundskolenamnden", "12884211")]
    assert {p.name for p in tmp_path.iterdir() if p.name.startswith("funding")} == {"funding-2026.png",
                                                                                  "funding-2026.svg"}


def test_a_year_without_usage_follows_the_base_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(funding(f"sqlite:///{tmp_path / 'empty.db'}", "--format", "json", capsys=capsys))
    assert data["service_by_base_key"]
    assert [b["service"] for b in data["boards"]] == [2_720_000, 8_160_000, 8_160_000, 4_080_000, 4_080_000]


def test_largest_remainder_sums_exactly() -> None:
    assert largest_remainder(100, {"a": 1, "b": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}  # tie: by name
    assert largest_remainder(10, {"a": 0.0, "b": 0.0}) == {"a": 0, "b": 0}
    parts = largest_remainder(17_000_000, {"x": 0.1, "y": 0.3, "z": 0.3, "u": 0.15, "v": 0.15})
    assert parts == {"x": 1_700_000, "y": 5_100_000, "z": 5_100_000, "u": 2_550_000, "v": 2_550_000}


BAD = """\
yearly_cost: 44200000
base:
  amount: 17000000
  key:
    kommunstyrelsen: 0.5
    grundskolenamden: 0.4
service:
  measure: {calls: 0.5, handle_time: 0.4}
boards:
  kommunstyrelsen:
    name: Kommunstyrelsen
    departments: [contact_center, educaton]
  grundskolenamnden:
    name: Grundskolenämnden
    departments: [education, contact_center]
"""


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "funding.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_funding(path, load_config([REPO]))
    return [p.format().replace(f"{path}", "funding.yaml") for p in caught.value.problems]


def test_funding_model_problems_have_file_line_and_column(tmp_path: Path) -> None:
    assert problems_of(tmp_path, BAD) == [
        "funding.yaml:4:3: error: the base key sums to 0.9 (hint: give shares that sum to 1, or kronor that sum "
        "to the amount 17000000)",
        "funding.yaml:6:5: error: unknown board 'grundskolenamden' in the base key (hint: did you mean "
        "'grundskolenamnden'?)",
        "funding.yaml:8:3: error: the measure's weights sum to 0.9 (hint: weights of calls and handle_time must "
        "sum to 1)",
        "funding.yaml:9:1: error: department 'city_planning' has no board (hint: name it under the board that "
        "pays for it: its calls could not be invoiced)",
        "funding.yaml:9:1: error: department 'social_services' has no board (hint: name it under the board that "
        "pays for it: its calls could not be invoiced)",
        "funding.yaml:9:1: error: department 'streets_and_parks' has no board (hint: name it under the board "
        "that pays for it: its calls could not be invoiced)",
        "funding.yaml:12:35: error: unknown department 'educaton' (hint: did you mean 'education'?)",
        "funding.yaml:15:30: error: department 'contact_center' is also paid for by board 'kommunstyrelsen' "
        "(hint: a department's calls are invoiced to one board: keep one)",
    ]


def test_type_errors_and_a_key_in_kronor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shipped = (REPO / "funding.yaml").read_text(encoding="utf-8")
    wrong = problems_of(tmp_path, shipped.replace("yearly_cost: 44200000", "yearly_cost: lots"))
    assert len(wrong) == 1 and wrong[0].startswith("funding.yaml:5:14: error:")
    # A key in kronor that sums to the base amount is as good as shares.
    kronor = shipped.replace("kommunstyrelsen: 0.10", "kommunstyrelsen: 1700000").replace(
        "grundskolenamnden: 0.30", "grundskolenamnden: 5100000").replace(
        "arbetsmarknads_och_socialnamnden: 0.30", "arbetsmarknads_och_socialnamnden: 5100000").replace(
        "stadsbyggnadsnamnden: 0.15", "stadsbyggnadsnamnden: 2550000").replace(
        "tekniska_namnden: 0.15", "tekniska_namnden: 2550000")
    path = tmp_path / "kronor.yaml"
    path.write_text(kronor, encoding="utf-8")
    assert load_funding(path, load_config([REPO])).base_shares()["grundskolenamnden"] == pytest.approx(0.3)
    assert main(["report", "--funding", "--check", "--config", str(REPO), "--funding-file", str(path)]) == 0
    assert "ok (5 boards)" in capsys.readouterr().out
    (tmp_path / "bad.yaml").write_text(BAD, encoding="utf-8")
    assert main(["report", "--funding", "--year", "2026", "--config", str(REPO),
                 "--funding-file", str(tmp_path / "bad.yaml")]) == 2
    assert "bad.yaml:12:35: error: unknown department 'educaton'" in capsys.readouterr().err


def test_handle_time_counts_the_groups_wrapup_when_none_was_recorded(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    school = call("S", "2026-05-05T09:00", "answered", "education", talk=100)  # no wrap-up recorded: school's 15 s
    general = call("G", "2026-05-05T09:10", "answered", "contact_center", talk=100, wrapup=5)  # recorded: 5 s
    school["queue"], general["queue"] = "kc-school", "kc-general"
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    db = open_database(url)
    store.upsert(db, [school, general])
    db.close()
    data = json.loads(funding(url, "--format", "json", capsys=capsys))
    boards = {b["board"]: b for b in data["boards"]}
    assert (boards["grundskolenamnden"]["handle_s"], boards["kommunstyrelsen"]["handle_s"]) == (115, 105)
    # 27 200 000 × 115 ÷ 220 = 14 218 181.82 and × 105 ÷ 220 = 12 981 818.18: floors sum to 27 199 999,
    # the krona left goes to the larger remainder (.82).
    assert (boards["grundskolenamnden"]["service"], boards["kommunstyrelsen"]["service"]) == (14_218_182, 12_981_818)
