"""`CallChannel` over a FastAGI session: the interpreter's few verbs as AGI commands."""

from __future__ import annotations

import re
from typing import Final

import structlog
from structlog.typing import FilteringBoundLogger

from ivr.agi.errors import AgiCommandError, AgiHangup, AgiProtocolError
from ivr.agi.protocol import AgiReply
from ivr.agi.session import AgiSession
from ivr.channel import DTMF_KEYS, CallerHungUp

_VARIABLE_NAME: Final = re.compile(r"[A-Za-z0-9_()]+")
_LANGUAGE: Final = re.compile(r"[A-Za-z0-9_-]{1,32}")
_SOUND: Final = re.compile(r"[A-Za-z0-9_/.-]{1,255}")


class AgiChannel:
    """Implements `ivr.channel.CallChannel`; a hangup surfaces as `CallerHungUp`.

    `margin_s` is added to every wait on the caller so a slow Asterisk is not taken for a dead
    one; `max_play_s` bounds STREAM FILE, whose length we do not know.
    """

    def __init__(
        self,
        session: AgiSession,
        *,
        margin_s: float = 5.0,
        max_play_s: float = 600.0,
        logger: FilteringBoundLogger | None = None,
    ) -> None:
        self._session = session
        self._margin_s = margin_s
        self._max_play_s = max_play_s
        base = logger or structlog.get_logger("ivr.agi")
        self._log = base.bind(uniqueid=session.uniqueid, channel=session.channel)

    async def answer(self) -> None:
        reply = await self._command("ANSWER")
        if reply.result_int() == -1:
            await self._raise_if_dead("ANSWER")
            raise AgiCommandError("ANSWER failed on a live channel", code=reply.code)

    async def play(self, sound: str, *, interrupt_keys: str) -> str:
        return (await self.stream(sound, interrupt_keys=interrupt_keys))[1]

    async def stream(self, sound: str, *, interrupt_keys: str) -> tuple[bool, str]:
        """Whether the sound was played (False: Asterisk could not open it), and the key that cut it short."""
        if not _SOUND.fullmatch(sound) or ".." in sound:
            raise ValueError(f"bad sound name {sound!r}")
        _check_keys(interrupt_keys)
        reply = await self._command("STREAM FILE", sound, interrupt_keys, timeout=self._max_play_s)
        code = reply.result_int()
        if code == -1:
            # -1 means either a hangup or a file Asterisk could not open; only a probe tells which.
            await self._raise_if_dead("STREAM FILE")
            self._log.warning("agi.sound_not_played", sound=sound)
            return False, ""
        return True, _key_from_code(code, allowed=interrupt_keys)

    async def wait_for_key(self, timeout_s: float) -> str:
        if timeout_s < 0:
            raise ValueError("timeout_s must not be negative (Asterisk reads -1 as 'forever')")
        reply = await self._command("WAIT FOR DIGIT", str(round(timeout_s * 1000)), timeout=timeout_s + self._margin_s)
        code = reply.result_int()
        if code == -1:
            await self._raise_if_dead("WAIT FOR DIGIT")
            self._log.warning("agi.wait_for_digit_failed")
            return ""
        return _key_from_code(code, allowed=DTMF_KEYS)

    async def set_variable(self, name: str, value: str) -> None:
        if not _VARIABLE_NAME.fullmatch(name):
            raise ValueError(f"bad channel variable name {name!r}")
        await self._command("SET VARIABLE", name, value)

    async def set_language(self, language: str) -> None:
        if not _LANGUAGE.fullmatch(language):
            raise ValueError(f"bad language {language!r}")
        await self._command("SET VARIABLE", "CHANNEL(language)", language)

    async def hangup(self) -> None:
        if not self._session.usable:
            return  # already gone: hanging up is done
        try:
            await self._session.command("HANGUP")
        except AgiHangup:
            return

    async def _command(self, name: str, *args: str, timeout: float | None = None) -> AgiReply:
        try:
            reply = await self._session.command(name, *args, timeout=timeout)
        except AgiHangup as exc:
            raise CallerHungUp(str(exc)) from exc
        if reply.code != 200:
            raise AgiCommandError(f"{name} rejected with {reply.code}: {reply.data or ''}", code=reply.code)
        return reply

    async def _raise_if_dead(self, after: str) -> None:
        """Ask Asterisk whether the channel still lives; CallerHungUp if not.

        After a hangup res_agi sends `HANGUP` and answers channel commands with 511 before it
        reads our next line, so CHANNEL STATUS gives a definite answer with no guessing on time.
        """
        try:
            await self._session.command("CHANNEL STATUS")
        except AgiHangup as exc:
            raise CallerHungUp(f"hung up during {after}") from exc


def _check_keys(keys: str) -> None:
    if any(key not in DTMF_KEYS for key in keys):
        raise ValueError(f"interrupt keys must be among {DTMF_KEYS!r}, got {keys!r}")


def _key_from_code(code: int, *, allowed: str) -> str:
    """STREAM FILE / WAIT FOR DIGIT give the key's ASCII code, 0 for none."""
    if code == 0:
        return ""
    key = chr(code) if 0 < code < 128 else ""
    if key == "" or key not in allowed:
        raise AgiProtocolError(f"unexpected key code {code}")
    return key
