"""FastAGI server and session over real loopback TCP, with the test playing Asterisk."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from ivr.agi.channel import AgiChannel
from ivr.agi.errors import AgiHangup, AgiProtocolError, AgiTimeout
from ivr.agi.server import FastAgiServer, RouteHandler
from ivr.agi.session import AgiSession
from ivr.channel import CallerHungUp

IO_TIMEOUT = 2.0


def header_block(route: str = "inbound", uniqueid: str = "1700000000.1", **extra: str) -> bytes:
    headers = {
        "network": "yes",
        "request": f"agi://127.0.0.1/{route}",
        "channel": "PJSIP/trunk-00000001",
        "uniqueid": uniqueid,
        "callerid": "46701234567",
        **extra,
    }
    return b"".join(f"agi_{k}: {v}\n".encode() for k, v in headers.items()) + b"\n"


class FakeAsterisk:
    """The Asterisk end of one FastAGI connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, headers: bytes | None = None) -> FakeAsterisk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        fake = cls(reader, writer)
        if headers is not None:
            await fake.send(headers)
        return fake

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def expect(self, line: str) -> None:
        got = await asyncio.wait_for(self.reader.readline(), IO_TIMEOUT)
        assert got == line.encode() + b"\n"

    async def answer(self, expected: str, *reply: str) -> None:
        await self.expect(expected)
        await self.send(b"".join(r.encode() + b"\n" for r in reply))

    async def closed_by_server(self, timeout: float = IO_TIMEOUT) -> bool:
        """True once the server closed the connection (EOF) without sending anything more."""
        try:
            rest = await asyncio.wait_for(self.reader.read(), timeout)
        except ConnectionResetError:
            rest = b""  # closed with our data unread: the kernel answers with RST
        finally:
            self.close()
        assert rest == b"", rest
        return True

    def close(self) -> None:
        self.writer.close()


class Recorder:
    """Remembers what a route handler saw."""

    def __init__(self) -> None:
        self.calls = 0
        self.errors: list[BaseException] = []
        self.values: list[Any] = []
        self.done = asyncio.Event()


def answer_expecting(rec: Recorder, error: type[BaseException]) -> Callable[[AgiSession], Awaitable[None]]:
    """A route that sends ANSWER and records the `error` it raises and whether the session then says
    the channel hung up."""

    async def inbound(session: AgiSession) -> None:
        try:
            await session.command("ANSWER")
        except error as exc:
            rec.errors.append(exc)
        rec.values.append(session.hung_up)
        rec.done.set()

    return inbound


@pytest.fixture
async def make_server() -> AsyncIterator[Callable[..., Awaitable[FastAgiServer]]]:
    servers: list[FastAgiServer] = []

    async def factory(routes: dict[str, RouteHandler], **kwargs: Any) -> FastAgiServer:
        server = FastAgiServer(routes, host="127.0.0.1", port=0, **kwargs)
        await server.start()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        await server.stop(grace=0.5)


async def test_full_session(make_server: Callable[..., Awaitable[FastAgiServer]]) -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        rec.calls += 1
        rec.values.append((session.route, session.query, session.args, session.uniqueid))
        channel = AgiChannel(session)
        await channel.answer()
        rec.values.append(await channel.play("welcome", interrupt_keys="12"))
        rec.values.append(await channel.wait_for_key(0.25))
        await channel.set_language("sv")
        await channel.set_variable("IVR_RESULT", "queue")
        rec.done.set()

    server = await make_server({"inbound": inbound})
    fake = await FakeAsterisk.connect(
        server.port,
        header_block(route="inbound?lang=sv&x=", arg_1="one", arg_2="two words"),
    )
    await fake.answer("ANSWER", "200 result=0")
    await fake.answer('STREAM FILE "welcome" "12"', "200 result=49 endpos=1234")
    await fake.answer('WAIT FOR DIGIT "250"', "200 result=0")
    await fake.answer('SET VARIABLE "CHANNEL(language)" "sv"', "200 result=1")
    await fake.answer('SET VARIABLE "IVR_RESULT" "queue"', "200 result=1")
    assert await fake.closed_by_server()
    await asyncio.wait_for(rec.done.wait(), IO_TIMEOUT)
    assert rec.values == [
        ("inbound", {"lang": "sv", "x": ""}, ("one", "two words"), "1700000000.1"),
        "1",
        "",
    ]
    assert server.active_sessions == 0


