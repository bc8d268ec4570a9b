"""The web desktop's store, in the records database (migration 0400_desktop.sql) so several daemons
can share it: web credentials (argon2 hashes), sessions, API tokens (both kept as SHA-256 of the random
token) and the `desktop_audit` table.

The synchronous functions take a `Database` (the CLI uses them); `WebStore` runs them on the daemon's
database thread. A session ends `idle_s` after its last use and in any case `max_s` after sign-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ivr.records.writer import with_connect_timeout
from ivr.store.db import AsyncDatabase, Database, open_database

T = TypeVar("T")
_HASHER = PasswordHasher()  # argon2id, RFC 9106's low-memory profile
# Checked against when the user name is unknown, so that both answers take as long.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
TOKEN_PREFIX = "ivrt_"
# A session's last use is written at most this often (every request would be a write).
_TOUCH_EVERY_S = 30.0


class StoreUnavailable(Exception):
    """The database cannot be reached."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- credentials -----------------------------------------------------------------------------------
def set_password(db: Database, user_id: str, password: str, now: float) -> None:
    digest = _HASHER.hash(password)
    with db.transaction():
        db.execute("DELETE FROM web_credentials WHERE user_id = ?", (user_id,))
        db.execute("INSERT INTO web_credentials (user_id, password_hash, updated_at) VALUES (?, ?, ?)",
                   (user_id, digest, now))
        db.execute("DELETE FROM web_sessions WHERE user_id = ?", (user_id,))  # a new password signs out


def password_hash(db: Database, user_id: str) -> str | None:
    row = db.fetchone("SELECT password_hash FROM web_credentials WHERE user_id = ?", (user_id,))
    return str(row[0]) if row else None


def verify(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


# --- API tokens -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiToken:
    name: str
    scopes: frozenset[str]
    created_at: float
    expires_at: float | None
    revoked_at: float | None


def create_token(db: Database, name: str, scopes: frozenset[str], now: float, days: float | None) -> str:
    """A new token (shown once: only its digest is kept); replaces a revoked or expired one of that name."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.transaction():
        old = db.fetchone("SELECT revoked_at, expires_at FROM api_tokens WHERE name = ?", (name,))
        if old is not None and old[0] is None and (old[1] is None or old[1] > now):
            raise ValueError(f"a token named '{name}' exists; revoke it first")
        db.execute("DELETE FROM api_tokens WHERE name = ?", (name,))
        db.execute("INSERT INTO api_tokens (name, token_hash, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                   (name, token_digest(token), " ".join(sorted(scopes)), now, now + days * 86400 if days else None))
    return token


def list_tokens(db: Database) -> list[ApiToken]:
    rows = db.fetchall("SELECT name, scopes, created_at, expires_at, revoked_at FROM api_tokens ORDER BY name")
    return [ApiToken(r[0], frozenset(str(r[1]).split()), r[2], r[3], r[4]) for r in rows]


def revoke_token(db: Database, name: str, now: float) -> bool:
    return db.execute("UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (now, name)) > 0


def find_token(db: Database, token: str, now: float) -> ApiToken | None:
    row = db.fetchone("SELECT name, scopes, created_at, expires_at, revoked_at FROM api_tokens WHERE token_hash = ?",
                      (token_digest(token),))
    if row is None or row[4] is not None or (row[3] is not None and row[3] <= now):
        return None
    return ApiToken(row[0], frozenset(str(row[1]).split()), row[2], row[3], row[4])


# --- sessions ---------------------------------------------------------------------------------------
def create_session(db: Database, user_id: str, now: float, max_s: float) -> str:
    token = secrets.token_urlsafe(32)
    db.execute("INSERT INTO web_sessions (token_hash, user_id, created_at, last_seen, expires_at) "
               "VALUES (?, ?, ?, ?, ?)", (token_digest(token), user_id, now, now, now + max_s))
    return token


def session_user(db: Database, token: str, now: float, idle_s: float) -> str | None:
    """The session's user, or None when there is no such session or it has expired (then it is deleted)."""
    digest = token_digest(token)
    row = db.fetchone("SELECT user_id, last_seen, expires_at FROM web_sessions WHERE token_hash = ?", (digest,))
    if row is None:
        return None
    user_id, last_seen, expires_at = str(row[0]), float(row[1]), float(row[2])
    if now >= expires_at or now - last_seen >= idle_s:
        db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (digest,))
        return None
    if now - last_seen >= _TOUCH_EVERY_S:
        db.execute("UPDATE web_sessions SET last_seen = ? WHERE token_hash = ?", (now, digest))
    return user_id


def end_session(db: Database, token: str) -> None:
    db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (token_digest(token),))


def purge_sessions(db: Database, now: float, idle_s: float) -> int:
    """Expired sessions (and failed sign-ins older than FAILURES_KEPT_S) are deleted."""
    db.execute("DELETE FROM web_login_failures WHERE at < ?", (now - FAILURES_KEPT_S,))
    return db.execute("DELETE FROM web_sessions WHERE expires_at <= ? OR last_seen <= ?", (now, now - idle_s))


