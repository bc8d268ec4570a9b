"""A queued callback end to end on the real Asterisk, with the real daemon restarted half-way:
the caller presses 1 in a busy queue, confirms their number and hangs up; a stand-in keeps their
place; the daemon is restarted; when an agent is free for them the agent is connected first, then
the citizen is dialled showing the main number, and the callback is done with its number deleted.
(tests/integration/test_faults_callbacks.py covers a SIGKILLed daemon and a lost stand-in.)
The citizen calls over SIP through the operator's trunk and presses keys as RFC 4733 events on the
test's cue (IVR_TEST_CITIZENS=local: a Local channel); the callers ahead and behind are Local channels
put straight into the queue (tests/integration/README.md).
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness.ami import AmiClient, SimCall
from harness.citizens import Citizens
from harness.faults import QUICK_KEYS, QUICK_PLAN
from test_queues_agents import SIM, logged_out, settings_for, started, until  # noqa: F401 (fixture)

from ivr.agents.control import AgentControl
from ivr.callbacks import store
from ivr.store.db import open_database

pytestmark = pytest.mark.in_process_daemon

REPO = Path(__file__).resolve().parents[2]
CITIZEN = "+46701117788"
STANDIN = re.compile(r"^Local/cb(\d+)@ivr-callback-hold-")
SOCIAL_STANDINS = ("3001", "3002")


def quick_config(folder: Path) -> Path:
    """The shipped agents and rules (social offers a callback as soon as anyone else waits) and the
    short plan of the reliability tests (a beep, then 3 = social)."""
    shutil.copytree(REPO / "agents", folder / "agents")
    shutil.copy(REPO / "routing_rules.yaml", folder / "routing_rules.yaml")
    groups = folder / "agents" / "groups.yaml"
    text = groups.read_text(encoding="utf-8")
    social = text.index("  social:")
    start = text.index("callback: {when_waiting: 2}", social)
    groups.write_text(text[:start] + "callback: {when_waiting: 0}" + text[start + 27:], encoding="utf-8")
    (folder / "dialplans").mkdir()
    (folder / "dialplans" / "quick.yaml").write_text(QUICK_PLAN, encoding="utf-8")
    return folder


@pytest.fixture
async def social_standins_paused(ami: AmiClient) -> AsyncIterator[None]:
    """Only the agents a test logs in take kc-social's calls."""
    for ext in SOCIAL_STANDINS:
        await ami.action("QueuePause", Interface=f"Local/{ext}@agent-sim/n", Queue="kc-social", Paused="true",
                         Reason="test")
    yield
    for ext in SOCIAL_STANDINS:
        await ami.action("QueuePause", Interface=f"Local/{ext}@agent-sim/n", Queue="kc-social", Paused="false")


async def filler(ami: AmiClient, caller_id: str) -> SimCall:
    """Someone else waiting in kc-social (straight into the queue, without the menu)."""
    call = await ami.originate_caller(context="ivr-queue", exten="s", dtmf="", hold=120, caller_id=caller_id,
                                      variables={"IVR_QUEUE": "kc-social", "__AGENT_TALK": "2"})
    await call.wait_event(15, Event="QueueCallerJoin", Queue="kc-social")
    return call


