"""A per-session command deadline with one timer that is rarely moved.

`asyncio.timeout()` around every AGI command schedules a timer and cancels it again, ~5 µs and two heap
operations per command, 18 times a call. A session's commands run one at a time, so one timer per
session is enough: it fires no later than the current command's deadline, and when it fires early (the
command that armed it finished, a later one runs) it is set again for the running command's deadline.
Expiry cancels the waiting task the way asyncio.timeout() does; `expired` tells that cancellation apart
from any other.
"""

from __future__ import annotations

import asyncio
import math


class CommandDeadline:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._handle: asyncio.TimerHandle | None = None
        self._wake_at = math.inf  # when the timer fires (inf: no timer)
        self._deadline = math.inf  # the running command's deadline
        self._task: asyncio.Task[object] | None = None
        self.expired = False

    def arm(self, task: asyncio.Task[object], seconds: float) -> None:
        """The command that `task` is about to run must finish within `seconds`."""
        self._task = task
        self.expired = False
        self._deadline = self._loop.time() + seconds
        if self._deadline < self._wake_at:  # the timer would fire too late: move it earlier
            self._set_timer(self._deadline)

    def disarm(self) -> None:
        """The command finished (or failed); a timer still pending stays, for the next command."""
        self._task = None

    def close(self) -> None:
        self._task = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._wake_at = math.inf

    def _set_timer(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._wake_at = when
        self._handle = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._wake_at = math.inf
        task = self._task
        if task is None or task.done():
            return  # no command running: the next arm() sets a timer
        if self._loop.time() < self._deadline:
            self._set_timer(self._deadline)  # fired for an earlier command; wait for this one's deadline
            return
        self.expired = True
        task.cancel()
