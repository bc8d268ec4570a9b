"""Calls through the main menu with the real daemon and the real Asterisk: every choice reaches its queue.
Citizens call over SIP through the operator's trunk (IVR_TEST_CITIZENS=local: Local channels)."""

from __future__ import annotations

import asyncio

import pytest
from harness.citizens import Citizens
from harness.daemon import DaemonProcess

pytestmark = pytest.mark.real_daemon

WEEKDAY_10 = "2026-12-22T10:00"

# The caller listens to the welcome, presses a language key during the language prompts, then a
# menu key while the main menu plays; `w` is half a second of pause.
CHOICES = [
    ("sv-school", "w1wwwwww1", "kc-school", "sv"),
    ("en-social-elder", "w2wwwwwww2wwwwww2", "kc-social", "en"),
    ("ar-building-case", "w3wwwwwwww3wwwwwwww12345#", "kc-building", "ar"),
    ("en-streets", "w2wwwwwww4", "kc-streets", "en"),
    ("sv-general", "w1wwwwww5", "kc-general", "sv"),
]


async def test_every_menu_choice_reaches_its_queue(citizens: Citizens, daemon: DaemonProcess) -> None:
    """All main-menu choices at once (real prompts take ~20 s a call, so they run side by side)."""
    calls = await asyncio.gather(*[
        citizens.call(dtmf=dtmf, first_wait=1, hold=60, caller_id=f"+4670111300{i}",
                      variables={"IVR_TEST_NOW": WEEKDAY_10})
        for i, (_, dtmf, _, _) in enumerate(CHOICES)
    ])
    joins = await asyncio.gather(*[call.wait_event(90, Event="QueueCallerJoin") for call in calls])
    for call, join, (name, _, queue, language) in zip(calls, joins, CHOICES, strict=True):
        assert join.Queue == queue, name
        language_set = await call.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_LANG", 5)
        assert language_set.Value == language, name
        reasons = call.events(lambda e: e.Event == "VarSet" and e.Variable == "IVR_FALLBACK_REASON")
        assert not reasons or not reasons[-1].Value, name  # cleared once the queue checks pass
    finished = {}
    for call in calls:
        finished[call.uniqueid] = await daemon.wait_log(
            lambda line, uid=call.uniqueid: line.get("event") == "menu finished" and line.get("uniqueid") == uid)
    for call, (name, _, queue, _) in zip(calls, CHOICES, strict=True):
        assert finished[call.uniqueid]["queue"] == queue, name
    building = finished[calls[2].uniqueid]
    assert building["nodes"][-3:] == ["building_case", "tag_building", "queue_building"]
    assert "1113002" not in daemon.log_text()  # caller numbers are masked in the daemon's log


async def test_closed_hours_caller_hears_closed_message(citizens: Citizens, daemon: DaemonProcess) -> None:
    call = await citizens.call(dtmf="", first_wait=1, hold=60, caller_id="+46701112234",
                               variables={"IVR_TEST_NOW": "2026-12-22T19:30"})
    await call.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_RESULT" and e.Value == "hangup", 60)
    assert not call.events(lambda e: e.Event == "QueueCallerJoin")
    played = await daemon.wait_log(
        lambda line: line.get("event") == "menu finished" and line.get("uniqueid") == call.uniqueid)
    assert played["outcome"] == "message"
    assert "closed_message" in played["nodes"]


async def test_christmas_eve_takes_holiday_branch(citizens: Citizens, daemon: DaemonProcess) -> None:
    call = await citizens.call(dtmf="", first_wait=1, hold=60, caller_id="+46701112235",
                               variables={"IVR_TEST_NOW": "2026-12-24T10:00"})
    await call.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_RESULT" and e.Value == "hangup", 60)
    finished = await daemon.wait_log(
        lambda line: line.get("event") == "menu finished" and line.get("uniqueid") == call.uniqueid)
    assert "holiday_message" in finished["nodes"]


async def test_daemon_stopped_calls_reach_default_queue(citizens: Citizens, daemon: DaemonProcess) -> None:
    await daemon.stop()
    call = await citizens.call(dtmf="", first_wait=1, hold=30, caller_id="+46701112236")
    joined = await call.wait_event(30, Event="QueueCallerJoin")
    assert joined.Queue == "kc-general"
