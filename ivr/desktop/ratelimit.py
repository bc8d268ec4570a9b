"""Failed sign-ins, counted per user name and per client address over a sliding window, in the records
database (`web_login_failures`), so every daemon on the same store counts them together. Past the
limit, sign-in is refused (HTTP 429 with Retry-After) until the oldest failure that counts is out of the
window — whatever the password, so guessing gains nothing. A successful sign-in clears the user name's
count (not the address's)."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable

from ivr.desktop.store import FAILURES_KEPT_S, WebStore, clear_failures, recent_failures, record_failure


class LoginLimiter:
    def __init__(self, store: WebStore, *, per_user: int = 5, per_address: int = 20, window_s: float = 900.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.per_user = per_user
        self.per_address = per_address
        self.window_s = min(window_s, FAILURES_KEPT_S)
        self.clock = clock

    async def retry_after(self, username: str, address: str) -> int:
        """Seconds to wait before trying again; 0 when a try is allowed now."""
        now = self.clock()
        since = now - self.window_s
        wait = 0.0
        for by, value, limit in (("username", username.lower(), self.per_user), ("address", address, self.per_address)):
            times = await self.store.run(functools.partial(recent_failures, by=by, value=value, since=since,
                                                           limit=limit))
            if len(times) >= limit:
                wait = max(wait, times[limit - 1] + self.window_s - now)
        return math.ceil(wait) if wait > 0 else 0

    async def failed(self, username: str, address: str) -> None:
        now = self.clock()
        await self.store.run(lambda db: record_failure(db, now, username.lower(), address))

    async def succeeded(self, username: str) -> None:
        await self.store.run(lambda db: clear_failures(db, username.lower()))
