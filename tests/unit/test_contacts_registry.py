"""ContactRegistry: calls never wait on a database that is down, and a lost connection is replaced."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psycopg
import pytest

from ivr.contacts import store
from ivr.contacts.registry import ContactRegistry
from ivr.contacts.store import Attempt, new_attempt_id
from ivr.store.db import Database, open_database
from ivr.testing.postgres import PG_ADMIN, pg_schema


def attempt(number_hash: str = "h" * 64) -> Attempt:
    now = time.time()
    return Attempt(new_attempt_id(), number_hash, now, now + 86400, "official", "johan.ek", "education", "person",
                   "main_number", None, "busy")




async def test_database_down_costs_nothing_and_is_retried(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    down = True

    def opener(target: str) -> Database:
        if down:
            raise OSError("connection refused")
        return open_database(target)

    registry = ContactRegistry(url, opener=opener, retry_s=0.2, lookup_timeout_s=0.3)
    started = time.perf_counter()
    assert await registry.find_open("h" * 64, retention_days=30, call_ref="c1") is None
    registry.record(attempt())  # lost, logged
    await registry.settled()
    assert time.perf_counter() - started < 0.5
    down = False
    await asyncio.sleep(0.25)
    kept = attempt()
    registry.record(kept)
    await registry.settled()
    assert await registry.find_open(kept.number_hash, retention_days=30, call_ref="c2") == kept
    await registry.close()


async def test_lost_postgres_connection_is_replaced() -> None:
    with pg_schema() as url:
        registry = ContactRegistry(url)
        first = attempt("a" * 64)
        registry.record(first)
        await registry.settled()
        application = url.rsplit("application_name=", 1)[1]
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                          (application,))
        with pytest.raises(psycopg.OperationalError):  # the operation that finds the connection gone
            await registry.run(lambda db: db.fetchall("SELECT 1"), timeout=5)
        second = attempt("b" * 64)
        registry.record(second)  # a new connection
        await registry.settled()
        assert await registry.find_open(second.number_hash, retention_days=30, call_ref="c") == second
        rows = await registry.run(lambda db: db.fetchall("SELECT attempt_id FROM contact_attempts ORDER BY 1"),
                                  timeout=5)
        assert sorted(r[0] for r in rows) == sorted([first.attempt_id, second.attempt_id])
        await registry.close()


async def test_close_finishes_the_writes_in_flight(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    registry = ContactRegistry(url)
    items = [attempt(f"{i:064d}") for i in range(20)]
    for item in items:
        registry.record(item)
    await registry.close()
    db = open_database(url)
    assert db.fetchone("SELECT COUNT(*) FROM contact_attempts") == (20,)
    assert store.stats(db, now=time.time(), actor="test")["attempts"] == 20
    db.close()
