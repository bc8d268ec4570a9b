"""A queued callback in flight when the daemon is killed, on the real Asterisk.

A caller in a busy kc-school asks to be called back; the daemon puts a stand-in in their place and
the caller hangs up. Then the daemon is SIGKILLed, and while it is dead the stand-in is lost too.
The restarted daemon finds the callback in its store, sees its stand-in gone (QueueStatus at login)
and places it again; when an agent takes it, the citizen's number is dialled. Nothing was lost.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness.ami import AmiClient, AmiMessage
from harness.citizens import Citizens
from harness.daemon import DaemonProcess
from harness.faults import QUICK_KEYS, quick_config

pytestmark = pytest.mark.real_daemon

SCHOOL_AGENTS = ("2001", "2002")
CITIZEN = "+46701119988"
STANDIN = re.compile(r"^Local/cb(\d+)@ivr-callback-hold-")


@pytest.fixture
async def school_agents_away(ami: AmiClient) -> AsyncIterator[None]:
    for agent in SCHOOL_AGENTS:
        await ami.set_global(f"AGENT_{agent}_NOANSWER", "1")
    yield
    for agent in SCHOOL_AGENTS:
        await ami.set_global(f"AGENT_{agent}_NOANSWER", "")


def standin_joined(e: AmiMessage) -> bool:
    return e.Event == "QueueCallerJoin" and e.Queue == "kc-school" and bool(STANDIN.match(e.Channel or ""))


async def test_callback_in_flight_survives_a_sigkill_and_a_lost_standin(
        ami: AmiClient, citizens: Citizens, school_agents_away: None, tmp_path: Path) -> None:
    daemon = DaemonProcess(state_dir=tmp_path / "daemon", config_paths=quick_config(tmp_path / "config"),
                           env={"IVR_CALLBACK_SCAN_S": "1"})
    await daemon.start()
    try:
        # kc-school offers a callback once more than two callers wait.
        fillers = [await citizens.call(dtmf=QUICK_KEYS["kc-school"], hold=90, caller_id=f"+4670111000{i}")
                   for i in range(3)]
        await asyncio.gather(*(f.wait_event(15, Event="QueueCallerJoin", Queue="kc-school") for f in fillers))
        citizen = await citizens.call(dtmf=QUICK_KEYS["kc-school"], then=["1", "1"], hold=90, caller_id=CITIZEN)
        await citizen.wait_event(25, Event="QueueCallerJoin", Queue="kc-school")  # after the offer
        # The others leave, so that the citizen is at the head with the agents' phones ringing: Queue()
        # is then surely listening for keys (not in the middle of its position announcement).
        for filler in fillers:
            await filler.hangup()
        await citizen.wait_event(20, Event="AgentCalled")
        await citizen.press()  # 1: "call me back"
        await citizen.wait_for(lambda e: e.Event == "AGIExecStart" and "callback-your-number" in (e.Command or ""),
                               15, what="the number confirmation")
        await citizen.press()  # 1: "yes, this number"
        await citizen.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_RESULT" and e.Value == "callback",
                               20, what="the callback booked")
        first = await ami.recorder.wait_for(standin_joined, 15, what="the stand-in in kc-school")
        match = STANDIN.match(first.Channel or "")
        assert match is not None
        callback_id = match[1]

        daemon.kill()
        killed_at = ami.recorder.mark()
        await ami.action("Hangup", Channel=f"/^Local\\/cb{callback_id}@ivr-callback-hold-/")
        await ami.recorder.wait_for(lambda e: e.Event == "QueueCallerLeave" and e.Uniqueid == first.Uniqueid,
                                    10, since=killed_at, what="the stand-in gone")

        for agent in SCHOOL_AGENTS:  # the first agent free takes the stand-in once it is back
            await ami.set_global(f"AGENT_{agent}_NOANSWER", "")
        await daemon.start()
        again = await ami.recorder.wait_for(lambda e: standin_joined(e) and e.Uniqueid != first.Uniqueid, 20,
                                            since=killed_at, what="the stand-in placed again")
        assert (STANDIN.match(again.Channel or "") or [None, None])[1] == callback_id
        dialled = await ami.recorder.wait_for(lambda e: e.Event == "UserEvent" and e.UserEvent == "TrunkCall", 30,
                                              since=killed_at, what="the citizen dialled")
        log = [line.get("event") for line in daemon.log_lines(since=daemon.log_offset)
               if line.get("callback_id") == int(callback_id)]
    finally:
        await daemon.stop()
    assert dialled.Number == CITIZEN
    assert "callback stand-in lost; placing it again" in log and "callback connecting" in log
    assert CITIZEN[1:] not in daemon.log_text()
