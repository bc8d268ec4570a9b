"""What can go wrong on a FastAGI connection."""

from __future__ import annotations


class AgiError(Exception):
    """Base of every FastAGI error."""


class AgiProtocolError(AgiError):
    """The peer sent something that is not AGI (bad header, garbage reply, limits exceeded)."""


class AgiHangup(AgiError):
    """The channel hung up, or the connection to Asterisk is gone."""


class AgiTimeout(AgiError):
    """No complete reply (or header block) arrived in time."""


class AgiCommandError(AgiError):
    """Asterisk rejected a command (510 unknown command, 520 usage, or another unexpected code)."""

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code
