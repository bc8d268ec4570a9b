"""`AmiPort`: what the rest of the daemon may ask of an AMI connection.

`AmiClient` is the one real implementation; `ivr.testing.fake_ami.FakeAmi` the one in-memory fake.
Code above the ground floor takes an `AmiPort`, never the client, so tests hand it the fake and
nothing needs to re-parse panoramisk's answers (they arrive as `AmiReply`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from ivr.ami.reply import AmiHeaders, AmiReply

# An action's headers; a list value repeats its header (Originate's `Variable`).
ActionFields = Mapping[str, str | Sequence[str]]
# Called with each matching event; may be a coroutine function.
EventCallback = Callable[[AmiHeaders], Awaitable[None] | None]
ReconnectCallback = Callable[[], Awaitable[None] | None]


class AmiPort(Protocol):
    @property
    def connected(self) -> bool:
        """Logged in over a live connection right now."""
        ...

    async def action(self, fields: ActionFields, timeout: float | None = None) -> AmiReply:
        """Send one action; a refusal (`Response: Error`) is a reply whose `.ok` is False.

        Raises AmiNotConnected (not sent), AmiTimeout or AmiConnectionLost (sent, no answer).
        """
        ...

    async def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int = 1,
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        ring_timeout: float = 30.0,
        account: str | None = None,
    ) -> AmiHeaders:
        """Place a call and return its successful `OriginateResponse` event.

        Raises AmiOriginateFailed, AmiNotConnected or AmiOriginateUnknown (never re-sent).
        """
        ...

    def on_event(self, pattern: str, callback: EventCallback) -> None:
        """Call `callback(event)` for events whose name matches `pattern` (`QueueMember*`)."""
        ...

    def on_reconnect(self, callback: ReconnectCallback) -> None:
        """Call `callback()` after every successful login (the first one included)."""
        ...