@pytest.mark.usefixtures("logged_out", "social_standins_paused")
async def test_callback_keeps_the_place_and_connects_agent_then_citizen(ami: AmiClient, citizens: Citizens,
                                                                        tmp_path: Path) -> None:
    settings = settings_for(quick_config(tmp_path / "config"), tmp_path / "state")
    daemon = await started(settings)
    try:
        ahead = await filler(ami, "+46701117701")
        citizen = await citizens.call(dtmf=QUICK_KEYS["kc-social"], then=["1", "1"], hold=60, caller_id=CITIZEN)
        offered = await citizen.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_CALLBACK_OFFER", 20)
        assert offered.Value == "1"
        await citizen.wait_event(10, Event="Newexten", AppData="ivr/sv/callback-offer")
        joined = await citizen.wait_event(20, Event="QueueCallerJoin", Queue="kc-social")
        assert joined.Position == "2"
        # Queue() loses a key pressed during its position announcement (Asterisk issue #543, see
        # docs/queues-and-agents.md): press when the music is back after the first announcement.
        music = await citizen.wait_event(10, Event="MusicOnHoldStart", since=joined.index + 1)
        await citizen.wait_event(15, Event="MusicOnHoldStart", since=music.index + 1)
        await asyncio.sleep(0.5)
        await citizen.press()  # 1: "call me back"
        await citizen.wait_for(lambda e: e.Event == "AGIExecStart" and "callback-your-number" in (e.Command or ""),
                               15, what="the number read back")
        await citizen.press()  # 1: "yes, this number"
        await citizen.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_RESULT" and e.Value == "callback",
                               20, what="the callback booked")
        await citizen.wait_hangup(15)
        standin = await ami.recorder.wait_for(
            lambda e: e.Event == "QueueCallerJoin" and bool(STANDIN.match(e.Channel or "")), 15, what="the stand-in")
        assert standin.Queue == "kc-social" and standin.Position == "2"  # the citizen's place
        callback_id = int(STANDIN.match(standin.Channel or "")[1])  # type: ignore[index]
        behind = await filler(ami, "+46701117702")
        assert behind.first(lambda e: e.Event == "QueueCallerJoin").Position == "3"  # type: ignore[union-attr]

        # The daemon restarts; the callback (in its store) and the stand-in (in Asterisk) carry on.
        await daemon.stop(grace=2)
        daemon = await started(settings)
        await until(lambda: daemon.callbacks._synced.is_set(), what="the callback service resynchronised")

        since = ami.recorder.mark()
        control = AgentControl(daemon.ami, SIM)
        for agent in ("bilal.haddad", "farah.ali"):  # two agents become free
            await control.login(daemon.app.config.current, agent)
        first = await ahead.wait_event(20, since=since, Event="AgentConnect")
        taken = await ami.recorder.wait_for(lambda e: e.Event == "AgentConnect" and e.Uniqueid == standin.Uniqueid,
                                            20, since=since, what="an agent answering the stand-in")
        assert first.MemberName != taken.MemberName
        assert not behind.events(lambda e: e.Event == "AgentConnect" and e.index < taken.index)  # kept their place
        dialled = await ami.recorder.wait_for(lambda e: e.Event == "UserEvent" and e.UserEvent == "TrunkCall", 20,
                                              since=taken.index, what="the citizen dialled")
        assert dialled.Number == CITIZEN
        assert dialled.CallerIDNum == daemon.app.config.current.rules.main_number  # the city calls back
        leg = f"Local/cb{callback_id}@ivr-callback-hold-"  # its ;1 half, running [ivr-callback-connect]
        answered = await ami.recorder.wait_for(
            lambda e: e.Event == "DialEnd" and e.DialStatus == "ANSWER" and leg in (e.Channel or ""),
            20, since=taken.index, what="the citizen answering")
        assert answered.index > taken.index  # agent first, then the citizen
        db = open_database(f"sqlite:///{settings.state_dir / 'ivr.db'}", migrate=False)
        try:
            def finished() -> bool:
                row = store.get(db, callback_id)
                return row is not None and row.state == "done"

            await until(finished, 30, "the callback recorded as done")
            row = store.get(db, callback_id)
            assert row is not None and row.number_sealed is None and row.attempts == 1
        finally:
            db.close()
        await behind.hangup()
        await ahead.hangup()
    finally:
        await daemon.stop(grace=2)


@pytest.mark.usefixtures("logged_out", "social_standins_paused")
async def test_one_during_the_offer_asks_at_once_and_star_goes_back_to_the_queue(
        ami: AmiClient, citizens: Citizens, tmp_path: Path) -> None:
    daemon = await started(settings_for(quick_config(tmp_path / "config"), tmp_path / "state"))
    try:
        ahead = await filler(ami, "+46701117703")
        citizen = await citizens.call(dtmf=QUICK_KEYS["kc-social"], then=["1", "*"], hold=60,
                                      caller_id="+46701117704")
        await citizen.wait_event(20, Event="Newexten", AppData="ivr/sv/callback-offer")
        await asyncio.sleep(1)
        await citizen.press()  # 1, while the offer is still playing
        await citizen.wait_for(lambda e: e.Event == "AGIExecStart" and "callback-your-number" in (e.Command or ""),
                               15, what="the number read back")
        assert not citizen.events(lambda e: e.Event == "QueueCallerJoin")  # asked before joining
        await citizen.press()  # *: "no, back to the queue"
        joined = await citizen.wait_event(20, Event="QueueCallerJoin", Queue="kc-social")
        assert joined.Position == "2"  # behind the caller who was there first; never dropped
        assert not citizen.events(lambda e: e.Event == "VarSet" and e.Variable == "IVR_RESULT"
                                  and e.Value == "callback")
        await citizen.hangup()
        await ahead.hangup()
    finally:
        await daemon.stop(grace=2)
