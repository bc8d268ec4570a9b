"""`ivr check` on the groups' wrap-up codes: labels in the pages' languages, a required code needs
codes, badly named codes are refused at their line, and the shipped config offers codes per group."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ivr.config import ConfigSet, Problem
from ivr.config.loader import discover
from ivr.config.wrapup import check_wrapup
from ivr.validate import load_config, parse_files

GROUPS = "agents/groups.yaml"


def write_groups(tree: Path, body: str) -> None:
    (tree / GROUPS).write_text("groups:\n  general:\n    queue: kc-general\n" + body, encoding="utf-8")


def located(problems: list[Problem]) -> list[str]:
    return [f"{p.file}:{p.line}: {p.severity}: {p.message}" for p in problems]


def test_required_code_without_codes(config_tree: Path, problems_of: Callable[..., list[Problem]]) -> None:
    write_groups(config_tree, "    wrapup_required: true\n")
    assert located(problems_of()) == [
        "agents/groups.yaml:4: error: group 'general' requires a wrap-up code but offers none"]


def test_missing_swedish_label_and_empty_label(config_tree: Path,
                                               problems_of: Callable[..., list[Problem]]) -> None:
    write_groups(config_tree, """    wrapup_codes:
      resolved: {en: "Resolved"}
      forwarded: {sv: " ", en: "Forwarded"}
""")
    found = located(problems_of())
    assert "agents/groups.yaml:5: error: wrap-up code 'resolved' of group 'general' has no Swedish label" in found
    assert "agents/groups.yaml:6: error: wrap-up code 'forwarded' has an empty sv label" in found
    assert len(found) == 2


def test_badly_named_code_is_refused_at_its_line(config_tree: Path,
                                                 problems_of: Callable[..., list[Problem]]) -> None:
    write_groups(config_tree, """    wrapup_codes:
      Resolved Now: {sv: "Löst"}
""")
    [problem] = problems_of()
    assert (problem.file, problem.line) == ("agents/groups.yaml", 5)
    assert "Resolved Now" in problem.message or "pattern" in problem.message


def test_english_missing_on_one_code_is_a_warning(config_tree: Path) -> None:
    write_groups(config_tree, """    wrapup_codes:
      resolved: {sv: "Löst", en: "Resolved"}
      forwarded: {sv: "Vidarebefordrat"}
""")
    load_config(["."])  # warnings do not stop a config from loading
    found = located(check_wrapup(parse_files(discover(["."]))))
    assert found == ["agents/groups.yaml:6: warning: wrap-up code 'forwarded' of group 'general' "
                     "has no en label while others do"]


def test_shipped_groups_have_codes(shipped_config: ConfigSet) -> None:
    for name, group in shipped_config.groups.items():
        assert group.wrapup_codes, name
        assert all(labels.get("sv") and labels.get("en") for labels in group.wrapup_codes.values())
    assert shipped_config.groups["social"].wrapup_required
    assert not shipped_config.groups["general"].wrapup_required
