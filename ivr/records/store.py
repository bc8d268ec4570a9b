"""SQL for `call_records` (portable: SQLite and PostgreSQL, bound parameters only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ivr.records.model import COLUMNS
from ivr.store.db import Database

_UPDATES = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "uniqueid")
# The WHERE keeps a row from going back in time when an older version is replayed from the spool.
UPSERT = (f"INSERT INTO call_records ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)}) "
          f"ON CONFLICT (uniqueid) DO UPDATE SET {_UPDATES} WHERE call_records.updated_at <= excluded.updated_at")


def upsert(db: Database, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write rows in one transaction; returns how many were given."""
    count = 0
    with db.transaction():
        for row in rows:
            db.execute(UPSERT, [row.get(c) for c in COLUMNS])
            count += 1
    return count


def fetch(db: Database, start: float, end: float) -> list[dict[str, Any]]:
    """Calls that started in [start, end), oldest first."""
    sql = f"SELECT {', '.join(COLUMNS)} FROM call_records WHERE started >= ? AND started < ? ORDER BY started"
    return [dict(zip(COLUMNS, row, strict=True)) for row in db.fetchall(sql, (start, end))]
