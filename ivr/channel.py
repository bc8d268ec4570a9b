"""The small interface between the call interpreter and whatever carries the call.

The daemon implements it over a FastAGI session (`ivr.agi.channel.AgiChannel`); `ivr simulate`
and the unit tests implement it in memory (`ivr.engine.simulated.ScriptedChannel`).
"""

from __future__ import annotations

from typing import Protocol

DTMF_KEYS = "0123456789*#"


class CallerHungUp(Exception):
    """The caller hung up; the interpreter stops and the call record is closed."""


class CallChannel(Protocol):
    async def answer(self) -> None:
        """Answer the call (a no-op when it is already answered)."""

    async def play(self, sound: str, *, interrupt_keys: str) -> str:
        """Play one sound file (Asterisk name, no extension).

        Returns the key that interrupted it, or "" when it played to the end or is missing.
        `interrupt_keys` "" makes it uninterruptible.
        """

    async def wait_for_key(self, timeout_s: float) -> str:
        """Wait for one key; "" on timeout."""

    async def set_variable(self, name: str, value: str) -> None:
        """Set a channel variable (the dialplan reads the outcome from these)."""

    async def set_language(self, language: str) -> None:
        """Set the channel's language (Asterisk CHANNEL(language))."""

    async def hangup(self) -> None:
        """Hang the call up."""
