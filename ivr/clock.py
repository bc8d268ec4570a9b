"""The time a call is evaluated at. Integration tests may set it per call; production never can."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ivr.dialplan_variables import IVR_TEST_NOW

if TYPE_CHECKING:
    from ivr.agi.session import AgiSession

# A test caller over SIP cannot set channel variables: it sends the time in this INVITE header
# instead (tests/integration/harness/citizens.py). Read only with --allow-test-clock, from PJSIP.
TEST_CLOCK_HEADER = "X-IVR-Test-Now"


class Clock:
    def __init__(self, zone: ZoneInfo, *, allow_test_clock: bool = False,
                 epoch: Callable[[], float] = time.time) -> None:
        self.zone = zone
        self.allow_test_clock = allow_test_clock
        # The daemon passes its SchedulerClock: a test's time (TEST_CLOCK_FILE) also for decisions that
        # belong to no call's test time, such as a desktop transfer's "is the group open now".
        self._epoch = epoch

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._epoch(), self.zone)

    async def now_for(self, session: AgiSession) -> dt.datetime:
        """`IVR_TEST_NOW` on the channel (or, on a PJSIP channel without it, the INVITE's
        X-IVR-Test-Now header), only when the daemon runs with --allow-test-clock."""
        if not self.allow_test_clock:
            return self.now()
        text = await _read(session, IVR_TEST_NOW)
        if not text and session.headers.get("type") == "PJSIP":
            text = await _read(session, f"PJSIP_HEADER(read,{TEST_CLOCK_HEADER})")
        if not text:
            return self.now()
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return self.now()
        return moment if moment.tzinfo else moment.replace(tzinfo=self.zone)


async def _read(session: AgiSession, name: str) -> str:
    reply = await session.command("GET VARIABLE", name)
    return (reply.data or "").strip() if reply.result == "1" else ""


# With --allow-test-clock, the daemon's timed work (the callback scan) runs from the time a test
# writes into this file in the state folder (an ISO time; the clock runs on from the moment the file
# was written). Without the flag the file is never read: production always runs on the real time.
TEST_CLOCK_FILE = "test-clock"


class SchedulerClock:
    """Epoch seconds for the daemon's own decisions (the callback scheduler, `Clock.now`): the real time,
    or a test's (TEST_CLOCK_FILE, read only with --allow-test-clock)."""

    def __init__(self, test_file: Path | None = None, *, real: Callable[[], float] = time.time) -> None:
        self._file = test_file
        self._real = real
        self._seen: tuple[int, int] | None = None
        self._offset = 0.0

    @classmethod
    def for_daemon(cls, state_dir: Path, *, allow_test_clock: bool) -> SchedulerClock:
        return cls(state_dir / TEST_CLOCK_FILE if allow_test_clock else None)

    def __call__(self) -> float:
        now = self._real()
        if self._file is None:
            return now
        try:
            stat = self._file.stat()
            if (stat.st_mtime_ns, stat.st_size) != self._seen:
                moment = dt.datetime.fromisoformat(self._file.read_text(encoding="utf-8").strip())
                self._offset = moment.timestamp() - stat.st_mtime
                self._seen = (stat.st_mtime_ns, stat.st_size)
        except (OSError, ValueError):
            return now  # no test time (or an unreadable one): the real time
        return now + self._offset
