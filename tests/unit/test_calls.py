"""The caller's number as the IVR may use it: none for a withheld caller, even when the operator's
network asserted the number (Privacy: id with P-Asserted-Identity, trust_id_inbound)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ivr.calls import CallRegistry, presented_caller
from ivr.privacy import NumberHasher

HASHER = NumberHasher(b"k" * 32)


@pytest.mark.parametrize(("callerid", "callingpres", "expected"), [
    ("+46701234567", "0", "+46701234567"),  # allowed, not screened
    ("+46701234567", "1", "+46701234567"),  # allowed, user provided, passed screening
    ("+46701234567", "3", "+46701234567"),  # allowed, network provided
    ("0701234567", "", "0701234567"),  # no presentation given: allowed
    ("+46701234567", "32", ""),  # prohib_not_screened: Privacy: id with the network's PAI
    ("+46701234567", "35", ""),  # prohib, network provided
    ("+46701234567", "67", ""),  # unavailable
    ("+46701234567", "junk", ""),  # unreadable: treated as withheld
    ("anonymous", "0", ""),  # anonymous From, no PAI
    ("Anonymous", "0", ""),
    ("unknown", "0", ""),
    ("", "0", ""),
])
def test_presented_caller(callerid: str, callingpres: str, expected: str) -> None:
    assert presented_caller({"callerid": callerid, "callingpres": callingpres}) == expected


def session(**headers: str) -> Any:
    return SimpleNamespace(headers={"uniqueid": "u1", "channel": "PJSIP/operator-00000001", **headers})


def test_withheld_caller_gets_no_reference_or_hash() -> None:
    call = CallRegistry(HASHER).start(session(callerid="+46701234567", callingpres="32"), route="inbound")
    assert (call.caller_ref, call.caller_hash, call.caller_masked) == ("", "", "(withheld)")


def test_presented_caller_gets_reference_and_hash() -> None:
    call = CallRegistry(HASHER).start(session(callerid="+46701234567", callingpres="0"), route="inbound")
    assert call.caller_ref == HASHER.short("+46701234567")
    assert call.caller_hash == HASHER.digest("+46701234567")
    assert "+46701234567" not in call.caller_masked
