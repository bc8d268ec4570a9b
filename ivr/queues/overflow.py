"""Overflow and closed-hours rules of the agent groups, evaluated for one call. Pure: the live
queue state comes in as a `QueueLoad` function, so every rule is unit-tested without Asterisk.

Rules of a group (agents/groups.yaml):
- `closed: {schedule, prompt}`: outside the schedule's hours the caller hears the prompt; call ends.
- `overflow: {to, when_no_agents: true}`: with no agent logged in, the call goes to `to` at once.
- `overflow: {to, after: N}`: after N seconds in the queue, the dialplan moves the caller to `to`'s
  queue (IVR_QUEUE_TIMEOUT=N, IVR_NEXT_QUEUE); without it the group's `max_wait` and then the
  default queue apply.
- `callback: {when_waiting: N}`: with more than N callers waiting, the caller is offered a callback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from ivr.config.loader import ConfigSet
from ivr.opening_hours import opening_state
from ivr.queues.membership import SKILLED_ONLY_MAX
from ivr.queues.skills import select_queue


@dataclass(frozen=True)
class QueueLoad:
    """What the router knows about a queue right now (None: unknown, AMI not synchronised)."""

    logged_in: int | None = None  # members whose phone is not unavailable, paused or not
    skilled_present: int | None = None  # skilled members, logged in and not paused
    waiting: int | None = None


Load = Callable[[str], QueueLoad]


def unknown_load(queue: str) -> QueueLoad:
    return QueueLoad()


@dataclass(frozen=True)
class Placement:
    """Where the dialplan puts the call (docs/ARCHITECTURE.md: IVR_QUEUE, IVR_QUEUE_TIMEOUT, ...)."""

    group: str
    queue: str = ""
    timeout: int | None = None
    next_queue: str | None = None
    offer_callback: bool = False
    closed_prompt: str | None = None  # play this system prompt and hang up instead of queueing
    # QUEUE_MAX_PENALTY at the start (a skill queue: only agents with the skill), widened later by
    # the queue's rule. app_queue applies rules only once time has passed, hence this variable.
    max_penalty: int | None = None
    reasons: tuple[str, ...] = field(default=())


# An overflow chain longer than this is a configuration loop (`ivr check` reports it too).
_MAX_HOPS = 5


def place(config: ConfigSet, group_name: str, language: str, now: dt.datetime, load: Load = unknown_load) -> Placement:
    reasons: list[str] = []
    seen: list[str] = []
    name = group_name
    while True:
        group = config.groups[name]
        seen.append(name)
        if group.closed is not None:
            schedule = config.rules.schedules.get(group.closed.schedule)
            if schedule is not None and not opening_state(schedule, now).is_open:
                return Placement(name, closed_prompt=group.closed.prompt, reasons=(*reasons, f"{name} closed"))
        rule = group.overflow
        if (rule is not None and rule.when_no_agents and rule.to not in seen and len(seen) < _MAX_HOPS
                and load(group.queue).logged_in == 0):
            reasons.append(f"no agent logged in to {group.queue}")
            name = rule.to
            continue
        break
    queue = select_queue(group, language, load(group.skill_queue(language) or group.queue).skilled_present)
    if queue != group.queue:
        reasons.append(f"skill {language}")
    timeout, next_queue = group.max_wait, None
    if rule is not None and rule.after is not None and rule.to in config.groups and rule.to != name:
        timeout, next_queue = rule.after, config.groups[rule.to].queue
    waiting = load(queue).waiting
    offer = group.callback is not None and waiting is not None and waiting > group.callback.when_waiting
    if offer:
        reasons.append(f"{waiting} waiting: callback offered")
    return Placement(name, queue, timeout, next_queue, offer, None,
                     SKILLED_ONLY_MAX if queue != group.queue else None, tuple(reasons))
