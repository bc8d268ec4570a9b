"""One FastAGI connection: the header block, then one command and one reply at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import parse_qsl, urlsplit

from ivr.agi.deadline import CommandDeadline
from ivr.agi.errors import AgiError, AgiHangup, AgiProtocolError, AgiTimeout
from ivr.agi.protocol import (
    HANGUP_LINE,
    MAX_BLOCK_LINES,
    MAX_REPLY_LINE_BYTES,
    AgiReply,
    HeaderParser,
    decode_line,
    ends_block,
    format_command,
    parse_reply,
    starts_block,
)

# StreamReader buffer limit: a line longer than this is rejected before it is buffered further.
STREAM_LIMIT = MAX_REPLY_LINE_BYTES
_CLOSE_WAIT_S = 1.0


async def read_headers(reader: asyncio.StreamReader, *, timeout: float) -> dict[str, str]:
    """Read the `agi_*` block; AgiTimeout, AgiHangup (closed early) or AgiProtocolError."""
    parser = HeaderParser()
    try:
        async with asyncio.timeout(timeout):
            while not parser.feed_line(await _read_raw_line(reader)):
                pass
    except TimeoutError:
        raise AgiTimeout(f"header block not complete after {timeout:g} s") from None
    return parser.headers


async def _read_raw_line(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError:
        # EOF is b"" forever: raising here is what keeps a half-open client from spinning us.
        raise AgiHangup("connection closed by the peer") from None
    except asyncio.LimitOverrunError:
        raise AgiProtocolError("line longer than the stream limit") from None
    except ConnectionError as exc:
        raise AgiHangup(f"connection lost: {exc.__class__.__name__}") from None


class AgiSession:
    """A FastAGI call after its headers: `command()` sends one line and reads its reply.

    Once the channel has hung up, or the connection is unusable (timeout, garbage), every later
    `command()` raises at once without touching the socket.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        headers: Mapping[str, str],
        *,
        command_timeout: float = 30.0,
    ) -> None:
        if command_timeout <= 0:
            raise ValueError("command_timeout must be positive")
        self._reader = reader
        self._writer = writer
        self._headers = MappingProxyType(dict(headers))
        self._command_timeout = command_timeout
        request = urlsplit(self._headers.get("request", ""))
        self._route = request.path.strip("/")
        self._query = MappingProxyType(dict(parse_qsl(request.query, keep_blank_values=True)))
        self._hung_up = False
        self._failure: AgiError | None = None
        self._busy = False
        self._deadline: CommandDeadline | None = None  # made by the first command, inside the loop

    @property
    def headers(self) -> Mapping[str, str]:
        """The `agi_*` headers without the prefix: `request`, `channel`, `uniqueid`, `arg_1`..."""
        return self._headers

    @property
    def route(self) -> str:
        """Path of `agi_request` without slashes: `agi://host/inbound?x=1` gives `inbound`."""
        return self._route

    @property
    def query(self) -> Mapping[str, str]:
        """Query arguments of `agi_request` (`{"x": "1"}` above); the last one wins."""
        return self._query

    @property
    def args(self) -> tuple[str, ...]:
        """The AGI() application arguments after the URL, from `agi_arg_1` on."""
        found: list[str] = []
        while (value := self._headers.get(f"arg_{len(found) + 1}")) is not None:
            found.append(value)
        return tuple(found)

    @property
    def uniqueid(self) -> str:
        return self._headers.get("uniqueid", "")

    @property
    def channel(self) -> str:
        return self._headers.get("channel", "")

    @property
    def hung_up(self) -> bool:
        return self._hung_up

    @property
    def usable(self) -> bool:
        """False after a hangup, a timeout or a protocol error: commands would raise."""
        return not self._hung_up and self._failure is None

    async def command(self, name: str, *args: str, timeout: float | None = None) -> AgiReply:
        """Send `name` (e.g. `STREAM FILE`) with quoted `args`; return the reply.

        `timeout` covers the write and the whole reply; commands that wait for the caller must
        pass their wait time plus a margin. Raises AgiHangup (HANGUP notice, 511, EOF), AgiTimeout
        or AgiProtocolError; the last two leave the session unusable, since a late reply would
        otherwise be read as the answer to the next command.
        """
        self._raise_if_unusable()
        if self._busy:
            raise RuntimeError("AGI command already in progress on this session")
        line = format_command(name, *args)
        limit = self._command_timeout if timeout is None else timeout
        if limit <= 0:
            raise ValueError("timeout must be positive")
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("AgiSession.command() must run in a task")
        deadline = self._deadline or CommandDeadline(asyncio.get_running_loop())
        self._deadline = deadline
        cancelling = task.cancelling()
        self._busy = True
        finished = False
        deadline.arm(task, limit)
        try:
            self._writer.write(line)
            await self._writer.drain()
            reply = await self._read_reply()
            finished = True
        except asyncio.CancelledError:
            # As asyncio.timeout(): our own expiry becomes AgiTimeout, any other cancellation goes on.
            if deadline.expired and task.uncancel() <= cancelling:
                raise self._fail(AgiTimeout(f"no reply to {name} within {limit:g} s")) from None
            raise
        except ConnectionError as exc:
            raise self._fail(AgiHangup(f"connection lost: {exc.__class__.__name__}")) from None
        except AgiError as exc:
            raise self._fail(exc) from None
        finally:
            deadline.disarm()
            if finished and deadline.expired:
                task.uncancel()  # expired as the reply came: withdraw our cancel, as asyncio.timeout() does
            self._busy = False
            if not finished:
                # Cancelled mid-command: the reply is still on its way and would desynchronise us.
                self._fail(AgiProtocolError(f"{name} was interrupted before its reply"))
        if reply.code == 511:  # "Command Not Permitted on a dead channel"
            raise self._fail(AgiHangup("511: channel is dead"))
        return reply

    async def close(self) -> None:
        """Close the connection (Asterisk then continues the dialplan); safe to call twice."""
        if self._deadline is not None:
            self._deadline.close()
        if self._failure is None and not self._hung_up:
            self._failure = AgiHangup("session closed")
        if self._writer.is_closing():
            return
        self._writer.close()
        try:
            async with asyncio.timeout(_CLOSE_WAIT_S):
                await self._writer.wait_closed()
        except (TimeoutError, ConnectionError):
            pass

    async def _read_reply(self) -> AgiReply:
        while True:
            first = await self._read_line()
            if first == HANGUP_LINE:
                raise AgiHangup("channel hung up")
            block = [first]
            if starts_block(first):
                # A 520 usage text must be consumed whole, or it would be read as the next reply.
                while len(block) == 1 or not ends_block(first, block[-1]):
                    if len(block) >= MAX_BLOCK_LINES:
                        raise AgiProtocolError(f"reply block longer than {MAX_BLOCK_LINES} lines")
                    block.append(await self._read_line())
            reply = parse_reply(block)
            if reply.code != 100:  # 100 is provisional ("Trying..."); the real reply follows
                return reply

    async def _read_line(self) -> str:
        return decode_line(await _read_raw_line(self._reader), limit=MAX_REPLY_LINE_BYTES)

    def _fail(self, error: AgiError) -> AgiError:
        if isinstance(error, AgiHangup):
            self._hung_up = True
        if self._failure is None:
            self._failure = error
        return error

    def _raise_if_unusable(self) -> None:
        if self._hung_up:
            raise AgiHangup("channel already hung up")
        failure = self._failure
        if failure is None:
            return
        message = f"session unusable: {failure}"
        if isinstance(failure, AgiHangup):
            raise AgiHangup(message)
        if isinstance(failure, AgiTimeout):
            raise AgiTimeout(message)
        raise AgiProtocolError(message)
