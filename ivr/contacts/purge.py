"""The daemon's periodic purge of expired registry entries and old audit rows (also `ivr contacts purge`)."""

from __future__ import annotations

import asyncio

import structlog
from structlog.typing import FilteringBoundLogger

from ivr.config.holder import ConfigHolder
from ivr.contacts.registry import ContactRegistry
from ivr.store import leases
from ivr.tasks import cancel_and_wait

LEASE_NAME = "contacts-purge"


class PurgeLoop:
    """Purges at start and then every `contact_registry.purge_every_minutes` (read anew each time, so a
    reload applies). Lookups already ignore expired rows: the purge is what makes them gone.

    With several daemons on one store, the one holding the job lease `contacts-purge` purges (it
    renews the lease each time; another takes over when it stops): one purge per interval, one audit
    row, whichever daemon is alive."""

    def __init__(self, registry: ContactRegistry, config: ConfigHolder, logger: FilteringBoundLogger | None = None,
                 node: str = "local") -> None:
        self.registry = registry
        self.config = config
        self.node = node
        self.runs = 0
        self._task: asyncio.Task[None] | None = None
        self._log: FilteringBoundLogger = logger or structlog.get_logger("ivr.contacts")

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="contacts-purge")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def purge_once(self) -> None:
        settings = self.config.current.rules.contact_registry
        # Held a little longer than the interval, so that its holder renews it before it lapses.
        ttl = settings.purge_every_minutes * 60 * 1.5
        now = self.registry.clock()
        try:
            if not await self.registry.run(lambda db: leases.hold(db, LEASE_NAME, self.node, now, ttl),
                                           timeout=60.0):
                self._log.debug("contact registry purge left to the node holding its lease")
                return
            attempts, audits = await self.registry.purge(retention_days=settings.retention_days,
                                                         audit_days=settings.audit_retention_days)
        except Exception as exc:
            self._log.error("contact registry purge failed; next try at the next interval", error=type(exc).__name__)
            return
        self.runs += 1
        self._log.info("contact registry purged", attempts_deleted=attempts, audit_rows_deleted=audits)

    async def _run(self) -> None:
        while True:
            await self.purge_once()
            await asyncio.sleep(self.config.current.rules.contact_registry.purge_every_minutes * 60)
