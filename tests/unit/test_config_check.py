"""`ivr check`: every kind of config problem is reported at its exact file:line:column.

Each test copies the minimal valid tree in tests/fixtures/config/minimal to tmp_path (the test runs
inside the copy, so files are named relative to it), breaks one thing and checks both the problem
`load_config` raises and the line `ivr check` prints (exit code 1).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.config import Problem
from ivr.validate import load_config

REPO = Path(__file__).resolve().parents[2]
PLAN = "dialplans/mini.yaml"
RULES = "routing_rules.yaml"
AGENTS = "agents/agents.yaml"
GROUPS = "agents/groups.yaml"

Problems = Callable[..., list[Problem]]
Break = Callable[[str, str, str], Path]


def where(problems: list[Problem]) -> list[tuple[str, int, int]]:
    return [(p.file, p.line, p.column) for p in problems]


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    capsys.readouterr()
    code = main(["check", *args])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def assert_cli_reports(capsys: pytest.CaptureFixture[str], problems: list[Problem], *args: str) -> list[str]:
    """`ivr check` exits 1 and prints exactly one `file:line:column: error: ...` line per problem."""
    code, lines, err = run_check(capsys, *args)
    assert code == 1
    assert lines == [p.format() for p in problems]
    assert f"{len(problems)} problem(s) found" in err
    return lines


# --- the valid trees ---------------------------------------------------------------------------


def test_minimal_fixture_tree_is_valid(config_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(["."])
    assert set(config.plans) == {"mini"}
    assert set(config.groups) == {"general"}
    assert config.files == (PLAN, RULES, AGENTS, GROUPS)
    code, lines, _ = run_check(capsys)
    assert code == 0
    assert lines[0].startswith("ok: 1 plan(s), 6 nodes, 1 groups, 1 agents")


def test_shipped_config_passes_with_explicit_paths(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    code, lines, err = run_check(capsys, "dialplans/", "routing_rules.yaml", "agents/")
    assert code == 0, lines
    assert len(lines) == 1 and lines[0].startswith("ok: ")
    assert err == ""


def test_shipped_config_passes_with_no_arguments(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    code, lines, err = run_check(capsys)
    assert code == 0, lines
    assert len(lines) == 1 and lines[0].startswith("ok: ")
    assert err == ""
    # Both spellings check the same files, so they agree on the version.
    assert load_config(["."]).version == load_config(["dialplans/", "routing_rules.yaml", "agents/"]).version


# --- YAML syntax -------------------------------------------------------------------------------


def test_tab_indentation_is_a_syntax_error_with_a_tab_hint(
    break_file: Break, problems_of: Problems, capsys: pytest.CaptureFixture[str]
) -> None:
    break_file(PLAN, "    kind: play\n", "\tkind: play\n")
    problems = problems_of()
    assert where(problems) == [(PLAN, 10, 1)]
    assert problems[0].message.startswith("YAML syntax error: found character '\\t'")
    assert problems[0].hint == "indent with spaces, not tabs"
    lines = assert_cli_reports(capsys, problems)
    assert lines[0].startswith("dialplans/mini.yaml:10:1: error: YAML syntax error")


def test_bad_indentation_is_a_syntax_error_at_the_misindented_line(
    break_file: Break, problems_of: Problems, capsys: pytest.CaptureFixture[str]
) -> None:
    break_file(PLAN, "    next: office_hours\n", "   next: office_hours\n")
    problems = problems_of()
    assert where(problems) == [(PLAN, 12, 4)]
    assert "YAML syntax error" in problems[0].message
    assert "indentation" in problems[0].hint
    assert_cli_reports(capsys, problems)


def test_over_indented_key_is_a_syntax_error(break_file: Break, problems_of: Problems,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    break_file(PLAN, "    next: office_hours\n", "      next: office_hours\n")
    problems = problems_of()
    assert where(problems) == [(PLAN, 12, 11)]
    assert problems[0].message == "YAML syntax error: mapping values are not allowed here"
    assert_cli_reports(capsys, problems)


# --- node kinds and fields ---------------------------------------------------------------------


def test_unknown_node_kind_suggests_the_closest_kind(break_file: Break, problems_of: Problems,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    break_file(PLAN, "kind: play", "kind: plya")
    problems = problems_of()
    assert where(problems) == [(PLAN, 10, 11)]
    assert problems[0].message == "node 'welcome' has unknown kind 'plya'"
    assert problems[0].hint.startswith("did you mean 'play'?")
    assert "known kinds: callback_request, collect, hangup, hours, language, menu, play, queue, set, transfer" \
        in problems[0].hint
    lines = assert_cli_reports(capsys, problems)
    assert lines[0].startswith("dialplans/mini.yaml:10:11: error: node 'welcome' has unknown kind 'plya'")
    assert "did you mean 'play'?" in lines[0]


def test_unknown_field_suggests_the_closest_field(break_file: Break, problems_of: Problems,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    break_file(PLAN, "    fallback: queue_general\n", "    fallback: queue_general\n    timout: 5\n")
    problems = problems_of()
    assert where(problems) == [(PLAN, 25, 5)]
    assert problems[0].message == "unknown field 'timout'"
    assert problems[0].hint == "did you mean 'timeout'?"
    assert_cli_reports(capsys, problems)


@pytest.mark.parametrize(
    ("relative", "old", "new", "line", "column", "field", "guess"),
    [
        (RULES, "    timezone: Europe/Stockholm\n", "    timezone: Europe/Stockholm\n    holidays: closed\n",
         10, 5, "holidays", "public_holidays"),
        (GROUPS, "    description: Everything\n", "    descripton: Everything\n", 5, 5, "descripton",
         "description"),
        (AGENTS, "    skills: [sv]\n", "    skils: [sv]\n", 7, 5, "skils", "skills"),
    ],
    ids=["rules-schedule", "group", "agent"],
)
def test_unknown_field_in_other_files(break_file: Break, problems_of: Problems, capsys: pytest.CaptureFixture[str],
                                      relative: str, old: str, new: str, line: int, column: int, field: str,
                                      guess: str) -> None:
    break_file(relative, old, new)
    problems = problems_of()
    assert where(problems) == [(relative, line, column)]
    assert problems[0].message == f"unknown field '{field}'"
    assert problems[0].hint == f"did you mean '{guess}'?"
    assert_cli_reports(capsys, problems)


def test_unquoted_phone_number_in_transfer_target(break_file: Break, problems_of: Problems,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    break_file(PLAN, 'target: "+46401111111"', "target: +46401111111")
    problems = problems_of()
    assert where(problems) == [(PLAN, 30, 13)]
    assert problems[0].message == "target: YAML read this as the number 46401111111"
    assert problems[0].hint.startswith('quote it, e.g. "+46403410000"')
    lines = assert_cli_reports(capsys, problems)
    assert lines[0].startswith("dialplans/mini.yaml:30:13: error: target: YAML read this as the number")


def test_phone_number_without_plus_in_transfer_target(break_file: Break, problems_of: Problems) -> None:
    break_file(PLAN, 'target: "+46401111111"', 'target: "46401111111"')
    problems = problems_of()
    assert where(problems) == [(PLAN, 30, 13)]
    assert problems[0].message == "target: '46401111111' is not allowed here"
    assert "E.164" in problems[0].hint


@pytest.mark.parametrize(
    ("span", "message"),
    [
        ('"7-18"', "'7-18' is not a time span like \"07:00-18:00\""),
        ("7-18", "'7-18' is not a time span like \"07:00-18:00\""),
        ('"17:00-08:00"', "'17:00-08:00' ends before it starts"),
        ('"08:00-25:00"', "'08:00-25:00' is not a time span like \"07:00-18:00\""),
    ],
    ids=["quoted", "unquoted", "reversed", "hour-25"],
)
def test_bad_time_span(break_file: Break, problems_of: Problems, capsys: pytest.CaptureFixture[str], span: str,
                       message: str) -> None:
    break_file(RULES, 'mon: ["08:00-17:00"]', f"mon: [{span}]")
    problems = problems_of()
    assert where(problems) == [(RULES, 11, 13)]
    assert problems[0].message.startswith("schedules.office.weekly.mon.0: ")
    assert message in problems[0].message
    lines = assert_cli_reports(capsys, problems)
    assert lines[0].startswith("routing_rules.yaml:11:13: error: schedules.office.weekly.mon.0")


def test_bad_time_span_in_an_exception(break_file: Break, problems_of: Problems) -> None:
    break_file(RULES, '      tue: ["08:00-17:00"]\n',
               '      tue: ["08:00-17:00"]\n    exceptions:\n      - date: 2026-12-28\n        hours: ["8-16"]\n')
    problems = problems_of()
    assert where(problems) == [(RULES, 15, 17)]
    assert "'8-16' is not a time span" in problems[0].message


# --- keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [('"1"', '"1"'), ('"1"', "1")],
    ids=["quoted-twice", "quoted-then-unquoted"],
)
def test_duplicate_dtmf_key(break_file: Break, problems_of: Problems, capsys: pytest.CaptureFixture[str],
                            first: str, second: str) -> None:
    break_file(PLAN, '      "1": queue_general\n      "2": transfer_out\n',
               f"      {first}: queue_general\n      {second}: transfer_out\n")
    problems = problems_of()
    assert where(problems) == [(PLAN, 23, 7)]
    assert problems[0].message == "duplicate key '1'"
    assert problems[0].hint == "it is already given at line 22, column 7; remove one of them"
    lines = assert_cli_reports(capsys, problems)
    assert lines[0].startswith("dialplans/mini.yaml:23:7: error: duplicate key '1'")


def test_duplicate_dtmf_key_unquoted_first_also_reports_the_number_key(break_file: Break,
                                                                       problems_of: Problems) -> None:
    # `1:` is the number 1 to YAML: it is reported where it stands, and the second "1" as a duplicate.
    break_file(PLAN, '      "1": queue_general\n      "2": transfer_out\n',
               '      1: queue_general\n      "1": transfer_out\n')
    problems = problems_of()
    assert where(problems) == [(PLAN, 22, 7), (PLAN, 23, 7)]
    assert problems[0].message == "options.1: YAML read this as the number 1"
    assert problems[1].message == "duplicate key '1'"


@pytest.mark.parametrize(("word", "value"), [("on", "true"), ("yes", "true"), ("off", "false"), ("no", "false")])
def test_key_yaml_reads_as_a_boolean(break_file: Break, problems_of: Problems, capsys: pytest.CaptureFixture[str],
                                     word: str, value: str) -> None:
    break_file(PLAN, '      "1": queue_general\n', f"      {word}: queue_general\n")
    problems = problems_of()
    assert where(problems) == [(PLAN, 22, 7)]
    assert problems[0].message == f"options.{value}: YAML read this as {value}"
    assert "on/off/yes/no" in problems[0].hint
    assert_cli_reports(capsys, problems)


def test_tag_name_yaml_reads_as_a_boolean(break_file: Break, problems_of: Problems) -> None:
    break_file(PLAN, '      "1": queue_general\n', '      "1": tag_it\n')
    break_file(PLAN, "  queue_general:\n",
               "  tag_it:\n    kind: set\n    tags: {yes: x}\n    next: queue_general\n  queue_general:\n")
    problems = problems_of()
    assert where(problems) == [(PLAN, 27, 12)]
    assert problems[0].message == "tags.true: YAML read this as true"


def test_language_value_no_reads_as_false(break_file: Break, problems_of: Problems) -> None:
    # Norwegian ("no") is the classic: YAML 1.1 reads it as false.
    break_file(PLAN, "    next: office_hours\n", "    next: pick_language\n")
    break_file(PLAN, "  office_hours:\n", '  pick_language:\n    kind: language\n    prompt: welcome\n'
               '    options: {"1": sv, "2": no}\n    next: office_hours\n  office_hours:\n')
    problems = problems_of()
    assert where(problems) == [(PLAN, 16, 29)]
    assert problems[0].message == "options.2: YAML read this as false"


# --- references ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "line", "column", "message", "hint"),
    [
        ("next: office_hours", "next: office_hour", 12, 11, "node 'welcome': unknown node 'office_hour'",
         "did you mean 'office_hours'?"),
        ('"2": transfer_out', '"2": transfer', 23, 12, "node 'menu': unknown node 'transfer'",
         "did you mean 'transfer_out'?"),
        ("group: general", "group: generl", 27, 12, "node 'queue_general': unknown agent group 'generl'",
         "did you mean 'general'?"),
        ("schedule: office", "schedule: ofice", 15, 15, "node 'office_hours': unknown schedule 'ofice'",
         "did you mean 'office'?"),
    ],
    ids=["next-node", "menu-option", "agent-group", "schedule"],
)
def test_dangling_reference(break_file: Break, problems_of: Problems, capsys: pytest.CaptureFixture[str],
                            old: str, new: str, line: int, column: int, message: str, hint: str) -> None:
    break_file(PLAN, old, new)
    problems = problems_of()
    # Only the reference: the nodes behind a misspelt `next` are not also reported as unreachable.
    assert where(problems) == [(PLAN, line, column)]
    assert problems[0].message == message
    assert problems[0].hint == hint
    lines = assert_cli_reports(capsys, problems)
    assert lines[0].startswith(f"dialplans/mini.yaml:{line}:{column}: error: {message}")


def test_dangling_prompt_reference(break_file: Break, problems_of: Problems,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    break_file(PLAN, "prompt: welcome", "prompt: welcom")
    problems = problems_of()
    assert where(problems) == [(PLAN, 11, 13), (PLAN, 36, 3)]
    assert problems[0].message == "node 'welcome': unknown prompt 'welcom'"
    assert problems[0].hint == "did you mean 'welcome'?"
    # ... and the prompt it meant is now never played.
    assert problems[1].message == "prompt 'welcome' is never played"
    assert_cli_reports(capsys, problems)


def test_unknown_default_group(break_file: Break, problems_of: Problems) -> None:
    break_file(RULES, "default_group: general", "default_group: generel")
    problems = problems_of()
    assert where(problems) == [(RULES, 4, 16)]
    assert problems[0].message == "unknown agent group 'generel'"


def test_unknown_agent_group_in_agents_file(break_file: Break, problems_of: Problems,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    break_file(AGENTS, "groups: [general]", "groups: [general, scool]")
    problems = problems_of()
    assert where(problems) == [(AGENTS, 6, 23)]
    assert problems[0].message == "unknown agent group 'scool'"
    assert problems[0].hint == "known: general"
    lines = assert_cli_reports(capsys, problems)
    assert lines[0].startswith("agents/agents.yaml:6:23: error: unknown agent group 'scool'")


# --- graph ---------------------------------------------------------------------------------------


def test_unreachable_node(break_file: Break, problems_of: Problems, capsys: pytest.CaptureFixture[str]) -> None:
    break_file(PLAN, "  queue_general:\n", "  orphan:\n    kind: hangup\n  queue_general:\n")
    problems = problems_of()
    assert where(problems) == [(PLAN, 25, 3)]
    assert problems[0].message == "node 'orphan' can never be reached from the start node 'welcome'"
    assert_cli_reports(capsys, problems)


LOOP_WITH_INPUT = """\
  loop_menu:
    kind: menu
    prompt: menu
    options: {"1": loop_play}
    fallback: loop_menu
  loop_play:
    kind: play
    prompt: welcome
    next: loop_menu