async def test_client_closing_mid_headers_does_not_spin(
    make_server: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        rec.calls += 1
        await session.command("ANSWER")

    server = await make_server({"inbound": inbound})
    with capture_logs() as logs:
        half = await FakeAsterisk.connect(server.port, b"agi_request: agi://127.0.0.1/inbound\nagi_chan")
        half.close()
        await asyncio.sleep(0.05)
        cpu_before = time.process_time()
        await asyncio.sleep(0.3)
        assert time.process_time() - cpu_before < 0.15, "server loop is spinning"

        started = time.monotonic()
        fake = await FakeAsterisk.connect(server.port, header_block())
        await fake.answer("ANSWER", "200 result=0")
        assert await fake.closed_by_server()
        assert time.monotonic() - started < 1.0
    assert rec.calls == 1
    assert any(entry["event"] == "agi.closed_during_headers" for entry in logs)


async def test_header_timeout_closes_silent_client(
    make_server: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        rec.calls += 1

    server = await make_server({"inbound": inbound}, header_timeout=0.2)
    with capture_logs() as logs:
        fake = await FakeAsterisk.connect(server.port, b"agi_request: agi://127.0.0.1/inbound\n")
        started = time.monotonic()
        assert await fake.closed_by_server()
        assert time.monotonic() - started < 1.0
    assert rec.calls == 0
    assert any(entry["event"] == "agi.header_timeout" for entry in logs)


@pytest.mark.parametrize(
    "junk",
    [
        b"agi_request: " + b"x" * 20_000 + b"\n\n",  # beyond the stream limit
        b"agi_request: " + b"x" * 5_000 + b"\n\n",  # beyond the header line limit
        b"".join(b"agi_h%d: v\n" % i for i in range(150)) + b"\n",
        b"".join(b"agi_h%d: %s\n" % (i, b"v" * 4000) for i in range(10)) + b"\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xde\xad\xbe\xef\n\n",
        b"GET / HTTP/1.1\r\nHost: ivr\r\n\r\n",
    ],
)
async def test_junk_headers_close_connection_and_server_keeps_serving(
    make_server: Callable[..., Awaitable[FastAgiServer]], junk: bytes
) -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        rec.calls += 1
        await session.command("ANSWER")

    server = await make_server({"inbound": inbound})
    with capture_logs() as logs:
        bad = await FakeAsterisk.connect(server.port)
        bad.writer.write(junk)
        assert await bad.closed_by_server()
        fake = await FakeAsterisk.connect(server.port, header_block())
        await fake.answer("ANSWER", "200 result=0")
        assert await fake.closed_by_server()
    assert rec.calls == 1
    assert any(entry["event"] == "agi.bad_headers" for entry in logs)


async def test_hangup_mid_command_becomes_caller_hung_up(
    make_server: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        channel = AgiChannel(session)
        try:
            await channel.play("welcome", interrupt_keys="")
        except CallerHungUp as exc:
            rec.errors.append(exc)
        assert session.hung_up
        started = time.monotonic()
        with pytest.raises(AgiHangup):
            await session.command("ANSWER")  # must not touch the socket or block
        with pytest.raises(CallerHungUp):
            await channel.set_variable("IVR_RESULT", "queue")
        await channel.hangup()  # already gone: a no-op
        rec.values.append(time.monotonic() - started)
        rec.done.set()

    server = await make_server({"inbound": inbound})
    fake = await FakeAsterisk.connect(server.port, header_block())
    await fake.answer('STREAM FILE "welcome" ""', "HANGUP", "200 result=-1 endpos=160")
    assert await fake.closed_by_server()
    await asyncio.wait_for(rec.done.wait(), IO_TIMEOUT)
    assert len(rec.errors) == 1 and isinstance(rec.errors[0].__cause__, AgiHangup)
    assert rec.values[0] < 0.1


async def test_minus_one_then_hangup_notice_is_a_hangup(
    make_server: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    """res_agi answers the command first and sends HANGUP afterwards: the probe must see it."""
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        try:
            await AgiChannel(session).play("welcome", interrupt_keys="#")
        except CallerHungUp as exc:
            rec.errors.append(exc)
        rec.done.set()

    server = await make_server({"inbound": inbound})
    fake = await FakeAsterisk.connect(server.port, header_block())
    await fake.answer('STREAM FILE "welcome" "#"', "200 result=-1 endpos=0", "HANGUP")
    await fake.answer("CHANNEL STATUS", "511 Command Not Permitted on a dead channel or intercept routine")
    assert await fake.closed_by_server()
    await asyncio.wait_for(rec.done.wait(), IO_TIMEOUT)
    assert len(rec.errors) == 1


async def test_missing_sound_on_live_channel_returns_empty_and_warns(
    make_server: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        rec.values.append(await AgiChannel(session).play("no-such-file", interrupt_keys="1"))
        rec.done.set()

    server = await make_server({"inbound": inbound})
    with capture_logs() as logs:
        fake = await FakeAsterisk.connect(server.port, header_block())
        await fake.answer('STREAM FILE "no-such-file" "1"', "200 result=-1 endpos=0")
        await fake.answer("CHANNEL STATUS", "200 result=6")
        assert await fake.closed_by_server()
        await asyncio.wait_for(rec.done.wait(), IO_TIMEOUT)
    assert rec.values == [""]
    warning = next(entry for entry in logs if entry["event"] == "agi.sound_not_played")
    assert warning["sound"] == "no-such-file" and warning["uniqueid"] == "1700000000.1"


async def test_511_raises_hangup(make_server: Callable[..., Awaitable[FastAgiServer]]) -> None:
    rec = Recorder()

    server = await make_server({"inbound": answer_expecting(rec, AgiHangup)})
    fake = await FakeAsterisk.connect(server.port, header_block())
    await fake.answer("ANSWER", "511 Command Not Permitted on a dead channel or intercept routine")
    assert await fake.closed_by_server()
    await asyncio.wait_for(rec.done.wait(), IO_TIMEOUT)
    assert len(rec.errors) == 1 and rec.values == [True]


async def test_eof_mid_command_raises_hangup(make_server: Callable[..., Awaitable[FastAgiServer]]) -> None:
    rec = Recorder()

    server = await make_server({"inbound": answer_expecting(rec, AgiHangup)})
    fake = await FakeAsterisk.connect(server.port, header_block())
    await fake.expect("ANSWER")
    await fake.send(b"200 res")  # half a reply, then Asterisk goes away
    fake.close()
    await asyncio.wait_for(rec.done.wait(), IO_TIMEOUT)
    assert len(rec.errors) == 1


async def test_usage_block_does_not_leak_into_next_reply(
    make_server: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        rec.values.append(await session.command("STREAM FILE", "only-one-arg"))
        rec.values.append(await session.command("CHANNEL STATUS"))
        rec.done.set()

    server = await make_server({"inbound": inbound})
    fake = await FakeAsterisk.connect(server.port, header_block())
    await fake.answer(
        'STREAM FILE "only-one-arg"',
        "520-Invalid command syntax.  Proper usage follows:",
        " Usage: STREAM FILE <filename> <escape_digits> [sample offset]",
        "200 result=0",
        "520 End of proper usage.",
    )
    await fake.answer("CHANNEL STATUS", "200 result=6")
    assert await fake.closed_by_server()
    await asyncio.wait_for(rec.done.wait(), IO_TIMEOUT)
    usage, status = rec.values
    assert usage.code == 520 and "Usage: STREAM FILE" in usage.data
    assert (status.code, status.result) == (200, "6")


async def test_channel_raises_on_rejected_command(
    make_server: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        rec.calls += 1
        await AgiChannel(session).answer()

    server = await make_server({"inbound": inbound})
    with capture_logs() as logs:
        fake = await FakeAsterisk.connect(server.port, header_block())
        await fake.answer("ANSWER", "510 Invalid or unknown command")
        assert await fake.closed_by_server()
    failed = next(entry for entry in logs if entry["event"] == "agi.handler_failed")
    assert failed["uniqueid"] == "1700000000.1"


async def test_command_timeout_makes_session_unusable(
    make_server: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        try:
            await session.command("ANSWER", timeout=0.1)
        except AgiTimeout as exc:
            rec.errors.append(exc)
        with pytest.raises(AgiTimeout):
            await session.command("ANSWER")
        rec.done.set()

    server = await make_server({"inbound": inbound})
    fake = await FakeAsterisk.connect(server.port, header_block())
    await fake.expect("ANSWER")  # and never answer
    await asyncio.wait_for(rec.done.wait(), IO_TIMEOUT)
    assert await fake.closed_by_server()
    assert len(rec.errors) == 1


async def test_garbage_reply_is_protocol_error_and_closes(
    make_server: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    rec = Recorder()

    server = await make_server({"inbound": answer_expecting(rec, AgiProtocolError)})
    fake = await FakeAsterisk.connect(server.port, header_block())
    await fake.answer("ANSWER", "\x00\x01 binary")
    assert await fake.closed_by_server()
    await asyncio.wait_for(rec.done.wait(), IO_TIMEOUT)
    assert len(rec.errors) == 1


async def test_untrusted_value_cannot_inject_a_command(
    make_server: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    async def inbound(session: AgiSession) -> None:
        await AgiChannel(session).set_variable("IVR_NOTE", 'x"\nEXEC Dial "SIP/evil"\n')

    server = await make_server({"inbound": inbound})
    fake = await FakeAsterisk.connect(server.port, header_block())
    await fake.answer('SET VARIABLE "IVR_NOTE" "x\\"EXEC Dial \\"SIP/evil\\""', "200 result=1")
    assert await fake.closed_by_server()


async def test_unknown_route_is_logged_and_closed(
    make_server: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        rec.calls += 1

    server = await make_server({"inbound": inbound})
    with capture_logs() as logs:
        fake = await FakeAsterisk.connect(server.port, header_block(route="nope"))
        assert await fake.closed_by_server()
    assert rec.calls == 0
    entry = next(entry for entry in logs if entry["event"] == "agi.unknown_route")
    assert entry["route"] == "nope" and entry["uniqueid"] == "1700000000.1"
    assert "46701234567" not in repr(logs), "caller id must never be logged"


async def test_allowlist_rejects_other_peers(make_server: Callable[..., Awaitable[FastAgiServer]]) -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        rec.calls += 1

    server = await make_server({"inbound": inbound}, allowed_peers=frozenset({"10.9.9.9"}))
    with capture_logs() as logs:
        fake = await FakeAsterisk.connect(server.port, header_block())
        assert await fake.closed_by_server()
    assert rec.calls == 0
    assert any(entry["event"] == "agi.peer_rejected" and entry["peer"] == "127.0.0.1" for entry in logs)


async def test_allowlist_admits_listed_peer(make_server: Callable[..., Awaitable[FastAgiServer]]) -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        rec.calls += 1

    server = await make_server({"inbound": inbound}, allowed_peers=frozenset({"10.0.0.0/8", "127.0.0.1"}))
    fake = await FakeAsterisk.connect(server.port, header_block())
    assert await fake.closed_by_server()
    assert rec.calls == 1


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "ivr.example.org", ""])
def test_non_loopback_bind_needs_allowlist(host: str) -> None:
    with pytest.raises(ValueError):
        FastAgiServer({}, host=host)
    with pytest.raises(ValueError):
        FastAgiServer({}, host=host, allowed_peers=frozenset())
    FastAgiServer({}, host=host, allowed_peers=frozenset({"10.1.2.4"}))


def test_bad_allowlist_entry_is_refused() -> None:
    with pytest.raises(ValueError):
        FastAgiServer({}, allowed_peers=frozenset({"asterisk.local"}))


async def test_overload_goes_to_overload_handler(
    make_server: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    release = asyncio.Event()
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        rec.calls += 1
        await release.wait()

    async def overloaded(session: AgiSession) -> None:
        await AgiChannel(session).set_variable("IVR_OVERLOAD", "1")

    server = await make_server({"inbound": inbound}, max_sessions=1, overload_handler=overloaded)
    first = await FakeAsterisk.connect(server.port, header_block(uniqueid="1.1"))
    for _ in range(100):
        if server.active_sessions == 1:
            break
        await asyncio.sleep(0.01)
    assert server.active_sessions == 1
    second = await FakeAsterisk.connect(server.port, header_block(uniqueid="1.2"))
    await second.answer('SET VARIABLE "IVR_OVERLOAD" "1"', "200 result=1")
    assert await second.closed_by_server()
    release.set()
    assert await first.closed_by_server()
    assert rec.calls == 1 and server.active_sessions == 0


async def test_overload_without_handler_closes(make_server: Callable[..., Awaitable[FastAgiServer]]) -> None:
    release = asyncio.Event()

    async def inbound(session: AgiSession) -> None:
        await release.wait()

    server = await make_server({"inbound": inbound}, max_sessions=1)
    first = await FakeAsterisk.connect(server.port, header_block(uniqueid="1.1"))
    while server.active_sessions < 1:
        await asyncio.sleep(0.01)
    second = await FakeAsterisk.connect(server.port, header_block(uniqueid="1.2"))
    assert await second.closed_by_server()
    release.set()
    assert await first.closed_by_server()


async def test_stop_waits_for_running_sessions() -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        await asyncio.sleep(0.2)
        await session.command("SET VARIABLE", "IVR_RESULT", "queue")
        rec.done.set()

    server = FastAgiServer({"inbound": inbound}, port=0)
    await server.start()
    port = server.port
    fake = await FakeAsterisk.connect(port, header_block())
    while server.active_sessions < 1:
        await asyncio.sleep(0.01)
    stopping = asyncio.create_task(server.stop(grace=2.0))
    await asyncio.sleep(0.05)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)  # no longer accepting
    await fake.answer('SET VARIABLE "IVR_RESULT" "queue"', "200 result=1")
    await asyncio.wait_for(stopping, IO_TIMEOUT)
    assert rec.done.is_set()
    assert await fake.closed_by_server()


async def test_stop_cancels_sessions_after_grace() -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError as exc:
            rec.errors.append(exc)
            raise

    server = FastAgiServer({"inbound": inbound}, port=0)
    await server.start()
    fake = await FakeAsterisk.connect(server.port, header_block())
    while server.active_sessions < 1:
        await asyncio.sleep(0.01)
    started = time.monotonic()
    await server.stop(grace=0.1)
    assert time.monotonic() - started < 1.0
    assert len(rec.errors) == 1 and server.active_sessions == 0
    assert await fake.closed_by_server()


async def test_handler_exception_does_not_stop_server(
    make_server: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        rec.calls += 1
        if rec.calls == 1:
            raise RuntimeError("bug in a route")
        await session.command("ANSWER")

    server = await make_server({"inbound": inbound})
    with capture_logs() as logs:
        first = await FakeAsterisk.connect(server.port, header_block(uniqueid="1.1"))
        assert await first.closed_by_server()
        second = await FakeAsterisk.connect(server.port, header_block(uniqueid="1.2"))
        await second.answer("ANSWER", "200 result=0")
        assert await second.closed_by_server()
    failed = [entry for entry in logs if entry["event"] == "agi.handler_failed"]
    assert len(failed) == 1 and failed[0]["uniqueid"] == "1.1"
    assert rec.calls == 2


async def test_concurrent_commands_on_one_session_are_refused(
    make_server: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    rec = Recorder()

    async def inbound(session: AgiSession) -> None:
        first = asyncio.create_task(session.command("ANSWER"))
        await asyncio.sleep(0.05)
        with pytest.raises(RuntimeError):
            await session.command("ANSWER")
        rec.values.append(await first)
        rec.done.set()

    server = await make_server({"inbound": inbound})
    fake = await FakeAsterisk.connect(server.port, header_block())
    await fake.expect("ANSWER")
    await asyncio.sleep(0.1)
    await fake.send(b"200 result=0\n")
    assert await fake.closed_by_server()
    await asyncio.wait_for(rec.done.wait(), IO_TIMEOUT)
    assert rec.values[0].code == 200


def test_structlog_default_logger_is_usable() -> None:
    # The server builds its own logger when none is given.
    assert FastAgiServer({})._log is not None
    assert structlog.get_logger("ivr.agi") is not None
