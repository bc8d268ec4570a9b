"""Which queues an agent belongs to, and with which penalty: one source for the generated queue
configuration, the login (QueueAdd) and `ivr agents list`.

In a group's own queue every agent rings with their own penalty. In a skill queue (`kc-social-ar`)
agents who have the skill keep their penalty and the others get `SKILL_GAP` more, so the queue rule
(`skills-<seconds>` in queuerules.conf) can ring the skilled agents first and everyone later.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.config.loader import ConfigSet
from ivr.config.model import Agent

# Larger than any agent's own penalty (0-10): skilled agents always rank before the others.
SKILL_GAP = 20
# QUEUE_MAX_PENALTY while only skilled agents may ring, and once everyone may.
SKILLED_ONLY_MAX = SKILL_GAP - 1
EVERYONE_MAX = 99


@dataclass(frozen=True)
class Membership:
    queue: str
    group: str
    penalty: int
    skill: str = ""  # the skill language of a skill queue, empty for a group's own queue


def memberships(config: ConfigSet, agent: Agent) -> list[Membership]:
    found: list[Membership] = []
    for group_name in agent.groups:
        group = config.groups.get(group_name)
        if group is None:
            continue
        found.append(Membership(group.queue, group_name, agent.penalty))
        for language in group.skills.languages:
            gap = 0 if language in agent.skills else SKILL_GAP
            found.append(Membership(f"{group.queue}-{language}", group_name, agent.penalty + gap, language))
    return found


def queue_members(config: ConfigSet, queue: str) -> list[tuple[str, Membership]]:
    """(agent id, membership) of every agent configured for `queue`."""
    return [(agent_id, m) for agent_id, agent in sorted(config.agents.items())
            for m in memberships(config, agent) if m.queue == queue]


def all_queues(config: ConfigSet) -> dict[str, str]:
    """Every generated Asterisk queue → its group."""
    return {queue: name for name, group in config.groups.items() for queue in group.queues}


def group_of_queue(config: ConfigSet, queue: str) -> str | None:
    return all_queues(config).get(queue)
