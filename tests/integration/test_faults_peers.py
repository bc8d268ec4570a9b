"""Stuck, slow and hostile peers on both of the daemon's connections, with real calls alongside.

FastAGI: peers that stall before, during or after their headers, and peers that send junk,
oversized or malformed headers and replies, each cost one connection: it is closed (at once, or at
the header timeout) and logged, while real calls through the real Asterisk go through the menu in
normal time. AMI: a fake Asterisk Manager that sends junk, huge frames and hostile events makes
the daemon drop the connection and log in again; FastAGI calls never notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness.ami import AmiClient, SimCall
from harness.citizens import Citizens
from harness.daemon import OPEN_HOURS, DaemonProcess
from harness.faults import QUICK_KEYS, eventually, free_port, quick_config
from harness.ports import AGI_PORT

from ivr.testing.fake_asterisk import agi_headers

pytestmark = pytest.mark.real_daemon

HEADER_TIMEOUT_S = 5.0  # FastAgiServer's default


def headers(uniqueid: str, route: str = "inbound") -> bytes:
    return agi_headers(route, uniqueid=uniqueid, caller="+46701239999", dnid="4034100", port=AGI_PORT)


@dataclass
class Peer:
    """One raw FastAGI connection: what it sends, how, and what became of it."""

    name: str
    payload: bytes = b""
    byte_delay: float = 0.0  # > 0: one byte at a time (slowloris)
    reply: bytes | None = None  # sent after the daemon's first command
    close_early: bool = False  # half a header block, then FIN
    received: bytes = b""
    closed_after: float | None = None

    async def run(self, port: int, limit: float) -> None:
        started = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            if self.byte_delay:
                for byte in self.payload:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(self.byte_delay)
            else:
                writer.write(self.payload)
                await writer.drain()
            if self.close_early:
                writer.write_eof()
            async with asyncio.timeout(limit):
                while chunk := await reader.read(65536):
                    self.received += chunk
                    if self.reply is not None:
                        writer.write(self.reply)
                        self.reply = None
            self.closed_after = time.monotonic() - started  # EOF: the daemon closed it
        except ConnectionError:
            self.closed_after = time.monotonic() - started  # reset: closed with our bytes unread
        except TimeoutError:
            pass  # still open at the limit
        finally:
            writer.close()


def hostile_peers() -> list[Peer]:
    block = headers("hostile.block")
    return [
        Peer("silent"),
        Peer("slowloris", block, byte_delay=0.3),
        Peer("junk", os.urandom(2048) + b"\n\n"),
        Peer("endless line", b"agi_request: " + b"A" * 100_000),
        Peer("too many lines", b"".join(b"agi_x%d: y\n" % i for i in range(150)) + b"\n"),
        Peer("huge block", b"".join(b"agi_x%d: %s\n" % (i, b"y" * 1000) for i in range(40)) + b"\n"),
        Peer("nul", b"agi_request: agi://127.0.0.1/inbound\nagi_callerid: +4670\x00123\n\n"),
        Peer("duplicate", b"agi_uniqueid: 1\nagi_uniqueid: 2\n\n"),
        Peer("unknown route", headers("hostile.route", route="../../etc/passwd")),
        Peer("half block", block[: len(block) // 2], close_early=True),
        Peer("garbage reply", headers("hostile.garbage"), reply=b"200 result=abc (\n"),
        Peer("oversized reply", headers("hostile.oversized"), reply=b"200 result=0 (" + b"x" * 20_000 + b")\n"),
        Peer("bare hangup", headers("hostile.hangup"), reply=b"HANGUP\nHANGUP\n\x00\xff\n"),
    ]


async def served_in_normal_time(call: SimCall, queue: str) -> float:
    started = time.monotonic()
    joined = await call.wait_event(15, Event="QueueCallerJoin")
    assert joined.Queue == queue
    return time.monotonic() - started


async def test_stuck_and_hostile_fastagi_peers_never_block_real_calls(
        citizens: Citizens, ami: AmiClient, tmp_path: Path) -> None:
    daemon = DaemonProcess(test_clock=OPEN_HOURS,
                           state_dir=tmp_path / "daemon", config_paths=quick_config(tmp_path / "config"))
    await daemon.start()
    stuck = [Peer(f"stuck {i}", headers(f"stuck.{i}")) for i in range(5)]  # never answer a command
    hostile = hostile_peers()
    try:
        peers = asyncio.gather(*(p.run(AGI_PORT, 12) for p in hostile))
        hung = asyncio.gather(*(p.run(AGI_PORT, 60) for p in stuck))
        await asyncio.sleep(0.5)  # every peer connected and misbehaving
        calls = [await citizens.call(dtmf=QUICK_KEYS[q], hold=20) for q in ("kc-school", "kc-social")]
        times = await asyncio.gather(*(served_in_normal_time(c, q) for c, q in zip(calls, ("kc-school", "kc-social"),
                                                                               strict=True)))
        await peers
        after = await citizens.call(dtmf=QUICK_KEYS["kc-streets"], hold=20)
        assert await served_in_normal_time(after, "kc-streets") < 5
        assert all(p.closed_after is None for p in stuck)  # still waited on, and nobody waited with them
        hung.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hung
    finally:
        await daemon.stop()
    assert max(times) < 5  # beep, a key, the queue: as fast as with no one else around
    for peer in hostile:
        assert peer.closed_after is not None, f"{peer.name}: the daemon never closed it"
        slow = peer.name in ("silent", "slowloris")
        assert peer.closed_after < (HEADER_TIMEOUT_S + 2 if slow else 2), (peer.name, peer.closed_after)
    for peer in stuck:  # the daemon sent them their first command and waited for the answer
        assert peer.received.startswith(b"GET VARIABLE"), peer.received
    logged = [line.get("event") for line in daemon.log_lines()]
    assert logged.count("agi.header_timeout") >= 2
    assert logged.count("agi.bad_headers") >= 6 and "agi.unknown_route" in logged
    assert "agi.connection_failed" not in logged  # no peer found a bug in the server itself
    assert daemon.proc is not None and daemon.proc.returncode == 0


class HostileAmi:
    """Speaks AMI well enough to let the daemon log in, then misbehaves; from the third connection
    on it is a quiet, well-behaved Manager."""

    def __init__(self) -> None:
        self.port = free_port()
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        try:
            if number == 1:
                return  # a banner, then nothing: the login fails and the daemon backs off
            login = await reader.readuntil(b"\r\n\r\n")
            writer.write(b"Response: Success\r\n" + _action_id(login) + b"Message: Authentication accepted\r\n\r\n")
            if number == 0:
                await self._misbehave(writer)
                await reader.read()  # until the daemon drops us
                return
            while True:
                writer.write(_answer(await reader.readuntil(b"\r\n\r\n")))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _misbehave(writer: asyncio.StreamWriter) -> None:
        writer.write(b"Event: QueueCallerJoin\r\nQueue: ../+/#\r\nUniqueid: hostile.1\r\nPosition: abc\r\n"
                     b"CallerIDNum: +46701238888\r\nCount: -1\r\n\r\n")
        writer.write(b"Event: QueueMemberStatus\r\nQueue: kc-x\r\nInterface: \xff\xfe\r\nStatus: 99999999999\r\n"
                     b"Paused: maybe\r\n\r\n")
        writer.write(b"Event: Hangup\r\n" + b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(5000)) + b"\r\n")
        writer.write(b"no colon here\r\n\x00\x01\x02\r\n\r\n" + os.urandom(4096) + b"\r\n\r\n")
        writer.write(b"Event: QueueStatusComplete\r\nActionID: never-sent\r\n\r\n")
        await writer.drain()
        writer.write(b"Event: Junk\r\nData: " + b"z" * (5 * 1024 * 1024))  # one frame beyond the limit
        await writer.drain()


def _action_id(frame: bytes) -> bytes:
    for line in frame.split(b"\r\n"):
        if line.lower().startswith(b"actionid:"):
            return line + b"\r\n"
    return b""


def _answer(frame: bytes) -> bytes:
    action_id = _action_id(frame)
    if b"Action: QueueStatus" in frame:
        return (b"Response: Success\r\n" + action_id + b"EventList: start\r\nMessage: Queue status will follow\r\n\r\n"
                b"Event: QueueStatusComplete\r\n" + action_id + b"EventList: Complete\r\nListItems: 0\r\n\r\n")
    if b"Action: Ping" in frame:
        return b"Response: Success\r\n" + action_id + b"Ping: Pong\r\n\r\n"
    return b"Response: Error\r\n" + action_id + b"Message: not here\r\n\r\n"


async def test_hostile_ami_server_costs_a_reconnect_and_no_call(
        citizens: Citizens, ami: AmiClient, tmp_path: Path) -> None:
    manager = HostileAmi()
    await manager.start()
    daemon = DaemonProcess(test_clock=OPEN_HOURS,
                           state_dir=tmp_path / "daemon", config_paths=quick_config(tmp_path / "config"),
                           env={"IVR_AMI_PORT": str(manager.port)})
    await daemon.start()
    try:
        await eventually(lambda: any(line.get("event") == "ami.reconnected" for line in daemon.log_lines()),
                         20, "the daemon logged in again after the junk")
        call = await citizens.call(dtmf=QUICK_KEYS["kc-building"], hold=20, caller_id="+46701237777")
        started = time.monotonic()
        # The fake Manager says no agent is logged in anywhere, so the router may pick kc-general instead.
        await call.wait_event(15, Event="QueueCallerJoin", Queue=["kc-building", "kc-general"])
        assert time.monotonic() - started < 5
        assert (await call.wait_event(1, Event="VarSet", Variable="IVR_RESULT")).Value == "queue"
    finally:
        await daemon.stop()
        await manager.stop()
    logged = [line.get("event") for line in daemon.log_lines()]
    assert "ami.protocol_error" in logged
    assert logged.index("ami.protocol_error") < logged.index("ami.reconnected")
    assert "ami.reconnect_failed" in logged  # the connection that only said hello
    assert manager.connections >= 3
    assert daemon.proc is not None and daemon.proc.returncode == 0
    text = daemon.log_text()
    assert "46701238888" not in text and "46701237777" not in text
