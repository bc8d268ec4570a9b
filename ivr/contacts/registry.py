"""ContactRegistry: the daemon's asynchronous access to the contact registry.

Calls never wait on it for long. Writes (a new attempt, the dial's end, a returned call) are started
and not awaited by the route; the one read a call waits for, the returning-caller lookup, gives up
after `lookup_timeout_s` and the caller simply hears the menu. When the database cannot be opened,
the registry retries every `retry_s` and meanwhile loses the writes (logged, without numbers): a lost
attempt only means a citizen is not offered a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from structlog.typing import FilteringBoundLogger

from ivr.contacts import store
from ivr.contacts.store import Attempt
from ivr.records.writer import with_connect_timeout
from ivr.store.db import AsyncDatabase, Database, open_database

T = TypeVar("T")
DAEMON_ACTOR = "daemon"
# sqlite3's and psycopg's base classes of errors for a connection that no longer works (psycopg's
# AdminShutdown, for one, is an OperationalError), as opposed to a bad statement.
_CONNECTION_ERRORS = frozenset({"OperationalError", "InterfaceError"})


class ContactRegistry:
    def __init__(self, url: str, *, lookup_timeout_s: float = 0.5, write_timeout_s: float = 10.0,
                 retry_s: float = 5.0, opener: Callable[[str], Database] = open_database,
                 clock: Callable[[], float] = time.time, logger: FilteringBoundLogger | None = None) -> None:
        self.url = with_connect_timeout(url)
        self.lookup_timeout_s = lookup_timeout_s
        self.write_timeout_s = write_timeout_s
        self.retry_s = retry_s
        self.clock = clock
        self._opener = opener
        self._db: AsyncDatabase | None = None
        self._next_try = 0.0
        self._opening: asyncio.Task[None] | None = None
        self._writes: set[asyncio.Task[Any]] = set()
        self._last_write: asyncio.Task[Any] | None = None  # writes are chained (see _write)
        self._log: FilteringBoundLogger = logger or structlog.get_logger("ivr.contacts")

    # --- the database -------------------------------------------------------------------------
    async def _database(self) -> AsyncDatabase | None:
        """The open database, or None while it cannot be opened. Opening runs in its own task, so a
        caller's timeout never abandons a half-opened connection."""
        if self._db is None:
            opening = self._opening
            if opening is None or (opening.done() and time.monotonic() >= self._next_try):
                opening = self._opening = asyncio.get_running_loop().create_task(self._open(), name="contacts-open")
            await asyncio.shield(opening)
        return self._db

    async def _open(self) -> None:
        try:
            self._db = AsyncDatabase(await asyncio.to_thread(self._opener, self.url))
        except Exception as exc:  # any driver error: calls go on without the registry
            self._next_try = time.monotonic() + self.retry_s
            self._log.error("contact registry database not available", error=type(exc).__name__,
                            retry_in_s=self.retry_s)

    async def run(self, job: Callable[[Database], T], *, timeout: float) -> T:
        """Run `job` on the database thread; raises TimeoutError, or RuntimeError when it is down."""
        async with asyncio.timeout(timeout):
            db = await self._database()
            if db is None:
                raise RuntimeError("contact registry database not available")
            try:
                return await db.run(job)
            except Exception as exc:
                if self._db is db and any(cls.__name__ in _CONNECTION_ERRORS for cls in type(exc).__mro__):
                    self._discard(db)
                raise

    def _discard(self, db: AsyncDatabase) -> None:
        """A connection that failed (e.g. PostgreSQL restarted) is replaced by the next operation."""
        self._db, self._opening = None, None
        self._log.warning("contact registry connection lost; reconnecting on the next use")
        task = asyncio.get_running_loop().create_task(self._close_quietly(db), name="contacts-discard")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    @staticmethod
    async def _close_quietly(db: AsyncDatabase) -> None:
        with contextlib.suppress(Exception):
            await db.close()

    async def start(self) -> None:
        """Start opening the database in the background, so that the first call need not wait for it."""
        if self._opening is None:
            self._opening = asyncio.get_running_loop().create_task(self._open(), name="contacts-open")

    async def stop(self) -> None:
        await self.close()

    async def close(self) -> None:
        """Finish (or give up on) the writes in flight, then close the database."""
        if self._writes:
            await asyncio.wait(self._writes, timeout=self.write_timeout_s)
        if self._opening is not None and not self._opening.done():
            await asyncio.wait([self._opening], timeout=self.write_timeout_s)
        if self._db is not None:
            await self._db.close()
            self._db = None

    # --- writes: started by a call, never awaited by it ----------------------------------------
    def _write(self, what: str, job: Callable[[Database], object]) -> None:
        # Writes land in the order they were started: a dial's end (an UPDATE) that overtook its attempt's
        # INSERT changed nothing (seen in a unit test whose dial ended at once).
        previous = self._last_write

        async def attempt() -> None:
            if previous is not None and not previous.done():
                await asyncio.wait([previous])
            try:
                await self.run(job, timeout=self.write_timeout_s)
            except Exception as exc:
                self._log.error("contact registry write lost", what=what, error=type(exc).__name__)

        task = asyncio.get_running_loop().create_task(attempt(), name=f"contacts-{what}")
        self._writes.add(task)
        self._last_write = task
        task.add_done_callback(self._writes.discard)

    def record(self, attempt: Attempt) -> None:
        self._write("record", lambda db: store.insert(db, attempt))

    def finish(self, attempt_id: str, dialstatus: str) -> None:
        outcome, at = store.outcome_of(dialstatus), self.clock()
        self._write("finish", lambda db: store.finish(db, attempt_id, outcome, at))

    def mark_returned(self, attempt_id: str, outcome: str) -> None:
        at = self.clock()
        self._write("returned", lambda db: store.mark_returned(db, attempt_id, outcome, at))

    async def settled(self) -> None:
        """Wait for the writes started so far (tests, shutdown)."""
        while self._writes:
            await asyncio.wait(set(self._writes))

    # --- reads ---------------------------------------------------------------------------------
    async def find_open(self, number_hash: str, *, retention_days: int, call_ref: str) -> Attempt | None:
        """The returning-caller lookup: one indexed read plus its audit row, or None within the timeout."""
        now = self.clock()
        try:
            return await self.run(lambda db: store.find_open(db, number_hash, now=now, retention_s=retention_days
                                                             * 86400, actor=DAEMON_ACTOR, call_ref=call_ref),
                                  timeout=self.lookup_timeout_s)
        except Exception as exc:
            self._log.warning("returning-caller lookup skipped", error=type(exc).__name__)
            return None

    async def purge(self, *, retention_days: int, audit_days: int) -> tuple[int, int]:
        now = self.clock()
        return await self.run(lambda db: store.purge(db, now=now, retention_s=retention_days * 86400,
                                                     audit_before=now - audit_days * 86400, actor=DAEMON_ACTOR),
                              timeout=60.0)

