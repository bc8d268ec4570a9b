"""A fake Asterisk Manager Interface on TCP, for the benchmarks: it replays recorded events as fast
as a client takes them.

It greets like Asterisk, answers every action with `Response: Success` (QueueStatus with an empty list,
so the AMI bridge's re-synchronisation completes), and on the action `BenchStart` writes the recorded
frames `repeat` times, then a closing `UserEvent` (`UserEvent: BenchEnd`, `Count: <events sent>`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

BANNER = b"Asterisk Call Manager/9.0.0\r\n"
START_ACTION = "benchstart"
END_EVENT = "BenchEnd"


def split_frames(recording: bytes) -> list[bytes]:
    """The event frames of a recorded AMI stream (CRLF or LF), each ending with its blank line;
    anything that is not an event (the banner, responses) is left out."""
    text = recording.replace(b"\r\n", b"\n")
    frames = []
    for block in text.split(b"\n\n"):
        lines = [line for line in block.split(b"\n") if line]
        if lines and lines[0].lower().startswith(b"event:"):
            frames.append(b"\r\n".join(lines) + b"\r\n\r\n")
    return frames


def _fields(frame: bytes) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in frame.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            found.setdefault(key.strip().lower(), value.strip())
    return found


class AmiReplayServer:
    def __init__(self, frames: Iterable[bytes], *, repeat: int = 1) -> None:
        self.frames = list(frames)
        self.repeat = repeat
        self.sent = 0
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, host, port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(BANNER)
        try:
            while True:
                frame = await reader.readuntil(b"\r\n\r\n")
                fields = _fields(frame)
                action_id = fields.get("actionid", "")
                action = fields.get("action", "").lower()
                writer.write(self._answer(action, action_id))
                if action == START_ACTION:
                    await self._stream(writer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _answer(self, action: str, action_id: str) -> bytes:
        head = f"Response: Success\r\nActionID: {action_id}\r\n"
        if action == "queuestatus":
            return (f"{head}EventList: start\r\nMessage: Queue status will follow\r\n\r\n"
                    f"Event: QueueStatusComplete\r\nActionID: {action_id}\r\nEventList: Complete\r\n"
                    f"ListItems: 0\r\n\r\n").encode()
        if action == "login":
            return f"{head}Message: Authentication accepted\r\n\r\n".encode()
        if action == "ping":
            return f"{head}Ping: Pong\r\n\r\n".encode()
        return f"{head}\r\n".encode()

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        chunk = b"".join(self.frames)
        for _ in range(self.repeat):
            writer.write(chunk)
            await writer.drain()
        self.sent = len(self.frames) * self.repeat
        writer.write(f"Event: UserEvent\r\nUserEvent: {END_EVENT}\r\nCount: {self.sent}\r\n\r\n".encode())
