"""Who places an outbound call: an official, a contact-center agent, or the contact center itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ivr.config.loader import ConfigSet

PlacerKind = Literal["official", "agent", "contact_center"]


@dataclass(frozen=True)
class Placer:
    kind: PlacerKind
    ident: str = ""  # the official's or agent's id; "" for calls the contact center's systems place
    name: str = ""
    extension: str = ""
    direct_line: str | None = None
    department: str | None = None  # the department the call is made for (registry, returning callers)
    departments: tuple[str, ...] = ()  # every department the placer works for: department rules match any
    groups: tuple[str, ...] = ()


def identify(config: ConfigSet, extension: str) -> Placer | None:
    """The placer behind a phone's extension; "" is the contact center's own systems (queued callbacks).
    None when nobody has that extension: the dialplan then uses its own fallback."""
    if not extension:
        department = config.groups[config.rules.default_group].department or None
        groups = (config.rules.default_group,)
        return Placer("contact_center", department=department, departments=_present(department), groups=groups)
    for ident, official in config.officials.items():
        if official.extension == extension:
            return Placer("official", ident, official.name, extension, official.direct_line, official.department,
                          (official.department,))
    for ident, agent in config.agents.items():
        if agent.extension == extension:
            departments = tuple(dict.fromkeys(d for g in agent.groups if (d := _group_department(config, g))))
            # An agent in several groups calls for the first one's department (agents/*.yaml order).
            return Placer("agent", ident, agent.name, extension, None, departments[0] if departments else None,
                          departments, agent.groups)
    return None


def department_group(config: ConfigSet, department: str | None) -> str:
    """The agent group that takes a department's returning callers: the one the department names, else
    the only group that names the department, else the default group."""
    named = config.departments.get(department or "")
    chosen = named.group if named is not None else None
    if chosen and chosen in config.groups:
        return chosen
    serving = [name for name, group in config.groups.items() if department and group.department == department]
    return serving[0] if len(serving) == 1 else config.rules.default_group


def _group_department(config: ConfigSet, group: str) -> str:
    found = config.groups.get(group)
    return found.department if found else ""


def _present(value: str | None) -> tuple[str, ...]:
    return (value,) if value else ()
