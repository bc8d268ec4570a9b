"""Where product code sends live events. The MQTT publisher is one implementation; tests use `MemorySink`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import structlog

if TYPE_CHECKING:
    from ivr.calls import ActiveCall


class EventSink(Protocol):
    def emit(self, event: str, call: ActiveCall | None = None, **data: Any) -> None:
        """Queue an event for publishing. Never blocks and never raises: calls must not wait on the bus."""


@dataclass
class MemorySink:
    events: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)

    def emit(self, event: str, call: ActiveCall | None = None, **data: Any) -> None:
        self.events.append((event, call.uniqueid if call else None, data))


class FanoutSink:
    """Sends every event to several sinks; one failing sink never stops the others or the call."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = list(sinks)

    def add(self, sink: EventSink) -> None:
        self.sinks.append(sink)

    def emit(self, event: str, call: ActiveCall | None = None, **data: Any) -> None:
        for sink in self.sinks:
            try:
                sink.emit(event, call, **data)
            except Exception:
                structlog.get_logger("ivr.events").exception("event sink failed", sink=type(sink).__name__,
                                                             event_name=event)
