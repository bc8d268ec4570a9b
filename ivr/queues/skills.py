"""Skill selection: which queue of a group a caller joins, from the language they chose. Pure."""

from __future__ import annotations

from ivr.config.model import AgentGroup


def select_queue(group: AgentGroup, language: str, skilled_present: int | None) -> str:
    """The group's skill queue for `language` when the group has that skill and someone with it is
    logged in and not paused; otherwise the group's own queue, where every agent rings at once.

    `skilled_present` is None when the live state is unknown (no AMI yet): the group's own queue is
    then the safe choice, since a skill queue with nobody skilled would keep the caller waiting for
    `widen_after` seconds for nothing.
    """
    queue = group.skill_queue(language)
    if queue is None or not skilled_present:
        return group.queue
    return queue
