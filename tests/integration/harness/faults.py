"""Fault injection for the reliability tests (tests/integration/test_faults*.py, test_overload*,
test_shutdown*, test_security*) and scripts/soak: a short-prompt config, a private MQTT broker that
a test may kill, a TCP proxy in front of PostgreSQL that a test may cut or silence, and the
daemon's resident memory. Nothing here touches the machine's shared Mosquitto or PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt

from ivr.records import store
from ivr.store.db import open_database
from ivr.testing.mosquitto import PrivateBroker, free_port

REPO = Path(__file__).resolve().parents[3]

# A caller who presses nothing is "mid-menu" for 15 s (10 s of silence, then 5 s waiting for a key);
# one who presses 1-5 after the beep is in that queue within a second; 8 hears a goodbye.
QUICK_PLAN = """\
plan: quick
numbers: ["+4640341000", "040341000", "40341000", "+46403410000", "4034100"]
languages: [sv]
default_language: sv
start: hello
nodes:
  hello: {kind: play, prompt: beep, next: menu}
  menu:
    kind: menu
    prompt: wait
    options: {"1": queue_general, "2": queue_school, "3": queue_social, "4": queue_building,
              "5": queue_streets, "8": goodbye}
    timeout: 5
    attempts: 1
    fallback: queue_general
  queue_general: {kind: queue, group: general}
  queue_school: {kind: queue, group: school}
  queue_social: {kind: queue, group: social}
  queue_building: {kind: queue, group: building}
  queue_streets: {kind: queue, group: streets}
  goodbye: {kind: hangup, prompt: beep, reason: goodbye}
prompts:
  beep: {recording: {sv: beep}}
  wait: {recording: {sv: silence/10}}
"""
# Keys for SimCall dtmf: wait for the beep, then choose.
QUICK_KEYS = {"kc-general": "w1", "kc-school": "w2", "kc-social": "w3", "kc-building": "w4",
              "kc-streets": "w5", "goodbye": "w8"}


def quick_config(folder: Path) -> list[str]:
    """Config paths for the daemon: the shipped routing rules and agents, and the quick plan."""
    plans = folder / "dialplans"
    plans.mkdir(parents=True, exist_ok=True)
    (plans / "quick.yaml").write_text(QUICK_PLAN, encoding="utf-8")
    return [str(REPO / "routing_rules.yaml"), str(REPO / "agents"), str(plans)]


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


async def eventually(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll `check()` until it returns something truthy (returned), or fail saying `what`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(interval)


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc (KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


# --- MQTT ---------------------------------------------------------------------------------------

def private_broker(folder: Path) -> PrivateBroker:
    # Room for every QoS 1 event a subscriber misses while the broker or the daemon is away.
    return PrivateBroker(folder, options=["max_queued_messages 100000"])


@dataclass
class BusMessage:
    topic: str
    payload: bytes

    @property
    def body(self) -> dict[str, Any]:
        return dict(json.loads(self.payload)) if self.payload else {}


class BusCapture:
    """Everything published under `ivr/#` on a broker, raw, in arrival order. `persistent` keeps
    the session (same client id, QoS 1) so messages sent while it is away are delivered later."""

    def __init__(self, port: int, *, persistent: bool = True) -> None:
        self.port = port
        self.persistent = persistent
        self.identifier = f"faults-{uuid.uuid4().hex[:8]}"
        self.messages: list[BusMessage] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._ready.clear()
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        async with aiomqtt.Client("127.0.0.1", self.port, identifier=self.identifier,
                                  clean_session=not self.persistent) as client:
            await client.subscribe("ivr/#", qos=1)
            self._ready.set()
            async for message in client.messages:
                payload = message.payload
                self.messages.append(BusMessage(str(message.topic), payload if isinstance(payload, bytes) else b""))

    def events(self, uniqueid: str) -> list[str]:
        return [m.body.get("event", "") for m in self.messages if m.body.get("uniqueid") == uniqueid]

    def snapshots(self, since: int = 0) -> list[dict[str, Any]]:
        return [m.body["data"] for m in self.messages[since:] if m.body.get("event") == "queue_snapshot"]

    async def wait_event(self, uniqueid: str, event: str, timeout: float = 30) -> None:
        await eventually(lambda: event in self.events(uniqueid), timeout,
                         f"{event} for {uniqueid} on the bus (saw {self.events(uniqueid)})")


# --- PostgreSQL -----------------------------------------------------------------------------------



def call_records(url: str) -> dict[str, dict[str, Any]]:
    db = open_database(url)
    try:
        return {r["uniqueid"]: r for r in store.fetch(db, 0, 2**40)}
    finally:
        db.close()


class TcpProxy:
    """A forwarder to 127.0.0.1:`target_port` that a test can cut (`down`: live connections reset,
    new ones refused), silence (`freeze`: connections stay open but nothing gets through, like a
    hung server or a dead network path) and restore (`up`)."""

    def __init__(self, target_port: int = 5432) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()

    def url(self, direct: str) -> str:
        return direct.replace(f":{self.target_port}/", f":{self.port}/")

    async def up(self) -> None:
        self._flowing.set()
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    def freeze(self) -> None:
        self._flowing.clear()

    async def down(self) -> None:
        self._flowing.set()
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        await self._flowing.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    await self._flowing.wait()
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)
