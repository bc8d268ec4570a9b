"""The store's copy of the steering entries and the audit of every change (migration 0600)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from ivr.steering.entry import Entry, Kind
from ivr.store.db import Database

# Digit runs that could be a phone number (six or more digits, spaces and dashes between): a message's
# text is audited as written, but a number in it is not kept.
_NUMBER_LIKE = re.compile(r"\+?\d(?:[\s-]?\d){5,}")


@dataclass(frozen=True)
class StoredEntry:
    entry: Entry
    group: str  # "" for the whole line
    texts: dict[str, str]
    set_by: str
    set_at: float


@dataclass(frozen=True)
class AuditRow:
    at: float
    actor: str
    via: str
    action: str
    target: str
    detail: dict[str, Any]


def mask_numbers(text: str) -> str:
    return _NUMBER_LIKE.sub("<number>", text)


def save(db: Database, stored: StoredEntry) -> None:
    """Replace the entry with its key (call it inside the caller's transaction, with its audit row)."""
    entry = stored.entry
    db.execute("DELETE FROM steering_entries WHERE steer_key = ?", (entry.key,))
    db.execute("INSERT INTO steering_entries (steer_key, kind, queue, grp, starts, ends, sound_dir, languages, "
               "texts, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (entry.key, entry.kind, entry.queue or "", stored.group, entry.starts, entry.ends,
                entry.sound_dir, "&".join(entry.languages), json.dumps(stored.texts, ensure_ascii=False),
                stored.set_by, stored.set_at))


def remove(db: Database, key: str) -> bool:
    return db.execute("DELETE FROM steering_entries WHERE steer_key = ?", (key,)) > 0


def entries(db: Database) -> list[StoredEntry]:
    rows = db.fetchall("SELECT kind, queue, grp, starts, ends, sound_dir, languages, texts, set_by, set_at "
                       "FROM steering_entries ORDER BY kind, grp")
    found = []
    for kind, queue, group, starts, ends, sound_dir, languages, texts, set_by, set_at in rows:
        steer_kind: Kind = "switch" if kind == "switch" else "message"
        entry = Entry(steer_kind, queue or None, int(starts), int(ends), sound_dir, tuple(languages.split("&")))
        found.append(StoredEntry(entry, group, json.loads(texts), set_by, float(set_at)))
    return found


def audit(db: Database, *, actor: str, via: str, action: str, target: str, detail: dict[str, Any],
          at: float | None = None) -> None:
    """`detail["text"]` (language → the message's text) is kept with phone-number-like digits masked."""
    texts = detail.get("text")
    if isinstance(texts, dict):
        detail = {**detail, "text": {lang: mask_numbers(str(value)) for lang, value in texts.items()}}
    text = json.dumps(detail, ensure_ascii=False, sort_keys=True)
    db.execute("INSERT INTO steering_audit (at, actor, via, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
               (time.time() if at is None else at, actor, via, action, target, text))


def audit_rows(db: Database, *, since: float = 0.0, limit: int = 200) -> list[AuditRow]:
    rows = db.fetchall("SELECT at, actor, via, action, target, detail FROM steering_audit WHERE at >= ? "
                       "ORDER BY at DESC, id DESC LIMIT ?", (since, limit))
    return [AuditRow(float(at), actor, via, action, target, json.loads(detail))
            for at, actor, via, action, target, detail in rows]
