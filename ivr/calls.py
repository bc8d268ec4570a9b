"""The calls the daemon is handling now, each with its own bound logger."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from structlog.typing import FilteringBoundLogger

from ivr.privacy import NumberHasher, mask_number

if TYPE_CHECKING:
    from ivr.agi.session import AgiSession
    from ivr.engine.interpreter import CallResult


# agi_callerid values that name nobody.
_NO_NUMBER = frozenset({"", "unknown", "anonymous", "<unknown>", "restricted"})
# agi_callingpres is the Q.931 presentation: bits 0x60 are 0 (allowed), 0x20 (restricted: the
# caller withheld the number) or 0x40 (not available).
_PRESENTATION_MASK = 0x60


def presented_caller(headers: Mapping[str, str]) -> str:
    """The caller's number as the IVR may use it (registry look-ups, repeat-caller boosts, call
    records, the callback number): "" when there is none or the caller withheld it. A withheld call
    from the operator (`Privacy: id`) may still carry the network's asserted number, which Asterisk
    puts in agi_callerid with the presentation restricted (trust_id_inbound): that number is not
    the IVR's to use."""
    caller = headers.get("callerid", "").strip()
    if caller.lower() in _NO_NUMBER:
        return ""
    presentation = headers.get("callingpres", "0").strip() or "0"
    if not presentation.isdigit() or int(presentation) & _PRESENTATION_MASK:
        return ""
    return caller


@dataclass
class ActiveCall:
    uniqueid: str
    route: str
    channel: str
    caller_masked: str
    caller_ref: str  # keyed hash prefix: correlates calls without the number
    caller_hash: str
    started: float
    log: FilteringBoundLogger  # bound to the call's uniqueid and route
    result: CallResult | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def finish_menu(self, result: CallResult) -> None:
        self.result = result


class CallRegistry:
    def __init__(self, hasher: NumberHasher) -> None:
        self._hasher = hasher
        self._active: dict[str, ActiveCall] = {}

    def start(self, session: AgiSession, *, route: str) -> ActiveCall:
        caller = presented_caller(session.headers)
        known = bool(caller)
        uniqueid = session.headers.get("uniqueid", "")
        call = ActiveCall(
            uniqueid=uniqueid,
            route=route,
            channel=session.headers.get("channel", ""),
            caller_masked=mask_number(caller) if known else "(withheld)",
            caller_ref=self._hasher.short(caller) if known else "",
            caller_hash=self._hasher.digest(caller) if known else "",
            started=time.time(),
            log=structlog.get_logger("ivr.call").bind(uniqueid=uniqueid, route=route),
        )
        call.log = call.log.bind(caller=call.caller_masked, caller_ref=call.caller_ref)
        self._active[uniqueid] = call
        return call

    def end(self, uniqueid: str) -> ActiveCall | None:
        return self._active.pop(uniqueid, None)

    def __len__(self) -> int:
        return len(self._active)
