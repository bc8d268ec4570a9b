"""RecordWriter: gets record rows to the database without ever making a call wait.

`submit(row)` only stores the row in memory (a newer row of the same call replaces an older one not
yet written) and wakes the worker task; `submit_later(key, build)` stores how to build it, and the row
is built once, when its batch is taken (a call's record changes at every menu node: building a row for
each change that a newer one replaces before it is written was wasted work, issue #13). The worker
writes batches through `AsyncDatabase` (one thread), at once when it was idle, else at most one batch
per `min_interval_s`: under load, rows of many calls share one transaction. When the database cannot
be opened or a write fails, the batch goes to the spool file instead, and the worker retries the
database every `retry_s`; once it answers, the spool is replayed in order, then emptied, before
anything newer is written. A database that stops answering
without closing the connection (hung server, dead network path) counts as failed after
`write_timeout_s`, so records never pile up in memory behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
from structlog.typing import FilteringBoundLogger

from ivr.records import store
from ivr.records.spool import Spool
from ivr.store.db import AsyncDatabase, Database, open_database
from ivr.tasks import cancel_and_wait

Row = dict[str, Any]


def with_connect_timeout(url: str, seconds: int = 5) -> str:
    """A PostgreSQL URL that gives up connecting after `seconds` (an unreachable host can hang long)."""
    if not url.startswith(("postgresql://", "postgres://")) or "connect_timeout=" in url:
        return url
    return url + ("&" if urlsplit(url).query else "?") + f"connect_timeout={seconds}"


class RecordWriter:
    def __init__(self, url: str, spool_path: Path, *, retry_s: float = 5.0, write_timeout_s: float = 15.0,
                 opener: Callable[[str], Database] = open_database, logger: FilteringBoundLogger | None = None,
                 write: Callable[[Database, list[dict[str, Any]]], int] = store.upsert,
                 key: str = "uniqueid", min_interval_s: float = 0.1) -> None:
        self.url = with_connect_timeout(url)
        self.spool = Spool(spool_path)
        self.retry_s = retry_s
        self.write_timeout_s = write_timeout_s
        self.written = 0
        self.spooled = 0
        self.replayed = 0
        self.flushed = asyncio.Event()  # set whenever nothing is waiting in memory
        self.flushed.set()
        self.db_up = asyncio.Event()
        self._opener = opener
        # What a batch is written with, and the column that names a row (a newer version replaces the
        # pending one): call records by default; the agent log (agent_log.py) writes its own table.
        self._store_rows = write
        self._key = key
        self._db: AsyncDatabase | None = None
        self._min_interval_s = min_interval_s
        self._pending: dict[str, Row | Callable[[], Row]] = {}
        self._inflight: list[dict[str, Any]] = []  # the batch being written, kept for stop() if cut short
        self._wake = asyncio.Event()
        self._next_try = 0.0
        self._task: asyncio.Task[None] | None = None
        self._log: FilteringBoundLogger = logger or structlog.get_logger("ivr.records")

    def submit(self, row: Row) -> None:
        self.submit_later(row[self._key], row)

    def submit_later(self, key: str, build: Row | Callable[[], Row]) -> None:
        self._pending.pop(key, None)  # keep arrival order: the newest version goes last
        self._pending[key] = build
        self.flushed.clear()
        self._wake.set()

    def _take_pending(self) -> list[Row]:
        pending, self._pending = self._pending, {}
        return [build() if callable(build) else build for build in pending.values()]

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="record-writer")

    async def stop(self, timeout: float = 5.0) -> None:
        """Write (or spool) what is pending, then close the database."""
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.flushed.wait()
            await cancel_and_wait(self._task)
            self._task = None
        if self._inflight or self._pending:  # the database was too slow: keep the rows for the next start
            rows, self._inflight = [*self._inflight, *self._take_pending()], []
            self.spooled += await asyncio.to_thread(self.spool.append, rows)
        await self._close_db()

    async def _run(self) -> None:
        while True:
            try:
                await self._ensure_db()
                if self._pending:
                    self._inflight = self._take_pending()
                    await self._write(self._inflight)
                    self._inflight = []
                    if self._pending:  # more came meanwhile: let it gather a little
                        await asyncio.sleep(self._min_interval_s)
            except Exception:
                self._log.exception("record writer failed; retrying", retry_in_s=self.retry_s)
                # Nothing is dropped: the batch goes back before newer rows and is tried again later.
                self._pending = {**{row[self._key]: row for row in self._inflight}, **self._pending}
                self._inflight = []
                await asyncio.sleep(self.retry_s)
                continue
            if not self._pending:
                self.flushed.set()
                self._wake.clear()
                waiting_for_db = self._db is None or bool(self.spool)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.retry_s if waiting_for_db else None):
                        await self._wake.wait()

    async def _ensure_db(self) -> None:
        if self._db is None:
            if time.monotonic() < self._next_try:
                return
            try:
                database = await asyncio.to_thread(self._opener, self.url)
            except Exception as exc:
                self._next_try = time.monotonic() + self.retry_s
                self._log.warning("records database unreachable; spooling", error=str(exc)[:200],
                                  retry_in_s=self.retry_s)
                return
            self._db = AsyncDatabase(database)
            self._log.info("records database connected", dialect=database.dialect)
        if self.spool:
            rows = await asyncio.to_thread(self.spool.read)
            if not await self._to_db(rows):
                return
            await asyncio.to_thread(self.spool.clear)
            self.replayed += len(rows)
            self._log.info("spooled records replayed", rows=len(rows))
        self.db_up.set()  # connected, and nothing older left to replay

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        if self._db is not None and not self.spool and await self._to_db(rows):
            self.written += len(rows)
            return
        # No database, or an older spool still to replay first: the rows wait in the spool, in order.
        self.spooled += await asyncio.to_thread(self.spool.append, rows)

    async def _to_db(self, rows: list[dict[str, Any]]) -> bool:
        if self._db is None:
            return False
        try:
            async with asyncio.timeout(self.write_timeout_s):
                await self._db.run(lambda db: self._store_rows(db, rows))
            return True
        except Exception as exc:
            error = str(exc)[:200] or f"no answer within {self.write_timeout_s:g} s"
            self._log.warning("records database write failed; spooling", error=error)
            await self._close_db()
            self._next_try = time.monotonic() + self.retry_s
            return False

    async def _close_db(self) -> None:
        db, self._db = self._db, None
        self.db_up.clear()
        if db is not None:
            # Bounded: behind a hung write, close() would wait on the same worker thread forever.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await db.close()
            # close() skips stopping its worker thread when closing a broken connection raised.
            db._pool.shutdown(wait=False)
