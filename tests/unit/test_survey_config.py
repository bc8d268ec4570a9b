"""The survey's opt-in per group in agents/groups.yaml: a wrong value or missing prompts are errors at
file:line, and the shipped config passes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ivr.config import Problem
from ivr.validate import load_config

GROUPS = "agents/groups.yaml"
RULES = "routing_rules.yaml"
PROMPTS = """system_prompts:
  survey-offer: {text: {sv: "Tryck 1.", en: "Press 1."}}
  survey-question: {text: {sv: "Hur nöjd?", en: "How satisfied?"}}
  survey-invalid: {text: {sv: "1 till 5.", en: "1 to 5."}}
  survey-thanks: {text: {sv: "Tack.", en: "Thanks."}}
"""
REPO = Path(__file__).resolve().parents[2]


def write_groups(tree: Path, survey: str) -> None:
    (tree / GROUPS).write_text(f"groups:\n  general:\n    queue: kc-general\n    survey: {survey}\n", encoding="utf-8")


def messages(problems: list[Problem]) -> list[str]:
    return [f"{p.file}:{p.line}: {p.message}" for p in problems]


def test_a_group_with_the_survey_and_its_prompts_loads(config_tree: Path) -> None:
    write_groups(config_tree, "{wait_s: 6}")
    with (config_tree / RULES).open("a", encoding="utf-8") as rules:
        rules.write(PROMPTS)
    config = load_config(["."])
    survey = config.groups["general"].survey
    assert survey is not None and survey.wait_s == 6
    write_groups(config_tree, "{}")
    default = load_config(["."]).groups["general"].survey
    assert default is not None and default.wait_s == 4


def test_missing_survey_prompts_are_named_at_the_groups_line(config_tree: Path,
                                                            problems_of: Callable[..., list[Problem]]) -> None:
    write_groups(config_tree, "{}")
    [problem] = problems_of()
    assert f"{problem.file}:{problem.line}" == f"{GROUPS}:4"
    assert problem.message == ("group 'general' offers the after-call survey but routing_rules.yaml has no system "
                               "prompt survey-offer, survey-question, survey-invalid, survey-thanks")
    assert "system_prompts" in problem.hint


def test_a_language_without_the_question_is_an_error(config_tree: Path,
                                                     problems_of: Callable[..., list[Problem]]) -> None:
    write_groups(config_tree, "{}")
    with (config_tree / RULES).open("a", encoding="utf-8") as rules:
        rules.write(PROMPTS.replace('survey-question: {text: {sv: "Hur nöjd?", en: "How satisfied?"}}',
                                    'survey-question: {text: {sv: "Hur nöjd?"}}'))
    [problem] = problems_of()
    assert f"{problem.file}:{problem.line}" == f"{GROUPS}:4"
    assert "no text in a language callers can choose: survey-question (en)" in problem.message


def test_a_wait_out_of_range_is_an_error_at_its_line(config_tree: Path,
                                                     problems_of: Callable[..., list[Problem]]) -> None:
    write_groups(config_tree, "{wait_s: 90}")
    found = messages(problems_of())
    assert len(found) == 1 and found[0].startswith(f"{GROUPS}:4:")
    assert "wait_s" in found[0] and "15" in found[0]


def test_an_unknown_survey_setting_is_an_error(config_tree: Path,
                                               problems_of: Callable[..., list[Problem]]) -> None:
    write_groups(config_tree, "{key: 2}")
    found = messages(problems_of())
    assert len(found) == 1 and found[0].startswith(f"{GROUPS}:4:") and "key" in found[0]


def test_the_shipped_rules_have_the_survey_prompts_in_every_language() -> None:
    config = load_config([str(REPO)])
    for prompt in ("survey-offer", "survey-question", "survey-invalid", "survey-thanks"):
        assert set(config.rules.system_prompts[prompt].text) >= set(config.rules.languages), prompt
