"""structlog set-up: JSON lines, one bound logger per call, phone numbers never in clear."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from ivr.privacy import scrub_text

# Keys that may legitimately hold long digit strings that are not phone numbers.
# A config version is a hex digest: one with seven digits in a row looked like a number and was masked.
_SAFE_KEYS = frozenset({"uniqueid", "linkedid", "timestamp", "config_version", "version", "old_version",
                        "new_version", "pid", "port", "event"})


def scrub_numbers(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Last line of defence: mask anything shaped like a phone number in string values."""
    for key, value in list(event_dict.items()):
        if key in _SAFE_KEYS:
            continue
        if isinstance(value, str):
            event_dict[key] = scrub_text(value)
    if isinstance(event_dict.get("event"), str):
        event_dict["event"] = scrub_text(event_dict["event"])
    return event_dict


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
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
