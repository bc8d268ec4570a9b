"""SQL for the contact registry (portable: SQLite and PostgreSQL, bound parameters only).

No function here takes or returns a phone number: callers are `number_hash` (ivr.privacy.NumberHasher).
Every function that reads rows about a citizen, or deletes them, also writes an audit row.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import astuple, dataclass, fields
from typing import Any

from ivr.store.db import Database

# DIALSTATUS of the official's Dial() -> outcome. Anything but `answered` means the citizen was not reached.
OUTCOMES = {"ANSWER": "answered", "BUSY": "busy", "NOANSWER": "no_answer", "CANCEL": "cancelled",
            "CONGESTION": "failed", "CHANUNAVAIL": "failed"}
NOT_REACHED = ("busy", "no_answer", "cancelled", "failed")
DIALLING = "dialling"  # recorded, the dial's end not reported yet
# Attempt ids are letters only: the log scrubber masks digit runs, and an id must stay readable in logs.
ATTEMPT_ID_PATTERN = r"^[a-z]{24}$"


@dataclass(frozen=True)
class Attempt:
    attempt_id: str
    number_hash: str
    attempted_at: float
    expires_at: float
    placer_kind: str  # official | agent | contact_center
    placer: str  # the official's or agent's id ("" for the contact center's systems)
    department: str | None
    disclosure: str  # the department's level when the call was made
    shown: str  # main_number | department_number
    purpose: str | None
    outcome: str = DIALLING
    ended_at: float | None = None
    returned_at: float | None = None
    return_outcome: str | None = None


COLUMNS = tuple(f.name for f in fields(Attempt))
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM contact_attempts"


def new_attempt_id() -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(24))  # 112 random bits


def outcome_of(dialstatus: str) -> str:
    return OUTCOMES.get(dialstatus.upper(), "unknown")


def audit(db: Database, *, at: float, actor: str, action: str, count: int, call_ref: str = "") -> None:
    db.execute("INSERT INTO contact_audit (at, actor, action, call_ref, result_count) VALUES (?, ?, ?, ?, ?)",
               (at, actor, action, call_ref or None, count))


def insert(db: Database, attempt: Attempt) -> None:
    db.execute(f"INSERT INTO contact_attempts ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})",
               astuple(attempt))


def finish(db: Database, attempt_id: str, outcome: str, at: float) -> bool:
    """Record how the dial ended. A call that reached the citizen also settles the same placer's
    earlier unanswered attempts to that citizen: there is nothing left to call back about."""
    with db.transaction():
        changed = db.execute("UPDATE contact_attempts SET outcome = ?, ended_at = ? WHERE attempt_id = ? "
                             "AND outcome = ?", (outcome, at, attempt_id, DIALLING))
        if changed and outcome == "answered":
            row = db.fetchone("SELECT number_hash, placer, placer_kind FROM contact_attempts WHERE attempt_id = ?",
                              (attempt_id,))
            if row is not None:
                db.execute("UPDATE contact_attempts SET returned_at = ?, return_outcome = 'reached' "
                           "WHERE number_hash = ? AND placer = ? AND placer_kind = ? AND returned_at IS NULL "
                           f"AND outcome IN ({', '.join('?' for _ in NOT_REACHED)})",
                           (at, row[0], row[1], row[2], *NOT_REACHED))
    return bool(changed)


def find_open(db: Database, number_hash: str, *, now: float, retention_s: float, actor: str,
              call_ref: str = "") -> Attempt | None:
    """The latest attempt to reach this citizen that did not get through, is not expired (by its own
    expiry or by today's retention, whichever is sooner) and was not yet offered; the lookup is audited
    whatever it finds."""
    with db.transaction():
        row = db.fetchone(f"{_SELECT} WHERE number_hash = ? AND attempted_at > ? AND expires_at > ? "
                          f"AND returned_at IS NULL AND outcome IN ({', '.join('?' for _ in NOT_REACHED)}) "
                          "ORDER BY attempted_at DESC LIMIT 1", (number_hash, now - retention_s, now, *NOT_REACHED))
        audit(db, at=now, actor=actor, action="returning_caller_lookup", count=0 if row is None else 1,
              call_ref=call_ref)
    return None if row is None else Attempt(*row)


def mark_returned(db: Database, attempt_id: str, outcome: str, at: float) -> bool:
    return bool(db.execute("UPDATE contact_attempts SET returned_at = ?, return_outcome = ? WHERE attempt_id = ? "
                           "AND returned_at IS NULL", (at, outcome, attempt_id)))


def purge(db: Database, *, now: float, retention_s: float, audit_before: float, actor: str) -> tuple[int, int]:
    """Delete expired attempts (by their own expiry, or older than today's retention when it was
    shortened since) and audit rows older than `audit_before`; returns both counts."""
    with db.transaction():
        attempts = db.execute("DELETE FROM contact_attempts WHERE expires_at <= ? OR attempted_at <= ?",
                              (now, now - retention_s))
        audits = db.execute("DELETE FROM contact_audit WHERE at < ?", (audit_before,))
        audit(db, at=now, actor=actor, action="purge", count=attempts)
    return attempts, audits


def stats(db: Database, *, now: float, actor: str) -> dict[str, Any]:
    """Counts only: never a row about one citizen."""
    live = (now,)
    with db.transaction():
        by_outcome = _counts(db, "SELECT outcome, COUNT(*) FROM contact_attempts WHERE expires_at > ? "
                             "GROUP BY outcome", live)
        by_department = _counts(db, "SELECT COALESCE(department, ''), COUNT(*) FROM contact_attempts "
                                "WHERE expires_at > ? GROUP BY department", live)
        returns = _counts(db, "SELECT return_outcome, COUNT(*) FROM contact_attempts WHERE expires_at > ? "
                          "AND return_outcome IS NOT NULL GROUP BY return_outcome", live)
        lookups = _counts(db, "SELECT action, COUNT(*) FROM contact_audit GROUP BY action", ())
        expired = db.fetchone("SELECT COUNT(*) FROM contact_attempts WHERE expires_at <= ?", live)
        oldest = db.fetchone("SELECT MIN(attempted_at) FROM contact_attempts WHERE expires_at > ?", live)
        total = sum(by_outcome.values())
        audit(db, at=now, actor=actor, action="stats", count=total)
    return {"attempts": total, "by_outcome": by_outcome, "by_department": by_department, "returns": returns,
            "expired_not_purged": int(expired[0]) if expired else 0,
            "oldest_age_days": round((now - oldest[0]) / 86400, 1) if oldest and oldest[0] is not None else None,
            "audit": lookups}


def _counts(db: Database, sql: str, params: tuple[Any, ...]) -> dict[str, int]:
    return {str(key): int(count) for key, count in sorted(db.fetchall(sql, params))}
