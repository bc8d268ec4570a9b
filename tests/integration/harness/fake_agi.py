"""A tiny FastAGI responder for the harness's own tests (the real daemon lives in ivr/).

It listens where the dialplan's AGI() points (127.0.0.1:4573), reads each session's agi_*
environment, issues a scripted list of AGI commands, records the replies and closes. Sessions are
matched to scripts by `agi_uniqueid`, which the harness sets per call (Originate ChannelId), so
concurrent calls can run different scripts.

    async with FakeAgi() as agi:
        agi.expect(call.uniqueid, AgiScript(["ANSWER", "SET VARIABLE IVR_RESULT queue"]))
        ...
        session = await agi.wait_session(call.uniqueid)
        assert session.reply_to("ANSWER") == "200 result=0"

`mode="close"` makes the server accept and close every connection at once, without reading:
a daemon that crashes on every call.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .ports import AGI_PORT as PORTS_AGI

AGI_HOST = "127.0.0.1"
AGI_PORT = PORTS_AGI


@dataclass
class AgiScript:
    """What the fake daemon does in one session."""

    commands: Sequence[str] = ()
    # Keep the session open without sending anything after the commands (a hung daemon);
    # the server closes it when Asterisk does (e.g. on hangup) or at stop().
    hang: bool = False
    # Seconds to wait before each command (slow daemon).
    delay: float = 0.0


@dataclass
class AgiSession:
    env: dict[str, str] = field(default_factory=dict)
    request: str = ""
    replies: list[tuple[str, str]] = field(default_factory=list)
    # Asterisk sent "HANGUP" (the channel hung up during the session).
    hangup_seen: bool = False
    # Asterisk closed the connection before the script ended.
    closed_by_asterisk: bool = False
    error: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def uniqueid(self) -> str:
        return self.env.get("agi_uniqueid", "")

    def reply_to(self, command: str) -> str | None:
        """The reply to the first command equal to `command` (None if it was not sent)."""
        for sent, reply in self.replies:
            if sent == command:
                return reply
        return None


class FakeAgi:
    def __init__(
        self,
        host: str = AGI_HOST,
        port: int = AGI_PORT,
        *,
        mode: Literal["script", "close"] = "script",
        default: AgiScript | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.mode = mode
        self.default = default if default is not None else AgiScript()
        self.sessions: list[AgiSession] = []
        self.connections = 0
        self._scripts: dict[str, AgiScript] = {}
        self._by_uniqueid: dict[str, AgiSession] = {}
        self._arrived: dict[str, asyncio.Event] = {}
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    def expect(self, uniqueid: str, script: AgiScript) -> None:
        """Run `script` for the session whose agi_uniqueid is `uniqueid`."""
        self._scripts[uniqueid] = script

    async def start(self) -> FakeAgi:
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)
        except OSError as exc:
            raise RuntimeError(
                f"cannot listen on {self.host}:{self.port} ({exc}); is an IVR daemon running? "
                "The harness's fake FastAGI server needs that port."
            ) from exc
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    async def __aenter__(self) -> FakeAgi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_session(self, uniqueid: str, timeout: float = 20.0) -> AgiSession:
        """Wait until the session of `uniqueid` has ended (script done or connection closed)."""
        arrived = self._arrived.setdefault(uniqueid, asyncio.Event())
        async with asyncio.timeout(timeout):
            await arrived.wait()
            session = self._by_uniqueid[uniqueid]
            await session.done.wait()
        return session

    def session_for(self, uniqueid: str) -> AgiSession | None:
        return self._by_uniqueid.get(uniqueid)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            if self.mode == "close":
                # A daemon that dies on every call: not a byte read or written.
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    # RST rather than FIN, like a crashed process with unread data.
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                writer.close()
                return
            session = AgiSession()
            self.sessions.append(session)
            try:
                await self._run(session, reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                session.closed_by_asterisk = True
            except Exception as exc:  # recorded for the test to see, never raised into asyncio
                session.error = repr(exc)
            finally:
                session.done.set()
                uid = session.uniqueid
                if uid:
                    self._arrived.setdefault(uid, asyncio.Event()).set()
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._tasks.discard(task)

    async def _run(self, session: AgiSession, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The environment: "agi_name: value" lines up to a blank line.
        while True:
            line = await reader.readline()
            if not line:
                raise asyncio.IncompleteReadError(b"", None)
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not text:
                break
            key, _, value = text.partition(":")
            session.env[key.strip()] = value.strip()
        session.request = session.env.get("agi_request", "")
        uid = session.uniqueid
        self._by_uniqueid[uid] = session
        self._arrived.setdefault(uid, asyncio.Event()).set()
        script = self._scripts.get(uid, self.default)

        for command in script.commands:
            if script.delay:
                await asyncio.sleep(script.delay)
            writer.write(command.encode("utf-8") + b"\n")
            await writer.drain()
            reply = await self._read_reply(session, reader)
            session.replies.append((command, reply))
        if script.hang:
            # Wait until Asterisk closes the session (it does when the channel goes away).
            while await reader.readline():
                session.hangup_seen = True
            session.closed_by_asterisk = True

    async def _read_reply(self, session: AgiSession, reader: asyncio.StreamReader) -> str:
        """One reply: "200 result=..." (or "HANGUP" notices before it, and 520 usage texts)."""
        while True:
            line = await reader.readline()
            if not line:
                session.closed_by_asterisk = True
                raise asyncio.IncompleteReadError(b"", None)
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if text == "HANGUP":
                session.hangup_seen = True
                continue
            if text.startswith("520-"):
                # Multi-line usage text ending with "520 End of proper usage."
                lines = [text]
                while True:
                    more = (await reader.readline()).decode("utf-8", "replace").rstrip("\r\n")
                    lines.append(more)
                    if more.startswith("520 ") or not more:
                        break
                return "\n".join(lines)
            return text


def port_in_use(host: str = AGI_HOST, port: int = AGI_PORT) -> bool:
    """True when something listens on host:port. Checked by binding (with SO_REUSEADDR, which
    fails only against a listener), not by connecting, so a real daemon never sees a bogus
    session."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
        return False
