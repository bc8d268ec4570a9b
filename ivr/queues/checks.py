"""`ivr check` for the queue side of the config: overflow targets, closed-hours rules, skill
languages, skill-queue names and the system prompts that callbacks and overflows play."""

from __future__ import annotations

from dataclasses import replace

from ivr.config.loader import ConfigSet, LoadedFiles
from ivr.config.problems import Problem, unknown_name
from ivr.config.yamlsource import PathKey, SourceDoc

# System prompts the dialplan and the `callback` route play when a group offers callbacks.
CALLBACK_PROMPTS = ("callback-offer", "callback-your-number", "callback-confirm", "callback-enter-number",
                    "callback-invalid-number", "callback-confirmed", "callback-unavailable", "callback-failed",
                    "callback-noanswer")
# System prompts of the after-call survey (route `inbound`'s offer, route `survey`'s question).
SURVEY_PROMPTS = ("survey-offer", "survey-question", "survey-invalid", "survey-thanks")

# ...and those the after-hours request dialogue plays (ivr/entrypoints/callback_request.py).
REQUEST_PROMPTS = ("callback-your-number", "callback-confirm-request", "callback-enter-number",
                   "callback-invalid-number", "callback-booked", "callback-request-unavailable", "callback-limit",
                   "callback-not-booked")


def check_queues(config: ConfigSet, loaded: LoadedFiles) -> list[Problem]:
    problems: list[Problem] = []
    rules = config.rules
    owners: dict[str, str] = {}
    for doc, agent_file in loaded.agent_files:
        for name, group in agent_file.groups.items():
            where = ("groups", name)
            for queue in group.queues:
                if queue in owners and owners[queue] != name:
                    problems.append(doc.problem((*where, "queue"), f"queue '{queue}' of group '{name}' is also "
                                                f"a queue of group '{owners[queue]}'", "rename one of the groups' "
                                                "queues (skill queues are named <queue>-<language>)"))
                owners[queue] = name
            rule = group.overflow
            if rule is not None:
                if rule.to not in config.groups:
                    problems.append(doc.problem((*where, "overflow", "to"),
                                                *unknown_name("agent group", rule.to, config.groups)))
                elif rule.to == name:
                    problems.append(doc.problem((*where, "overflow", "to"), f"group '{name}' overflows to itself",
                                                "name another group, or remove the overflow"))
                if rule.after is None and not rule.when_no_agents:
                    problems.append(doc.problem((*where, "overflow"), f"group '{name}': an overflow needs `after` "
                                                "or `when_no_agents: true`", "say when the call moves"))
            if group.closed is not None:
                if group.closed.schedule not in rules.schedules:
                    problems.append(doc.problem((*where, "closed", "schedule"),
                                                *unknown_name("schedule", group.closed.schedule, rules.schedules)))
                if group.closed.prompt not in rules.system_prompts:
                    problems.append(doc.problem((*where, "closed", "prompt"),
                                                *unknown_name("system prompt", group.closed.prompt,
                                                              rules.system_prompts)))
            requests = group.callback_requests
            if requests is not None:
                if requests.schedule not in rules.schedules:
                    problems.append(doc.problem((*where, "callback_requests", "schedule"),
                                                *unknown_name("schedule", requests.schedule, rules.schedules)))
                lacking = [p for p in REQUEST_PROMPTS if p not in rules.system_prompts]
                if lacking:
                    problems.append(doc.problem((*where, "callback_requests"), f"group '{name}' takes callback "
                                                f"requests but routing_rules.yaml has no system prompt "
                                                f"{', '.join(lacking)}", "add them under system_prompts (see the "
                                                "shipped routing_rules.yaml)"))
            for index, language in enumerate(group.skills.languages):
                if language not in rules.languages:
                    problems.append(replace(doc.problem(
                        (*where, "skills", "languages", index), f"group '{name}' has a skill queue for '{language}',"
                        " which callers cannot choose", f"languages in routing_rules.yaml: {list(rules.languages)}"),
                        severity="warning"))
            missing = [p for p in CALLBACK_PROMPTS if p not in rules.system_prompts]
            if group.callback is not None and missing:
                problems.append(doc.problem((*where, "callback"), f"group '{name}' offers callbacks but "
                                            f"routing_rules.yaml has no system prompt {', '.join(missing)}",
                                            "add them under system_prompts (see the shipped routing_rules.yaml)"))
            missing = [p for p in SURVEY_PROMPTS if p not in rules.system_prompts]
            if group.survey is not None and missing:
                problems.append(doc.problem((*where, "survey"), f"group '{name}' offers the after-call survey but "
                                            f"routing_rules.yaml has no system prompt {', '.join(missing)}",
                                            "add them under system_prompts (see the shipped routing_rules.yaml)"))
            if group.survey is not None:
                problems += _survey_languages(doc, where, name, config)
    problems += _overflow_loops(config, loaded)
    return problems


def _survey_languages(doc: SourceDoc, where: PathKey, name: str, config: ConfigSet) -> list[Problem]:
    """A caller who chose a language must hear the survey in it: each survey prompt needs a text or a
    recording in every language callers can choose."""
    rules = config.rules
    gaps = sorted({f"{prompt} ({language})" for prompt in SURVEY_PROMPTS if prompt in rules.system_prompts
                   for language in rules.languages
                   if language not in rules.system_prompts[prompt].text
                   and language not in rules.system_prompts[prompt].recording})
    if not gaps:
        return []
    return [doc.problem((*where, "survey"), f"group '{name}' offers the after-call survey but these prompts have no "
                        f"text in a language callers can choose: {', '.join(gaps)}",
                        "add the missing languages to the system prompts in routing_rules.yaml")]


def _overflow_loops(config: ConfigSet, loaded: LoadedFiles) -> list[Problem]:
    """Groups that send calls to each other at once when nobody is logged in (the router stops such
    a chain, but the config is wrong)."""
    problems: list[Problem] = []
    for doc, agent_file in loaded.agent_files:
        for name in agent_file.groups:
            seen = [name]
            current = config.groups[name].overflow
            while current is not None and current.when_no_agents and current.to in config.groups:
                if current.to in seen:
                    problems.append(replace(doc.problem(("groups", name, "overflow"), "overflow loop when no agent "
                                                        f"is logged in: {' -> '.join([*seen, current.to])}",
                                                        "end the chain in a group without when_no_agents"),
                                            severity="warning"))
                    break
                seen.append(current.to)
                current = config.groups[current.to].overflow
    return problems
