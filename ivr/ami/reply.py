"""What an action gets back, typed: the one place where panoramisk's answers are read.

panoramisk answers an action with one `Message`, or with a list for a list action (QueueStatus,
CoreShowChannels, DBGet: the response, the rows, the ...Complete event). Callers used to unpack
that shape themselves; `AmiReply.of()` does it once and the rest of the daemon reads `.ok`,
`.message`, `.get()` and `.events`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# One AMI message (response or event) as its headers. panoramisk's `Message` is one: its keys are
# case-insensitive, and a header repeated in the frame (`Output`, `ChanVariable`) is a list.
AmiHeaders = Mapping[str, object]


def header(message: AmiHeaders, key: str, default: str = "") -> str:
    """One header as text; a repeated header gives its last value, a missing one `default`."""
    value = message.get(key)
    if value is None:
        return default
    if isinstance(value, list):
        value = value[-1] if value else default
    return str(value)


@dataclass(frozen=True)
class AmiReply:
    """The answer to one action: its response and, for a list action, the events that followed."""

    response: AmiHeaders
    events: tuple[AmiHeaders, ...] = ()

    @classmethod
    def of(cls, answer: AmiHeaders | Iterable[AmiHeaders]) -> AmiReply:
        """From what panoramisk's `Action` resolves to: one message, or the list of a list action."""
        if isinstance(answer, Mapping):
            return cls(answer)
        first, *rest = answer
        return cls(first, tuple(rest))

    @classmethod
    def success(cls, *events: AmiHeaders, **headers: str) -> AmiReply:
        """`Response: Success` with these headers (and list events): for fakes and tests."""
        return cls({"Response": "Success", **headers}, events)

    @classmethod
    def error(cls, message: str) -> AmiReply:
        """`Response: Error` with its `Message`, as Asterisk refuses an action."""
        return cls({"Response": "Error", "Message": message})

    @property
    def ok(self) -> bool:
        """`Response: Success` (Asterisk's `Error`, and anything else, is not)."""
        return header(self.response, "Response").lower() == "success"

    @property
    def message(self) -> str:
        """The response's `Message`: why Asterisk refused, or what it did."""
        return header(self.response, "Message")

    def get(self, key: str, default: str = "") -> str:
        """One header of the response, as text (`Value` of Getvar)."""
        return header(self.response, key, default)

    @property
    def messages(self) -> tuple[AmiHeaders, ...]:
        """The response and then every event, in the order Asterisk sent them."""
        return (self.response, *self.events)

    def named(self, event: str) -> list[AmiHeaders]:
        """The events called `event` (`CoreShowChannel`, `DBGetResponse`), in order."""
        return [e for e in self.events if header(e, "Event") == event]
