"""What the caller hears and keys in the survey, over any `CallChannel` (the daemon's FastAGI channel,
or a scripted one in the unit tests). A hang-up surfaces as `CallerHungUp` from the channel."""

from __future__ import annotations

from ivr.channel import DTMF_KEYS, CallChannel

OFFER_KEY = "1"
SCORES = "12345"
# Seconds the caller has for a key after the question has been played.
ANSWER_WAIT_S = 6.0
# A key outside 1-5 (or none) is asked again once; then the survey ends without a score.
ASKS = 2


def sound(language: str, prompt: str) -> str:
    return f"ivr/{language}/{prompt}"


async def offer(channel: CallChannel, language: str, wait_s: float) -> bool:
    """"Press 1 to answer one question after the call": True when the caller pressed 1."""
    key = await channel.play(sound(language, "survey-offer"), interrupt_keys=OFFER_KEY)
    if not key:
        key = await channel.wait_for_key(wait_s)
    return key == OFFER_KEY


async def ask(channel: CallChannel, language: str) -> int | None:
    """The question; the score 1-5, or None when the caller gave none (asked again once after a key
    outside 1-5 or silence). The caller hears thanks after a score."""
    for attempt in range(ASKS):
        if attempt:
            await channel.play(sound(language, "survey-invalid"), interrupt_keys="")
        # Every key interrupts, so that a wrong one is heard as wrong, not ignored.
        key = await channel.play(sound(language, "survey-question"), interrupt_keys=DTMF_KEYS)
        if not key:
            key = await channel.wait_for_key(ANSWER_WAIT_S)
        if key and key in SCORES:
            await channel.play(sound(language, "survey-thanks"), interrupt_keys="")
            return int(key)
    return None
