"""A queued callback's turn on the agents' desktop, against the real `ivr run` and the real Asterisk:
the caller asks for a callback in kc-social and hangs up; when the stand-in that keeps their place rings
an agent, the agent's screen pop says it is a callback (with its id) and carries what the caller chose
in the menu, not a citizen on the line; when the agent answers and the city dials the citizen, the pop
is `answered`. The citizen calls over SIP (the `citizens` fixture; keys on the test's cue) and the city's
call back goes out through the trunk; the caller ahead of them is a Local channel put straight into the
queue (a queue filler); agents' phones are [agent-sim] stand-ins with a talk time per call."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness.ami import AmiClient
from harness.citizens import Citizens
from harness.daemon import REPO, DaemonProcess
from harness.desk import log_everyone_out, set_password, until_members
from harness.faults import QUICK_KEYS, QUICK_PLAN
from test_desktop_calls_live import PASSWORD, SIM, Agent, no_stand_ins  # noqa: F401 (fixture)

from ivr.testing.mosquitto import free_port

pytestmark = pytest.mark.real_daemon

CITIZEN = "+46701117799"
STANDIN = re.compile(r"^Local/cb(\d+)@ivr-callback-hold-")
AGENTS = ("bilal.haddad", "farah.ali")  # both serve social


def quick_config(folder: Path) -> Path:
    """The shipped agents and rules, social offering a callback as soon as anyone waits, and the short
    plan of the reliability tests (a beep, then 3 = social)."""
    shutil.copytree(REPO / "agents", folder / "agents")
    shutil.copy(REPO / "routing_rules.yaml", folder / "routing_rules.yaml")
    groups = folder / "agents" / "groups.yaml"
    text = groups.read_text(encoding="utf-8")
    start = text.index("callback: {when_waiting: 2}", text.index("  social:"))
    groups.write_text(text[:start] + "callback: {when_waiting: 0}" + text[start + 27:], encoding="utf-8")
    (folder / "dialplans").mkdir()
    (folder / "dialplans" / "quick.yaml").write_text(QUICK_PLAN, encoding="utf-8")
    return folder


@pytest.fixture
async def desk(ami: AmiClient, tmp_path: Path) -> AsyncIterator[tuple[DaemonProcess, dict[
        str, Agent]]]:
    await log_everyone_out(ami)
    port = free_port()
    daemon = DaemonProcess(state_dir=tmp_path / "daemon", config_paths=[str(quick_config(tmp_path / "config"))],
                           env={"IVR_WALLBOARD_PORT": str(port), "IVR_AGENT_INTERFACE": SIM,
                                "IVR_CALLBACK_SCAN_S": "1"})
    daemon.state_dir.mkdir(parents=True)
    for user in AGENTS:
        set_password(daemon, user, PASSWORD)
    await daemon.start()
    agents = {user: Agent(f"http://127.0.0.1:{port}", user) for user in AGENTS}
    try:
        for agent in agents.values():
            await agent.sign_in()
        yield daemon, agents
    finally:
        for agent in agents.values():
            await agent.close()
        await daemon.stop()
        await log_everyone_out(ami)


@pytest.mark.usefixtures("no_stand_ins")
async def test_a_callbacks_turn_pops_as_a_callback_with_the_callers_menu(
        desk: tuple[DaemonProcess, dict[str, Agent]], ami: AmiClient, citizens: Citizens) -> None:
    _, agents = desk
    ahead = await ami.originate_caller(context="ivr-queue", exten="s", dtmf="", hold=120, caller_id="+46701117791",
                                       variables={"IVR_QUEUE": "kc-social", "__AGENT_TALK": "20"})
    await ahead.wait_event(15, Event="QueueCallerJoin", Queue="kc-social")
    citizen = await citizens.call(dtmf=QUICK_KEYS["kc-social"], then=["1", "1"], hold=60, caller_id=CITIZEN)
    await citizen.wait_event(20, Event="Newexten", AppData="ivr/sv/callback-offer")
    await asyncio.sleep(1)
    await citizen.press()  # 1: "call me back", while the offer plays
    await citizen.wait_for(lambda e: e.Event == "AGIExecStart" and "callback-your-number" in (e.Command or ""),
                           15, what="the number read back")
    await citizen.press()  # 1: "yes, this number"
    await citizen.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_RESULT" and e.Value == "callback",
                           20, what="the callback booked")
    await citizen.wait_hangup(15)
    standin = await ami.recorder.wait_for(
        lambda e: e.Event == "QueueCallerJoin" and bool(STANDIN.match(e.Channel or "")), 15, what="the stand-in")
    callback_id = int(STANDIN.match(standin.Channel or "")[1])  # type: ignore[index]
    # Two agents log in: one takes the caller ahead, the other the callback's turn.
    for user, agent in agents.items():
        status, body = await agent.post("/api/v1/agent/login", {"device": "desk"})
        assert status == 200, body
        await until_members(ami, user, bool, what="logged in")
    taken = await ami.recorder.wait_for(lambda e: e.Event == "AgentCalled" and e.Uniqueid == standin.Uniqueid,
                                        30, what="an agent rung for the stand-in")
    agent = agents[str(taken.MemberName)]
    pop = await agent.pop(lambda p: p["uniqueid"] == standin.Uniqueid, what="for the callback")
    assert (pop["kind"], pop["callback_id"], pop["queue"], pop["group"]) == ("callback", callback_id, "kc-social",
                                                                            "social")
    assert pop["path"] == ["hello", "menu", "queue_social"] and pop["language"] == "sv"
    assert CITIZEN[3:] not in json.dumps(pop)
    answered = await agent.pop(lambda p: p["uniqueid"] == standin.Uniqueid and p["state"] == "answered",
                               what="answered once the city dials the citizen")
    assert answered["kind"] == "callback" and answered["wrapup"]["required"] is True
    other = agents[next(user for user in AGENTS if user != taken.MemberName)]
    status, current = await other.get("/api/v1/agent/call")
    assert status == 204 or current["uniqueid"] != standin.Uniqueid
    await ahead.hangup()
