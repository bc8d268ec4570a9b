"""Failed sign-ins, counted per user name and per client address over a sliding window. Past the
limit, sign-in is refused (HTTP 429 with Retry-After) until the oldest failure in the window is old
enough — whatever the password, so guessing gains nothing. A successful sign-in clears the user
name's count (not the address's). Kept in the daemon's memory: each daemon counts on its own."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class LoginLimiter:
    def __init__(self, *, per_user: int = 5, per_address: int = 20, window_s: float = 900.0,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, username: str, address: str) -> int:
        """Seconds to wait before trying again; 0 when a try is allowed now."""
        now = self.clock()
        wait = 0.0
        for key, limit in ((f"u:{username.lower()}", self.per_user), (f"a:{address}", self.per_address)):
            times = self._recent(key, now)
            if len(times) >= limit:
                wait = max(wait, times[len(times) - limit] + self.window_s - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        for key in (f"u:{username.lower()}", f"a:{address}"):
            self._recent(key, now).append(now)
        while len(self._failures) > self.max_keys:  # a flood of made-up names must not fill the memory
            del self._failures[next(iter(self._failures))]

    def succeeded(self, username: str) -> None:
        self._failures.pop(f"u:{username.lower()}", None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times
