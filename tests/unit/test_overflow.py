"""Overflow, closed hours and callback offers of the agent groups, evaluated without Asterisk."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ivr.config.loader import ConfigSet
from ivr.queues.overflow import QueueLoad, place

ZONE = ZoneInfo("Europe/Stockholm")
OPEN = dt.datetime(2026, 12, 22, 10, 0, tzinfo=ZONE)      # a Tuesday morning
EVENING = dt.datetime(2026, 12, 22, 19, 30, tzinfo=ZONE)


def loads(**by_queue: QueueLoad) -> object:
    return lambda queue: by_queue.get(queue.replace("-", "_"), QueueLoad(logged_in=2, skilled_present=1, waiting=0))


def test_open_group_waits_then_overflows_to_general(shipped_config: ConfigSet) -> None:
    placed = place(shipped_config, "streets", "sv", OPEN, loads())
    assert (placed.queue, placed.timeout, placed.next_queue) == ("kc-streets", 300, "kc-general")
    assert placed.closed_prompt is None and not placed.offer_callback


def test_no_agent_logged_in_moves_the_call_at_once(shipped_config: ConfigSet) -> None:
    placed = place(shipped_config, "streets", "sv", OPEN, loads(kc_streets=QueueLoad(logged_in=0, waiting=0)))
    assert placed.group == "general" and placed.queue == "kc-general"
    assert placed.reasons[0] == "no agent logged in to kc-streets"


def test_unknown_live_state_never_moves_a_call(shipped_config: ConfigSet) -> None:
    placed = place(shipped_config, "streets", "sv", OPEN)  # no AMI: nothing is known
    assert (placed.group, placed.queue, placed.offer_callback) == ("streets", "kc-streets", False)


def test_paused_agents_still_count_as_logged_in(shipped_config: ConfigSet) -> None:
    # `logged_in` counts paused members: a group on lunch keeps its callers (they may take a callback).
    placed = place(shipped_config, "streets", "sv", OPEN, loads(kc_streets=QueueLoad(logged_in=1, waiting=0)))
    assert placed.group == "streets"


def test_default_group_closes_outside_hours(shipped_config: ConfigSet) -> None:
    placed = place(shipped_config, "general", "en", EVENING, loads())
    assert placed.closed_prompt == "queue-closed" and placed.queue == ""
    assert place(shipped_config, "general", "en", OPEN, loads()).closed_prompt is None


def test_overflow_target_closed_gives_the_closed_message(shipped_config: ConfigSet) -> None:
    # Streets has nobody at 19:30 and overflows to general, which is closed then.
    placed = place(shipped_config, "streets", "sv", EVENING, loads(kc_streets=QueueLoad(logged_in=0)))
    assert placed.closed_prompt == "queue-closed" and placed.group == "general"


@pytest.mark.parametrize(("waiting", "offered"), [(0, False), (2, False), (3, True), (10, True)])
def test_callback_offered_when_more_than_n_wait(shipped_config: ConfigSet, waiting: int, offered: bool) -> None:
    # social: callback when more than 2 are waiting (agents/groups.yaml).
    placed = place(shipped_config, "social", "sv", OPEN, loads(kc_social=QueueLoad(logged_in=3, waiting=waiting)))
    assert placed.offer_callback is offered


def test_skill_queue_is_chosen_when_a_skilled_agent_is_there(shipped_config: ConfigSet) -> None:
    skilled = place(shipped_config, "social", "ar", OPEN, loads(kc_social_ar=QueueLoad(logged_in=3, skilled_present=1)))
    assert skilled.queue == "kc-social-ar" and "skill ar" in skilled.reasons
    nobody = place(shipped_config, "social", "ar", OPEN, loads(kc_social_ar=QueueLoad(logged_in=3, skilled_present=0)))
    assert nobody.queue == "kc-social"


def test_overflow_loop_in_the_config_stops(shipped_config: ConfigSet) -> None:
    from dataclasses import replace

    from ivr.config.model import OverflowRule

    groups = dict(shipped_config.groups)
    groups["general"] = groups["general"].model_copy(update={
        "overflow": OverflowRule(to="streets", when_no_agents=True), "closed": None})
    looped = replace(shipped_config, groups=groups)
    nobody = loads(kc_streets=QueueLoad(logged_in=0), kc_general=QueueLoad(logged_in=0))
    placed = place(looped, "streets", "sv", OPEN, nobody)
    assert placed.group == "general"  # streets -> general, and general does not send it back
