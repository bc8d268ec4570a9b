"""The log scrubber reaches into nested values: a dict of headers, a list of callers, a tuple, bytes, a
number used as a key. Safe identifier keys stay readable at any depth; the caller's objects are not
changed; a deep or cyclic structure still ends in one scrubbed line."""

from __future__ import annotations

import io
import json
from typing import Any

import structlog

from ivr.logs import configure_logging, scrub_numbers
from ivr.privacy import mask_number

NUMBER = "+46701234567"
NATIONAL = "070-123 45 67"


def logged_line(**fields: Any) -> str:
    out = io.StringIO()
    configure_logging("info", stream=out)
    try:
        structlog.get_logger("test").info("nested", **fields)
    finally:
        structlog.reset_defaults()
    return out.getvalue()


def test_numbers_in_nested_values_are_masked() -> None:
    headers = {"CallerIDNum": NUMBER, "inner": {"list": [NATIONAL, ("x", NUMBER)]}, NUMBER: "as a key"}
    line = logged_line(headers=headers, callers=[NUMBER, NATIONAL], pair=(1, NUMBER), raw=NUMBER.encode(),
                       seen={NUMBER})
    assert "46701234567" not in line and "123 45 67" not in line, line
    record = json.loads(line)
    assert record["headers"]["CallerIDNum"] == mask_number(NUMBER)
    assert record["callers"] == [mask_number(NUMBER), mask_number(NATIONAL)]


def test_safe_identifier_keys_stay_readable_at_any_depth() -> None:
    scrubbed = scrub_numbers(None, "info", {"event": "x", "call": {"uniqueid": "1790000000.123",
                                                                    "caller": NUMBER}})
    assert scrubbed["call"] == {"uniqueid": "1790000000.123", "caller": mask_number(NUMBER)}


def test_the_logged_objects_are_not_changed() -> None:
    headers = {"caller": NUMBER, "more": [NUMBER]}
    scrub_numbers(None, "info", {"event": "x", "headers": headers})
    assert headers == {"caller": NUMBER, "more": [NUMBER]}


def test_deep_and_cyclic_values_end_in_one_scrubbed_line() -> None:
    deep: dict[str, Any] = {"caller": NUMBER}
    for _ in range(50):
        deep = {"next": deep}
    cyclic: list[Any] = [NUMBER]
    cyclic.append(cyclic)
    line = logged_line(deep=deep, cyclic=cyclic)
    assert "46701234567" not in line and line.count("\n") == 1, line
