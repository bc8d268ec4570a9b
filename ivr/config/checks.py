"""Checks across nodes and files: references, reachability, dead-end loops, prompt languages, and the
agent files' supervisors and wrap-up codes."""

from __future__ import annotations

from collections.abc import Iterable

from ivr.config.loader import ConfigSet, LoadedFiles
from ivr.config.plan import Plan, Ref
from ivr.config.problems import Problem, unknown_name
from ivr.config.supervisors import check_supervisors
from ivr.config.wrapup import check_wrapup
from ivr.config.yamlsource import SourceDoc


def check_config(config: ConfigSet, loaded: LoadedFiles) -> list[Problem]:
    problems: list[Problem] = []
    rules_doc = loaded.rules[0] if loaded.rules else None
    if rules_doc and config.rules.default_group not in config.groups:
        problems.append(rules_doc.problem(("default_group",),
                                          *unknown_name("agent group", config.rules.default_group, config.groups)))
    for doc, agent_file in loaded.agent_files:
        for name, agent in agent_file.agents.items():
            for index, group in enumerate(agent.groups):
                if group not in config.groups:
                    problems.append(doc.problem(("agents", name, "groups", index),
                                                *unknown_name("agent group", group, config.groups)))
    seen_numbers: dict[str, str] = {}
    for doc, plan in loaded.plans:
        problems += _check_plan(doc, plan, config)
        for index, number in enumerate(plan.numbers):
            if number in seen_numbers:
                problems.append(doc.problem(("numbers", index), f"number {number} is also answered by plan "
                                            f"'{seen_numbers[number]}'", "a number belongs to one plan"))
            seen_numbers[number] = plan.name
    problems += check_supervisors(config, loaded)
    problems += check_wrapup(loaded)
    return problems


def _check_plan(doc: SourceDoc, plan: Plan, config: ConfigSet) -> list[Problem]:
    problems: list[Problem] = []
    if plan.default_language not in plan.languages:
        problems.append(doc.problem(("default_language",), f"default language '{plan.default_language}' is not "
                                    "among the plan's languages", f"add it to languages: {list(plan.languages)}"))
    if plan.start not in plan.nodes:
        problems.append(doc.problem(("start",), *unknown_name("start node", plan.start, plan.nodes)))
    used_prompts: dict[str, tuple[str | int, ...]] = {}
    dangling_node_ref = False
    for node_id, node in plan.nodes.items():
        for ref in node.refs():
            problem = _check_ref(doc, plan, config, node_id, ref)
            if problem:
                problems.append(problem)
                dangling_node_ref |= ref.kind == "node"
            if ref.kind == "prompt" and ref.target in plan.prompts:
                used_prompts.setdefault(ref.target, ("nodes", node_id, *ref.field))
    problems += _check_prompt_languages(doc, plan, used_prompts)
    if not dangling_node_ref:
        # With a misspelt `next`, every node behind it would also be reported as unreachable and the
        # node itself as a dead-end loop; report the reference alone.
        problems += _check_graph(doc, plan)
    return problems


def _check_ref(doc: SourceDoc, plan: Plan, config: ConfigSet, node_id: str, ref: Ref) -> Problem | None:
    known: Iterable[str]
    if ref.kind == "language":
        if ref.target in plan.languages:
            return None
        return doc.problem(("nodes", node_id, *ref.field), f"language '{ref.target}' is not offered by this plan",
                           f"add it to languages: {list(plan.languages)}")
    if ref.kind == "node":
        known, what = plan.nodes, "node"
    elif ref.kind == "prompt":
        known, what = plan.prompts, "prompt"
    elif ref.kind == "group":
        known, what = config.groups, "agent group"
    elif ref.kind == "callback_group":
        group = config.groups.get(ref.target)
        if group is not None and group.callback_requests is None:
            return doc.problem(("nodes", node_id, *ref.field), f"node '{node_id}': agent group '{ref.target}' "
                               "takes no callback requests", f"give group '{ref.target}' `callback_requests: "
                               "{schedule: <name>, per_day: <number>}` in agents/groups.yaml")
        known, what = config.groups, "agent group"
    else:
        known, what = config.rules.schedules, "schedule"
    if ref.target in known:
        return None
    message, hint = unknown_name(what, ref.target, known)
    return doc.problem(("nodes", node_id, *ref.field), f"node '{node_id}': {message}", hint)


def _check_prompt_languages(doc: SourceDoc, plan: Plan, used: dict[str, tuple[str | int, ...]]) -> list[Problem]:
    problems = []
    for prompt_id, prompt in plan.prompts.items():
        # An empty or blank string is as good as no text: espeak-ng would render silence.
        missing = [lang for lang in plan.languages
                   if not prompt.text.get(lang, "").strip() and not prompt.recording.get(lang, "").strip()]
        if missing:
            problems.append(doc.problem(("prompts", prompt_id), f"prompt '{prompt_id}' has no text or recording "
                                        f"in {', '.join(missing)}", "every prompt needs each language the plan "
                                        f"offers ({', '.join(plan.languages)})", key=True))
        if prompt_id not in used:
            problems.append(doc.problem(("prompts", prompt_id), f"prompt '{prompt_id}' is never played",
                                        "remove it or use it in a node", key=True))
    return problems


def _edges(plan: Plan) -> dict[str, list[str]]:
    return {
        node_id: [ref.target for ref in node.refs() if ref.kind == "node" and ref.target in plan.nodes]
        for node_id, node in plan.nodes.items()
    }


def _check_graph(doc: SourceDoc, plan: Plan) -> list[Problem]:
    if plan.start not in plan.nodes:
        return []
    edges = _edges(plan)
    problems: list[Problem] = []
    reachable = _reach(plan.start, edges)
    for node_id in plan.nodes:
        if node_id not in reachable:
            problems.append(doc.problem(("nodes", node_id), f"node '{node_id}' can never be reached from the start "
                                        f"node '{plan.start}'", "link to it from another node, or remove it",
                                        key=True))
    # A node from which no queue, transfer or hang-up can be reached keeps the caller forever.
    terminals = {n for n, node in plan.nodes.items() if node.terminal}
    reverse: dict[str, list[str]] = {n: [] for n in plan.nodes}
    for source, targets in edges.items():
        for target in targets:
            reverse[target].append(source)
    can_finish: set[str] = set()
    for terminal in terminals:
        can_finish |= _reach(terminal, reverse)
    for node_id in sorted(reachable - can_finish):
        problems.append(doc.problem(("nodes", node_id), f"node '{node_id}' is in a loop that never reaches a queue,"
                                    " transfer or hang-up", "give the loop a way out (e.g. a menu fallback to a "
                                    "queue)", key=True))
    # A cycle through nodes that never wait for a key would spin without the caller doing anything.
    passive = {n for n, node in plan.nodes.items() if not node.takes_input}
    for node_id in sorted(passive & reachable):
        if any(node_id in _reach(t, {k: v for k, v in edges.items() if k in passive}) for t in edges[node_id]
               if t in passive):
            problems.append(doc.problem(("nodes", node_id), f"node '{node_id}' loops back to itself without asking"
                                        " the caller anything", "put a menu in the loop or end it", key=True))
    return problems


def _reach(start: str, edges: dict[str, list[str]]) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for nxt in edges.get(stack.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen
