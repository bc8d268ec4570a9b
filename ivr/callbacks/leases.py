"""Which node places and watches a callback, when several daemons share one store.

A node claims a callback by moving it from `pending` to `queued` with itself as `owner_node`, a lease
(`lease_until`) and the next `placement` number, in one statement guarded by the row's state: two
nodes can never both claim it. While the node lives it renews the lease of every callback it holds
(each scan); once a lease has lapsed (its node died, or lost the store), another node takes the
callback over and decides from its own AMI whether the stand-in still waits (it adopts it) or is
gone (the callback is pending again and is placed anew, with a new placement number).

On PostgreSQL the batch claims lock their rows with FOR UPDATE SKIP LOCKED, so two nodes scanning at
the same moment each take different rows instead of waiting on each other; on SQLite (one node, the
default) the write transaction alone serialises them. Plain functions on a `Database`, like store.py.
"""

from __future__ import annotations

from ivr.callbacks.store import COLUMNS, Callback
from ivr.store.db import Database

# A pending row may be claimed by its own node, or by anyone once nobody holds it (or the holder lapsed).
_FREE = "(owner_node IS NULL OR owner_node = ? OR lease_until IS NULL OR lease_until < ?)"
# A pending row with an owner is a request its node is placing right now: the scans (that node's own
# too) leave it alone until its lease lapses (the node died between storing and placing it).
_UNHELD = "(owner_node IS NULL OR lease_until IS NULL OR lease_until < ?)"
_HELD = ("queued", "connecting")


def _lock_clause(db: Database) -> str:
    return " FOR UPDATE SKIP LOCKED" if db.dialect == "postgres" else ""


def claim(db: Database, callback_id: int, node: str, now: float, lease_s: float) -> Callback | None:
    """Claim one pending callback for `node` (the request's own placement); None if it is not free."""
    row = db.fetchone(
        "UPDATE callbacks SET state = 'queued', owner_node = ?, lease_until = ?, placement = placement + 1,"
        f" updated_at = ? WHERE id = ? AND state = 'pending' AND {_FREE} RETURNING {COLUMNS}",
        (node, now + lease_s, now, callback_id, node, now))
    return Callback.from_row(row) if row else None


def claim_due(db: Database, node: str, now: float, lease_s: float, limit: int = 50) -> list[Callback]:
    """Claim up to `limit` pending callbacks whose next attempt is due, oldest citizen first."""
    with db.transaction():
        ids = [int(row[0]) for row in db.fetchall(
            "SELECT id FROM callbacks WHERE state = 'pending' AND COALESCE(next_attempt_at, 0) <= ?"
            f" AND expires_at > ? AND {_UNHELD} ORDER BY joined_at, id LIMIT ?{_lock_clause(db)}",
            (now, now, now, limit))]
        claimed = [claim(db, callback_id, node, now, lease_s) for callback_id in ids]
    return [callback for callback in claimed if callback is not None]


def renew(db: Database, node: str, now: float, lease_s: float) -> int:
    """Extend the lease of every callback `node` holds (it is alive and watching their stand-ins)."""
    return db.execute("UPDATE callbacks SET lease_until = ? WHERE owner_node = ? AND state IN (?, ?)",
                      (now + lease_s, node, *_HELD))


def take_over(db: Database, node: str, now: float, lease_s: float, limit: int = 50) -> list[Callback]:
    """Take the queued or connecting callbacks whose holder's lease lapsed (rows from before leases
    existed have none): `node` now decides whether their stand-ins still live."""
    with db.transaction():
        ids = [int(row[0]) for row in db.fetchall(
            "SELECT id FROM callbacks WHERE state IN (?, ?) AND COALESCE(lease_until, 0) < ?"
            f" ORDER BY id LIMIT ?{_lock_clause(db)}", (*_HELD, now, limit))]
        taken = []
        for callback_id in ids:
            row = db.fetchone(
                "UPDATE callbacks SET owner_node = ?, lease_until = ? WHERE id = ? AND state IN (?, ?)"
                f" AND COALESCE(lease_until, 0) < ? RETURNING {COLUMNS}",
                (node, now + lease_s, callback_id, *_HELD, now))
            if row:
                taken.append(Callback.from_row(row))
    return taken


def held(db: Database, node: str, ids: list[int]) -> list[Callback]:
    """Of these callbacks, those `node` still holds (queued or connecting)."""
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = db.fetchall(f"SELECT {COLUMNS} FROM callbacks WHERE owner_node = ? AND state IN (?, ?)"
                       f" AND id IN ({marks})", (node, *_HELD, *ids))
    return [Callback.from_row(row) for row in rows]


def mine_or_unowned(db: Database, node: str) -> list[Callback]:
    """Queued or connecting callbacks this node holds, or nobody does (rows from before leases)."""
    rows = db.fetchall(f"SELECT {COLUMNS} FROM callbacks WHERE state IN (?, ?)"
                       " AND (owner_node IS NULL OR owner_node = ?) ORDER BY joined_at, id", (*_HELD, node))
    return [Callback.from_row(row) for row in rows]
