"""Where product code sends live events. The MQTT publisher is one implementation; tests use `MemorySink`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ivr.calls import ActiveCall


class EventSink(Protocol):
    def emit(self, event: str, call: ActiveCall | None = None, **data: Any) -> None:
        """Queue an event for publishing. Never blocks and never raises: calls must not wait on the bus."""


class NullSink:
    def emit(self, event: str, call: ActiveCall | None = None, **data: Any) -> None:
        return None


@dataclass
class MemorySink:
    events: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)

    def emit(self, event: str, call: ActiveCall | None = None, **data: Any) -> None:
        self.events.append((event, call.uniqueid if call else None, data))
