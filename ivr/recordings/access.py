"""Every way to a recording, each written to `recording_audit`: list, export, delete, erase by a
citizen's number (through its keyed hash: the number itself is neither stored nor logged) and the
retention's deletions. Used by `ivr recordings` and by the daemon's keeper."""

from __future__ import annotations

import os
from pathlib import Path

from ivr.privacy import NumberHasher
from ivr.recordings import store
from ivr.recordings.store import RecordingRow
from ivr.recordings.vault import RecordingVault
from ivr.store.db import Database


class RecordingNotFound(LookupError):
    pass


def list_recordings(db: Database, *, actor: str, now: float, group: str | None = None) -> list[RecordingRow]:
    rows = store.listing(db, group=group)
    store.audit(db, at=now, actor=actor, action="list", recording_id=None, count=len(rows))
    return rows


def export(db: Database, vault: RecordingVault, recording_id: str, out: Path, *, actor: str, now: float) -> int:
    """Decrypt one recording into `out` (created 0600); its size in bytes. Audited before it is read."""
    row = store.get(db, recording_id)
    store.audit(db, at=now, actor=actor, action="export", recording_id=recording_id, count=int(row is not None))
    if row is None or row.state != "stored":
        raise RecordingNotFound(recording_id)
    audio = vault.open(recording_id)
    out.unlink(missing_ok=True)
    with os.fdopen(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(audio)
    return len(audio)


def delete(db: Database, vault: RecordingVault, recording_id: str, *, actor: str, now: float,
           action: str = "delete") -> bool:
    row = store.get(db, recording_id)
    if row is not None:
        vault.remove(recording_id)
        store.delete(db, recording_id)
    store.audit(db, at=now, actor=actor, action=action, recording_id=recording_id, count=int(row is not None))
    return row is not None


def erase_caller(db: Database, vault: RecordingVault, hasher: NumberHasher, number: str, *, actor: str,
                 now: float) -> int:
    """A citizen's request to erase: every recording of calls from `number`. The audit names how many,
    not whose."""
    rows = store.listing(db, caller_hash=hasher.digest(number))
    for row in rows:
        vault.remove(row.recording_id)
        store.delete(db, row.recording_id)
    store.audit(db, at=now, actor=actor, action="erase-caller", recording_id=None, count=len(rows))
    return len(rows)


def purge_expired(db: Database, vault: RecordingVault, *, actor: str, now: float) -> int:
    """Delete what is past its retention (`expires_at`, set from the group's `retention_days`)."""
    rows = store.expired(db, now)
    for row in rows:
        vault.remove(row.recording_id)
        store.delete(db, row.recording_id)
        store.audit(db, at=now, actor=actor, action="expire", recording_id=row.recording_id, count=1)
    return len(rows)
