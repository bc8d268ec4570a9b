"""SIGTERM and SIGHUP on the real daemon with calls running, on the real Asterisk.

SIGTERM: the daemon stops listening at once (a new call takes the dialplan's fallback), lets calls
in the menu finish for IVR_STOP_GRACE_S, then hands the rest to the fallback; every caller ends up
in a queue and the daemon exits 0 with its records written.
SIGHUP: a broken config is refused with file:line in the log and the last good one stays; a good
one is taken by new calls while a call already in the menu finishes on the version it started with.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from harness.ami import AmiClient, SimCall
from harness.citizens import Citizens
from harness.daemon import OPEN_HOURS, DaemonProcess
from harness.faults import QUICK_KEYS, call_records, eventually, quick_config

pytestmark = pytest.mark.real_daemon

GRACE_S = 5


async def reached_menu(call: SimCall) -> None:
    await call.wait_for(lambda e: e.Event == "AGIExecStart" and "silence/10" in (e.Command or ""), 15,
                        what="the menu prompt")


def mentions(daemon: DaemonProcess, uniqueid: str) -> bool:
    return uniqueid in daemon.log_text()


async def test_sigterm_drains_then_hands_over_and_refuses_new_calls(
        citizens: Citizens, ami: AmiClient, tmp_path: Path) -> None:
    daemon = DaemonProcess(test_clock=OPEN_HOURS,
                           state_dir=tmp_path / "daemon", config_paths=quick_config(tmp_path / "config"),
                           env={"IVR_STOP_GRACE_S": str(GRACE_S)})
    await daemon.start()
    try:
        lingering = await citizens.call(dtmf="", hold=60)  # never presses: outlives the grace
        deciding = await citizens.call(dtmf="www" + QUICK_KEYS["kc-school"], hold=60)  # ~2 s into the menu
        await asyncio.gather(reached_menu(lingering), reached_menu(deciding))
        daemon.signal(signal.SIGTERM)
        await eventually(lambda: "stopping: no new sessions; waiting for running ones" in daemon.log_text(), 5,
                         "the daemon started draining")
        late = await citizens.call(dtmf="", hold=60)
        joins = await asyncio.gather(*(c.wait_event(25, Event="QueueCallerJoin") for c in
                                       (lingering, deciding, late)))
        assert daemon.proc is not None
        code = await eventually(lambda: daemon.proc.poll() is not None and (daemon.proc.returncode,), GRACE_S + 10,
                                "the daemon exited")
    finally:
        await daemon.stop()
    assert code == (0,)
    assert [j.Queue for j in joins] == ["kc-general", "kc-school", "kc-general"]
    # The deciding caller finished the menu normally within the grace; the others took the fallback.
    assert (await deciding.wait_event(1, Event="VarSet", Variable="IVR_RESULT")).Value == "queue"
    for call, join in ((lingering, joins[0]), (late, joins[2])):
        assert call.first(lambda e: e.Event == "Newexten" and e.Context == "ivr-fallback")
        hangup = call.first(lambda e, uniqueid=call.uniqueid: e.Event == "Hangup" and e.Uniqueid == uniqueid)
        assert hangup is None or hangup.index > join.index  # in the queue before anything ended the call
    assert (await late.wait_event(1, Event="VarSet", Variable="AGISTATUS")).Value == "FAILURE"
    assert not mentions(daemon, late.uniqueid)  # never accepted
    assert any(line.get("event") == "agi.sessions_cancelled" for line in daemon.log_lines())
    assert "Traceback" not in daemon.log_text()  # handing over is the plan, not an error
    records = call_records(f"sqlite:///{daemon.state_dir / 'ivr.db'}")
    assert records[deciding.uniqueid]["menu_outcome"] == "queue"
    assert records[lingering.uniqueid]["path"] == '["hello", "menu"]'


async def test_sighup_keeps_the_last_good_config_and_running_calls_keep_theirs(
        citizens: Citizens, ami: AmiClient, tmp_path: Path) -> None:
    paths = quick_config(tmp_path / "config")
    plan = tmp_path / "config" / "dialplans" / "quick.yaml"
    good = plan.read_text()
    daemon = DaemonProcess(test_clock=OPEN_HOURS, state_dir=tmp_path / "daemon", config_paths=paths)
    await daemon.start()
    try:
        started = [line for line in daemon.log_lines() if line.get("event") == "daemon started"][-1]
        version = started["config_version"]

        line = good.splitlines().index("  hello: {kind: play, prompt: beep, next: menu}") + 1
        plan.write_text(good.replace("  hello: {kind", "\thello: {kind"))  # YAML allows no tab there
        mark = daemon.log_path.stat().st_size
        daemon.signal(signal.SIGHUP)
        refused = await eventually(lambda: [line for line in daemon.log_lines(since=mark)
                                            if line.get("event") == "reload refused; keeping the last good config"],
                                   5, "the broken config refused")
        assert any(problem.startswith(f"{plan}:{line}:") and "tab" in problem
                   for problem in refused[0]["problems"]), refused[0]["problems"]
        plan.write_text("plan: " + "[" * 50_000 + "]" * 50_000)  # nested deeper than the parser can go
        mark = daemon.log_path.stat().st_size
        daemon.signal(signal.SIGHUP)
        kept = await eventually(lambda: [line for line in daemon.log_lines(since=mark)
                                         if "keeping the last good config" in str(line.get("event"))],
                                30, "the hostile config refused")  # seconds of CPU to refuse it
        assert kept[0]["version"] == version

        before = await citizens.call(dtmf="wwwwwwww" + QUICK_KEYS["kc-general"], hold=30)
        await reached_menu(before)
        plan.write_text(good.replace('"1": queue_general', '"1": queue_school'))
        mark = daemon.log_path.stat().st_size
        daemon.signal(signal.SIGHUP)
        reloaded = await eventually(lambda: [line for line in daemon.log_lines(since=mark)
                                             if line.get("event") == "config reloaded"], 5, "the good config")
        assert reloaded[0]["old_version"] == version and reloaded[0]["new_version"] != version
        after = await citizens.call(dtmf=QUICK_KEYS["kc-general"], hold=30)
        joined_before, joined_after = await asyncio.gather(before.wait_event(20, Event="QueueCallerJoin"),
                                                           after.wait_event(20, Event="QueueCallerJoin"))
    finally:
        await daemon.stop()
    assert (joined_before.Queue, joined_after.Queue) == ("kc-general", "kc-school")
    versions = {c.uniqueid: (await c.wait_event(1, Event="VarSet", Variable="IVR_CONFIG_VERSION")).Value
                for c in (before, after)}
    assert versions == {before.uniqueid: version, after.uniqueid: reloaded[0]["new_version"]}
    assert daemon.proc is not None and daemon.proc.returncode == 0
