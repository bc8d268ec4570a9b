"""The caller's side of a recorded call, before they are queued: the announcement, or the question
("press 2 if you do not want this call recorded")."""

from __future__ import annotations

from ivr.agi.channel import AgiChannel
from ivr.config.model import Recording
from ivr.recordings.policy import prompt_for

ALL_KEYS = "0123456789*#"
# After the question, how long the caller has to decline.
ASK_WAIT_S = 3.0


async def ask_consent(channel: AgiChannel, recording: Recording, language: str) -> str | None:
    """`announced` or `asked` when the call is to be recorded, None when the caller declined or could
    not be told (the prompt did not play: a call is never recorded without the caller hearing it)."""
    sound = f"ivr/{language}/{prompt_for(recording)}"
    if recording.mode == "announce":
        played, _ = await channel.stream(sound, interrupt_keys="")
        return "announced" if played else None
    played, key = await channel.stream(sound, interrupt_keys=ALL_KEYS)
    if not played:
        return None
    key = key or await channel.wait_for_key(ASK_WAIT_S)
    return None if key == recording.decline_key else "asked"
