"""`ivr simulate`: one call through the shipped config, as JSON and as text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ivr.cli import main
from ivr.engine.simulated import HANGUP, TIMEOUT, parse_keys

REPO = Path(__file__).resolve().parents[2]
WEEKDAY = "2026-12-22T10:00"
HEAD = ["welcome", "choose_language", "opening_hours", "main_menu"]
JSON_KEYS = {"outcome", "queue", "group", "target", "reason", "priority", "language", "nodes", "tags", "variables",
             "plan", "config_version", "steps", "unused_keys"}


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(REPO)
    return REPO


def simulate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["simulate", *args])
    return code, capsys.readouterr().out


def simulate_json(capsys: pytest.CaptureFixture[str], keys: str, at: str = WEEKDAY) -> dict[str, Any]:
    code, out = simulate(capsys, "--at", at, f"--keys={keys}", "--json")
    assert code == 0, out
    data: dict[str, Any] = json.loads(out)
    assert set(data) == JSON_KEYS
    return data


@pytest.mark.parametrize(
    ("keys", "queue", "language", "tail", "tags"),
    [
        ("1,1", "kc-school", "sv", ["tag_school", "queue_school"],
         {"department": "education", "service": "preschool_school"}),
        ("1,2,1", "kc-social", "sv", ["social_menu", "tag_social_services", "queue_social"],
         {"department": "social_services", "service": "individual_family"}),
        ("2,2,2", "kc-social", "en", ["social_menu", "tag_elder_care", "queue_social"],
         {"department": "social_services", "service": "elder_care"}),
        ("3,3,12345#", "kc-building", "ar", ["building_case", "tag_building", "queue_building"],
         {"department": "city_planning", "service": "building_permits"}),
        (",3,#", "kc-building", "sv", ["building_case", "tag_building", "queue_building"],
         {"department": "city_planning", "service": "building_permits"}),
        ("1,4", "kc-streets", "sv", ["tag_streets", "queue_streets"],
         {"department": "streets_and_parks", "service": "streets_parks"}),
        ("2,5", "kc-general", "en", ["tag_general", "queue_general"],
         {"department": "contact_center", "service": "general"}),
    ],
    ids=["1-school", "2,1-social", "2,2-elder-care", "3-case-number", "3-no-case-number", "4-streets", "5-general"],
)
def test_json_for_each_main_menu_choice(in_repo: Path, capsys: pytest.CaptureFixture[str], keys: str, queue: str,
                                        language: str, tail: list[str], tags: dict[str, str]) -> None:
    data = simulate_json(capsys, keys)
    assert data["outcome"] == "queue"
    assert data["queue"] == queue
    assert data["language"] == language
    assert data["nodes"] == [*HEAD, *tail]
    assert data["tags"] == tags
    assert data["plan"] == "main"
    assert data["target"] is None
    assert data["unused_keys"] == []
    assert [s["node"] for s in data["steps"]] == data["nodes"]
    assert data["steps"][-1]["played"][0]["sound"] == f"ivr/main/{language}/connecting"


def test_json_case_number_names_the_variable_only(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = simulate_json(capsys, "1,3,12345#")
    assert data["variables"] == ["case_number"]
    # The digits appear as the keys of the step (the caller typed them), not as a variable value.
    assert next(s for s in data["steps"] if s["node"] == "building_case")["keys"] == "12345#"


def test_json_on_julafton_is_the_holiday_message(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = simulate_json(capsys, "1", at="2026-12-24T10:00")
    assert data["outcome"] == "message"
    assert data["reason"] == "closed_holiday"
    assert data["queue"] is None
    assert data["nodes"] == ["welcome", "choose_language", "opening_hours", "holiday_message"]
    assert data["tags"] == {}


def test_json_on_a_saturday_is_the_closed_message(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = simulate_json(capsys, "1", at="2026-12-19T10:00")
    assert data["outcome"] == "message"
    assert data["reason"] == "closed_hours"


def test_json_with_a_utc_moment(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 05:30 UTC on 2026-03-30 is 07:30 summer time in Stockholm: open.
    assert simulate_json(capsys, "1,4", at="2026-03-30T05:30+00:00")["queue"] == "kc-streets"
    # 05:30 UTC on 2026-03-27 is 06:30 winter time: closed.
    assert simulate_json(capsys, "1,4", at="2026-03-27T05:30+00:00")["reason"] == "closed_hours"


def test_json_when_the_caller_hangs_up(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = simulate_json(capsys, "1,2,hangup")
    assert data["outcome"] == "abandoned"
    assert data["queue"] is None
    assert data["reason"] == "caller hung up in the menu"
    assert data["nodes"] == [*HEAD, "social_menu"]


def test_json_lists_unused_keys(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = simulate_json(capsys, "1,4,7,8")
    assert data["queue"] == "kc-streets"
    assert data["unused_keys"] == ["7", "8"]


def test_text_output_lists_each_node(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = simulate(capsys, "--at", WEEKDAY, "--keys", "2,1")
    assert code == 0
    lines = out.splitlines()
    nodes = [line for line in lines if line.startswith("→ ")]
    assert nodes == ["→ welcome [play]", "→ choose_language [language]", "→ opening_hours [hours]",
                     "→ main_menu [menu]", "→ tag_school [set]", "→ queue_school [queue]"]
    assert "    plays 'welcome' in sv (ivr/main/sv/welcome)" in lines
    assert "    plays 'language_choice' in ar (ivr/main/ar/language_choice)" in lines
    assert "    plays 'main_menu' in en (ivr/main/en/main_menu)" in lines
    assert "    open: weekly hours 07:00-18:00" in lines
    assert lines[-1] == ("outcome: queue (kc-school); language en; "
                         "tags {'department': 'education', 'service': 'preschool_school'}")


def test_text_output_on_julafton(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = simulate(capsys, "--at", "2026-12-24T10:00", "--keys", "1")
    assert code == 0
    lines = out.splitlines()
    assert "→ holiday_message [hangup]" in lines
    assert "    closed: eve: Julafton" in lines
    assert lines[-1] == "outcome: message (closed_holiday); language sv; tags {}"


def test_text_output_mentions_unused_keys(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = simulate(capsys, "--at", WEEKDAY, "--keys", "1,5,9")
    assert code == 0
    assert out.splitlines()[-1] == "(keys not used: 9)"


def test_explicit_config_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = simulate(capsys, "--config", str(REPO / "dialplans"), str(REPO / "routing_rules.yaml"),
                         str(REPO / "agents"), "--at", WEEKDAY, "--keys", "1,4", "--json")
    assert code == 0
    assert json.loads(out)["queue"] == "kc-streets"


def test_number_no_plan_answers(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = simulate(capsys, "--number", "+46401234567", "--at", WEEKDAY)
    assert code == 2
    assert out.startswith("no plan answers +46401234567; plans answer: +4640341000, ")


def test_other_number_of_the_main_plan(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = simulate(capsys, "--number", "040341000", "--at", WEEKDAY, "--keys", "1,5", "--json")
    assert code == 0
    assert json.loads(out)["plan"] == "main"


def test_broken_config_prints_problems_and_exits_1(config_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = config_tree / "dialplans" / "mini.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("kind: play", "kind: plya"), encoding="utf-8")
    code, out = simulate(capsys, "--at", WEEKDAY, "--keys", "1")
    assert code == 1
    assert out.startswith("dialplans/mini.yaml:10:11: error: node 'welcome' has unknown kind 'plya'")


def test_minimal_fixture_tree_simulates(config_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = simulate_json(capsys, "2", at="2026-12-21T09:00")  # a Monday
    assert data["outcome"] == "transfer"
    assert data["target"] == "+46401111111"
    assert data["nodes"] == ["welcome", "office_hours", "menu", "transfer_out"]


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("", []),
        ("2,1", ["2", "1"]),
        (",1", [TIMEOUT, "1"]),
        ("1,,2", ["1", TIMEOUT, "2"]),
        ("t, timeout ,-", [TIMEOUT, TIMEOUT, TIMEOUT]),
        ("3,12345#", ["3", "1", "2", "3", "4", "5", "#"]),
        ("1,hangup", ["1", HANGUP]),
        ("1,H", ["1", HANGUP]),
    ],
)
def test_parse_keys(text: str, script: list[str]) -> None:
    assert parse_keys(text) == script
