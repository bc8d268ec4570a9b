"""Number normalisation and masking: every form a trunk presents for one number hashes the same."""

from __future__ import annotations

import pytest

from ivr.privacy import NumberHasher, mask_number, normalise_number, scrub_text


@pytest.mark.parametrize("form", ["0701234567", "+46701234567", "0046701234567", "46701234567", "701234567",
                                  "070-123 45 67", "+46 70 123 45 67"])
def test_forms_of_one_mobile_number_normalise_alike(form: str) -> None:
    assert normalise_number(form) == "+46701234567"


@pytest.mark.parametrize(("form", "canonical"), [
    ("040341000", "+4640341000"),       # Malmö landline, national form
    ("40341000", "+4640341000"),        # without the trunk 0
    ("004917612345678", "+4917612345678"),
    ("+4917612345678", "+4917612345678"),
    ("", ""),
])
def test_other_numbers(form: str, canonical: str) -> None:
    assert normalise_number(form) == canonical


def test_hash_is_keyed_and_form_independent() -> None:
    one, other = NumberHasher(b"k" * 32), NumberHasher(b"j" * 32)
    assert one.digest("0701234567") == one.digest("+46 70 123 45 67")
    assert one.digest("0701234567") != other.digest("0701234567")
    assert "701234567" not in one.digest("0701234567")


def test_masking_keeps_no_more_than_the_ends() -> None:
    assert mask_number("+46701234567") == "+467******67"
    assert mask_number("") == "(none)"
    assert "1234" not in scrub_text("call me on 0701234567 please")
