"""`ivr check` for the agents YAML `supervisors:` section (the web desktop's supervisors): their groups
exist, their ids are not also agents' ids (a web login names one person), and their extensions are
nobody else's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.config.problems import unknown_name

if TYPE_CHECKING:
    from ivr.config.loader import ConfigSet, LoadedFiles
    from ivr.config.problems import Problem


def check_supervisors(config: ConfigSet, loaded: LoadedFiles) -> list[Problem]:
    problems: list[Problem] = []
    owners = {agent.extension: f"agent {name}" for name, agent in config.agents.items()}
    for name, official in config.officials.items():
        owners.setdefault(official.extension, f"official {name}")
    for doc, agent_file in loaded.agent_files:
        for name, supervisor in agent_file.supervisors.items():
            where = ("supervisors", name)
            if name in config.agents:
                problems.append(doc.problem(where, f"'{name}' is both an agent and a supervisor",
                                            "a web login names one person: give the supervisor another id",
                                            key=True))
            for index, group in enumerate(supervisor.groups):
                if group not in config.groups:
                    problems.append(doc.problem((*where, "groups", index),
                                                *unknown_name("agent group", group, config.groups)))
            taken_by = owners.get(supervisor.extension)
            if taken_by is not None:
                problems.append(doc.problem((*where, "extension"), f"extension {supervisor.extension} is also "
                                            f"{taken_by}'s", "an extension names one phone, so one person"))
            owners.setdefault(supervisor.extension, f"supervisor {name}")
    return problems
