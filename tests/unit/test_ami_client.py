"""AmiClient against a scriptable fake AMI server on loopback (no Asterisk, no panoramisk.testing)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from structlog.testing import capture_logs

from ivr.ami.client import AmiClient
from ivr.ami.errors import (
    AmiAuthError,
    AmiConnectionError,
    AmiConnectionLost,
    AmiNotConnected,
    AmiOriginateFailed,
    AmiOriginateUnknown,
    AmiTimeout,
)

SECRET = "s3cret"
WAIT = 2.0


def frame(**headers: str) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n"


@dataclass
class Conn:
    index: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    actions: list[dict[str, str]] = field(default_factory=list)
    silent: bool = False  # answers nothing (a hung Asterisk)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


# An action handler gets (connection, action) and writes whatever it wants.
Handler = Callable[[Conn, dict[str, str]], Any]


class ScriptedAmiServer:
    """Asterisk's side of AMI on loopback TCP, scripted per action (the client's own tests: real sockets)."""

    def __init__(self) -> None:
        self.connections: list[Conn] = []
        self.handlers: dict[str, Handler] = {}
        self.silent_connections: set[int] = set()
        self.new_connection = asyncio.Condition()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in self.connections:
            conn.writer.close()

    def all_actions(self, name: str) -> list[dict[str, str]]:
        return [a for c in self.connections for a in c.actions if a.get("Action", "").lower() == name.lower()]

    async def wait_connections(self, count: int) -> None:
        async def enough() -> None:
            while len([c for c in self.connections if c.actions]) < count:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(enough(), WAIT)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Conn(len(self.connections), reader, writer, silent=len(self.connections) in self.silent_connections)
        self.connections.append(conn)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                action = dict(line.split(": ", 1) for line in raw.decode().split("\r\n") if ": " in line)
                conn.actions.append(action)
                await self._answer(conn, action)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, conn: Conn, action: dict[str, str]) -> None:
        name = action.get("Action", "")
        action_id = action.get("ActionID", "")
        if name == "Login":
            if action.get("Secret") != SECRET:
                await conn.send(frame(Response="Error", ActionID=action_id, Message="Authentication failed"))
                conn.writer.close()
                return
            await conn.send(frame(Response="Success", ActionID=action_id, Message="Authentication accepted"))
            await conn.send(frame(Event="FullyBooted", Privilege="system,all", Status="Fully Booted"))
            return
        if conn.silent:
            return
        handler = self.handlers.get(name)
        if handler is not None:
            result = handler(conn, action)
            if asyncio.iscoroutine(result):
                await result
            return
        if name == "Ping":
            await conn.send(frame(Response="Success", ActionID=action_id, Ping="Pong", Timestamp="1.0"))


@pytest.fixture
async def fake() -> AsyncIterator[ScriptedAmiServer]:
    server = ScriptedAmiServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def clients() -> AsyncIterator[list[AmiClient]]:
    made: list[AmiClient] = []
    yield made
    for client in made:
        await client.close()


def make_client(fake: ScriptedAmiServer, clients: list[AmiClient], *, secret: str = SECRET, **kwargs: Any) -> AmiClient:
    options: dict[str, Any] = {"ping_interval": 5.0, "reconnect_backoff": (0.05, 0.2), **kwargs}
    client = AmiClient("127.0.0.1", fake.port, "ivr", secret, **options)
    clients.append(client)
    return client


async def until(predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


async def test_login_ok(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    logins: list[int] = []
    client = make_client(fake, clients)
    client.on_reconnect(lambda: logins.append(1))
    await client.connect()
    assert client.connected
    assert logins == [1]
    login = fake.all_actions("Login")[0]
    assert login["Username"] == "ivr" and login["Events"] == "on"
    pong = await client.action({"Action": "Ping"})
    assert pong.get("Ping") == "Pong"


async def test_wrong_password_raises_and_does_not_retry(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    client = make_client(fake, clients, secret="wrong")
    with pytest.raises(AmiAuthError):
        await client.connect()
    assert not client.connected
    await asyncio.sleep(0.3)
    assert len(fake.connections) == 1


async def test_connection_refused(clients: list[AmiClient]) -> None:
    client = AmiClient("127.0.0.1", 1, "ivr", SECRET, connect_timeout=1.0)
    clients.append(client)
    with pytest.raises(AmiConnectionError):
        await client.connect()


async def test_action_before_connect_is_not_connected(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    client = make_client(fake, clients)
    with pytest.raises(AmiNotConnected):
        await client.action({"Action": "Ping"})


async def test_action_timeout_keeps_connection(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    late: list[dict[str, str]] = []

    def remember(conn: Conn, action: dict[str, str]) -> None:
        late.append(action)  # and do not answer yet

    fake.handlers["Hang"] = remember
    client = make_client(fake, clients)
    await client.connect()
    with pytest.raises(AmiTimeout):
        await client.action({"Action": "Hang"}, timeout=0.1)
    # The late answer must be dropped, not handed to the next action.
    await fake.connections[0].send(frame(Response="Success", ActionID=late[0]["ActionID"], Message="late"))
    pong = await client.action({"Action": "Ping"})
    assert pong.get("Ping") == "Pong"
    assert client.connected and len(fake.connections) == 1


async def test_ping_watchdog_reconnects_from_a_silent_server(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    fake.silent_connections = {0}
    logins: list[int] = []
    client = make_client(fake, clients, ping_interval=0.1, ping_timeout=0.1)
    client.on_reconnect(lambda: logins.append(1))
    with capture_logs() as logs:
        await client.connect()
        await fake.wait_connections(2)
        await until(lambda: len(logins) == 2 and client.connected)
    assert any(entry["event"] == "ami.ping_timeout" for entry in logs)
    assert len(fake.all_actions("Login")) == 2


async def test_on_reconnect_after_server_drop(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    calls: list[str] = []

    async def resync() -> None:
        answer = await client.action({"Action": "Ping"})
        calls.append(answer.get("Ping"))

    def broken() -> None:
        raise RuntimeError("tracker bug")

    client = make_client(fake, clients)
    client.on_reconnect(broken)
    client.on_reconnect(resync)
    await client.connect()
    assert calls == ["Pong"]
    fake.connections[0].writer.close()
    await fake.wait_connections(2)
    await until(lambda: calls == ["Pong", "Pong"])
    assert client.connected


async def test_raising_callback_does_not_drop_connection(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    seen: list[str] = []

    def explode(event: Any) -> None:
        raise ValueError("callback bug")

    async def explode_later(event: Any) -> None:
        raise ValueError("async callback bug")

    client = make_client(fake, clients)
    client.on_event("Test*", explode)
    client.on_event("test*", explode_later)
    client.on_event("*", lambda event: seen.append(event.seq) if event.event.startswith("Test") else None)
    await client.connect()
    with capture_logs() as logs:
        await fake.connections[0].send(frame(Event="TestOne", Seq="1") + frame(Event="TestTwo", Seq="2"))
        await until(lambda: seen == ["1", "2"])
        await fake.connections[0].send(frame(Event="TestThree", Seq="3"))
        await until(lambda: seen == ["1", "2", "3"])
        await until(lambda: sum(entry["event"] == "ami.callback_failed" for entry in logs) == 6)
    assert client.connected and len(fake.connections) == 1


async def test_utf8_split_across_writes(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    names: list[str] = []
    client = make_client(fake, clients)
    client.on_event("Newchannel", lambda event: names.append(event.calleridname))
    await client.connect()
    data = frame(Event="Newchannel", CallerIDName="Zoë", Uniqueid="1.1")
    cut = data.index("ë".encode()) + 1
    conn = fake.connections[0]
    await conn.send(data[:cut])
    await asyncio.sleep(0.05)  # two separate TCP reads on the client
    await conn.send(data[cut:])
    await until(lambda: names == ["Zoë"])


async def test_originate_in_flight_is_not_resent(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    def drop(conn: Conn, action: dict[str, str]) -> None:
        conn.writer.close()  # Asterisk vanishes with the Originate unanswered

    fake.handlers["Originate"] = drop
    client = make_client(fake, clients)
    await client.connect()
    with pytest.raises(AmiOriginateUnknown):
        await client.originate("PJSIP/agent1", context="callback", exten="s", ring_timeout=5)
    await fake.wait_connections(2)
    await until(lambda: client.connected)
    await asyncio.sleep(0.2)
    assert len(fake.all_actions("Originate")) == 1


async def test_originate_success_and_event_reaches_callbacks(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    async def originate(conn: Conn, action: dict[str, str]) -> None:
        action_id = action["ActionID"]
        await conn.send(frame(Response="Success", ActionID=action_id, Message="Originate successfully queued"))
        await conn.send(
            frame(Event="OriginateResponse", ActionID=action_id, Response="Success", Reason="4", Uniqueid="9.9")
        )

    fake.handlers["Originate"] = originate
    seen: list[str] = []
    client = make_client(fake, clients)
    client.on_event("OriginateResponse", lambda event: seen.append(event.uniqueid))
    await client.connect()
    result = await client.originate(
        "Local/100@agents", application="Playback", data="hello", variables={"IVR_CALLBACK": "1"}
    )
    assert result.uniqueid == "9.9"
    await until(lambda: seen == ["9.9"])
    sent = fake.all_actions("Originate")[0]
    assert sent["Async"] == "true" and sent["Variable"] == "IVR_CALLBACK=1"


async def test_originate_failure(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    async def busy(conn: Conn, action: dict[str, str]) -> None:
        action_id = action["ActionID"]
        await conn.send(frame(Response="Success", ActionID=action_id, Message="Originate successfully queued"))
        await conn.send(frame(Event="OriginateResponse", ActionID=action_id, Response="Failure", Reason="5"))

    fake.handlers["Originate"] = busy
    client = make_client(fake, clients)
    await client.connect()
    with pytest.raises(AmiOriginateFailed) as info:
        await client.originate("PJSIP/agent1", context="callback", exten="s")
    assert info.value.reason == "5"


async def test_list_action_rows_go_to_caller_not_callbacks(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    async def queue_status(conn: Conn, action: dict[str, str]) -> None:
        aid = action["ActionID"]
        await conn.send(
            frame(Response="Success", ActionID=aid, EventList="start", Message="Queue status will follow")
            + frame(Event="QueueParams", ActionID=aid, Queue="kc-general", Calls="2")
            + frame(Event="QueueMember", ActionID=aid, Queue="kc-general", Name="Agent 1", Status="1")
            + frame(Event="QueueMemberStatus", Queue="kc-general", Status="2")  # from the event stream
            + frame(Event="QueueStatusComplete", ActionID=aid, EventList="Complete", ListItems="2")
        )

    fake.handlers["QueueStatus"] = queue_status
    streamed: list[str] = []
    client = make_client(fake, clients)
    client.on_event("Queue*", lambda event: streamed.append(event.event))
    await client.connect()
    rows = await client.action({"Action": "QueueStatus"})
    assert [row.get("Event") or row.get("Response") for row in rows.messages] == [
        "Success",
        "QueueParams",
        "QueueMember",
        "QueueStatusComplete",
    ]
    await until(lambda: streamed == ["QueueMemberStatus"])


async def test_pending_action_fails_when_connection_drops(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    fake.handlers["Hang"] = lambda conn, action: conn.writer.close()
    client = make_client(fake, clients)
    await client.connect()
    with pytest.raises(AmiConnectionLost):
        await client.action({"Action": "Hang"})
    await fake.wait_connections(2)
    await asyncio.sleep(0.2)
    assert len(fake.all_actions("Hang")) == 1  # not re-sent either


async def test_injected_header_is_refused_before_sending(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    client = make_client(fake, clients)
    await client.connect()
    with pytest.raises(ValueError):
        await client.action({"Action": "Setvar", "Variable": "X", "Value": "1\r\nAction: Originate"})
    with pytest.raises(ValueError):
        await client.originate("PJSIP/x", context="c", exten="s", variables={"A\r\nB": "1"})
    await client.action({"Action": "Ping"})
    assert len(fake.connections[0].actions) == 2  # Login and Ping only


async def test_close_stops_reconnecting(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    client = make_client(fake, clients, reconnect_backoff=(0.05, 0.05))
    await client.connect()
    fake.connections[0].writer.close()
    await asyncio.sleep(0.01)
    await client.close()
    count = len(fake.connections)
    await asyncio.sleep(0.3)
    assert len(fake.connections) == count
    assert not client.connected
    with pytest.raises(AmiNotConnected):
        await client.action({"Action": "Ping"})


async def test_close_while_connected(fake: ScriptedAmiServer, clients: list[AmiClient]) -> None:
    client = make_client(fake, clients, reconnect_backoff=(0.05, 0.05))
    await client.connect()
    await client.close()
    await asyncio.sleep(0.3)
    assert len(fake.connections) == 1


async def test_reconnect_keeps_trying_while_server_is_down(clients: list[AmiClient]) -> None:
    fake = ScriptedAmiServer()
    await fake.start()
    port = fake.port
    client = AmiClient("127.0.0.1", port, "ivr", SECRET, reconnect_backoff=(0.05, 0.1), ping_interval=5)
    clients.append(client)
    await client.connect()
    await fake.stop()
    await until(lambda: not client.connected)
    await asyncio.sleep(0.3)  # several failed attempts
    revived = ScriptedAmiServer()
    revived._server = await asyncio.start_server(revived._serve, "127.0.0.1", port)
    try:
        await until(lambda: client.connected)
    finally:
        await revived.stop()
