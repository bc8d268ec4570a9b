"""The daemon killed (SIGKILL) with calls in the menu and in a queue, on the real Asterisk.

Queued callers are Asterisk's and stay; a caller whose FastAGI session breaks mid-menu, and a caller
who arrives while the daemon is dead, take the dialplan's fallback to kc-general. The restarted
daemon re-learns who waits where (QueueStatus at login: its queue snapshots list all three), reports
their hang-ups, and their call records keep what the first run knew.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness.ami import AmiClient, SimCall
from harness.citizens import Citizens
from harness.daemon import DaemonProcess
from harness.faults import QUICK_KEYS, BusCapture, call_records, eventually, quick_config

pytestmark = pytest.mark.real_daemon

AWAY = ("1001", "1002", "1003", "2001", "2002")  # the agents of kc-general and kc-school


@pytest.fixture
async def agents_away(ami: AmiClient) -> AsyncIterator[None]:
    """Callers in kc-general and kc-school wait: their agents ring without answering."""
    for agent in AWAY:
        await ami.set_global(f"AGENT_{agent}_NOANSWER", "1")
    yield
    for agent in AWAY:
        await ami.set_global(f"AGENT_{agent}_NOANSWER", "")




def in_menu(call: SimCall) -> asyncio.Future[object]:
    """Resolves once the daemon plays the menu's prompt to this call."""
    return asyncio.ensure_future(call.wait_for(
        lambda e: e.Event == "AGIExecStart" and "silence/10" in (e.Command or ""), 15, what="menu prompt"))


def waiting_in(snapshots: list[dict[str, object]], queue: str) -> set[str]:
    latest = [s for s in snapshots if s["queue"] == queue]
    return {str(c["uniqueid"]) for c in latest[-1]["callers"]} if latest else set()  # type: ignore[attr-defined]


async def test_sigkill_keeps_every_caller_and_record(
        citizens: Citizens, ami: AmiClient, agents_away: None, bus: BusCapture, tmp_path: Path) -> None:
    daemon = DaemonProcess(state_dir=tmp_path / "daemon", config_paths=quick_config(tmp_path / "config"),
                           env={"IVR_MQTT_HOST": "127.0.0.1", "IVR_MQTT_PORT": str(bus.port),
                                "IVR_QUEUE_SNAPSHOT_S": "1"})
    await daemon.start()
    try:
        queued = await citizens.call(dtmf=QUICK_KEYS["kc-school"], hold=120, caller_id="+46701110001")
        menu = await citizens.call(dtmf="", hold=120, caller_id="+46701110002")
        await queued.wait_event(15, Event="QueueCallerJoin", Queue="kc-school")
        await in_menu(menu)
        await bus.wait_event(queued.uniqueid, "queued", 10)

        daemon.kill()
        killed_at = ami.recorder.mark()
        arriving = await citizens.call(dtmf="", hold=120, caller_id="+46701110003")
        for call in (menu, arriving):
            await call.wait_event(20, since=killed_at, Event="QueueCallerJoin", Queue="kc-general")
        assert (await arriving.wait_event(5, Event="VarSet", Variable="AGISTATUS")).Value == "FAILURE"
        assert not menu.events(lambda e: e.Event == "Hangup" and e.Uniqueid == menu.uniqueid)
        assert not queued.events(lambda e: e.Event in ("QueueCallerLeave", "Hangup") and e.index >= killed_at)
        status = await ami.action_list("QueueStatus", Queue="kc-school")
        assert queued.uniqueid in {e.Uniqueid for e in status if e.Event == "QueueEntry"}

        since = len(bus.messages)
        await daemon.start()
        await eventually(lambda: waiting_in(bus.snapshots(since), "kc-school") == {queued.uniqueid}
                         and waiting_in(bus.snapshots(since), "kc-general") >= {menu.uniqueid, arriving.uniqueid},
                         15, "queue snapshots after the restart list the three callers")
        school = [s for s in bus.snapshots(since) if s["queue"] == "kc-school"][-1]
        assert {m["agent"] for m in school["members"]} == {"Agent 2001", "Agent 2002"}  # the agents, re-learned
        resync = [line for line in daemon.log_lines(since=daemon.log_offset)
                  if line.get("event") == "queues re-synchronised"]
        assert resync and resync[0]["waiting"] >= 3

        for call in (queued, menu, arriving):
            await call.hangup()
        for call in (queued, menu, arriving):
            await bus.wait_event(call.uniqueid, "call_ended", 15)
        records = await eventually(lambda: _ended(call_records(f"sqlite:///{daemon.state_dir / 'ivr.db'}"),
                                                  queued, menu, arriving), 10, "three ended call records")
    finally:
        await daemon.stop()
    q, m, a = records[queued.uniqueid], records[menu.uniqueid], records[arriving.uniqueid]
    # What only the first run knew survives the second run's updates.
    assert (q["plan"], q["queue"], q["menu_outcome"]) == ("quick", "kc-school", "queue")
    assert q["enqueued_at"] is not None and q["started"] < q["enqueued_at"] < q["ended"]
    assert (m["plan"], m["path"]) == ("quick", '["hello", "menu"]')
    assert {q["outcome"], m["outcome"], a["outcome"]} == {"abandoned"}
    assert a["queue"] == m["queue"] == "kc-general"


def _ended(records: dict[str, dict[str, object]], *calls: SimCall) -> dict[str, dict[str, object]] | None:
    if all(c.uniqueid in records and records[c.uniqueid]["ended"] is not None for c in calls):
        return records
    return None
