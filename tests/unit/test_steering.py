"""Steering (ivr.steering, docs/steering.md): the AstDB value both the daemon and the dialplan read, the
window, what a call hears (the interpreter with a fixed set of entries), the request's checks at
file:line, and the store's copy and audit on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.config import ConfigError, ConfigSet
from ivr.config.plan import Plan
from ivr.engine.interpreter import run_call
from ivr.engine.simulated import ScriptedChannel
from ivr.steering import store
from ivr.steering.entry import Entry, parse_value
from ivr.steering.source import FixedSteering
from ivr.steering.spec import load_spec, spec_from_options
from ivr.store.db import open_database

STOCKHOLM = ZoneInfo("Europe/Stockholm")
TUESDAY_10 = dt.datetime(2026, 12, 22, 10, 0, tzinfo=STOCKHOLM)
FOLDER = "/var/lib/asterisk/ivr-steer/message-all-1"


def window(start: dt.datetime, end: dt.datetime, queue: str | None = None) -> Entry:
    return Entry("message", queue, int(start.timestamp()), int(end.timestamp()), FOLDER, ("sv", "en", "ar"))


def test_the_value_round_trips_and_is_what_the_dialplan_parses() -> None:
    entry = window(TUESDAY_10, TUESDAY_10 + dt.timedelta(hours=2))
    assert entry.key == "message/all"
    assert entry.value() == f"{int(TUESDAY_10.timestamp())}|{int(TUESDAY_10.timestamp()) + 7200}|{FOLDER}|sv&en&ar"
    assert parse_value("message", None, entry.value()) == entry
    assert Entry("switch", "kc-school", 0, 0, FOLDER, ("sv",)).key == "switch/queue/kc-school"


@pytest.mark.parametrize("value", ["", "1|2|3", "a|0|/x|sv", "0|0|/x/../etc|sv", "0|0|/x,y|sv", "0|0|/x|sv&EN",
                                   "5|3|/x|sv", "0|0|relative|sv", "0|0|/x|"])
def test_values_typed_by_hand_that_are_not_entries_are_ignored(value: str) -> None:
    assert parse_value("message", None, value) is None


def test_the_window_starts_inclusive_and_ends_exclusive() -> None:
    entry = window(TUESDAY_10, TUESDAY_10 + dt.timedelta(hours=2))
    assert not entry.active_at(TUESDAY_10 - dt.timedelta(seconds=1))
    assert entry.active_at(TUESDAY_10)
    assert entry.active_at(TUESDAY_10 + dt.timedelta(hours=2) - dt.timedelta(seconds=1))
    assert not entry.active_at(TUESDAY_10 + dt.timedelta(hours=2))
    assert Entry("switch", None, 0, 0, FOLDER, ("sv",)).active_at(TUESDAY_10)  # no end: until cleared


def test_a_caller_hears_their_language_or_the_first_one() -> None:
    entry = Entry("switch", None, 0, 0, FOLDER, ("sv",))
    assert entry.sound("en") == f"{FOLDER}/sv"
    assert window(TUESDAY_10, TUESDAY_10 + dt.timedelta(hours=1)).sound("ar") == f"{FOLDER}/ar"


async def simulated(config: ConfigSet, plan: Plan, keys: list[str], entries: list[Entry],
                    now: dt.datetime = TUESDAY_10) -> tuple[list[str], list[str], str, str]:
    channel = ScriptedChannel(keys)
    result = await run_call(config, plan, channel, now=now, steering=FixedSteering(entries))
    outcome = result.outcome
    assert outcome is not None
    return result.nodes, channel.played, outcome.kind, outcome.reason


async def test_the_lines_message_plays_after_the_language_choice_inside_its_window(
        shipped_config: ConfigSet, main_plan: Plan) -> None:
    message = window(TUESDAY_10 - dt.timedelta(hours=1), TUESDAY_10 + dt.timedelta(hours=1))
    nodes, played, kind, _ = await simulated(shipped_config, main_plan, ["2", "1"], [message])
    assert nodes[:4] == ["welcome", "choose_language", "@message", "opening_hours"]
    assert f"{FOLDER}/en" in played and kind == "queue"
    later = TUESDAY_10 + dt.timedelta(hours=1)  # the end itself is outside
    nodes, played, _, _ = await simulated(shipped_config, main_plan, ["2", "1"], [message], now=later)
    assert "@message" not in nodes and not any(FOLDER in sound for sound in played)


async def test_the_lines_message_plays_in_closed_hours_too(shipped_config: ConfigSet, main_plan: Plan) -> None:
    evening = TUESDAY_10.replace(hour=19)
    message = window(evening - dt.timedelta(hours=1), evening + dt.timedelta(hours=1))
    nodes, _, kind, _ = await simulated(shipped_config, main_plan, ["1"], [message], now=evening)
    assert "@message" in nodes and "closed_message" in nodes and kind == "message"


async def test_a_groups_switch_ends_only_that_groups_calls(shipped_config: ConfigSet, main_plan: Plan) -> None:
    closed = Entry("switch", "kc-school", 0, 0, FOLDER, ("sv",))
    nodes, played, kind, reason = await simulated(shipped_config, main_plan, ["1", "1"], [closed])
    assert nodes[-1] == "@switch:school" and "queue_school" not in nodes
    assert played[-1] == f"{FOLDER}/sv" and kind == "message" and reason == "switched off: group school"
    nodes, _, kind, _ = await simulated(shipped_config, main_plan, ["1", "4"], [closed])
    assert nodes[-1] == "queue_streets" and kind == "queue"


async def test_a_groups_message_plays_before_its_queue(shipped_config: ConfigSet, main_plan: Plan) -> None:
    message = window(TUESDAY_10, TUESDAY_10 + dt.timedelta(hours=1), queue="kc-streets")
    nodes, _, kind, _ = await simulated(shipped_config, main_plan, ["1", "4"], [message])
    assert nodes[-2:] == ["@message:streets", "queue_streets"] and kind == "queue"
    nodes, _, _, _ = await simulated(shipped_config, main_plan, ["1", "1"], [message])
    assert not any(node.startswith("@message") for node in nodes)


async def test_the_line_switched_off_plays_every_language_and_nothing_else(
        shipped_config: ConfigSet, main_plan: Plan) -> None:
    closed = Entry("switch", None, 0, 0, FOLDER, ("sv", "en", "ar"))
    nodes, played, kind, reason = await simulated(shipped_config, main_plan, [], [closed])
    assert nodes == ["@switch"] and played == [f"{FOLDER}/sv", f"{FOLDER}/en", f"{FOLDER}/ar"]
    assert (kind, reason) == ("message", "switched off: the line")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notice.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(exc: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return [problem.format() for problem in exc.value.problems]


def test_a_good_message_file(shipped_config: ConfigSet, tmp_path: Path) -> None:
    path = write(tmp_path, "group: school\nfrom: 2026-12-22T09:00\nuntil: 2026-12-22T12:00\n"
                           "text: {sv: Hej, en: Hello, ar: مرحبا}\n")
    spec = load_spec(path, "message", shipped_config, now=TUESDAY_10)
    assert spec.group == "school" and spec.languages == ("sv", "en", "ar")
    assert spec.starts == TUESDAY_10.replace(hour=9) and spec.ends == TUESDAY_10.replace(hour=12)


def test_problems_are_named_at_file_line_and_column(shipped_config: ConfigSet, tmp_path: Path) -> None:
    path = write(tmp_path, "group: shcool\nfrom: 2026-12-22T12:00\nuntil: 2026-12-22T09:00\n"
                           "text:\n  sv: Hej\n  fi: Hei\n")
    with pytest.raises(ConfigError) as exc:
        load_spec(path, "message", shipped_config, now=TUESDAY_10)
    assert problems(exc) == [
        f"{path}:1:8: error: unknown agent group 'shcool' (hint: did you mean 'school'?)",
        f"{path}:3:8: error: until: is not after from: (hint: the message would never play)",
        f"{path}:4:1: error: no message for en, ar (hint: callers hear the menu in sv, en, ar: give text: or "
        "recording: for each)",
        f"{path}:6:3: error: no menu speaks 'fi' (hint: the menus' languages: sv, en, ar)",
    ]


def test_a_switch_has_no_window_and_a_message_needs_an_end(shipped_config: ConfigSet, tmp_path: Path) -> None:
    path = write(tmp_path, "text: {sv: a, en: b, ar: c}\nuntil: 2026-12-22T12:00\n")
    with pytest.raises(ConfigError) as exc:
        load_spec(path, "switch", shipped_config, now=TUESDAY_10)
    assert problems(exc) == [f"{path}:2:1: error: unknown key 'until' (hint: a switch holds until `ivr switch "
                             "open`: it has no from/until)"]
    with pytest.raises(ConfigError) as exc:
        spec_from_options("message", shipped_config, now=TUESDAY_10, group=None, starts=None, ends=None,
                          texts=["sv=a", "en=b", "ar=c"], recordings=[])
    assert problems(exc) == ["<command line>:1:1: error: a temporary message needs until: (hint: e.g. until: "
                             "2026-12-01T08:00)"]


def test_broken_yaml_and_past_or_long_windows(shipped_config: ConfigSet, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_spec(write(tmp_path, "text: {sv: a\n"), "message", shipped_config, now=TUESDAY_10)
    assert problems(exc)[0].startswith(f"{tmp_path / 'notice.yaml'}:2:1: error: YAML syntax error")
    for until, expected in (("2026-12-22T09:00", "until: is already past"),
                            ("2027-03-01T09:00", "the window is longer than 31 days")):
        with pytest.raises(ConfigError) as exc:
            spec_from_options("message", shipped_config, now=TUESDAY_10, group=None, starts="2026-12-22T08:00",
                              ends=until, texts=["sv=a", "en=b", "ar=c"], recordings=[])
        assert expected in problems(exc)[0]


def test_store_keeps_entries_and_an_audit_without_numbers(db_url: str) -> None:
    db = open_database(db_url)
    try:
        entry = window(TUESDAY_10, TUESDAY_10 + dt.timedelta(hours=1), queue="kc-school")
        with db.transaction():
            store.save(db, store.StoredEntry(entry, "school", {"sv": "Ring 040-34 10 00"}, "lena.strand", 1.0))
            store.audit(db, actor="lena.strand", via="cli:root", action="message.set", target="group:school",
                        detail={"text": {"sv": "Ring 040-34 10 00 eller +46701234567"}, "from": "2026-12-22T10:00"},
                        at=100.0)
        assert [(item.entry, item.group, item.set_by) for item in store.entries(db)] == [
            (entry, "school", "lena.strand")]
        store.audit(db, actor="lena.strand", via="phone", action="message.clear", target="group:school",
                    detail={}, at=200.0)
        assert store.remove(db, entry.key) and not store.entries(db)
        rows = store.audit_rows(db, since=50.0)
        assert [(row.at, row.action) for row in rows] == [(200.0, "message.clear"), (100.0, "message.set")]
        assert rows[1].detail == {"text": {"sv": "Ring <number> eller <number>"}, "from": "2026-12-22T10:00"}
    finally:
        db.close()
