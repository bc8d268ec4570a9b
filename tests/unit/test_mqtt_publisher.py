"""The MQTT publisher: topic scheme, payloads, QoS/retain, the bounded backlog, and real brokers.

The shared Mosquitto on 127.0.0.1:1883 is only published to (under a site name unique to the test);
the restart and Last Will tests run their own `mosquitto` on a free port and stop it themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import pytest

from ivr.events import names
from ivr.events.mqtt import Backlog, MessageBuilder, MqttConfig, MqttPublisher, OutMessage, topic_segment
from ivr.testing.mosquitto import PrivateBroker, unique_site

REPO = Path(__file__).resolve().parents[2]
CALLER = "+46701234567"
WAIT = 10.0


# --- pure parts --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "segment"),
    [("1700000000.42", "1700000000.42"), ("a/b", "a_b"), ("x+y#z", "x_y_z"), ("nul\x00byte", "nul_byte"),
     ("", "_"), ("$SYS", "_$SYS"), ("line\nbreak", "line_break"), ("Zoë kö", "Zoë kö")],
)
def test_topic_segments_are_sanitised(raw: str, segment: str) -> None:
    assert topic_segment(raw) == segment


def test_topic_segment_is_bounded() -> None:
    assert len(topic_segment("q" * 500)) == 100


def test_topics_qos_and_retain_per_kind() -> None:
    builder = MessageBuilder("malmo", clock=lambda: 1_790_000_000.0)
    call = builder.build(names.QUEUED, None, {"uniqueid": "1790.7/+", "queue": "kc-school", "position": 1})
    snap = builder.build(names.QUEUE_SNAPSHOT, None, {"queue": "kc/#school", "waiting": 2})
    agent = builder.build(names.AGENT_STATE, None, {"agent": "Agent 1001", "state": "paused"})
    other = builder.build("something_else", None, {})
    assert (call.topic, call.qos, call.retain) == ("ivr/malmo/calls/1790.7__/queued", 1, False)
    assert (snap.topic, snap.qos, snap.retain) == ("ivr/malmo/queues/kc__school", 0, True)
    assert (agent.topic, agent.qos, agent.retain) == ("ivr/malmo/agents/Agent 1001", 1, True)
    assert (other.topic, other.qos, other.retain) == ("ivr/malmo/events/something_else", 1, False)
    status = builder.status("online")
    assert (status.topic, status.qos, status.retain) == ("ivr/malmo/daemon/status", 1, True)


def test_payload_envelope_and_no_number() -> None:
    builder = MessageBuilder("malmo", clock=lambda: 1_790_000_000.25)
    message = builder.build(names.CALL_STARTED, None, {
        "uniqueid": "1790.1", "plan": "main", "caller_ref": "ab12cd34ef56", "callerid": CALLER,
        "CallerIDNum": CALLER, "number": CALLER,
    })
    body = json.loads(message.payload)
    assert body == {"schema": 1, "event": "call_started", "ts": "2026-09-21T14:13:20.250Z", "site": "malmo",
                    "uniqueid": "1790.1", "data": {"plan": "main", "caller_ref": "ab12cd34ef56"}}
    assert CALLER.encode() not in message.payload


def msg(name: str, qos: int) -> OutMessage:
    return OutMessage(name, b"", qos, qos == 0)


def test_full_backlog_drops_oldest_snapshots_first() -> None:
    backlog = Backlog(4)
    for item in (msg("c1", 1), msg("s1", 0), msg("c2", 1), msg("s2", 0), msg("c3", 1), msg("c4", 1)):
        backlog.append(item)
    assert [backlog.pop().topic for _ in range(len(backlog))] == ["c1", "c2", "c3", "c4"]
    assert (backlog.dropped, backlog.dropped_snapshots) == (2, 2)


def test_full_backlog_without_snapshots_drops_the_oldest() -> None:
    backlog = Backlog(2)
    for name in ("c1", "c2", "c3"):
        backlog.append(msg(name, 1))
    assert [backlog.pop().topic for _ in range(len(backlog))] == ["c2", "c3"]
    assert (backlog.dropped, backlog.dropped_snapshots) == (1, 0)


def test_emit_never_blocks_without_a_broker() -> None:
    publisher = MqttPublisher(MqttConfig(host="127.0.0.1", port=1, backlog=3))
    for i in range(10):
        publisher.emit(names.QUEUED, None, uniqueid=f"u{i}", queue="q", position=1)
    assert len(publisher.backlog) == 3
    assert publisher.dropped == 7


# --- real brokers ------------------------------------------------------------------------------

@dataclass
class Received:
    topic: str
    body: dict[str, object]
    qos: int
    retain: bool


class Collector:
    """A subscriber on `ivr/<site>/#` that keeps what it receives, in order."""

    def __init__(self, port: int, site: str, *, persistent: bool = False) -> None:
        self.port = port
        self.site = site
        self.persistent = persistent
        self.identifier = f"test-sub-{uuid.uuid4().hex[:8]}"
        self.messages: list[Received] = []
        self.ready = asyncio.Event()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.ready.clear()
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.ready.wait(), WAIT)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._task

    async def _run(self) -> None:
        async with aiomqtt.Client("127.0.0.1", self.port, identifier=self.identifier,
                                  clean_session=not self.persistent) as client:
            await client.subscribe(f"ivr/{self.site}/#", qos=1)
            self.ready.set()
            async for message in client.messages:
                payload = message.payload
                assert isinstance(payload, bytes)
                self.messages.append(Received(str(message.topic), json.loads(payload), message.qos,
                                              message.retain))
                self._changed.set()

    async def wait_for(self, count: int, *, where: str = "") -> list[Received]:
        async def enough() -> None:
            while len(self.matching(where)) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(enough(), WAIT)
        return self.matching(where)

    def matching(self, where: str) -> list[Received]:
        return [m for m in self.messages if where in m.topic]


def private_broker(folder: Path) -> PrivateBroker:
    # QoS 0 messages are queued for a persistent subscriber too, so a restart test sees every snapshot.
    return PrivateBroker(folder, options=["queue_qos0_messages true"])


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    running = private_broker(tmp_path)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def site() -> AsyncIterator[str]:
    name = unique_site()
    yield name
    await clear_retained(name)


@pytest.fixture
async def shared_collector(site: str) -> AsyncIterator[Collector]:
    collector = Collector(1883, site)
    await collector.start()
    yield collector
    await collector.stop()


async def test_events_reach_the_shared_broker_in_order(site: str, shared_collector: Collector) -> None:
    publisher = MqttPublisher(MqttConfig(host="127.0.0.1", port=1883, site=site))
    await publisher.start()
    try:
        publisher.emit(names.CALL_STARTED, None, uniqueid="1790.5", plan="main", caller_ref="r1", caller=CALLER)
        for position in (3, 2, 1):
            publisher.emit(names.POSITION_CHANGED, None, uniqueid="1790.5", queue="kc-school", position=position)
        publisher.emit(names.QUEUE_SNAPSHOT, None, queue="kc-school", waiting=1, longest_wait_s=12)
        publisher.emit(names.AGENT_STATE, None, agent="Agent 2001", state="busy", queues=["kc-school"])
        got = await shared_collector.wait_for(7)
    finally:
        await publisher.stop()
    status = await shared_collector.wait_for(2, where="/daemon/status")
    assert [json.loads(json.dumps(m.body))["data"]["state"] for m in status] == ["online", "offline"]
    flow = [m for m in got if "/daemon/" not in m.topic]
    assert [m.topic for m in flow] == [
        f"ivr/{site}/calls/1790.5/call_started",
        *[f"ivr/{site}/calls/1790.5/position_changed"] * 3,
        f"ivr/{site}/queues/kc-school",
        f"ivr/{site}/agents/Agent 2001",
    ]
    assert [m.body["data"].get("position") for m in flow[1:4]] == [3, 2, 1]  # type: ignore[union-attr]
    assert [m.qos for m in flow] == [1, 1, 1, 1, 0, 1]
    for m in flow:
        assert set(m.body) >= {"schema", "event", "ts", "site", "data"}
        assert m.body["schema"] == 1 and m.body["site"] == site
        assert str(m.body["ts"]).endswith("Z")
    assert all(CALLER not in json.dumps(m.body) for m in got)


async def test_snapshots_and_agent_states_are_retained(site: str) -> None:
    publisher = MqttPublisher(MqttConfig(host="127.0.0.1", port=1883, site=site))
    await publisher.start()
    try:
        publisher.emit(names.QUEUE_SNAPSHOT, None, queue="kc-general", waiting=4)
        publisher.emit(names.AGENT_STATE, None, agent="Agent 1001", state="available")
        publisher.emit(names.QUEUED, None, uniqueid="1790.9", queue="kc-general", position=4)
        await asyncio.wait_for(publisher.idle.wait(), WAIT)
        late = Collector(1883, site)  # subscribes after the fact: gets only the retained messages
        await late.start()
        try:
            got = await late.wait_for(3)
        finally:
            await late.stop()
    finally:
        await publisher.stop()
    by_topic = {m.topic: m for m in got}
    assert set(by_topic) == {f"ivr/{site}/queues/kc-general", f"ivr/{site}/agents/Agent 1001",
                             f"ivr/{site}/daemon/status"}
    assert all(m.retain for m in got)
    assert by_topic[f"ivr/{site}/queues/kc-general"].body["data"] == {"queue": "kc-general", "waiting": 4}


async def clear_retained(site: str) -> None:
    """Leave nothing retained on the shared broker (an empty retained payload deletes it)."""
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        for topic in ("queues/kc-general", "agents/Agent 1001", "agents/Agent 2001", "queues/kc-school",
                      "daemon/status"):
            await client.publish(f"ivr/{site}/{topic}", b"", qos=1, retain=True)


async def test_broker_restart_delivers_the_backlog_in_order(broker: PrivateBroker, site: str) -> None:
    collector = Collector(broker.port, site, persistent=True)
    await collector.start()
    publisher = MqttPublisher(MqttConfig(host="127.0.0.1", port=broker.port, site=site, backlog=6,
                                         reconnect_backoff=(0.1, 0.5)))
    await publisher.start()
    try:
        publisher.emit(names.QUEUED, None, uniqueid="u1", queue="kc-school", position=1)
        await collector.wait_for(1, where="/calls/")
        await collector.stop()
        before = len(collector.messages)
        broker.stop()
        await asyncio.wait_for(publisher.disconnected.wait(), WAIT)
        # While the broker is away: 3 call events and 5 snapshots into a backlog of 6.
        publisher.emit(names.QUEUE_SNAPSHOT, None, queue="kc-school", waiting=1, n=1)
        publisher.emit(names.ANSWERED, None, uniqueid="u1", queue="kc-school", agent="Agent 2001", wait_s=4)
        publisher.emit(names.QUEUE_SNAPSHOT, None, queue="kc-school", waiting=0, n=2)
        publisher.emit(names.QUEUE_SNAPSHOT, None, queue="kc-school", waiting=0, n=3)
        publisher.emit(names.QUEUE_SNAPSHOT, None, queue="kc-school", waiting=0, n=4)
        publisher.emit(names.QUEUED, None, uniqueid="u2", queue="kc-school", position=1)
        publisher.emit(names.QUEUE_SNAPSHOT, None, queue="kc-school", waiting=1, n=5)
        publisher.emit(names.CALL_ENDED, None, uniqueid="u1", duration_s=60)
        assert (publisher.dropped, publisher.backlog.dropped_snapshots) == (2, 2)
        broker.start()
        await collector.start()  # same client id, persistent session: queued messages come in order
        await collector.wait_for(before + 7)
        await asyncio.wait_for(publisher.idle.wait(), WAIT)
    finally:
        await publisher.stop()
        await collector.stop()
    after = [(m.body["event"], m.body["data"].get("n"))  # type: ignore[union-attr]
             for m in collector.messages[before:] if "/daemon/" not in m.topic]
    assert after == [("answered", None), ("queue_snapshot", 3), ("queue_snapshot", 4), ("queued", None),
                     ("queue_snapshot", 5), ("call_ended", None)]
    assert publisher.connections == 2


LAST_WILL_SCRIPT = """
import asyncio, sys
from ivr.events.mqtt import MqttConfig, MqttPublisher

async def main():
    publisher = MqttPublisher(MqttConfig(host="127.0.0.1", port=int(sys.argv[1]), site=sys.argv[2]))
    await publisher.start()
    await publisher.connected.wait()
    print("connected", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_last_will_marks_the_daemon_offline(broker: PrivateBroker, site: str) -> None:
    collector = Collector(broker.port, site)
    await collector.start()
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LAST_WILL_SCRIPT, str(broker.port), site, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert child.stdout is not None
        lines: list[bytes] = []
        while not lines or lines[-1].strip() != b"connected":  # structlog may print before it
            lines.append(await asyncio.wait_for(child.stdout.readline(), WAIT))
            assert lines[-1], b"".join(lines)
        child.kill()  # no DISCONNECT packet: the broker publishes the will
        await child.wait()
        got = await collector.wait_for(2, where="/daemon/status")
    finally:
        if child.returncode is None:
            child.kill()
        await collector.stop()
    assert [m.body["data"] for m in got] == [{"state": "online"}, {"state": "offline", "reason": "connection lost"}]
