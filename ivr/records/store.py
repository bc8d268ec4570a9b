"""SQL for `call_records` (portable: SQLite and PostgreSQL, bound parameters only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ivr.records.model import COLUMNS
from ivr.store.db import Database

# A call's rows only ever gain information, except across a daemon restart: the new run's recorder
# starts the record afresh from AMI events, without what the first run knew (plan, path, start time).
# So the update merges: an empty column keeps its stored value, the call started at the earliest time
# either run saw, and a stored final outcome is not replaced by a provisional one.
_PROVISIONAL = "('unknown', 'in_menu', 'queued')"
_MERGE = {
    "started": "CASE WHEN call_records.started < excluded.started THEN call_records.started ELSE excluded.started END",
    "path": "CASE WHEN excluded.path = '[]' THEN call_records.path ELSE excluded.path END",
    "tags": "CASE WHEN excluded.tags = '{}' THEN call_records.tags ELSE excluded.tags END",
    "outcome": (f"CASE WHEN excluded.outcome IN {_PROVISIONAL} AND call_records.outcome NOT IN {_PROVISIONAL} "
                "THEN call_records.outcome ELSE excluded.outcome END"),
    "total_s": ("CASE WHEN call_records.started < excluded.started AND excluded.ended IS NOT NULL "
                "THEN excluded.ended - call_records.started ELSE COALESCE(excluded.total_s, call_records.total_s) END"),
    "updated_at": "excluded.updated_at",
}
_UPDATES = ", ".join(f"{c} = {_MERGE.get(c, f'COALESCE(excluded.{c}, call_records.{c})')}"
                     for c in COLUMNS if c != "uniqueid")
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
