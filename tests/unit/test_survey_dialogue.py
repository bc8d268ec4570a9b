"""What the caller hears in the survey's offer and question, and what their keys make of it."""

from __future__ import annotations

import pytest

from ivr.channel import CallerHungUp
from ivr.engine.simulated import HANGUP, ScriptedChannel
from ivr.survey.dialogue import ask, offer

OFFER = "ivr/en/survey-offer"
QUESTION, INVALID, THANKS = "ivr/sv/survey-question", "ivr/sv/survey-invalid", "ivr/sv/survey-thanks"


async def test_pressing_1_after_the_offer_agrees_anything_else_does_not() -> None:
    for keys, agreed in ((["1"], True), (["2"], False), ([""], False), (["#"], False)):
        channel = ScriptedChannel(keys)
        assert await offer(channel, "en", 4) is agreed
        assert channel.played == [OFFER]


@pytest.mark.parametrize("key", list("12345"))
async def test_a_key_1_to_5_is_the_score_and_the_caller_is_thanked(key: str) -> None:
    channel = ScriptedChannel([key])
    assert await ask(channel, "sv") == int(key)
    assert channel.played == [QUESTION, THANKS]


async def test_a_key_outside_1_to_5_is_asked_again_once() -> None:
    channel = ScriptedChannel(["9", "3"])
    assert await ask(channel, "sv") == 3
    assert channel.played == [QUESTION, INVALID, QUESTION, THANKS]


async def test_two_wrong_answers_or_silence_leave_no_score() -> None:
    for keys in (["0", "*"], ["", ""], ["7", ""]):
        channel = ScriptedChannel(keys)
        assert await ask(channel, "sv") is None
        assert channel.played == [QUESTION, INVALID, QUESTION]  # no thanks, and never a third time


async def test_a_caller_who_hangs_up_instead_raises_caller_hung_up() -> None:
    channel = ScriptedChannel([HANGUP])
    with pytest.raises(CallerHungUp):
        await ask(channel, "sv")
    assert channel.played == [QUESTION]
