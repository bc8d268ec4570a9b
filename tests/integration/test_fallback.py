"""The daemon<->dialplan contract and its fallbacks, on a real Asterisk.

The call cases are data: tests/integration/scenarios/fallback.yaml, run concurrently (grouped by
what the FastAGI port must be doing) by harness/scenarios.py, one test per scenario. The tests
below the table check what a table cannot say well: the AMI user the daemon logs in as, and the
harness's own promises (telling concurrent calls apart).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from harness.ami import IVR_DEV_SECRET, IVR_USER, AmiClient, AmiError, SimCall, new_token
from harness.fake_agi import AgiScript, FakeAgi, port_in_use
from harness.sandbox import Sandbox
from harness.scenarios import ScenarioResult, load_scenarios, run_scenarios

pytestmark = pytest.mark.asterisk_only

SCENARIO_FILE = Path(__file__).parent / "scenarios" / "fallback.yaml"
SCENARIOS = load_scenarios(SCENARIO_FILE)


@pytest.fixture(scope="module")
def fallback_results(asterisk: Sandbox) -> dict[str, ScenarioResult]:
    async def run() -> dict[str, ScenarioResult]:
        async with await AmiClient.connect() as ami:
            return await run_scenarios(SCENARIOS, ami)

    return asyncio.run(run())


@pytest.mark.parametrize("name", [s.name for s in SCENARIOS])
def test_scenario(fallback_results: dict[str, ScenarioResult], name: str) -> None:
    result = fallback_results[name]
    assert result.ok, result.report()


async def test_missing_apology_recording_still_says_something(asterisk: Sandbox, ami: AmiClient) -> None:
    """Without the rendered ivr/sv/fallback recording, Playback fails (PLAYBACKSTATUS=FAILED) and
    the dialplan plays the English core prompt one-moment-please before queueing the caller."""
    assert not port_in_use(), "something listens on the FastAGI port; this test needs it closed"
    prompts = asterisk.root / "usr" / "share" / "asterisk" / "sounds" / "ivr" / "sv"
    # Hidden for this test only; `asterisk-sandbox start` lays the prompts anew anyway.
    moved = []
    try:
        for path in sorted(prompts.glob("fallback.*")):
            hidden = path.with_name(path.name + ".hidden-by-test")
            path.rename(hidden)
            moved.append((hidden, path))
        call = await ami.originate_caller(caller_id="+46701000099", dtmf="")
        steps = [
            {"Event": "Newexten", "Application": "Playback", "AppData": "ivr/sv/fallback"},
            {"Event": "VarSet", "Variable": "PLAYBACKSTATUS", "Value": "FAILED"},
            {"Event": "Newexten", "AppData": "1?Playback(one-moment-please)"},
            {"Event": "VarSet", "Variable": "PLAYBACKSTATUS", "Value": "SUCCESS"},
            {"Event": "QueueCallerJoin", "Queue": "kc-general"},
        ]
        since = call.since
        for step in steps:
            hit = await call.wait_event(timeout=10, since=since, **step)
            since = hit.index + 1
    finally:
        for hidden, path in moved:
            hidden.rename(path)


async def test_concurrent_calls_with_the_same_caller_id_are_told_apart(ami: AmiClient, fake_agi: FakeAgi) -> None:
    """Two calls from one number at once, routed differently: each handle sees its own events."""
    calls = {}
    for queue in ("kc-building", "kc-social"):
        # The script is registered under the call's Uniqueid before the call exists.
        token = new_token()
        fake_agi.expect(
            SimCall.uniqueid_for(token),
            AgiScript(
                [
                    f"SET VARIABLE IVR_QUEUE {queue}",
                    "SET VARIABLE IVR_RESULT queue",
                ]
            ),
        )
        calls[queue] = await ami.originate_caller(caller_id="+46701234567", dtmf="", token=token)
    for queue, call in calls.items():
        join = await call.wait_event(Event="QueueCallerJoin", timeout=15)
        assert join.Queue == queue, f"{call.uniqueid}: joined {join.Queue}, expected {queue}"
        assert all(e.Queue in (None, queue) for e in call.events()), "saw another call's queue"
    # And the recorder's plain predicate form, as a test would write it by hand:
    e = await ami.recorder.wait_for(
        lambda e: e.Event == "QueueCallerJoin" and e.Queue == "kc-social" and e.CallerIDNum == "+46701234567",
        timeout=5,
    )
    assert e.Uniqueid == calls["kc-social"].uniqueid


async def test_daemon_ami_user_can_do_what_the_daemon_needs(asterisk: Sandbox) -> None:
    """The production AMI user `ivr` (manager.conf): queue control, originate, user events and
    the events it needs, but no CLI commands."""
    secret = os.environ.get("IVR_AMI_SECRET", IVR_DEV_SECRET)
    async with await AmiClient.connect(username=IVR_USER, secret=secret) as ivr:
        status = await ivr.action_list("QueueStatus", Queue="kc-school")
        members = [m.Name for m in status if m.Event == "QueueMember"]
        assert sorted(members) == ["Agent 2001", "Agent 2002"]

        iface = "Local/5002@agent-sim/n"
        await ivr.action("QueuePause", Interface=iface, Queue="kc-streets", Paused="true", Reason="test")
        paused = await ivr.recorder.wait_for(
            lambda e: e.Event == "QueueMemberPause" and e.Interface == iface, timeout=5
        )
        assert paused.Paused == "1"
        await ivr.action("QueuePause", Interface=iface, Queue="kc-streets", Paused="false")

        await ivr.action("QueueAdd", Queue="kc-streets", Interface="Local/5999@agent-sim/n", MemberName="Agent 5999")
        await ivr.recorder.wait_for(lambda e: e.Event == "QueueMemberAdded" and e.MemberName == "Agent 5999", timeout=5)
        await ivr.action("QueueRemove", Queue="kc-streets", Interface="Local/5999@agent-sim/n")

        await ivr.action("UserEvent", UserEvent="IvrProbe", Probe="1")
        await ivr.recorder.wait_for(lambda e: e.UserEvent == "IvrProbe", timeout=5)

        resp = await ivr.action(
            "Originate",
            Channel="Local/s@caller-sim/n",
            Application="Wait",
            Data="1",
            Async="true",
            Variable="SIM_HOLD=1",
        )
        assert resp.Response == "Success"
        done = await ivr.recorder.wait_for(lambda e: e.Event == "OriginateResponse", timeout=10)
        assert done.Response == "Success"

        with pytest.raises(AmiError, match="Permission denied"):
            await ivr.action("Command", Command="core show version")


async def test_wrong_ami_secret_is_refused(asterisk: Sandbox) -> None:
    with pytest.raises(AmiError, match="Authentication failed"):
        await AmiClient.connect(username=IVR_USER, secret="not-the-secret")


async def test_agent_sim_answers_unless_told_not_to(ami: AmiClient) -> None:
    """[agent-sim]: an agent answers after AGENT_ANSWER_DELAY; GLOBAL(AGENT_<n>_NOANSWER)=1
    makes that one ring without answering (here: until Originate's 3 s timeout)."""
    await ami.set_global("AGENT_9001_NOANSWER", "1")
    try:
        for agent in ("9001", "9002"):
            await ami.action(
                "Originate",
                Channel=f"Local/{agent}@agent-sim/n",
                Application="Wait",
                Data="1",
                Async="true",
                Timeout="3000",
            )
        await ami.recorder.wait_for(lambda e: e.UserEvent == "AgentAnswered" and e.Agent == "9002", timeout=5)
        refused = await ami.recorder.wait_for(
            lambda e: e.Event == "OriginateResponse" and "9001@agent-sim" in (e.Channel or ""),
            timeout=8,
        )
        assert refused.Response == "Failure"
        assert not ami.recorder.find(lambda e: e.UserEvent == "AgentAnswered" and e.Agent == "9001")
    finally:
        await ami.set_global("AGENT_9001_NOANSWER", "")
