"""A small database layer over sqlite3 and psycopg: `?` placeholders, transactions, migrations.

Product code writes portable SQL (TEXT, INTEGER, BIGINT, REAL; times as epoch seconds) and never
formats values into SQL text: every value is a bound parameter.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

from ivr.filemodes import create_private

Row = tuple[Any, ...]
# Serialises schema migrations across processes on PostgreSQL (any constant unique to this project).
MIGRATION_LOCK_ID = 4_034_100
T = TypeVar("T")


# Our transactions take milliseconds; one idle this long has lost its client.
IDLE_IN_TX_MS = 10_000


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.RLock()
        self.dialect: Literal["sqlite", "postgres"]
        if url.startswith(("postgresql://", "postgres://")):
            import psycopg

            self.dialect = "postgres"
            # A session whose daemon vanished mid-transaction (killed, or its network hung) would keep
            # its locks, the migration lock included, until TCP gave up; the server ends it instead.
            self._conn: Any = psycopg.connect(url, autocommit=True)
            self._conn.execute(f"SET idle_in_transaction_session_timeout = {IDLE_IN_TX_MS}")
        else:
            self.dialect = "sqlite"
            path = url.removeprefix("sqlite:///").removeprefix("sqlite://")
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                create_private(Path(path))  # a new database is its owner's only, whatever the umask
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
            _enable_wal(self._conn)
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgres" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._lock:
            cursor = self._conn.execute(self._sql(sql), tuple(params))
            return int(cursor.rowcount or 0)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return [tuple(row) for row in self._conn.execute(self._sql(sql), tuple(params)).fetchall()]

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with self._lock:
            row = self._conn.execute(self._sql(sql), tuple(params)).fetchone()
            return tuple(row) if row is not None else None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        with self._lock:
            if self.dialect == "postgres":
                with self._conn.transaction():
                    yield self
            else:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")

    def migrate(self) -> list[str]:
        """Apply the package's migrations (ivr/store/migrations/*.sql) not applied yet, in name order.

        Several services (and daemons) may open the same store at once: the check and the apply run in
        one write transaction (SQLite's write lock; an advisory lock on PostgreSQL), so each migration
        runs exactly once.
        """
        applied_now: list[str] = []
        folder = resources.files("ivr.store") / "migrations"
        entries = sorted((e for e in folder.iterdir() if e.name.endswith(".sql")), key=lambda e: e.name)
        with self._lock, self.transaction():
            if self.dialect == "postgres":
                self.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK_ID,))
            self.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at REAL)")
            done = {row[0] for row in self.fetchall("SELECT name FROM schema_migrations")}
            for entry in entries:
                if entry.name in done:
                    continue
                for statement in _statements(entry.read_text(encoding="utf-8")):
                    self.execute(self._dialect_sql(statement))
                self.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                             (entry.name, time.time()))
                applied_now.append(entry.name)
        return applied_now

    def _dialect_sql(self, statement: str) -> str:
        if self.dialect == "postgres":
            return statement.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")
        return statement

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _enable_wal(conn: sqlite3.Connection) -> None:
    """WAL lets readers and one writer work at once. Switching needs a moment alone with the file,
    which SQLite refuses at once (no busy wait) while another connection is opening it: retry."""
    for attempt in range(50):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.05)


def _statements(text: str) -> list[str]:
    text = re.sub(r"--[^\n]*", "", text)
    return [part.strip() for part in text.split(";") if part.strip()]


def open_database(url: str, *, migrate: bool = True) -> Database:
    db = Database(url)
    if migrate:
        db.migrate()
    return db


class AsyncDatabase:
    """Runs a Database's calls on one worker thread so the event loop never waits on disk or network."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ivr-db")

    async def run(self, fn: Callable[[Database], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, self.db)

    async def close(self) -> None:
        await self.run(lambda db: db.close())
        self._pool.shutdown(wait=True)