"""


def test_loop_that_never_reaches_a_queue_transfer_or_hangup(break_file: Break, problems_of: Problems,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    break_file(PLAN, '      "2": transfer_out\n', '      "2": transfer_out\n      "3": loop_menu\n')
    break_file(PLAN, "  queue_general:\n", LOOP_WITH_INPUT + "  queue_general:\n")
    problems = problems_of()
    assert where(problems) == [(PLAN, 26, 3), (PLAN, 31, 3)]
    assert [p.message for p in problems] == [
        "node 'loop_menu' is in a loop that never reaches a queue, transfer or hang-up",
        "node 'loop_play' is in a loop that never reaches a queue, transfer or hang-up",
    ]
    assert_cli_reports(capsys, problems)


LOOP_WITHOUT_INPUT = """\
  spin_play:
    kind: play
    prompt: welcome
    next: spin_set
  spin_set:
    kind: set
    tags: {spun: "yes"}
    next: spin_play
"""


def test_loop_without_input(break_file: Break, problems_of: Problems, capsys: pytest.CaptureFixture[str]) -> None:
    break_file(PLAN, '      "2": transfer_out\n', '      "2": transfer_out\n      "3": spin_play\n')
    break_file(PLAN, "  queue_general:\n", LOOP_WITHOUT_INPUT + "  queue_general:\n")
    problems = problems_of()
    spinning = [p for p in problems if "without asking the caller anything" in p.message]
    assert where(spinning) == [(PLAN, 26, 3), (PLAN, 30, 3)]
    assert spinning[0].message == "node 'spin_play' loops back to itself without asking the caller anything"
    assert spinning[1].message == "node 'spin_set' loops back to itself without asking the caller anything"
    # It has no way out either.
    assert {p.message for p in problems} - {p.message for p in spinning} == {
        "node 'spin_play' is in a loop that never reaches a queue, transfer or hang-up",
        "node 'spin_set' is in a loop that never reaches a queue, transfer or hang-up",
    }
    assert_cli_reports(capsys, problems)


def test_loop_without_input_is_reported_even_with_a_way_out(break_file: Break, problems_of: Problems) -> None:
    # play → hours → play spins while the office is open, although `closed` leads to a queue.
    break_file(PLAN, '      "2": transfer_out\n', '      "2": transfer_out\n      "3": spin_play\n')
    break_file(PLAN, "  queue_general:\n", "  spin_play:\n    kind: play\n    prompt: welcome\n    next: spin_hours\n"
               "  spin_hours:\n    kind: hours\n    schedule: office\n    open: spin_play\n"
               "    closed: queue_general\n  queue_general:\n")
    problems = problems_of()
    assert where(problems) == [(PLAN, 26, 3), (PLAN, 30, 3)]
    assert all("without asking the caller anything" in p.message for p in problems)


# --- prompts -------------------------------------------------------------------------------------


def test_prompt_missing_a_language(break_file: Break, problems_of: Problems,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    break_file(PLAN, '{sv: "Stängt.", en: "Closed."}', '{sv: "Stängt."}')
    problems = problems_of()
    assert where(problems) == [(PLAN, 40, 3)]
    assert problems[0].message == "prompt 'closed' has no text or recording in en"
    assert problems[0].hint == "every prompt needs each language the plan offers (sv, en)"
    assert_cli_reports(capsys, problems)


def test_plan_offering_a_language_no_prompt_has(break_file: Break, problems_of: Problems) -> None:
    break_file(PLAN, "languages: [sv, en]", "languages: [sv, en, ar]")
    problems = problems_of()
    assert where(problems) == [(PLAN, 36, 3), (PLAN, 38, 3), (PLAN, 40, 3)]
    assert [p.message for p in problems] == [
        f"prompt '{name}' has no text or recording in ar" for name in ("welcome", "menu", "closed")
    ]


def test_a_recording_counts_for_its_language(break_file: Break) -> None:
    break_file(PLAN, '{sv: "Stängt.", en: "Closed."}', '{sv: "Stängt."}\n    recording: {en: custom/closed-en}')
    config = load_config(["."])
    assert config.plans["mini"].sound("closed", "en") == "custom/closed-en"
    assert config.plans["mini"].sound("closed", "sv") == "ivr/mini/sv/closed"


# --- files ---------------------------------------------------------------------------------------


def test_missing_routing_rules(config_tree: Path, problems_of: Problems,
                               capsys: pytest.CaptureFixture[str]) -> None:
    (config_tree / RULES).unlink()
    problems = problems_of()
    assert where(problems) == [(PLAN, 1, 1)]
    assert problems[0].message == "no routing_rules.yaml among the files checked"
    lines = assert_cli_reports(capsys, problems)
    assert lines[0].startswith("dialplans/mini.yaml:1:1: error: no routing_rules.yaml among the files checked")


def test_routing_rules_not_named_on_the_command_line(config_tree: Path, problems_of: Problems,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    problems = problems_of("dialplans", "agents")
    assert where(problems) == [(PLAN, 1, 1)]
    assert problems[0].message == "no routing_rules.yaml among the files checked"
    assert_cli_reports(capsys, problems, "dialplans", "agents")


def test_no_yaml_files_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, lines, _ = run_check(capsys)
    assert code == 1
    assert lines == [".:1:1: error: no YAML files found (hint: point at the folder that holds routing_rules.yaml)"]


# --- several problems at once --------------------------------------------------------------------


def test_several_problems_in_one_file_are_reported_in_one_run(
    break_file: Break, problems_of: Problems, capsys: pytest.CaptureFixture[str]
) -> None:
    break_file(PLAN, "kind: play", "kind: plya")
    break_file(PLAN, "closed: closed_message", "closd: closed_message")
    break_file(PLAN, '"2": transfer_out', '"1": transfer_out')
    break_file(PLAN, 'target: "+46401111111"', "target: +46401111111")
    problems = problems_of()
    assert where(problems) == [(PLAN, 10, 11), (PLAN, 14, 5), (PLAN, 17, 5), (PLAN, 23, 7), (PLAN, 30, 13)]
    assert [p.message for p in problems] == [
        "node 'welcome' has unknown kind 'plya'",
        "missing required field 'closed'",
        "unknown field 'closd'",
        "duplicate key '1'",
        "target: YAML read this as the number 46401111111",
    ]
    assert problems[2].hint == "did you mean 'closed'?"
    lines = assert_cli_reports(capsys, problems)
    assert len(lines) == 5


def test_several_reference_problems_are_reported_in_one_run(break_file: Break, problems_of: Problems) -> None:
    break_file(PLAN, "schedule: office", "schedule: ofice")
    break_file(PLAN, "group: general", "group: generl")
    break_file(PLAN, '{sv: "Stängt.", en: "Closed."}', '{sv: "Stängt."}')
    problems = problems_of()
    assert where(problems) == [(PLAN, 15, 15), (PLAN, 27, 12), (PLAN, 40, 3)]


def test_problems_in_several_files_are_reported_in_one_run(break_file: Break, problems_of: Problems,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    break_file(RULES, 'mon: ["08:00-17:00"]', 'mon: ["7-18"]')
    break_file(GROUPS, "    description: Everything\n", "    descripton: Everything\n")
    break_file(PLAN, "kind: play", "kind: plya")
    problems = problems_of()
    assert where(problems) == [(GROUPS, 5, 5), (PLAN, 10, 11), (RULES, 11, 13)]
    assert_cli_reports(capsys, problems)
