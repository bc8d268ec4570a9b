"""The recordings table and its audit (migration 0700_recordings.sql): plain functions on a Database,
used by the daemon (ivr.recordings.keeper) and by `ivr recordings` alike."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from ivr.store.db import Database

_COLUMNS = ("recording_id, uniqueid, created_at, expires_at, grp, department, caller_hash, consent, state, "
            "sealed_at, size_bytes")
# 128 random bits in the letters a-p: no digits, so the logs' phone-number scrubber leaves ids whole.
RECORDING_ID_PATTERN = r"^[a-p]{32}$"
_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


def new_recording_id() -> str:
    return secrets.token_hex(16).translate(_LETTERS)


@dataclass(frozen=True)
class RecordingRow:
    recording_id: str
    uniqueid: str
    created_at: float
    expires_at: float
    group: str
    department: str | None
    caller_hash: str | None
    consent: str  # announced | asked
    state: str  # recording | stored | missing
    sealed_at: float | None
    size_bytes: int | None


def _row(row: tuple[object, ...]) -> RecordingRow:
    return RecordingRow(*row)  # type: ignore[arg-type]


def add(db: Database, row: RecordingRow) -> None:
    db.execute(f"INSERT INTO recordings ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (row.recording_id, row.uniqueid, row.created_at, row.expires_at, row.group, row.department,
                row.caller_hash, row.consent, row.state, row.sealed_at, row.size_bytes))


def get(db: Database, recording_id: str) -> RecordingRow | None:
    found = db.fetchone(f"SELECT {_COLUMNS} FROM recordings WHERE recording_id = ?", (recording_id,))
    return _row(found) if found else None


def by_uniqueid(db: Database, uniqueid: str) -> list[RecordingRow]:
    return [_row(r) for r in db.fetchall(f"SELECT {_COLUMNS} FROM recordings WHERE uniqueid = ? AND state = ?",
                                         (uniqueid, "recording"))]


def unsealed(db: Database) -> list[RecordingRow]:
    return [_row(r) for r in db.fetchall(f"SELECT {_COLUMNS} FROM recordings WHERE state = ?", ("recording",))]


def listing(db: Database, *, group: str | None = None, caller_hash: str | None = None) -> list[RecordingRow]:
    sql, params = f"SELECT {_COLUMNS} FROM recordings WHERE 1 = 1", list[str]()
    if group:
        sql, params = sql + " AND grp = ?", [*params, group]
    if caller_hash:
        sql, params = sql + " AND caller_hash = ?", [*params, caller_hash]
    return [_row(r) for r in db.fetchall(sql + " ORDER BY created_at", params)]


def mark(db: Database, recording_id: str, state: str, *, sealed_at: float | None = None,
         size_bytes: int | None = None) -> None:
    db.execute("UPDATE recordings SET state = ?, sealed_at = ?, size_bytes = ? WHERE recording_id = ?",
               (state, sealed_at, size_bytes, recording_id))


def expired(db: Database, now: float) -> list[RecordingRow]:
    return [_row(r) for r in db.fetchall(f"SELECT {_COLUMNS} FROM recordings WHERE expires_at <= ?", (now,))]


def delete(db: Database, recording_id: str) -> int:
    return db.execute("DELETE FROM recordings WHERE recording_id = ?", (recording_id,))


def audit(db: Database, *, at: float, actor: str, action: str, recording_id: str | None, count: int) -> None:
    db.execute("INSERT INTO recording_audit (at, actor, action, recording_id, result_count) VALUES (?, ?, ?, ?, ?)",
               (at, actor, action, recording_id, count))


def audit_rows(db: Database) -> list[tuple[float, str, str, str | None, int]]:
    rows = db.fetchall("SELECT at, actor, action, recording_id, result_count FROM recording_audit ORDER BY id")
    return [(float(r[0]), str(r[1]), str(r[2]), None if r[3] is None else str(r[3]), int(r[4])) for r in rows]
