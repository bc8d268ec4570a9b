"""The daemon's queue router: a menu's `queue` outcome → a `Placement` for the dialplan, using the
groups' rules (ivr.queues.overflow), the live queues and the caller's priority boosts."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace

import structlog

from ivr.config.loader import ConfigSet
from ivr.queues.overflow import Load, Placement, place, unknown_load
from ivr.queues.priority import RecentCallers, ReturningCallers, boosted

# A registry that does not answer quickly is skipped: the caller must not wait for it.
_RETURNING_TIMEOUT_S = 0.5


class QueueRouter:
    def __init__(self, *, load: Load = unknown_load, recent: RecentCallers | None = None,
                 returning: ReturningCallers | None = None) -> None:
        self.load = load
        self.recent = recent or RecentCallers()
        self.returning = returning  # plugged in by the callback registry (issue #4) when it runs
        self._log = structlog.get_logger("ivr.queues")

    async def route(self, config: ConfigSet, group: str, language: str, now: dt.datetime, *,
                    priority: int, caller_hash: str, returning: bool | None = None) -> tuple[Placement, int]:
        """The placement and the caller's queue priority (QUEUE_PRIO). `returning` is what the inbound
        route already learned before the menu (one registry lookup per call); None asks `self.returning`."""
        placement = place(config, group, language, now, self.load)
        rules = config.rules.queueing.priority
        repeat = bool(caller_hash) and rules.repeat_within > 0 and \
            self.recent.called_again_within(caller_hash, rules.repeat_within)
        if returning is None:
            returning = bool(caller_hash) and await self._is_returning(caller_hash)
        base = priority + config.groups[placement.group].priority
        final, why = boosted(base, rules, repeat=repeat, returning=returning)
        return replace(placement, reasons=(*placement.reasons, *why)), final

    async def _is_returning(self, caller_hash: str) -> bool:
        if self.returning is None:
            return False
        try:
            async with asyncio.timeout(_RETURNING_TIMEOUT_S):
                return await self.returning.is_returning(caller_hash)
        except Exception:  # the registry is an extra: never a reason to fail a call
            self._log.warning("returning-caller lookup failed or slow; no boost")
            return False
