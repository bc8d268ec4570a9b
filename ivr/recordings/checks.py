"""`ivr check` for recordings: a group of a department that forbids recording may not record, and a
recording needs its system prompt (what the caller hears before it starts)."""

from __future__ import annotations

from ivr.config.loader import ConfigSet, LoadedFiles
from ivr.config.problems import Problem
from ivr.recordings.policy import prompt_for, recording_for


def check_recordings(config: ConfigSet, loaded: LoadedFiles) -> list[Problem]:
    problems: list[Problem] = []
    prompts = config.rules.system_prompts
    for doc, agent_file in loaded.agent_files:
        for name, own in agent_file.departments.items():
            if own.recording_policy == "forbidden" and own.recording is not None and own.recording.mode != "off":
                problems.append(doc.problem(("departments", name, "recording"),
                                            f"department '{name}' forbids recording but sets `recording`",
                                            "remove `recording`, or set recording_policy: allowed"))
        for name, group in agent_file.groups.items():
            department = config.departments.get(group.department)
            wants = group.recording is not None and group.recording.mode != "off"
            if wants and department is not None and department.recording_policy == "forbidden":
                problems.append(doc.problem(("groups", name, "recording"),
                                            f"group '{name}' records calls, but its department "
                                            f"'{group.department}' forbids recording",
                                            "remove the group's `recording` (or set mode: off)"))
                continue
            recording = recording_for(config, name)
            if recording is not None and prompt_for(recording) not in prompts:
                where = ("groups", name, "recording") if group.recording is not None else ("groups", name)
                problems.append(doc.problem(where, f"group '{name}' records calls but routing_rules.yaml has "
                                            f"no system prompt '{prompt_for(recording)}'",
                                            "add it under system_prompts (see the shipped routing_rules.yaml)"))
    return problems
