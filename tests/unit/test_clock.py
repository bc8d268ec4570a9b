"""The time a call is evaluated at: the test clock (--allow-test-clock only) from the channel variable,
or, on a PJSIP channel, from the INVITE's X-IVR-Test-Now header (a SIP test caller cannot set variables)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr.agi.protocol import AgiReply
from ivr.clock import TEST_CLOCK_FILE, Clock, SchedulerClock

ZONE = ZoneInfo("Europe/Stockholm")
HEADER = "PJSIP_HEADER(read,X-IVR-Test-Now)"


class Session:
    def __init__(self, channel_type: str, values: dict[str, str]) -> None:
        self.headers = {"type": channel_type}
        self.values = values
        self.asked: list[str] = []

    async def command(self, verb: str, *args: Any) -> AgiReply:
        assert verb == "GET VARIABLE"
        self.asked.append(args[0])
        value = self.values.get(args[0])
        return AgiReply(200, "1", value) if value is not None else AgiReply(200, "0")


@pytest.mark.parametrize(("channel_type", "values", "expected", "asked"), [
    ("Local", {"IVR_TEST_NOW": "2026-12-22T10:00"}, dt.datetime(2026, 12, 22, 10, 0, tzinfo=ZONE), ["IVR_TEST_NOW"]),
    ("PJSIP", {HEADER: "2026-12-24T19:30"}, dt.datetime(2026, 12, 24, 19, 30, tzinfo=ZONE),
     ["IVR_TEST_NOW", HEADER]),
    ("PJSIP", {"IVR_TEST_NOW": "2026-12-22T10:00", HEADER: "2026-12-24T19:30"},
     dt.datetime(2026, 12, 22, 10, 0, tzinfo=ZONE), ["IVR_TEST_NOW"]),  # the variable wins
    ("Local", {HEADER: "2026-12-24T19:30"}, None, ["IVR_TEST_NOW"]),  # no SIP header on a Local channel
    ("PJSIP", {HEADER: "not a time"}, None, ["IVR_TEST_NOW", HEADER]),
])
async def test_test_clock(channel_type: str, values: dict[str, str], expected: dt.datetime | None,
                          asked: list[str]) -> None:
    session = Session(channel_type, values)
    before = dt.datetime.now(ZONE)
    now = await Clock(ZONE, allow_test_clock=True).now_for(session)  # type: ignore[arg-type]
    if expected is None:
        assert now >= before and now.year == before.year
    else:
        assert now == expected
    assert session.asked == asked


async def test_production_never_asks() -> None:
    session = Session("PJSIP", {"IVR_TEST_NOW": "2026-12-22T10:00", HEADER: "2026-12-24T19:30"})
    before = dt.datetime.now(ZONE)
    assert await Clock(ZONE).now_for(session) >= before  # type: ignore[arg-type]
    assert session.asked == []


def test_the_daemons_own_now_follows_the_test_clock_file_only_when_allowed(tmp_path: Path) -> None:
    """A desktop transfer's "is the group open now" (Clock.now) runs on the test's time, from the file the
    test wrote, and on from there; without --allow-test-clock the file is never read."""
    (tmp_path / TEST_CLOCK_FILE).write_text("2026-12-22T10:00+01:00\n", encoding="utf-8")
    clock = Clock(ZONE, allow_test_clock=True, epoch=SchedulerClock.for_daemon(tmp_path, allow_test_clock=True))
    first = clock.now()
    assert dt.timedelta(0) <= first - dt.datetime(2026, 12, 22, 10, 0, tzinfo=ZONE) < dt.timedelta(seconds=30)
    assert first.tzinfo == ZONE and clock.now() >= first
    refused = Clock(ZONE, epoch=SchedulerClock.for_daemon(tmp_path, allow_test_clock=False))
    assert abs(refused.now().timestamp() - time.time()) < 5
