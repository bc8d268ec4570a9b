"""`ivr check` on the queue side: overflow targets and loops, closed-hours rules, skill languages,
callback prompts, colliding skill-queue names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ivr.config import Problem
from ivr.queues.checks import check_queues
from ivr.validate import load_config

GROUPS = "agents/groups.yaml"


def write_groups(tree: Path, body: str) -> None:
    (tree / GROUPS).write_text("groups:\n" + body, encoding="utf-8")


def messages(problems: list[Problem]) -> list[str]:
    return [f"{p.file}:{p.line}: {p.message}" for p in problems]


def test_unknown_overflow_target_schedule_and_prompt(config_tree: Path,
                                                     problems_of: Callable[..., list[Problem]]) -> None:
    write_groups(config_tree, """  general:
    queue: kc-general
    overflow: {to: genral, after: 60}
    closed: {schedule: nights, prompt: shut}
""")
    found = messages(problems_of())
    assert "agents/groups.yaml:4: unknown agent group 'genral'" in found
    assert "agents/groups.yaml:5: unknown schedule 'nights'" in found
    assert "agents/groups.yaml:5: unknown system prompt 'shut'" in found


def test_overflow_must_say_when_and_not_to_itself(config_tree: Path,
                                                  problems_of: Callable[..., list[Problem]]) -> None:
    write_groups(config_tree, """  general:
    queue: kc-general
    overflow: {to: general}
""")
    found = " | ".join(messages(problems_of()))
    assert "overflows to itself" in found and "needs `after` or `when_no_agents: true`" in found


def test_callbacks_need_their_prompts(config_tree: Path, problems_of: Callable[..., list[Problem]]) -> None:
    write_groups(config_tree, """  general:
    queue: kc-general
    callback: {when_waiting: 1}
""")
    [problem] = problems_of()
    assert "offers callbacks but routing_rules.yaml has no system prompt callback-offer" in problem.message


def test_skill_queue_name_taken_by_another_group(config_tree: Path,
                                                 problems_of: Callable[..., list[Problem]]) -> None:
    write_groups(config_tree, """  general:
    queue: kc-general
    skills: {languages: [ar]}
  arabic:
    queue: kc-general-ar
""")
    assert any("queue 'kc-general-ar' of group 'arabic' is also a queue of group 'general'" in m
               for m in messages(problems_of()))


def test_loops_and_unknown_skill_languages_are_warnings(config_tree: Path) -> None:
    write_groups(config_tree, """  general:
    queue: kc-general
    skills: {languages: [fi]}
    overflow: {to: other, when_no_agents: true}
  other:
    queue: kc-other
    overflow: {to: general, when_no_agents: true}
""")
    config = load_config(["."])  # warnings do not stop a config from loading
    from ivr.config.loader import discover
    from ivr.validate import parse_files

    found = check_queues(config, parse_files(discover(["."])))
    assert {p.severity for p in found} == {"warning"}
    assert any("overflow loop when no agent is logged in: general -> other -> general" in p.message for p in found)
    assert any("skill queue for 'fi', which callers cannot choose" in p.message for p in found)
