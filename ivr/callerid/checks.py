"""`ivr check` for outbound calls: caller-ID rules, purposes, departments, officials and the
returning-caller notice, each problem located to file:line:column."""

from __future__ import annotations

from ivr.config.loader import ConfigSet, LoadedFiles
from ivr.config.model import GroupsFile
from ivr.config.problems import Problem, unknown_name
from ivr.config.yamlsource import SourceDoc


def check_caller_id(config: ConfigSet, loaded: LoadedFiles) -> list[Problem]:
    problems: list[Problem] = []
    seen_extensions = {agent.extension: name for name, agent in config.agents.items()}
    for doc, agent_file in loaded.agent_files:
        problems += _check_people(config, doc, agent_file, seen_extensions)
    if loaded.rules is not None:
        problems += _check_rules(config, loaded.rules[0])
        problems += _check_notice(config, loaded.rules[0])
    return problems


def _check_people(config: ConfigSet, doc: SourceDoc, agent_file: GroupsFile,
                  seen_extensions: dict[str, str]) -> list[Problem]:
    """`seen_extensions` (extension -> whose) grows as officials are checked, across files."""
    problems: list[Problem] = []
    for name, official in agent_file.officials.items():
        if official.department not in config.departments:
            problems.append(doc.problem(("officials", name, "department"),
                                        *unknown_name("department", official.department, config.departments)))
        taken_by = seen_extensions.get(official.extension)
        if taken_by:
            problems.append(doc.problem(("officials", name, "extension"), f"extension {official.extension} is "
                                        f"also {taken_by}'s", "an extension names one phone, so one person"))
        seen_extensions.setdefault(official.extension, name)
    for name, group in agent_file.groups.items():
        # Once departments are declared, a group's `department` must name one of them.
        if config.departments and group.department and group.department not in config.departments:
            problems.append(doc.problem(("groups", name, "department"),
                                        *unknown_name("department", group.department, config.departments)))
    for name, department in agent_file.departments.items():
        if department.group is not None:
            if department.group not in config.groups:
                problems.append(doc.problem(("departments", name, "group"),
                                            *unknown_name("agent group", department.group, config.groups)))
            continue
        serving = sorted(g for g, group in config.groups.items() if group.department == name)
        if len(serving) > 1:
            problems.append(doc.problem(("departments", name), f"department '{name}' is served by the groups "
                                        f"{', '.join(serving)}", "say which one takes its returning callers "
                                        "with `group:`", key=True))
    return problems


def _check_rules(config: ConfigSet, doc: SourceDoc) -> list[Problem]:
    policy = config.rules.caller_id
    problems: list[Problem] = []
    codes: dict[str, str] = {}
    for name, purpose in policy.purposes.items():
        if purpose.code in codes:
            problems.append(doc.problem(("caller_id", "purposes", name, "code"), f"purpose code {purpose.code} is "
                                        f"also purpose '{codes[purpose.code]}'", "give each purpose its own code"))
        codes[purpose.code] = name
    extensions = {o.extension for o in config.officials.values()} | {a.extension for a in config.agents.values()}
    seen: dict[tuple[tuple[str, str], ...], int] = {}
    for index, rule in enumerate(policy.rules):
        where = ("caller_id", "rules", index)
        if rule.extension is not None and rule.extension not in extensions:
            problems.append(doc.problem((*where, "extension"), f"no official or agent has extension "
                                        f"{rule.extension}", "see officials: and agents: in agents/"))
        for field, value, known, what in (("group", rule.group, config.groups, "agent group"),
                                          ("department", rule.department, config.departments, "department"),
                                          ("purpose", rule.purpose, policy.purposes, "purpose")):
            if value is not None and value not in known:
                problems.append(doc.problem((*where, field), *unknown_name(what, value, known)))
        named = config.departments.get(rule.department or "")
        if rule.show == "department_number" and named is not None and not named.number:
            problems.append(doc.problem((*where, "show"), f"department '{rule.department}' has no number",
                                        "give the department a `number:` or show main_number"))
        key = tuple(sorted(rule.conditions))
        if key in seen:
            problems.append(doc.problem(where, f"rule {index + 1} has the same conditions as rule {seen[key] + 1}, "
                                        "so it never applies", "remove one of them"))
        seen.setdefault(key, index)
    return problems


def _check_notice(config: ConfigSet, doc: SourceDoc) -> list[Problem]:
    offer = config.rules.contact_registry.returning_callers
    if not offer.offer:
        return []
    where = ("contact_registry", "returning_callers", "prompt")
    prompt = config.rules.system_prompts.get(offer.prompt)
    if prompt is None:
        return [doc.problem(where, f"no system prompt '{offer.prompt}'", "add it under system_prompts: with "
                            f"text in {', '.join(offer.languages)}")]
    missing = [lang for lang in offer.languages
               if not prompt.text.get(lang, "").strip() and not prompt.recording.get(lang, "").strip()]
    if missing:
        return [doc.problem(where, f"system prompt '{offer.prompt}' has no text or recording in "
                            f"{', '.join(missing)}", "returning callers hear it in each of returning_callers."
                            "languages")]
    return []
