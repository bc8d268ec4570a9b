"""`ivr check` for outbound calls: officials, departments, caller-ID rules, purposes and the returning-caller
notice, each problem at its file:line:column (the minimal fixture tree, copied, with one file added)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.config import ConfigSet, Problem
from ivr.validate import load_config

OFFICIALS = "agents/officials.yaml"
RULES = "routing_rules.yaml"

PEOPLE = """\
departments:
  general_affairs:
    name: Allmänna ärenden
    number: "+46401230000"
    disclosure: department
  quiet:
    name: Utan nummer
    disclosure: none
officials:
  olle:
    name: Olle
    extension: "2101"
    direct_line: "+46401232101"
    department: general_affairs
"""

CALLER_ID = """
caller_id:
  purposes:
    callback: {code: "10", label: Återuppringning}
    visit: {code: "11", label: Besök}
  rules:
    - {extension: "2101", show: withheld}
    - {department: general_affairs, purpose: visit, show: department_number}
"""

Problems = Callable[..., list[Problem]]


@pytest.fixture
def tree(config_tree: Path) -> Path:
    (config_tree / OFFICIALS).write_text(PEOPLE, encoding="utf-8")
    with (config_tree / RULES).open("a", encoding="utf-8") as rules:
        rules.write(CALLER_ID)
    return config_tree


def edit(tree: Path, relative: str, old: str, new: str) -> None:
    path = tree / relative
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(tree: Path, relative: str, text: str) -> int:
    lines = (tree / relative).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def only(problems_of: Problems) -> Problem:
    problems = problems_of()
    assert len(problems) == 1, [p.format() for p in problems]
    return problems[0]


def test_tree_with_officials_and_rules_is_valid(tree: Path) -> None:
    config = load_config(["."])
    assert set(config.officials) == {"olle"} and set(config.departments) == {"general_affairs", "quiet"}
    assert [rule.show for rule in config.rules.caller_id.rules] == ["withheld", "department_number"]
    assert config.rules.contact_registry.retention_days == 30  # the default
    assert not config.rules.contact_registry.returning_callers.offer  # off until a prompt is written


def test_shipped_officials_and_departments(shipped_config: ConfigSet) -> None:
    assert {o.department for o in shipped_config.officials.values()} <= set(shipped_config.departments)
    assert {g.department for g in shipped_config.groups.values()} <= set(shipped_config.departments)
    offer = shipped_config.rules.contact_registry.returning_callers
    assert offer.offer and offer.prompt in shipped_config.rules.system_prompts


def test_official_in_unknown_department(tree: Path, problems_of: Problems) -> None:
    edit(tree, OFFICIALS, "department: general_affairs", "department: general_afairs")
    problem = only(problems_of)
    assert (problem.file, problem.line) == (OFFICIALS, line_of(tree, OFFICIALS, "general_afairs"))
    assert problem.message == "unknown department 'general_afairs'"
    assert problem.hint == "did you mean 'general_affairs'?"


def test_official_with_an_agents_extension(tree: Path, problems_of: Problems) -> None:
    edit(tree, OFFICIALS, 'extension: "2101"', 'extension: "2001"')
    edit(tree, RULES, '{extension: "2101", show: withheld}', '{extension: "2001", show: withheld}')
    problem = only(problems_of)
    assert (problem.file, problem.line) == (OFFICIALS, line_of(tree, OFFICIALS, '"2001"'))
    assert problem.message == "extension 2001 is also alice's"


def test_rule_conditions_must_name_known_things(tree: Path, problems_of: Problems) -> None:
    edit(tree, RULES, '{extension: "2101", show: withheld}', '{extension: "2999", show: withheld}')
    edit(tree, RULES, "{department: general_affairs, purpose: visit,", "{department: general, purpose: visits,")
    problems = problems_of()
    assert [(p.line, p.message) for p in problems] == [
        (line_of(tree, RULES, '"2999"'), "no official or agent has extension 2999"),
        (line_of(tree, RULES, "purpose: visits"), "unknown department 'general'"),
        (line_of(tree, RULES, "purpose: visits"), "unknown purpose 'visits'"),
    ]
    assert problems[1].column < problems[2].column  # each at its own value
    assert problems[2].hint == "did you mean 'visit'?"


def test_unknown_group_in_a_rule(tree: Path, problems_of: Problems) -> None:
    edit(tree, RULES, '{extension: "2101", show: withheld}', "{group: generall, show: main_number}")
    problem = only(problems_of)
    assert problem.message == "unknown agent group 'generall'" and problem.hint == "did you mean 'general'?"


def test_department_number_needs_a_number(tree: Path, problems_of: Problems) -> None:
    edit(tree, RULES, "{department: general_affairs, purpose: visit, show: department_number}",
         "{department: quiet, show: department_number}")
    problem = only(problems_of)
    assert problem.line == line_of(tree, RULES, "department: quiet")
    assert problem.message == "department 'quiet' has no number"


def test_two_rules_with_the_same_conditions(tree: Path, problems_of: Problems) -> None:
    with (tree / RULES).open("a", encoding="utf-8") as rules:
        rules.write("    - {purpose: visit, department: general_affairs, show: main_number}\n")
    problem = only(problems_of)
    assert problem.line == line_of(tree, RULES, "show: main_number}")
    assert problem.message == "rule 3 has the same conditions as rule 2, so it never applies"


def test_rule_without_a_condition_and_a_bad_show(tree: Path, problems_of: Problems) -> None:
    edit(tree, RULES, '{extension: "2101", show: withheld}', "{show: hidden}")
    problems = problems_of()
    assert {p.line for p in problems} == {line_of(tree, RULES, "show: hidden")}
    assert any("show" in p.message for p in problems)


def test_purpose_codes_are_unique(tree: Path, problems_of: Problems) -> None:
    edit(tree, RULES, 'visit: {code: "11"', 'visit: {code: "10"')
    problem = only(problems_of)
    assert problem.line == line_of(tree, RULES, "visit: {code")
    assert problem.message == "purpose code 10 is also purpose 'callback'"


def test_returning_caller_offer_needs_its_prompt(tree: Path, problems_of: Problems) -> None:
    with (tree / RULES).open("a", encoding="utf-8") as rules:
        rules.write("contact_registry:\n  returning_callers:\n    offer: true\n    prompt: called-you\n")
    problem = only(problems_of)
    assert problem.line == line_of(tree, RULES, "prompt: called-you")
    assert problem.message == "no system prompt 'called-you'"


def test_returning_caller_prompt_needs_each_language(tree: Path, problems_of: Problems) -> None:
    with (tree / RULES).open("a", encoding="utf-8") as rules:
        rules.write('contact_registry:\n  returning_callers: {offer: true, prompt: called-you, languages: [sv, en]}\n'
                    'system_prompts:\n  called-you:\n    text: {sv: "Vi ringde dig."}\n')
    problem = only(problems_of)
    assert problem.message == "system prompt 'called-you' has no text or recording in en"


def test_group_department_must_be_declared_once_departments_are(tree: Path, problems_of: Problems) -> None:
    edit(tree, "agents/groups.yaml", "    description: Everything\n",
         "    description: Everything\n    department: contactcenter\n")
    problem = only(problems_of)
    assert (problem.file, problem.line) == ("agents/groups.yaml", line_of(tree, "agents/groups.yaml", "contactcenter"))
    assert problem.message == "unknown department 'contactcenter'"


def test_department_served_by_two_groups_must_choose(tree: Path, problems_of: Problems) -> None:
    with (tree / "agents/groups.yaml").open("a", encoding="utf-8") as groups:
        groups.write("  first:\n    queue: kc-first\n    department: quiet\n"
                     "  second:\n    queue: kc-second\n    department: quiet\n")
    problem = only(problems_of)
    assert problem.message == "department 'quiet' is served by the groups first, second"
    edit(tree, OFFICIALS, "    disclosure: none\n", "    disclosure: none\n    group: second\n")
    assert load_config(["."]).departments["quiet"].group == "second"


def test_retention_is_bounded(tree: Path, problems_of: Problems) -> None:
    with (tree / RULES).open("a", encoding="utf-8") as rules:
        rules.write("contact_registry:\n  retention_days: 0\n")
    problem = only(problems_of)
    assert problem.line == line_of(tree, RULES, "retention_days: 0")


def test_cli_prints_the_located_problem(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(tree, OFFICIALS, 'direct_line: "+46401232101"', "direct_line: 0401232101")
    capsys.readouterr()
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{OFFICIALS}:{line_of(tree, OFFICIALS, 'direct_line')}:")
