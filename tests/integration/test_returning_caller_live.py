"""Returning callers on the real Asterisk with the real daemon: an official's call showing the main number
is not answered; when the citizen calls the main number, they are offered the official and connected,
and when the official does not answer, they wait in the department's queue. The citizens call over SIP
through the operator's trunk (IVR_TEST_CITIZENS=local: Local channels); the official's missed call is
placed from a Local channel in [officials-outbound] (tests/integration/README.md)."""

from __future__ import annotations

import asyncio

import pytest
from harness.ami import AmiClient
from harness.citizens import CitizenHandle, Citizens
from harness.daemon import DaemonProcess

pytestmark = pytest.mark.real_daemon

WEEKDAY_10 = "2026-12-22T10:00"
OFFICIAL_LINE = "+4640342102"  # Johan Ek, education (agents/officials.yaml)


async def missed_call(ami: AmiClient, daemon: DaemonProcess, citizen: str) -> None:
    """Johan Ek calls back about a call-back request (*810: the main number is shown); the line is busy."""
    call = await ami.originate_caller(exten=f"*810{citizen}", context="officials-outbound", caller_id="2102",
                                      dtmf="", first_wait=0, hold=10, variables={"__TRUNK_BUSY": "1"})
    trunk = await call.wait_event(20, Event="UserEvent", UserEvent="TrunkCall")
    assert (trunk.CallerIDNum, trunk.Number) == ("+4640341000", citizen)
    await call.wait_event(20, Event="DialEnd", DialStatus="BUSY")


async def attempts_ended(daemon: DaemonProcess, count: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while sum(line.get("event") == "outbound call ended" for line in daemon.log_lines()) < count:
        assert loop.time() < deadline, "the hangup handler never reported the dial's end"
        await asyncio.sleep(0.1)


async def call_back(citizens: Citizens, citizen: str, **variables: str) -> CitizenHandle:
    """The citizen calls the main number and presses 1 during the notice."""
    return await citizens.call(caller_id=citizen, dtmf="w1", first_wait=1, hold=40,
                               variables={"IVR_TEST_NOW": WEEKDAY_10, **variables})


async def test_returning_caller_reaches_the_official_or_the_departments_queue(
        ami: AmiClient, citizens: Citizens, daemon: DaemonProcess) -> None:
    reached, queued, stranger = "+46701120001", "+46701120002", "+46701120003"
    await asyncio.gather(missed_call(ami, daemon, reached), missed_call(ami, daemon, queued))
    await attempts_ended(daemon, 2)
    answered, unanswered, menu = await asyncio.gather(
        call_back(citizens, reached),
        # The official's phone rings without an answer; 2 s instead of IVR_TRANSFER_RING's 45.
        call_back(citizens, queued, __TRUNK_NOANSWER="1", IVR_TRANSFER_RING="2"),
        call_back(citizens, stranger))
    # Connected to the official's direct line, who answers (the simulated far end).
    trunk = await answered.wait_event(30, Event="UserEvent", UserEvent="TrunkCall")
    assert trunk.Number == OFFICIAL_LINE
    await answered.wait_event(10, Event="DialEnd", DialStatus="ANSWER")
    # The official does not answer: the department's queue (education -> kc-school).
    trunk = await unanswered.wait_event(30, Event="UserEvent", UserEvent="TrunkCall")
    assert trunk.Number == OFFICIAL_LINE
    await unanswered.wait_event(10, Event="DialEnd", DialStatus="NOANSWER")
    joined = await unanswered.wait_event(15, Event="QueueCallerJoin")
    assert joined.Queue == "kc-school"
    assert unanswered.first(lambda e: e.Event == "VarSet" and e.Variable == "IVR_FALLBACK_REASON"
                            and e.Value == "transfer-NOANSWER")
    # Nobody tried to reach the third caller: the menu starts at once, with its greeting.
    first_prompt = await menu.wait_for(lambda e: e.Event == "AGIExecStart" and "STREAM FILE" in (e.Command or ""),
                                       15, what="the menu's first prompt")
    assert "/welcome" in (first_prompt.Command or "")
    offered = [line for line in daemon.log_lines() if line.get("event") == "returning caller offered a connection"]
    assert sorted(line["uniqueid"] for line in offered) == sorted([answered.uniqueid, unanswered.uniqueid])
    assert all(line["accepted"] for line in offered)
    started = {line["uniqueid"]: line for line in daemon.log_lines() if line.get("event") == "menu finished"}
    assert started[answered.uniqueid]["outcome"] == "transfer"
    assert not answered.events(lambda e: e.Event == "QueueCallerJoin")
    log = daemon.log_text()
    for citizen in (reached, queued, stranger):
        assert citizen[3:] not in log
    # The third caller is still in the menu: hang up, so the daemon stops without waiting for them.
    await asyncio.gather(*[call.hangup() for call in (answered, unanswered, menu)])
    await menu.wait_hangup()
