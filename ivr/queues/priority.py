"""Priority boosts for callers the contact center should not keep waiting again.

- A second call within `repeat_within` seconds (routing_rules.yaml `queueing.priority`): the caller
  is recognised by the keyed hash of their number, kept in memory only for that long.
- A returning caller: someone the city tried to reach (the outbound callback registry, issue #4),
  asked through the `ReturningCallers` interface that the registry implements.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from ivr.config.model import PriorityBoosts

# QUEUE_PRIO is 0-9999 in the dialplan's check; boosts never push past it.
MAX_PRIORITY = 9999
# The placement reason a repeat caller's boost gives (the screen pop's `repeat_caller` flag reads it).
REPEAT_REASON = "called again"
# Bounds the memory of RecentCallers whatever the call rate.
_MAX_REMEMBERED = 100_000


class ReturningCallers(Protocol):
    async def is_returning(self, caller_hash: str) -> bool:
        """True when the city recently tried to call this number (keyed hash, never the number)."""


class RecentCallers:
    """Keyed hashes of recent callers and when they last called; nothing else, nothing on disk."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def called_again_within(self, caller_hash: str, seconds: float) -> bool:
        """Record this call; True when the same caller called less than `seconds` ago."""
        now = self._clock()
        self._forget_before(now - seconds)
        previous = self._seen.pop(caller_hash, None)
        self._seen[caller_hash] = now
        if len(self._seen) > _MAX_REMEMBERED:
            self._seen.popitem(last=False)
        return previous is not None and now - previous < seconds

    def _forget_before(self, limit: float) -> None:
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if at >= limit:
                break
            del self._seen[oldest]

    def __len__(self) -> int:
        return len(self._seen)


def boosted(base: int, rules: PriorityBoosts, *, repeat: bool, returning: bool) -> tuple[int, list[str]]:
    priority, reasons = base, []
    if repeat and rules.repeat_boost:
        priority += rules.repeat_boost
        reasons.append(REPEAT_REASON)
    if returning and rules.returning_boost:
        priority += rules.returning_boost
        reasons.append("returning caller")
    return min(priority, MAX_PRIORITY), reasons
