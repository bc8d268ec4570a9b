"""Priority boosts: a second call within the window, a returning caller; the router puts it together."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

from ivr.config.loader import ConfigSet
from ivr.config.model import PriorityBoosts
from ivr.queues.overflow import QueueLoad
from ivr.queues.priority import MAX_PRIORITY, RecentCallers, boosted
from ivr.queues.routing import QueueRouter

OPEN = dt.datetime(2026, 12, 22, 10, 0, tzinfo=ZoneInfo("Europe/Stockholm"))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_second_call_within_the_window_is_recognised() -> None:
    clock = Clock()
    recent = RecentCallers(clock)
    assert not recent.called_again_within("h1", 600)
    clock.now += 599
    assert recent.called_again_within("h1", 600)
    clock.now += 601
    assert not recent.called_again_within("h1", 600)  # the window counts from the last call
    assert not recent.called_again_within("h2", 600)


def test_old_callers_are_forgotten() -> None:
    clock = Clock()
    recent = RecentCallers(clock)
    for n in range(50):
        recent.called_again_within(f"h{n}", 60)
    clock.now += 61
    recent.called_again_within("new", 60)
    assert len(recent) == 1  # nothing is kept longer than the window


def test_boosts_add_up_and_are_capped() -> None:
    rules = PriorityBoosts(repeat_boost=2, returning_boost=3)
    assert boosted(1, rules, repeat=True, returning=True) == (6, ["called again", "returning caller"])
    assert boosted(1, rules, repeat=False, returning=False) == (1, [])
    assert boosted(MAX_PRIORITY, rules, repeat=True, returning=False)[0] == MAX_PRIORITY


class Registry:
    def __init__(self, known: set[str], delay: float = 0.0) -> None:
        self.known, self.delay = known, delay

    async def is_returning(self, caller_hash: str) -> bool:
        await asyncio.sleep(self.delay)
        return caller_hash in self.known


async def test_router_adds_group_priority_and_boosts(shipped_config: ConfigSet) -> None:
    router = QueueRouter(load=lambda q: QueueLoad(logged_in=2, skilled_present=1, waiting=0),
                         returning=Registry({"abc"}))
    placement, priority = await router.route(shipped_config, "social", "sv", OPEN, priority=1, caller_hash="abc")
    assert priority == 1 + 3  # the node's priority plus the returning-caller boost
    assert "returning caller" in placement.reasons
    _, again = await router.route(shipped_config, "social", "sv", OPEN, priority=1, caller_hash="abc")
    assert again == 1 + 3 + 2  # and the same caller again within 10 minutes


async def test_slow_registry_is_skipped(shipped_config: ConfigSet) -> None:
    router = QueueRouter(returning=Registry({"abc"}, delay=2.0))
    _, priority = await router.route(shipped_config, "school", "sv", OPEN, priority=0, caller_hash="abc")
    assert priority == 0


async def test_withheld_numbers_get_no_boost(shipped_config: ConfigSet) -> None:
    router = QueueRouter(returning=Registry({""}))
    for _ in range(2):
        _, priority = await router.route(shipped_config, "school", "sv", OPEN, priority=0, caller_hash="")
    assert priority == 0
