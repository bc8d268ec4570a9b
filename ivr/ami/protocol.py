"""One AMI TCP connection: frames in, panoramisk `Message`s out to waiting actions or to events.

panoramisk's `Action` still assembles answers (ActionID, single vs. list responses, completion)
and its `Message` is what callers get. Its `AMIProtocol` is replaced, for three measured faults:
it decodes each TCP read alone (a split UTF-8 character is dropped), an exception while handling
one message drops the rest of that read, and on disconnect it queues unanswered actions to be
sent again (an Originate could ring twice). Here an unanswered action fails instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeAlias, cast

from panoramisk.actions import Action
from panoramisk.message import Message
from structlog.typing import FilteringBoundLogger

from ivr.ami.errors import AmiConnectionLost, AmiNotConnected, AmiProtocolError
from ivr.ami.message import MAX_FRAME_CHARS, Framer, encode_action
from ivr.ami.reply import AmiHeaders

EventSink = Callable[[AmiHeaders], None]
# What panoramisk's Action resolves to: one Message, or the Messages of a list action.
Answer: TypeAlias = "Message | list[Message]"


class AmiProtocol(asyncio.Protocol):
    def __init__(
        self,
        *,
        on_event: EventSink,
        logger: FilteringBoundLogger,
        max_frame_chars: int = MAX_FRAME_CHARS,
    ) -> None:
        self._on_event = on_event
        self._log = logger
        self._framer = Framer(max_frame_chars=max_frame_chars)
        self._pending: dict[str, Action] = {}  # by ActionID
        self._transport: asyncio.Transport | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def is_closing(self) -> bool:
        return self._transport is None or self._transport.is_closing() or self.lost.done()

    @property
    def banner(self) -> str | None:
        """Protocol version from the greeting (`Asterisk Call Manager/9.0.0` gives `9.0.0`)."""
        return self._framer.banner

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def send(self, action: Action) -> asyncio.Future[Answer]:
        """Write a panoramisk `Action`; its future gets the answer, or AmiConnectionLost."""
        if self._transport is None or self.is_closing:
            raise AmiNotConnected("AMI connection is not open")
        data = encode_action(dict(action.items()))
        self._pending[action.id] = action
        self._transport.write(data)
        return cast("asyncio.Future[Answer]", action.future)

    def forget(self, action_id: str) -> None:
        """Stop waiting for an answer (timed out or cancelled); a late one is then dropped."""
        self._pending.pop(action_id, None)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        """Drop the connection at once (silent peer, junk); pending actions fail."""
        if self._transport is not None:
            self._transport.abort()

    def data_received(self, data: bytes) -> None:
        try:
            frames = self._framer.feed(data)
        except AmiProtocolError as exc:
            self._log.error("ami.protocol_error", error=str(exc))
            self.abort()
            return
        for frame in frames:
            if self.is_closing:
                return
            try:
                self._handle(Message(frame.headers, frame.content))
            except Exception:
                # A message our parser or panoramisk's Action cannot take: this connection is no
                # longer trustworthy, the next one starts clean (and trackers re-synchronise).
                self._log.exception("ami.message_failed")
                self.abort()
                return

    def _handle(self, message: Message) -> None:
        action_id = message.get("ActionID")
        action = self._pending.get(action_id) if isinstance(action_id, str) else None
        is_event = "Event" in message
        if action is None:
            if is_event:
                self._on_event(message)
            return  # a response nobody waits for any more (its action timed out)
        if action.add_message(message):
            self._pending.pop(action_id, None)
        # List items (QueueStatus rows...) belong to the caller of action() only; other events
        # answering an action (OriginateResponse) are news for the event stream as well.
        if is_event and not _is_list_response(action):
            self._on_event(message)

    def connection_lost(self, exc: Exception | None) -> None:
        pending, self._pending = self._pending, {}
        for action in pending.values():
            if not action.future.done():
                action.future.set_exception(AmiConnectionLost("AMI connection lost before the answer"))
        if not self.lost.done():
            self.lost.set_result(None)


def _is_list_response(action: Action) -> bool:
    first = action.responses[0] if action.responses else None
    if first is None:
        return False
    return str(first.get("EventList", "")).lower() == "start" or "will follow" in str(first.get("Message", ""))
