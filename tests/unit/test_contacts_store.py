"""The contact registry's store on SQLite and on the real PostgreSQL: keyed hashes, expiry, the open
attempt a returning caller is offered, purge, counts, and an audit row for every lookup."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.contacts import store
from ivr.contacts.store import Attempt, new_attempt_id
from ivr.privacy import NumberHasher
from ivr.store.db import Database, open_database

DAY = 86400.0
T0 = 1_793_000_000.0
CITIZEN = "+46701234567"
HASHER = NumberHasher(b"unit-test-key-0123456789abcdef")




@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    opened = open_database(db_url)
    yield opened
    opened.close()


def attempt(number: str = CITIZEN, *, at: float = T0, days: float = 30, placer: str = "johan.ek",
            outcome: str = store.DIALLING) -> Attempt:
    return Attempt(attempt_id=new_attempt_id(), number_hash=HASHER.digest(number), attempted_at=at,
                   expires_at=at + days * DAY, placer_kind="official", placer=placer, department="education",
                   disclosure="person", shown="main_number", purpose="callback", outcome=outcome)


def find(db: Database, number: str = CITIZEN, *, now: float, retention_days: float = 30) -> Attempt | None:
    return store.find_open(db, HASHER.digest(number), now=now, retention_s=retention_days * DAY, actor="test",
                           call_ref="call-1")


def audit_rows(db: Database) -> list[tuple[object, ...]]:
    return db.fetchall("SELECT actor, action, call_ref, result_count FROM contact_audit ORDER BY id")


def test_hash_is_keyed_and_every_form_of_a_number_hashes_alike() -> None:
    assert HASHER.digest("0701234567") == HASHER.digest("+46701234567") == HASHER.digest("0046701234567")
    other_key = NumberHasher(b"another-key-0123456789abcdef")
    assert other_key.digest(CITIZEN) != HASHER.digest(CITIZEN)
    assert "701234567" not in HASHER.digest(CITIZEN)


def test_unanswered_attempt_is_found_by_the_number_and_audited(db: Database) -> None:
    first = attempt()
    store.insert(db, first)
    assert find(db, now=T0 + 60) is None  # still dialling: not offered
    assert store.finish(db, first.attempt_id, store.outcome_of("NOANSWER"), T0 + 30)
    found = find(db, "0701234567", now=T0 + 60)  # the citizen's national form
    assert found is not None and found.attempt_id == first.attempt_id and found.outcome == "no_answer"
    assert find(db, "+46701234568", now=T0 + 60) is None
    assert audit_rows(db) == [("test", "returning_caller_lookup", "call-1", 0),
                              ("test", "returning_caller_lookup", "call-1", 1),
                              ("test", "returning_caller_lookup", "call-1", 0)]


def test_latest_open_attempt_wins_and_an_offered_one_is_not_offered_again(db: Database) -> None:
    old, new = attempt(at=T0, placer="sara.nilsson"), attempt(at=T0 + 100)
    for item in (old, new):
        store.insert(db, item)
        store.finish(db, item.attempt_id, "busy", item.attempted_at + 5)
    found = find(db, now=T0 + 200)
    assert found is not None and found.attempt_id == new.attempt_id
    assert store.mark_returned(db, new.attempt_id, "accepted", T0 + 210)
    assert not store.mark_returned(db, new.attempt_id, "declined", T0 + 220)  # the first answer stays
    found = find(db, now=T0 + 300)
    assert found is not None and found.attempt_id == old.attempt_id


def test_answered_attempt_is_never_offered_and_settles_the_same_placers_earlier_ones(db: Database) -> None:
    missed, other_official, reached = attempt(at=T0), attempt(at=T0 + 10, placer="sara.nilsson"), attempt(at=T0 + 60)
    for item in (missed, other_official):
        store.insert(db, item)
        store.finish(db, item.attempt_id, "no_answer", item.attempted_at + 5)
    store.insert(db, reached)
    assert store.finish(db, reached.attempt_id, store.outcome_of("ANSWER"), T0 + 90)
    assert not store.finish(db, reached.attempt_id, "busy", T0 + 95)  # reported once
    found = find(db, now=T0 + 100)
    assert found is not None and found.attempt_id == other_official.attempt_id  # Johan reached them since
    row = db.fetchone("SELECT return_outcome FROM contact_attempts WHERE attempt_id = ?", (missed.attempt_id,))
    assert row == ("reached",)


def test_expired_attempts_are_not_offered_and_are_purged(db: Database) -> None:
    short = attempt(days=1)
    store.insert(db, short)
    store.finish(db, short.attempt_id, "busy", T0 + 5)
    assert find(db, now=T0 + 0.5 * DAY) is not None
    assert find(db, now=T0 + 1.5 * DAY) is None  # its own expiry
    long = attempt(days=30, at=T0 + 10)
    store.insert(db, long)
    store.finish(db, long.attempt_id, "busy", T0 + 15)
    assert find(db, now=T0 + 5 * DAY, retention_days=3) is None  # today's retention was shortened
    store.audit(db, at=T0 - 400 * DAY, actor="test", action="stats", count=0)
    deleted = store.purge(db, now=T0 + 2 * DAY, retention_s=30 * DAY, audit_before=T0 - 365 * DAY, actor="test")
    assert deleted == (1, 1)
    assert db.fetchone("SELECT COUNT(*) FROM contact_attempts") == (1,)
    assert store.purge(db, now=T0 + 5 * DAY, retention_s=3 * DAY, audit_before=0, actor="test") == (1, 0)
    assert db.fetchone("SELECT COUNT(*) FROM contact_attempts") == (0,)
    assert [row[1] for row in audit_rows(db)][-2:] == ["purge", "purge"]


def test_stats_are_counts_only_and_audited(db: Database) -> None:
    for outcome, department in (("busy", "education"), ("no_answer", "education"), ("answered", None)):
        item = attempt()
        store.insert(db, Attempt(**{**item.__dict__, "department": department}))
        store.finish(db, item.attempt_id, outcome, T0 + 1)
    counts = store.stats(db, now=T0 + 10, actor="cli:admin")
    assert counts["attempts"] == 3
    assert counts["by_outcome"] == {"answered": 1, "busy": 1, "no_answer": 1}
    assert counts["by_department"] == {"": 1, "education": 2}
    assert counts["audit"] == {}
    assert audit_rows(db)[-1] == ("cli:admin", "stats", None, 3)
    assert HASHER.digest(CITIZEN) not in repr(counts)


def test_no_number_in_the_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "ivr.db"
    db = open_database(f"sqlite:///{path}")
    item = attempt("0709876543")
    store.insert(db, item)
    store.finish(db, item.attempt_id, "busy", T0 + 1)
    find(db, "0709876543", now=T0 + 2)
    db.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("ivr.db"))
    assert HASHER.digest("0709876543").encode() in raw  # the row is there...
    for form in (b"709876543", b"0709876543", b"+46709876543"):
        assert form not in raw  # ...but never the number


def test_attempt_ids_are_letters_only() -> None:
    ids = {new_attempt_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 24 and i.isalpha() and i.islower() for i in ids)


def test_lookup_is_one_indexed_read(tmp_path: Path) -> None:
    """With 20,000 attempts stored, the lookup (plus its audit row) stays in the low milliseconds."""
    db = open_database(f"sqlite:///{tmp_path / 'ivr.db'}")
    with db.transaction():
        for index in range(20_000):
            store.insert(db, attempt(f"+4670{index:07d}", at=T0 + index, outcome="busy"))
    plan = " ".join(str(row[-1]) for row in db.fetchall(
        "EXPLAIN QUERY PLAN SELECT attempt_id FROM contact_attempts WHERE number_hash = ? AND attempted_at > ? "
        "AND expires_at > ? AND returned_at IS NULL AND outcome IN ('busy') ORDER BY attempted_at DESC LIMIT 1",
        ("x", 0, 0)))
    assert "contact_attempts_number" in plan
    started = time.perf_counter()
    for index in range(200):
        assert find(db, f"+4670{index * 97:07d}", now=T0 + 30_000) is not None
    per_lookup_ms = (time.perf_counter() - started) / 200 * 1000
    db.close()
    assert per_lookup_ms < 5, per_lookup_ms
