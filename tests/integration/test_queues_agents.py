"""Queues and agents on the real Asterisk with the real daemon (in this process, to look inside):
login, pause and logout from the command line as Asterisk and `ivr queues` see them, a caller who
chose Arabic reaching the agent with Arabic first, overflow to the next group after the configured
time, agent state after an AMI reconnect, and a queue reload with a caller waiting.

Agents are dynamic members whose "phone" is a Local channel into [agent-sim] (Local/9<ext>@…, so
they never clash with the sandbox's static stand-ins Local/<ext>@…); they answer after a second
unless GLOBAL(AGENT_9<ext>_NOANSWER)=1 (test_agent_phones_sip.py has a real SIP phone as a member).
Citizens who go through the menu call over SIP (IVR_TEST_CITIZENS=local: Local channels); callers
put straight into a queue ([ivr-queue]) are Local channels (tests/integration/README.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from harness.ami import IVR_DEV_SECRET, IVR_USER, AmiClient
from harness.citizens import Citizens
from harness.ports import AGI_PORT, AMI_PORT
from harness.sandbox import Sandbox

from ivr.agents.control import AgentControl
from ivr.ami.reply import AmiReply
from ivr.daemon import Daemon
from ivr.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SIM = "Local/9{extension}@agent-sim/n"
OPEN_DAY = {"IVR_TEST_NOW": "2026-12-22T10:00"}
SECRET = os.environ.get("IVR_AMI_SECRET", IVR_DEV_SECRET)
# `ivr asterisk reload` logs in as [ivr-admin] (the daemon's login has no `system` class).
ADMIN_SECRET = os.environ.get("IVR_AMI_ADMIN_SECRET", "ivr-admin-dev-secret")
AGENTS = ("anna.andersson", "bilal.haddad", "cecilia.berg", "david.lind", "emina.hodzic", "farah.ali")


def make_config(tmp_path: Path, edits: dict[str, tuple[str, str]]) -> Path:
    """A copy of the shipped config with a few values changed for speed (same queues in Asterisk)."""
    root = tmp_path / "config"
    shutil.copytree(REPO / "dialplans", root / "dialplans")
    shutil.copytree(REPO / "agents", root / "agents")
    shutil.copy(REPO / "routing_rules.yaml", root / "routing_rules.yaml")
    for relative, (old, new) in edits.items():
        path = root / relative
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, old
        path.write_text(text.replace(old, new), encoding="utf-8")
    return root


def settings_for(config: Path, state: Path) -> Settings:
    return Settings(config_paths=[str(config)], agi_port=AGI_PORT, ami_port=AMI_PORT, ami_user=IVR_USER,
                    ami_secret=SECRET, state_dir=state, allow_test_clock=True, mqtt_host="", wallboard_port=0,
                    db_url="", agent_interface=SIM, callback_scan_s=1)


async def until(check: Callable[[], bool | Awaitable[bool]], timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result if isinstance(result, bool) else await result:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


async def started(settings: Settings) -> Daemon:
    daemon = Daemon(settings)
    await daemon.start()
    await until(lambda: daemon.bridge.resyncs > 0, what="the daemon's first QueueStatus")
    return daemon


@pytest.fixture
async def logged_out(ami: AmiClient) -> AsyncIterator[None]:
    """Every test starts and ends with no dynamic agent and no agent told not to answer."""

    async def clean() -> None:
        status = await ami.action_list("QueueStatus")
        for row in status:
            if row.Event == "QueueMember" and (row.Location or "").startswith("Local/9"):
                await ami.action("QueueRemove", Queue=row.Queue, Interface=row.Location, check=False)
        for agent in AGENTS:
            ext = f"9100{AGENTS.index(agent) + 1}"
            await ami.set_global(f"AGENT_{ext}_NOANSWER", "")

    await clean()
    yield
    await clean()


@pytest.fixture
async def daemon(tmp_path: Path, logged_out: None) -> AsyncIterator[Daemon]:
    config = make_config(tmp_path, {
        # Streets overflows after 10 s instead of 300, so a test can watch it happen.
        "agents/groups.yaml": ("overflow: {to: general, after: 300, when_no_agents: true}",
                               "overflow: {to: general, after: 10, when_no_agents: true}"),
    })
    running = await started(settings_for(config, tmp_path / "state"))
    try:
        yield running
    finally:
        await running.stop(grace=2)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IVR_AMI_PORT": str(AMI_PORT), "IVR_AMI_USER": IVR_USER, "IVR_AMI_SECRET": SECRET,
           "IVR_AMI_ADMIN_SECRET": ADMIN_SECRET, "IVR_AGENT_INTERFACE": SIM}
    return subprocess.run([sys.executable, "-m", "ivr", *args], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=60, check=False)


def cli_json(*args: str) -> Any:
    done = cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout[done.stdout.index("["):])


async def members(ami: AmiClient, agent: str) -> dict[str, Any]:
    status = await ami.action_list("QueueStatus")
    return {row.Queue: row for row in status if row.Event == "QueueMember" and row.Name == agent}


@pytest.mark.asterisk_only
async def test_login_pause_logout_from_the_command_line(ami: AmiClient, logged_out: None) -> None:
    done = cli("agents", "login", "farah.ali")
    assert done.returncode == 0, done.stderr
    joined = await members(ami, "farah.ali")
    assert sorted(joined) == ["kc-school", "kc-school-ar", "kc-social", "kc-social-ar", "kc-social-en"]
    assert joined["kc-social-ar"].Penalty == "0" and joined["kc-social-en"].Penalty == "20"  # Arabic, no English
    assert joined["kc-school"].StateInterface == "Local/91006@agent-sim/n"

    since = ami.recorder.mark()
    assert cli("agents", "pause", "farah.ali", "--reason", "lunch").returncode == 0
    paused = await ami.recorder.wait_for(lambda e: e.Event == "QueueMemberPause" and e.MemberName == "farah.ali",
                                         since=since, timeout=5)
    assert (paused.Paused, paused.PausedReason) == ("1", "lunch")
    agents = {row["agent"]: row for row in cli_json("agents", "list")}
    assert (agents["farah.ali"]["state"], agents["farah.ali"]["reason"]) == ("paused", "lunch")
    assert agents["anna.andersson"]["state"] == "logged_out"
    queues = {row["queue"]: row for row in cli_json("queues")}
    assert queues["kc-school-ar"]["agents"]["paused"] == 1
    assert queues["kc-school-ar"]["members"] == [{"agent": "farah.ali", "state": "paused"}]

    assert cli("agents", "unpause", "farah.ali").returncode == 0
    queues = {row["queue"]: row for row in cli_json("queues")}
    assert queues["kc-school-ar"]["agents"]["available"] == 1
    text = cli("queues").stdout
    assert "kc-school-ar" in text and "1 available" in text

    assert cli("agents", "logout", "farah.ali").returncode == 0
    assert await members(ami, "farah.ali") == {}
    agents = {row["agent"]: row for row in cli_json("agents", "list")}
    assert agents["farah.ali"]["state"] == "logged_out"


@pytest.mark.in_process_daemon
async def test_arabic_caller_reaches_the_agent_with_arabic_first(ami: AmiClient, citizens: Citizens,
                                                                 daemon: Daemon) -> None:
    config = daemon.app.config.current
    control = AgentControl(daemon.ami, SIM)
    await control.login(config, "cecilia.berg")  # social, Swedish only
    await control.login(config, "bilal.haddad")  # social, Arabic
    await until(lambda: (daemon.app.queues.load("kc-social-ar").skilled_present or 0) >= 1,
                what="the daemon sees Bilal in kc-social-ar")
    # Arabic (3), social services (2), individual and family care (1).
    call = await citizens.call(dtmf="w3wwwwwwww2wwwwwwww1", hold=40, caller_id="+46701113301",
                               variables={**OPEN_DAY, "__AGENT_TALK": "2"})
    join = await call.wait_event(90, Event="QueueCallerJoin")
    assert join.Queue == "kc-social-ar" and join.Language == "ar"
    limits = call.events(lambda e: e.Event == "VarSet" and e.Variable == "QUEUE_MAX_PENALTY" and e.index < join.index)
    assert limits[-1].Value == "19"  # agents with the skill only, until the rule widens it
    connect = await call.wait_event(30, Event="AgentConnect")
    assert connect.MemberName == "bilal.haddad" and connect.Interface == "Local/91002@agent-sim/n"
    rung = [e.MemberName for e in call.events(lambda e: e.Event == "AgentCalled")]
    assert rung == ["bilal.haddad"]  # Cecilia, without Arabic, was never rung

    # Bilal is now in wrap-up (the group's 30 s). A second Arabic caller waits for him: Cecilia is free
    # but is not rung until the skill queue's rule widens (after 45 s) - penalties, not luck.
    second = await ami.originate_caller(context="ivr-queue", exten="s", dtmf="", hold=60, caller_id="+46701113303",
                                        variables={"IVR_QUEUE": "kc-social-ar", "IVR_LANG": "ar",
                                                   "IVR_MAX_PENALTY": "19"})  # as the daemon sets it
    await second.wait_event(15, Event="QueueCallerJoin", Queue="kc-social-ar")
    await asyncio.sleep(8)
    assert not second.events(lambda e: e.Event == "AgentCalled")
    state = await members(ami, "cecilia.berg")
    assert state["kc-social-ar"].Status == "1" and state["kc-social-ar"].Paused == "0"  # free, not rung
    await second.hangup()


@pytest.mark.in_process_daemon
async def test_waiting_caller_overflows_to_the_next_group_after_the_configured_time(
        citizens: Citizens, daemon: Daemon) -> None:
    # English (2), streets and parks (4); nobody answers in time (the stand-ins wait 30 s to answer).
    call = await citizens.call(dtmf="w2wwwwwww4", hold=60, caller_id="+46701113302",
                               variables={**OPEN_DAY, "__AGENT_ANSWER_DELAY": "30"})
    timeout = await call.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_QUEUE_TIMEOUT", 60)
    assert timeout.Value == "10"
    joined = await call.wait_event(60, Event="QueueCallerJoin", Queue="kc-streets")
    left = await call.wait_event(30, Event="QueueCallerLeave", Queue="kc-streets")
    moved = await call.wait_event(30, Event="QueueCallerJoin", Queue="kc-general")
    assert 9.5 <= left.received_at - joined.received_at <= 14
    assert moved.received_at - left.received_at < 10  # after the "you are being moved" message
    assert call.first(lambda e: e.Event == "Newexten" and e.AppData == "ivr/en/queue-overflow")


@pytest.mark.in_process_daemon
async def test_agent_state_is_rebuilt_after_an_ami_reconnect(ami: AmiClient, daemon: Daemon) -> None:
    config = daemon.app.config.current
    control = AgentControl(daemon.ami, SIM)
    await control.login(config, "bilal.haddad")
    await control.pause(config, "bilal.haddad", "meeting")
    view = daemon.bridge.view
    await until(lambda: (daemon.bridge.view.agent_state("bilal.haddad", time.time()) or {}).get("state") == "paused",
                what="the daemon sees Bilal paused")
    before = daemon.bridge.resyncs
    # The link drops under the daemon; while it is down, Bilal's pause ends and Cecilia logs in.
    daemon.ami._protocol.abort()
    await ami.action("QueuePause", Interface="Local/91002@agent-sim/n", Paused="false")
    await AgentControl(AmiPassthrough(ami), SIM).login(config, "cecilia.berg")
    await until(lambda: daemon.bridge.resyncs > before, 30, "a QueueStatus after the reconnect")
    assert daemon.bridge.view is not view or daemon.bridge.resyncs > before
    now = time.time()
    bilal = daemon.bridge.view.agent_state("bilal.haddad", now)
    cecilia = daemon.bridge.view.agent_state("cecilia.berg", now)
    assert bilal is not None and bilal["state"] == "available" and bilal["reason"] == ""
    assert cecilia is not None and "kc-social-ar" in cecilia["queues"]
    # And the router uses it: Bilal is an Arabic speaker present in kc-social-ar again.
    assert daemon.app.queues.load("kc-social-ar").skilled_present == 1


class AmiPassthrough:
    """The test's AMI client with the daemon's `action(fields)` signature and reply (for AgentControl)."""

    def __init__(self, ami: AmiClient) -> None:
        self.ami = ami

    async def action(self, fields: Any, timeout: float | None = None) -> AmiReply:
        fields = dict(fields)
        answer = await self.ami.action(fields.pop("Action"), check=False, **fields)
        return AmiReply(answer.as_dict())


@pytest.mark.asterisk_only
async def test_queue_reload_keeps_waiting_callers_and_logged_in_agents(
        ami: AmiClient, logged_out: None) -> None:
    assert cli("agents", "login", "david.lind").returncode == 0
    await ami.set_global("AGENT_91004_NOANSWER", "1")
    for ext in ("4001", "4002"):
        await ami.action("QueuePause", Interface=f"Local/{ext}@agent-sim/n", Paused="true", Reason="test")
    try:
        await ami.action("Originate", Channel="Local/s@caller-sim/n", Context="ivr-queue", Exten="s", Priority="1",
                         Async="true", ChannelId="reload-caller-1", OtherChannelId="reload-caller-2",
                         Variable=["SIM_HOLD=60", "IVR_QUEUE=kc-building", "IVR_LANG=sv"])
        await ami.recorder.wait_for(lambda e: e.Event == "QueueCallerJoin" and e.Uniqueid == "reload-caller-1", 15)
        since = ami.recorder.mark()
        done = cli("asterisk", "reload")
        assert done.returncode == 0, done.stderr
        assert "queues: reloaded" in done.stdout
        assert "phones: reloaded" in done.stdout and "dialplan (caller-ID table): reloaded" in done.stdout
        await asyncio.sleep(1)
        status = await ami.action_list("QueueStatus", Queue="kc-building")
        assert [row.Uniqueid for row in status if row.Event == "QueueEntry"] == ["reload-caller-1"]
        assert "david.lind" in [row.Name for row in status if row.Event == "QueueMember"]
        assert not ami.recorder.find(lambda e: e.Event in ("QueueCallerLeave", "QueueMemberRemoved"), since)
    finally:
        for ext in ("4001", "4002"):
            await ami.action("QueuePause", Interface=f"Local/{ext}@agent-sim/n", Paused="false")
        await ami.action("Hangup", Channel="reload-caller-1", check=False)


@pytest.mark.asterisk_only
async def test_skill_queue_widens_to_the_whole_group_after_the_rule_time(
        ami: AmiClient, asterisk: Sandbox, logged_out: None) -> None:
    """The generated rule lets agents without the skill ring once its time has passed (here the
    sandbox's copy of skills-45s is shortened to 3 s for the test, then restored)."""
    rules = asterisk.root / "etc" / "asterisk" / "queuerules.conf"
    shipped = rules.read_text()
    assert "penaltychange => 45,99" in shipped
    rules.write_text(shipped.replace("penaltychange => 45,99", "penaltychange => 3,99"))
    try:
        await ami.action("QueueReload", Rules="yes")
        assert cli("agents", "login", "bilal.haddad").returncode == 0
        assert cli("agents", "login", "cecilia.berg").returncode == 0
        assert cli("agents", "pause", "bilal.haddad", "--reason", "meeting").returncode == 0  # the Arabic speaker
        call = await ami.originate_caller(context="ivr-queue", exten="s", dtmf="", hold=30, caller_id="+46701113304",
                                          variables={"IVR_QUEUE": "kc-social-ar", "IVR_LANG": "ar",
                                                     "IVR_MAX_PENALTY": "19", "__AGENT_TALK": "1"})
        joined = await call.wait_event(15, Event="QueueCallerJoin", Queue="kc-social-ar")
        rung = await call.wait_event(15, Event="AgentCalled")
        assert rung.MemberName == "cecilia.berg"
        assert rung.received_at - joined.received_at >= 2.5  # not before the rule widened the penalty
        await call.hangup()
    finally:
        rules.write_text(shipped)
        await ami.action("QueueReload", Rules="yes")
