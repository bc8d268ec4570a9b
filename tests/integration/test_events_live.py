"""The real daemon on the real Asterisk (this run's sandbox instance): scripted calls give the
expected product events, in order, on the MQTT broker, the expected call records, and the queued
call on the wallboard in a headless Chromium. Citizens call over SIP through the operator's trunk
(IVR_TEST_CITIZENS=local: Local channels).

A queued callback ("ring upp mig", issue #3's service) ends the call as `callback`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from harness.ami import IVR_DEV_SECRET, IVR_USER, AmiClient
from harness.citizens import Citizens
from harness.ports import AGI_PORT, AMI_PORT

from ivr.daemon import Daemon
from ivr.events import names
from ivr.records import store
from ivr.settings import Settings
from ivr.store.db import open_database
from ivr.testing.mosquitto import free_port, unique_site
from ivr.wallboard.browser import chromium

pytestmark = pytest.mark.in_process_daemon

REPO = Path(__file__).resolve().parents[2]
CALLER = "+46701234567"
OPEN_DAY = {"IVR_TEST_NOW": "2026-12-22T10:00"}
WAIT = 60.0
# Keys pressed again and again: whichever menu is listening gets the key (1 → sv, school;
# 2 → en, social services, elder care), whatever the length of the prompts before it.
SCHOOL_KEYS = "1ww" * 12
ELDER_CARE_KEYS = "2ww" * 12



@dataclass
class BusEvent:
    uniqueid: str
    event: str
    body: dict[str, Any]


class Bus:
    """Everything published under ivr/<site>/calls/#, in arrival order."""

    def __init__(self, site: str) -> None:
        self.site = site
        self.events: list[BusEvent] = []
        self.raw: list[bytes] = []
        self._changed = asyncio.Event()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        async with aiomqtt.Client("127.0.0.1", 1883) as client:
            await client.subscribe(f"ivr/{self.site}/calls/#", qos=1)
            self._ready.set()
            async for message in client.messages:
                payload = bytes(message.payload)  # type: ignore[arg-type]
                body = json.loads(payload)
                self.raw.append(payload)
                self.events.append(BusEvent(body["uniqueid"], body["event"], body))
                self._changed.set()

    def of(self, uniqueid: str) -> list[str]:
        return [e.event for e in self.events if e.uniqueid == uniqueid]

    async def wait(self, uniqueid: str, event: str, timeout: float = WAIT) -> BusEvent:
        async def seen() -> BusEvent:
            while True:
                for e in self.events:
                    if e.uniqueid == uniqueid and e.event == event:
                        return e
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(seen(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {event} for {uniqueid} on the bus; saw {self.of(uniqueid)}") from None


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    site = unique_site("it")
    settings = Settings(config_paths=[str(REPO)], agi_port=AGI_PORT, ami_port=AMI_PORT, ami_user=IVR_USER,
                        ami_secret=os.environ.get("IVR_AMI_SECRET", IVR_DEV_SECRET), state_dir=tmp_path,
                        allow_test_clock=True, mqtt_host="127.0.0.1", mqtt_port=1883, mqtt_site=site,
                        wallboard_port=free_port(), db_url="", queue_snapshot_s=2)
    running = Daemon(settings)
    try:
        await running.start()  # inside the try: a start that fails half-way still frees the ports
        await asyncio.wait_for(running.bridge.synced.wait(), 30)
        yield running
    finally:
        await running.stop(grace=2)
        async with aiomqtt.Client("127.0.0.1", 1883) as client:  # leave nothing retained on the shared broker
            for name in running.bridge.view.queues:
                await client.publish(f"ivr/{site}/queues/{name}", b"", qos=1, retain=True)
            for agent in running.bridge.view.agents():
                await client.publish(f"ivr/{site}/agents/{agent}", b"", qos=1, retain=True)
            await client.publish(f"ivr/{site}/daemon/status", b"", qos=1, retain=True)


@pytest.fixture
async def bus(daemon: Daemon) -> AsyncIterator[Bus]:
    running = Bus(daemon.settings.mqtt_site)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def social_agents_away(ami: AmiClient) -> AsyncIterator[None]:
    """kc-social's agents ring without answering, so its callers wait (and can abandon)."""
    for agent in ("3001", "3002"):
        await ami.set_global(f"AGENT_{agent}_NOANSWER", "1")
    yield
    for agent in ("3001", "3002"):
        await ami.set_global(f"AGENT_{agent}_NOANSWER", "")


def in_order(seen: list[str], expected: list[str]) -> bool:
    """`expected` appears in `seen` as a subsequence."""
    it = iter(seen)
    return all(any(s == e for s in it) for e in expected)


async def test_calls_on_the_bus_in_records_and_on_the_wallboard(
        daemon: Daemon, bus: Bus, citizens: Citizens, social_agents_away: None, tmp_path: Path) -> None:
    answered = await citizens.call(dtmf=SCHOOL_KEYS, hold=40, variables={**OPEN_DAY, "__AGENT_TALK": "2"})
    waiting = await citizens.call(dtmf=ELDER_CARE_KEYS, hold=120, variables=OPEN_DAY)
    closed = await citizens.call(dtmf="", hold=30, variables={"IVR_TEST_NOW": "2026-12-24T10:00"})
    hung_up = await citizens.call(dtmf="", first_wait=0.5, hold=1, variables=OPEN_DAY)
    calls = {"answered": answered, "waiting": waiting, "closed": closed, "hung_up": hung_up}

    # The waiting caller shows on the wallboard, live, in its queue.
    await bus.wait(waiting.uniqueid, "queued")
    assert daemon.wallboard is not None and daemon.desktop is not None
    # The board is served with the agents' desktop, to people signed in: a supervisor's session here.
    session = await daemon.desktop.store.create_session("lena.strand")
    async with chromium() as browser:
        await browser.call("Network.setCookie", name="ivr_session", value=session,
                           url=f"http://127.0.0.1:{daemon.wallboard.port}/", httpOnly=True, sameSite="Strict")
        await browser.open(f"http://127.0.0.1:{daemon.wallboard.port}/")
        await browser.wait_for(f'[data-queue="kc-social"] [data-uniqueid="{waiting.uniqueid}"]', timeout=20)
        shot = await browser.screenshot()
    (tmp_path / "wallboard.png").write_bytes(shot)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 20_000

    await bus.wait(answered.uniqueid, "call_ended")
    await asyncio.sleep(3)  # a real stretch of waiting in the queue before the caller gives up
    await waiting.hangup()
    for call in calls.values():
        await bus.wait(call.uniqueid, "call_ended")
    await asyncio.wait_for(daemon.records.flushed.wait(), 10)

    assert in_order(bus.of(answered.uniqueid), ["call_started", "ivr_node", "language_chosen", "menu_finished",
                                                "queued", "answered", "call_ended"]), bus.of(answered.uniqueid)
    assert "abandoned" not in bus.of(answered.uniqueid)
    assert in_order(bus.of(waiting.uniqueid), ["call_started", "menu_finished", "queued", "abandoned",
                                               "call_ended"]), bus.of(waiting.uniqueid)
    assert "answered" not in bus.of(waiting.uniqueid)
    assert in_order(bus.of(closed.uniqueid), ["call_started", "menu_finished", "call_ended"])
    assert "queued" not in bus.of(closed.uniqueid) + bus.of(hung_up.uniqueid)
    answer = await bus.wait(answered.uniqueid, "answered")
    assert answer.body["data"]["queue"] == "kc-school"
    assert answer.body["data"]["agent"] in ("Agent 2001", "Agent 2002")

    db = open_database(f"sqlite:///{tmp_path / 'ivr.db'}")
    try:
        records = {r["uniqueid"]: r for r in store.fetch(db, 0, 2**40)}
    finally:
        db.close()
    got = {name: records[call.uniqueid] for name, call in calls.items()}
    a = got["answered"]
    assert (a["outcome"], a["queue"], a["language"], a["department"], a["service"]) == (
        "answered", "kc-school", "sv", "education", "preschool_school")
    assert a["agent"] in ("Agent 2001", "Agent 2002")
    assert 0 <= a["wait_s"] < 20 and a["talk_s"] >= 1 and a["total_s"] > a["talk_s"]
    assert json.loads(a["path"])[-2:] == ["tag_school", "queue_school"]
    w = got["waiting"]
    assert (w["outcome"], w["queue"], w["language"], w["service"]) == ("abandoned", "kc-social", "en", "elder_care")
    assert w["abandoned_after_s"] >= 3 and w["abandoned_position"] == 1
    assert (got["closed"]["outcome"], got["closed"]["reason"]) == ("closed_hours", "closed_holiday")
    assert got["hung_up"]["outcome"] == "menu_hangup"
    assert all(r["ended"] is not None for r in got.values())

    db_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("ivr.db*"))
    for form in ("46701234567", "0701234567", "701234567"):
        assert form.encode() not in db_bytes
        assert all(form.encode() not in payload for payload in bus.raw)


async def test_queued_callback_is_recorded_as_callback(
        daemon: Daemon, bus: Bus, ami: AmiClient, citizens: Citizens, social_agents_away: None,
        tmp_path: Path) -> None:
    """With more than two callers waiting in kc-social the next one is offered a callback; pressing 1
    in the queue and confirming the number with 1 books it and ends the call."""
    try:
        waiting = [await citizens.call(dtmf=ELDER_CARE_KEYS, hold=90, variables=OPEN_DAY,
                                       caller_id=f"+4670111220{i}") for i in range(3)]
        for call in waiting:
            await bus.wait(call.uniqueid, "queued")
        # 2s through the menu (en, social services, elder care), then 1s: leave the queue, confirm.
        asker = await citizens.call(dtmf="2ww" * 10 + "1ww" * 20, hold=60, variables=OPEN_DAY,
                                    caller_id="+46701112209")
        requested = await bus.wait(asker.uniqueid, "callback_requested")
        await bus.wait(asker.uniqueid, "call_ended")
        await asyncio.wait_for(daemon.records.flushed.wait(), 10)
    finally:
        # The stand-in keeping the callback's place is not a simulated caller: end it here.
        await ami.action("Hangup", Channel="/@ivr-callback-hold-/", check=False)
    assert requested.body["data"]["queue"] == "kc-social"
    assert in_order(bus.of(asker.uniqueid), ["call_started", "menu_finished", "queued", "callback_requested",
                                             "call_ended"]), bus.of(asker.uniqueid)
    assert not {"answered", "abandoned"} & set(bus.of(asker.uniqueid))
    db = open_database(f"sqlite:///{tmp_path / 'ivr.db'}")
    try:
        record = {r["uniqueid"]: r for r in store.fetch(db, 0, 2**40)}[asker.uniqueid]
    finally:
        db.close()
    assert (record["outcome"], record["queue"], record["service"]) == ("callback", "kc-social", "elder_care")
    assert record["ended"] is not None


async def test_queue_snapshots_and_agent_states_are_retained(daemon: Daemon, ami: AmiClient) -> None:
    """A dashboard that connects late gets every queue and agent at once from retained messages."""
    site = daemon.settings.mqtt_site
    assert daemon.mqtt is not None
    await daemon.bridge.stop()  # no periodic snapshots now: what arrives below is only what was retained
    # QoS 0 snapshots are "published" once written to the socket, not once the broker has them; a QoS 1
    # message after them, confirmed by the broker, fences them (the broker handles a connection in order).
    fence = daemon.bridge.view.agent_state("Agent 1001", time.time())
    assert fence is not None
    daemon.mqtt.emit(names.AGENT_STATE, None, **fence)
    await asyncio.wait_for(daemon.mqtt.idle.wait(), 10)
    seen: dict[str, dict[str, Any]] = {}
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        await client.subscribe(f"ivr/{site}/queues/+", qos=1)
        await client.subscribe(f"ivr/{site}/agents/+", qos=1)

        async def collect() -> None:
            async for message in client.messages:
                assert message.retain, message.topic
                seen[str(message.topic)] = json.loads(bytes(message.payload))  # type: ignore[arg-type]
                if len([t for t in seen if "/queues/" in t]) >= 5 and len([t for t in seen if "/agents/" in t]) >= 11:
                    return

        await asyncio.wait_for(collect(), 20)
    school = seen[f"ivr/{site}/queues/kc-school"]
    assert school["event"] == "queue_snapshot" and school["data"]["agents"]["available"] == 2
    assert seen[f"ivr/{site}/agents/Agent 2001"]["data"]["queues"] == ["kc-school"]


async def test_ami_reconnect_rebuilds_the_queue_view(
        daemon: Daemon, citizens: Citizens, bus: Bus, social_agents_away: None) -> None:
    """After the AMI link drops and comes back, the view is rebuilt from QueueStatus: a caller the
    view had lost (as if its QueueCallerJoin had been missed) is back, and its hang-up is reported."""
    call = await citizens.call(dtmf=ELDER_CARE_KEYS, hold=90, variables=OPEN_DAY)
    await bus.wait(call.uniqueid, "queued")
    daemon.bridge.view.queue("kc-social").callers.clear()
    before = daemon.bridge.resyncs
    protocol = daemon.ami._protocol
    assert protocol is not None
    protocol.abort()  # the TCP connection drops under the daemon
    await asyncio.wait_for(_resynced_after(daemon, before), 30)
    snapshot = daemon.bridge.view.snapshot("kc-social", time.time())
    assert [c["uniqueid"] for c in snapshot["callers"]] == [call.uniqueid]
    await call.hangup()
    ended = await bus.wait(call.uniqueid, "call_ended")
    assert ended.body["data"]["duration_s"] > 0


async def _resynced_after(daemon: Daemon, count: int) -> None:
    while daemon.bridge.resyncs <= count:
        daemon.bridge.synced.clear()
        await daemon.bridge.synced.wait()