# --- failed sign-ins ---------------------------------------------------------------------------------
# Kept this long (the rate limiter's window must be shorter).
FAILURES_KEPT_S = 86400.0
_RECENT = {
    "username": "SELECT at FROM web_login_failures WHERE username = ? AND at > ? ORDER BY at DESC LIMIT ?",
    "address": "SELECT at FROM web_login_failures WHERE address = ? AND at > ? ORDER BY at DESC LIMIT ?",
}


def record_failure(db: Database, now: float, username: str, address: str) -> None:
    db.execute("INSERT INTO web_login_failures (at, username, address) VALUES (?, ?, ?)", (now, username, address))


def recent_failures(db: Database, by: str, value: str, since: float, limit: int) -> list[float]:
    """The times of the newest `limit` failures by that user name or address after `since`, newest first."""
    return [float(row[0]) for row in db.fetchall(_RECENT[by], (value, since, limit))]


def clear_failures(db: Database, username: str) -> None:
    db.execute("DELETE FROM web_login_failures WHERE username = ?", (username,))


# --- audit ------------------------------------------------------------------------------------------
def write_audit(db: Database, now: float, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
    db.execute("INSERT INTO desktop_audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
               (now, actor, action, target, json.dumps(detail, ensure_ascii=False, sort_keys=True)))


def read_audit(db: Database, since: float = 0.0) -> list[tuple[float, str, str, str, dict[str, Any]]]:
    rows = db.fetchall("SELECT at, actor, action, target, detail FROM desktop_audit WHERE at >= ? ORDER BY id",
                       (since,))
    return [(float(r[0]), str(r[1]), str(r[2]), str(r[3]), json.loads(r[4])) for r in rows]


class WebStore:
    """The daemon's asynchronous access to the above, on one database thread."""

    def __init__(self, url: str, *, idle_s: float = 7200.0, max_s: float = 43200.0, purge_every_s: float = 3600.0,
                 clock: Callable[[], float] = time.time, opener: Callable[[str], Database] = open_database) -> None:
        self.url = with_connect_timeout(url)
        self.idle_s = idle_s
        self.max_s = max_s
        self.purge_every_s = purge_every_s
        self._purger: asyncio.Task[None] | None = None
        self.clock = clock
        self._opener = opener
        self._db: AsyncDatabase | None = None
        self._lock = asyncio.Lock()
        self._log = structlog.get_logger("ivr.desktop.store")

    async def start(self) -> None:
        with contextlib.suppress(StoreUnavailable):  # logged; tried again at the next request
            await self._database()
        if self._purger is None and self.purge_every_s > 0:
            self._purger = asyncio.create_task(self._purge_loop(), name="desktop-session-purge")

    async def _purge_loop(self) -> None:
        """Expired sessions are refused when they come back; this deletes those that never do."""
        while True:
            await asyncio.sleep(self.purge_every_s)
            try:
                deleted = await self.run(functools.partial(purge_sessions, now=self.clock(), idle_s=self.idle_s))
            except Exception as exc:  # down for now: next time
                self._log.warning("session purge failed", error=type(exc).__name__)
                continue
            if deleted:
                self._log.info("expired sessions deleted", sessions=deleted)

    async def stop(self) -> None:
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger
            self._purger = None
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    async def _database(self) -> AsyncDatabase:
        async with self._lock:
            if self._db is None:
                try:
                    self._db = AsyncDatabase(await asyncio.to_thread(self._opener, self.url))
                except Exception as exc:
                    self._log.error("desktop store not available", error=type(exc).__name__)
                    raise StoreUnavailable(str(exc)) from exc
            return self._db

    async def run(self, job: Callable[[Database], T]) -> T:
        db = await self._database()
        try:
            return await db.run(job)
        except Exception as exc:
            if type(exc).__name__ in ("OperationalError", "InterfaceError"):
                raise StoreUnavailable(str(exc)) from exc
            raise

    async def check_password(self, user_id: str, password: str) -> bool:
        stored = await self.run(lambda db: password_hash(db, user_id))
        return await asyncio.to_thread(verify, stored, password)

    async def create_session(self, user_id: str) -> str:
        now = self.clock()
        return await self.run(lambda db: create_session(db, user_id, now, self.max_s))

    async def session_user(self, token: str) -> str | None:
        now = self.clock()
        return await self.run(lambda db: session_user(db, token, now, self.idle_s))

    async def end_session(self, token: str) -> None:
        await self.run(lambda db: end_session(db, token))

    async def api_token(self, token: str) -> ApiToken | None:
        now = self.clock()
        return await self.run(lambda db: find_token(db, token, now))

    async def audit(self, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        now = self.clock()
        await self.run(lambda db: write_audit(db, now, actor, action, target, detail))
