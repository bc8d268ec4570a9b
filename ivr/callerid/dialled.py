"""The number an official or agent dialled, with an optional purpose prefix: *8<two-digit code><number>."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.config.loader import ConfigSet

PURPOSE_PREFIX = "*8"
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
_WITH_PURPOSE = re.compile(r"^\*8([0-9]{2})(\+?[0-9]{3,20})$")
_PURPOSE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Dialled:
    number: str  # what goes to the trunk
    purpose_code: str = ""


def parse_dialled(text: str) -> Dialled | None:
    """None when `text` is not something to send to the trunk."""
    if match := _WITH_PURPOSE.fullmatch(text):
        return Dialled(match[2], match[1])
    if _NUMBER.fullmatch(text):
        return Dialled(text)
    return None


def resolve_purpose(config: ConfigSet, *, code: str = "", ident: str = "") -> str | None:
    """The purpose id from a dialled code or from a purpose id set on the channel; None if unknown."""
    purposes = config.rules.caller_id.purposes
    if code:
        return next((name for name, purpose in purposes.items() if purpose.code == code), None)
    if ident and _PURPOSE_ID.fullmatch(ident) and ident in purposes:
        return ident
    return None
