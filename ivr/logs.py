"""structlog set-up: JSON lines, one bound logger per call, phone numbers never in clear."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO, cast

import structlog

from ivr.privacy import scrub_text

# Keys that may legitimately hold long digit strings that are not phone numbers.
# A config version is a hex digest: one with seven digits in a row looked like a number and was masked.
_SAFE_KEYS = frozenset({"uniqueid", "linkedid", "timestamp", "config_version", "version", "old_version",
                        "new_version", "pid", "port", "event"})
# Nested values deeper than this are logged as their scrubbed text (a cycle cannot recurse forever).
_MAX_DEPTH = 8


def scrub_numbers(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Last line of defence: mask anything shaped like a phone number in string values, however deep
    (a dict of headers or a list of callers logged as one field is as personal as a top-level string)."""
    for key, value in list(event_dict.items()):
        if key not in _SAFE_KEYS:
            event_dict[key] = _scrub_value(value)
    if isinstance(event_dict.get("event"), str):
        event_dict["event"] = scrub_text(event_dict["event"])
    return event_dict


def _scrub_value(value: Any, depth: int = 0) -> Any:
    """`value` with every string in it scrubbed: containers are copied, never changed in place (the
    caller may still hold them). Past a sane depth the whole rest is rendered and scrubbed as text."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, bytes | bytearray):
        return scrub_text(bytes(value).decode("utf-8", errors="replace"))
    if depth >= _MAX_DEPTH and isinstance(value, Mapping | list | tuple | set | frozenset):
        return scrub_text(repr(value))
    if isinstance(value, Mapping):
        return {(_scrub_value(k, depth + 1) if isinstance(k, str) else k):
                (v if isinstance(k, str) and k in _SAFE_KEYS else _scrub_value(v, depth + 1))
                for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub_value(item, depth + 1) for item in value]
    return value


class ClosedPipeSafe:
    """The daemon's log stream, which outlives its reader: when the pipe it writes to closes
    (`ivr run | head`, a log shipper that died), logging goes to /dev/null instead of raising
    BrokenPipeError inside whatever call was logging."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self) -> None:
        # Point the descriptor itself at /dev/null, so that the text still in the stream's buffer
        # is not a second BrokenPipeError when the interpreter flushes it at exit.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):  # no descriptor (a StringIO): drop the stream instead
            self._stream = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the logger)


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    out = cast(TextIO, ClosedPipeSafe(stream or sys.stdout))
    logging.basicConfig(format="%(message)s", stream=out, level=level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            scrub_numbers,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
