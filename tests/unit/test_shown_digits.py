"""What the caller keyed reaches the agent (menu_finished `digits`), never a phone number."""

from __future__ import annotations

from ivr.config import ConfigSet
from ivr.engine.nodes.collect import shown_digits
from ivr.privacy import NumberHasher, looks_like_phone_number

HASHER = NumberHasher(b"k" * 32)


def test_phone_number_shapes() -> None:
    for number in ("0701234567", "040123456", "+46701234567", "0046701234567", "00123"):
        assert looks_like_phone_number(number), number
    for case in ("20231234", "1234", "4034100", "0401234", "123456789012"):
        assert not looks_like_phone_number(case), case


def test_only_collect_variables_and_never_a_number(shipped_config: ConfigSet) -> None:
    nodes = shipped_config.plans["main"].nodes.values()
    own = HASHER.digest("+46701234567")

    def is_callers(keys: str) -> bool:
        return HASHER.digest(keys) == own

    assert shown_digits(nodes, {"case_number": "20231234", "other": "5555"}, is_callers) == \
        {"case_number": "20231234"}
    assert shown_digits(nodes, {"case_number": "0701234567"}, is_callers) == {}
    # The caller's own number in the national form without the trunk 0 hashes the same: left out too.
    assert shown_digits(nodes, {"case_number": "701234567"}, is_callers) == {}
