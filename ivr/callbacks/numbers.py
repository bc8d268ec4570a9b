"""Which numbers the contact center calls back: Swedish subscriber numbers, never premium-rate or
short numbers (a caller could otherwise make the city call a paid line)."""

from __future__ import annotations

import re

from ivr.privacy import normalise_number

_SWEDISH = re.compile(r"^\+46[1-9][0-9]{6,10}$")
# 0900, 0939, 0944: premium rate (betalteletjänster); 099: also premium.
_REFUSED_PREFIXES = ("+46900", "+46939", "+46944", "+4699")
_WITHHELD = frozenset({"", "unknown", "anonymous", "<unknown>", "restricted"})


def callback_number(raw: str) -> str | None:
    """The E.164 number to call back, or None when we will not call it."""
    if raw.strip().lower() in _WITHHELD or not re.fullmatch(r"\+?[0-9]{4,16}", raw.strip()):
        return None
    number = normalise_number(raw.strip())
    if not _SWEDISH.match(number) or number.startswith(_REFUSED_PREFIXES):
        return None
    return number


def last_digits(number: str, count: int = 4) -> str:
    return number[-count:]
