"""Callback rows in the store (migration 0200_callbacks.sql): plain functions on a `Database`,
run on the AsyncDatabase worker thread by the callback service. Every value is a bound parameter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ivr.store.db import Database

OPEN_STATES = ("pending", "queued", "connecting")
COLUMNS = ("id, state, queue, group_name, language, priority, position, joined_at, created_at, "
            "next_attempt_at, attempts, number_sealed, caller_ref, expires_at, last_status, owner_node, lease_until, "
            "placement, kind, due_at")
# Finished rows (no number any more) are kept this long for statistics.
KEEP_FINISHED_S = 7 * 86400.0


@dataclass(frozen=True)
class Callback:
    id: int
    state: str
    queue: str
    group: str
    language: str
    priority: int
    position: int | None
    joined_at: float
    created_at: float
    next_attempt_at: float | None
    attempts: int
    number_sealed: str | None
    caller_ref: str
    expires_at: float
    last_status: str
    # Several daemons on one store (migration 0500, ivr/callbacks/leases.py): who keeps the stand-in,
    # until when, and which placement (stand-in) is the valid one.
    owner_node: str | None = None
    lease_until: float | None = None
    placement: int = 0
    # 'queue' (kept the caller's place while they waited) or 'request' (left outside opening hours,
    # placed at due_at, the next opening; migration 0210).
    kind: str = "queue"
    due_at: float | None = None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Callback:
        return cls(int(row[0]), row[1], row[2], row[3], row[4], int(row[5]), row[6], float(row[7]), float(row[8]),
                   row[9], int(row[10]), row[11], row[12] or "", float(row[13]), row[14] or "", row[15],
                   None if row[16] is None else float(row[16]), int(row[17] or 0), row[18] or "queue",
                   None if row[19] is None else float(row[19]))


@dataclass(frozen=True)
class NewCallback:
    queue: str
    group: str
    language: str
    priority: int
    position: int | None
    joined_at: float
    caller_ref: str
    origin_uniqueid: str
    expires_at: float
    kind: str = "queue"
    due_at: float | None = None  # a request: the opening it is placed at


def create(db: Database, new: NewCallback, seal: Any, number: str, now: float, *, owner: str | None = None,
           lease_until: float | None = None) -> Callback:
    """Insert a pending callback and seal its number bound to the new row's id (one transaction).
    With an owner, no other node claims it before lease_until (its own node places it at once)."""
    with db.transaction():
        callback_id = _insert(db, new, seal, number, now, owner, lease_until)
    found = get(db, callback_id)
    assert found is not None
    return found


def _insert(db: Database, new: NewCallback, seal: Any, number: str, now: float, owner: str | None,
            lease_until: float | None) -> int:
    row = db.fetchone(
        "INSERT INTO callbacks (state, queue, group_name, language, priority, position, joined_at, created_at,"
        " next_attempt_at, attempts, caller_ref, origin_uniqueid, expires_at, updated_at, owner_node,"
        " lease_until, kind, due_at) VALUES ('pending', ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING id",
        (new.queue, new.group, new.language, new.priority, new.position, new.joined_at, now,
         now if new.due_at is None else new.due_at, new.caller_ref, new.origin_uniqueid, new.expires_at, now,
         owner, lease_until, new.kind, new.due_at))
    assert row is not None
    callback_id = int(row[0])
    db.execute("UPDATE callbacks SET number_sealed = ? WHERE id = ?", (seal.seal(number, callback_id), callback_id))
    return callback_id


def get(db: Database, callback_id: int) -> Callback | None:
    row = db.fetchone(f"SELECT {COLUMNS} FROM callbacks WHERE id = ?", (callback_id,))
    return Callback.from_row(row) if row else None


def in_states(db: Database, states: tuple[str, ...]) -> list[Callback]:
    marks = ", ".join("?" for _ in states)
    rows = db.fetchall(f"SELECT {COLUMNS} FROM callbacks WHERE state IN ({marks}) ORDER BY joined_at, id", states)
    return [Callback.from_row(row) for row in rows]


def move(db: Database, callback_id: int, state: str, now: float, *, expect: tuple[str, ...] = OPEN_STATES,
         next_attempt_at: float | None = None, attempts_add: int = 0, status: str | None = None,
         position: int | None = None, placement: int | None = None) -> bool:
    """Change state if the row is in one of `expect` (guards against two paths racing) and, given a
    placement, still at that placement (a node that lost its lease cannot undo its successor's work);
    a finished state deletes the number at once. Pending and finished rows have no owner: any node
    may claim a pending one (ivr/callbacks/leases.py)."""
    finished = state not in OPEN_STATES
    released = finished or state == "pending"
    marks = ", ".join("?" for _ in expect)
    fence = "" if placement is None else " AND placement = ?"
    changed = db.execute(
        "UPDATE callbacks SET state = ?, next_attempt_at = ?, attempts = attempts + ?, updated_at = ?,"
        " last_status = COALESCE(?, last_status), position = COALESCE(?, position),"
        " number_sealed = CASE WHEN ? THEN NULL ELSE number_sealed END,"
        " owner_node = CASE WHEN ? THEN NULL ELSE owner_node END,"
        " lease_until = CASE WHEN ? THEN NULL ELSE lease_until END"
        f" WHERE id = ? AND state IN ({marks}){fence}",
        (state, next_attempt_at, attempts_add, now, status, position, finished, released, released, callback_id,
         *expect, *(() if placement is None else (placement,))))
    return changed == 1


def purge(db: Database, now: float) -> int:
    """Drop finished rows after a week (their numbers are long gone)."""
    marks = ", ".join("?" for _ in OPEN_STATES)
    return db.execute(f"DELETE FROM callbacks WHERE state NOT IN ({marks}) AND updated_at < ?",
                      (*OPEN_STATES, now - KEEP_FINISHED_S))


def requests_between(db: Database, group: str, start: float, end: float) -> int:
    """Requests of `group` due in [start, end) (one opening day), whatever became of them."""
    row = db.fetchone("SELECT COUNT(*) FROM callbacks WHERE group_name = ? AND kind = 'request'"
                      " AND due_at >= ? AND due_at < ?", (group, start, end))
    return int(row[0]) if row else 0


def create_request(db: Database, new: NewCallback, seal: Any, number: str, now: float, *, day: tuple[float, float],
                   limit: int) -> Callback | None:
    """Book a request unless its group already has `limit` due the same opening day (`day`, its
    start and end); None when full. Count and insert share one transaction (SQLite's write lock; on
    PostgreSQL two nodes booking the very last place at once may both get it)."""
    with db.transaction():
        if requests_between(db, new.group, *day) >= limit:
            return None
        callback_id = _insert(db, new, seal, number, now, None, None)
    return get(db, callback_id)

