"""The time a call is evaluated at. Integration tests may set it per call; production never can."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ivr.dialplan_variables import IVR_TEST_NOW

if TYPE_CHECKING:
    from ivr.agi.session import AgiSession

# A test caller over SIP cannot set channel variables: it sends the time in this INVITE header
# instead (tests/integration/harness/citizens.py). Read only with --allow-test-clock, from PJSIP.
TEST_CLOCK_HEADER = "X-IVR-Test-Now"


class Clock:
    def __init__(self, zone: ZoneInfo, *, allow_test_clock: bool = False) -> None:
        self.zone = zone
        self.allow_test_clock = allow_test_clock

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.zone)

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
