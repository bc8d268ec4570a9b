"""Job leases in the shared store: one node at a time runs a periodic job (a purge), and another
takes over once the holder stopped renewing. One upsert decides, atomically on SQLite (one writer)
and on PostgreSQL (the row lock of ON CONFLICT DO UPDATE): no consensus of our own."""

from __future__ import annotations

from ivr.store.db import Database


def hold(db: Database, name: str, node: str, now: float, ttl_s: float) -> bool:
    """Take or renew the lease `name` for `node` until now + ttl_s; False while another node holds it."""
    changed = db.execute(
        "INSERT INTO job_leases (name, owner_node, lease_until) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET owner_node = excluded.owner_node, lease_until = excluded.lease_until"
        " WHERE job_leases.owner_node = excluded.owner_node OR job_leases.lease_until < ?",
        (name, node, now + ttl_s, now))
    return changed == 1


def holder(db: Database, name: str, now: float) -> str | None:
    """The node holding `name` now, if any."""
    row = db.fetchone("SELECT owner_node FROM job_leases WHERE name = ? AND lease_until >= ?", (name, now))
    return str(row[0]) if row else None
