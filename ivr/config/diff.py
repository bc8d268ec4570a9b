"""What changed between two configurations, in the admin's terms: nodes, menu keys, hours, groups, prompts.

Works on parsed files (`Snapshot.parsed`), so a config with checker problems can still be compared, and on
loaded `ConfigSet`s (the daemon logs a summary on every reload).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from ivr.config.loader import ConfigSet, LoadedFiles
from ivr.config.model import WEEKDAYS, Agent, AgentGroup, Prompt, RoutingRules, Schedule, ScheduleException
from ivr.config.plan import Plan, PlanNode
from ivr.config.problems import Problem

PLAN_FIELDS = ("description", "numbers", "languages", "default_language", "start")


@dataclass(frozen=True)
class Change:
    kind: str  # a short category for summaries, e.g. "node changed", "menu key retargeted"
    text: str  # one line for the admin

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Snapshot:
    plans: Mapping[str, Plan] = field(default_factory=dict)
    groups: Mapping[str, AgentGroup] = field(default_factory=dict)
    agents: Mapping[str, Agent] = field(default_factory=dict)
    rules: RoutingRules | None = None

    @classmethod
    def of(cls, config: ConfigSet) -> Snapshot:
        return cls(config.plans, config.groups, config.agents, config.rules)

    @classmethod
    def parsed(cls, loaded: LoadedFiles) -> tuple[Snapshot, list[Problem]]:
        """The files as parsed, without the cross-file checks; problems are those that stop a file parsing."""
        groups = {name: g for _, file in loaded.agent_files for name, g in file.groups.items()}
        agents = {name: a for _, file in loaded.agent_files for name, a in file.agents.items()}
        plans = {plan.name: plan for _, plan in loaded.plans}
        return cls(plans, groups, agents, loaded.rules[1] if loaded.rules else None), loaded.problems


def diff(old: Snapshot, new: Snapshot) -> list[Change]:
    changes = _named("plan", old.plans, new.plans, _plan, lambda p: f"{len(p.nodes)} nodes")
    old_rules, new_rules = old.rules, new.rules
    if old_rules and new_rules:
        changes += _model_fields("rules", old_rules, new_rules, skip=("schedules", "system_prompts"))
        changes += _named("schedule", old_rules.schedules, new_rules.schedules, _schedule)
        changes += _prompts("system prompt", old_rules.system_prompts, new_rules.system_prompts)
    elif old_rules or new_rules:
        changes.append(Change("rules", f"routing rules {'added' if new_rules else 'removed'}"))
    changes += _named("group", old.groups, new.groups, _fields_of("group"), lambda g: f"queue {g.queue}")
    changes += _named("agent", old.agents, new.agents, _fields_of("agent"), lambda a: f"extension {a.extension}")
    return changes


def summarize(changes: Sequence[Change]) -> str:
    """One short line: "no changes" or "3 changes: 2 node changed, 1 menu key added"."""
    if not changes:
        return "no changes"
    counts = Counter(change.kind for change in changes)
    return f"{len(changes)} change(s): " + ", ".join(f"{n} {kind}" for kind, n in counts.most_common())


def reload_summary(old: ConfigSet, new: ConfigSet) -> str:
    # Logging must never turn a good reload into a failed one.
    try:
        return summarize(diff(Snapshot.of(old), Snapshot.of(new)))
    except Exception as exc:  # a bug here is reported, not raised
        return f"changes unknown ({type(exc).__name__}: {exc})"


T = TypeVar("T")


def _named(what: str, old: Mapping[str, T], new: Mapping[str, T], compare: Callable[[str, T, T], list[Change]],
           describe: Callable[[T], str] | None = None) -> list[Change]:
    changes = []
    for name in new:
        if name not in old:
            extra = f" ({describe(new[name])})" if describe else ""
            changes.append(Change(f"{what} added", f"{what} {name}: added{extra}"))
    for name in old:
        if name not in new:
            changes.append(Change(f"{what} removed", f"{what} {name}: removed"))
        else:
            changes += compare(name, old[name], new[name])
    return changes


def _fields_of(what: str) -> Callable[[str, BaseModel, BaseModel], list[Change]]:
    return lambda name, old, new: _model_fields(f"{what} {name}", old, new, kind=f"{what} changed")


def _model_fields(scope: str, old: BaseModel, new: BaseModel, *, skip: Iterable[str] = (),
                  kind: str | None = None) -> list[Change]:
    before, after = old.model_dump(), new.model_dump()
    fields = [f for f in after if f not in skip and before.get(f) != after.get(f)]
    if not fields:
        return []
    text = "; ".join(f"{f} {_show(before.get(f))} → {_show(after.get(f))}" for f in fields)
    return [Change(kind or f"{scope} changed", f"{scope}: {text}")]


def _plan(name: str, old: Plan, new: Plan) -> list[Change]:
    scope = f"plan {name}"
    changes = [Change("plan changed", f"{f} {_show(getattr(old, f))} → {_show(getattr(new, f))}")
               for f in PLAN_FIELDS if getattr(old, f) != getattr(new, f)]
    changes += _named("node", old.nodes, new.nodes, lambda node_id, a, b: _node(scope, node_id, a, b),
                      lambda node: node.kind_name)
    changes += _prompts("prompt", old.prompts, new.prompts)
    return [Change(c.kind, f"{scope}: {c.text}") for c in changes]


def _node(scope: str, node_id: str, old: PlanNode, new: PlanNode) -> list[Change]:
    if old.kind_name != new.kind_name:
        return [Change("node changed", f"node {node_id}: kind {old.kind_name} → {new.kind_name}")]
    changes = _model_fields(f"node {node_id}", old, new, skip=("options",), kind="node changed")
    old_options: dict[str, str] = getattr(old, "options", {})
    new_options: dict[str, str] = getattr(new, "options", {})
    for key in new_options:
        if key not in old_options:
            changes.append(Change("menu key added", f"{old.kind_name} {node_id}: key {key} added → {new_options[key]}"))
        elif old_options[key] != new_options[key]:
            changes.append(Change("menu key retargeted", f"{old.kind_name} {node_id}: key {key} "
                                  f"{old_options[key]} → {new_options[key]}"))
    for key in old_options:
        if key not in new_options:
            changes.append(Change("menu key removed", f"{old.kind_name} {node_id}: key {key} removed "
                                  f"(was → {old_options[key]})"))
    return changes


def _prompts(what: str, old: Mapping[str, Prompt], new: Mapping[str, Prompt]) -> list[Change]:
    def compare(prompt_id: str, a: Prompt, b: Prompt) -> list[Change]:
        changes = []
        for language in sorted({*a.text, *b.text}):
            before, after = a.text.get(language), b.text.get(language)
            if before != after:
                changes.append(Change(f"{what} text changed", f"{what} {prompt_id} [{language}]: "
                                      f"{_quote(before)} → {_quote(after)}"))
        for language in sorted({*a.recording, *b.recording}):
            before, after = a.recording.get(language), b.recording.get(language)
            if before != after:
                changes.append(Change(f"{what} recording changed", f"{what} {prompt_id} [{language}] recording: "
                                      f"{_show(before)} → {_show(after)}"))
        return changes

    return _named(what, old, new, compare)


def _schedule(name: str, old: Schedule, new: Schedule) -> list[Change]:
    scope = f"schedule {name}"
    changes = _model_fields(scope, old, new, skip=("weekly", "exceptions"), kind="schedule changed")
    for day in WEEKDAYS:
        before, after = old.weekly.get(day, ()), new.weekly.get(day, ())
        if before != after:
            changes.append(Change("opening hours changed", f"{scope}: {day} {_hours(before)} → {_hours(after)}"))
    old_days = {e.date: e for e in old.exceptions}
    new_days = {e.date: e for e in new.exceptions}
    for date in sorted({*old_days, *new_days}):
        a, b = old_days.get(date), new_days.get(date)
        if a == b:
            continue
        state = "added" if a is None else "removed" if b is None else "changed"
        shown = f": {_exception(b)}" if b else ""
        changes.append(Change(f"schedule exception {state}", f"{scope}: exception {date} {state}{shown}"))
    return changes


def _exception(exception: ScheduleException) -> str:
    hours = "closed" if exception.closed else ", ".join(exception.hours)
    return hours + (f" ({exception.note})" if exception.note else "")


def _hours(spans: Sequence[str]) -> str:
    return ", ".join(spans) if spans else "closed"


def _quote(text: str | None) -> str:
    if text is None:
        return "(none)"
    return f'"{text}"' if len(text) <= 60 else f'"{text[:57]}..."'


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return str(value)
