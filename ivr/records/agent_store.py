"""SQL for `agent_events` (portable: SQLite and PostgreSQL, bound parameters only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ivr.store.db import Database

COLUMNS = ("id", "at", "agent", "kind", "state", "reason", "queues", "queue", "uniqueid", "ring_s")
# Rows never change once written; a row replayed from the spool is already there and is skipped.
INSERT = (f"INSERT INTO agent_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)}) "
          "ON CONFLICT (id) DO NOTHING")


def insert(db: Database, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write rows in one transaction; returns how many were given."""
    count = 0
    with db.transaction():
        for row in rows:
            values = {**row, "queues": row.get("queues") or "[]"}
            db.execute(INSERT, [values.get(c) for c in COLUMNS])
            count += 1
    return count


def fetch(db: Database, start: float, end: float) -> list[dict[str, Any]]:
    """Events in [start, end), plus each agent's last state event before `start` (the state the
    period begins in), oldest first."""
    columns = ", ".join(COLUMNS)
    before = (f"SELECT {columns} FROM agent_events e WHERE kind = 'state' AND at < ? AND at = "
              "(SELECT MAX(at) FROM agent_events l WHERE l.agent = e.agent AND l.kind = 'state' AND l.at < ?)")
    last_stop = "SELECT MAX(at) FROM agent_events WHERE kind = 'stopped' AND at < ?"
    within = f"SELECT {columns} FROM agent_events WHERE at >= ? AND at < ? ORDER BY at, id"
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in db.fetchall(before, (start, start))]
    stopped = db.fetchone(last_stop, (start,))
    if stopped is not None and stopped[0] is not None:  # a stop after an agent's last state ends it
        rows = [row for row in rows if float(row["at"]) > float(stopped[0])]
    rows += [dict(zip(COLUMNS, row, strict=True)) for row in db.fetchall(within, (start, end))]
    return rows
