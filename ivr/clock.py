"""The time a call is evaluated at. Integration tests may set it per call; production never can."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from ivr.agi.session import AgiSession

TEST_CLOCK_VARIABLE = "IVR_TEST_NOW"


class Clock:
    def __init__(self, zone: ZoneInfo, *, allow_test_clock: bool = False) -> None:
        self.zone = zone
        self.allow_test_clock = allow_test_clock

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.zone)

    async def now_for(self, session: AgiSession) -> dt.datetime:
        """`IVR_TEST_NOW` on the channel, only when the daemon runs with --allow-test-clock."""
        if not self.allow_test_clock:
            return self.now()
        reply = await session.command("GET VARIABLE", TEST_CLOCK_VARIABLE)
        text = (reply.data or "").strip() if reply.result == "1" else ""
        if not text:
            return self.now()
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return self.now()
        return moment if moment.tzinfo else moment.replace(tzinfo=self.zone)
