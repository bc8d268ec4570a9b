"""`ivr diff`: nodes, menu keys, hours, groups and prompt texts, between folders, files and git revisions."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.config.diff import Change, Snapshot, diff, reload_summary, summarize
from ivr.validate import load_config, parse_paths

Break = Callable[[str, str, str], Path]
PLAN = "dialplans/mini.yaml"


@pytest.fixture
def old_tree(config_tree: Path, tmp_path: Path) -> Path:
    """An untouched copy of the tree, to compare the broken one with."""
    old = tmp_path / "old"
    shutil.copytree(config_tree, old)
    return old


def changes(old: Path, new: Path) -> list[str]:
    before, problems = Snapshot.parsed(parse_paths([old]))
    after, more = Snapshot.parsed(parse_paths([new]))
    assert problems == more == []
    return [change.text for change in diff(before, after)]


def test_same_config_has_no_changes(old_tree: Path, config_tree: Path) -> None:
    assert changes(old_tree, config_tree) == []
    assert summarize([]) == "no changes"


def test_menu_keys_added_removed_retargeted(old_tree: Path, config_tree: Path, break_file: Break) -> None:
    break_file(PLAN, '      "1": queue_general\n      "2": transfer_out\n',
               '      "1": transfer_out\n      "3": queue_general\n')
    assert changes(old_tree, config_tree) == [
        "plan mini: menu menu: key 1 queue_general → transfer_out",
        "plan mini: menu menu: key 3 added → queue_general",
        "plan mini: menu menu: key 2 removed (was → transfer_out)",
    ]


def test_nodes_added_removed_and_changed_fields(old_tree: Path, config_tree: Path, break_file: Break) -> None:
    break_file(PLAN, "    fallback: queue_general\n", "    fallback: queue_general\n    timeout: 8\n    attempts: 2\n")
    break_file(PLAN, "  transfer_out:\n    kind: transfer\n", "  transfer_out:\n    kind: hangup\n")
    break_file(PLAN, '    target: "+46401111111"\n', "  goodbye:\n    kind: hangup\n")
    assert changes(old_tree, config_tree) == [
        "plan mini: node goodbye: added (hangup)",
        "plan mini: node menu: timeout 5 → 8; attempts 3 → 2",
        "plan mini: node transfer_out: kind transfer → hangup",
    ]
    shutil.copy(old_tree / PLAN, config_tree / PLAN)
    break_file(PLAN, "      \"2\": transfer_out\n", "")
    break_file(PLAN, "  transfer_out:\n    kind: transfer\n    target: \"+46401111111\"\n", "")
    assert changes(old_tree, config_tree) == [
        "plan mini: menu menu: key 2 removed (was → transfer_out)",
        "plan mini: node transfer_out: removed",
    ]


def test_schedule_hours_and_exceptions(old_tree: Path, config_tree: Path, break_file: Break) -> None:
    break_file("routing_rules.yaml", 'tue: ["08:00-17:00"]',
               'wed: ["08:00-12:00", "13:00-17:00"]\n    eves: open\n    exceptions:\n'
               '      - {date: 2026-12-28, hours: ["09:00-15:00"], note: between the holidays}')
    assert changes(old_tree, config_tree) == [
        "schedule office: eves closed → open",
        "schedule office: tue 08:00-17:00 → closed",
        "schedule office: wed closed → 08:00-12:00, 13:00-17:00",
        "schedule office: exception 2026-12-28 added: 09:00-15:00 (between the holidays)",
    ]


def test_groups_agents_and_rules(old_tree: Path, config_tree: Path, break_file: Break) -> None:
    break_file("agents/groups.yaml", "    description: Everything\n",
               "    description: Everything\n    ring_timeout: 20\n  school:\n    queue: kc-school\n")
    break_file("agents/agents.yaml", "groups: [general]", "groups: [general, school]")
    break_file("routing_rules.yaml", "default_group: general", "default_group: school")
    assert changes(old_tree, config_tree) == [
        "rules: default_group general → school",
        "group school: added (queue kc-school)",
        "group general: ring_timeout 15 → 20",
        "agent alice: groups [general] → [general, school]",
    ]


def test_prompt_texts(old_tree: Path, config_tree: Path, break_file: Break) -> None:
    break_file(PLAN, 'en: "Closed."', 'en: "We are closed."')
    break_file(PLAN, "    kind: hangup\n    prompt: closed\n", "    kind: hangup\n    prompt: bye\n")
    (config_tree / PLAN).write_text((config_tree / PLAN).read_text() + '  bye:\n    text: {sv: "Hej då."}\n')
    assert changes(old_tree, config_tree) == [
        "plan mini: node closed_message: prompt closed → bye",
        "plan mini: prompt bye: added",
        "plan mini: prompt closed [en]: \"Closed.\" → \"We are closed.\"",
    ]


def test_summary_counts_kinds() -> None:
    found = [Change("node added", "a"), Change("menu key added", "b"), Change("node added", "c")]
    assert summarize(found) == "3 change(s): 2 node added, 1 menu key added"


def test_reload_summary_of_loaded_configs(old_tree: Path, config_tree: Path, break_file: Break) -> None:
    break_file(PLAN, '"2": transfer_out', '"3": transfer_out')
    assert reload_summary(load_config([old_tree]), load_config([config_tree])) == \
        "2 change(s): 1 menu key added, 1 menu key removed"


def test_cli_two_plan_files(old_tree: Path, config_tree: Path, break_file: Break,
                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(old_tree / PLAN), PLAN]) == 0
    assert capsys.readouterr().out == "no changes\n"
    break_file(PLAN, "prompt: menu", "prompt: welcome")
    assert main(["diff", str(old_tree / PLAN), PLAN]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "plan mini: node menu: prompt menu → welcome", "1 change(s): 1 node changed"]


def test_cli_refuses_files_that_do_not_parse(old_tree: Path, config_tree: Path, break_file: Break,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    break_file(PLAN, "    kind: transfer\n", "    kind: transfr\n")
    assert main(["diff", str(old_tree), "."]) == 2
    assert "unknown kind 'transfr'" in capsys.readouterr().err
    assert main(["diff", "."]) == 2


def test_cli_against_a_git_revision(config_tree: Path, break_file: Break, capsys: pytest.CaptureFixture[str]) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=config_tree,
                       check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "first")
    break_file(PLAN, '"1": queue_general', '"1": transfer_out')
    assert main(["diff", "--git", "HEAD"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == "plan mini: menu menu: key 1 queue_general → transfer_out"
    assert main(["diff", "--git", "HEAD", PLAN]) == 1
    assert "key 1 queue_general → transfer_out" in capsys.readouterr().out
    assert main(["diff", "--git", "no-such-rev"]) == 2
    assert "git archive failed" in capsys.readouterr().err
