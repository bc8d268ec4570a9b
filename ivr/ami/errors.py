"""What can go wrong on the AMI connection."""

from __future__ import annotations


class AmiError(Exception):
    """Base of every AMI error."""


class AmiProtocolError(AmiError):
    """Asterisk sent something that is not AMI framing (or a frame beyond the size limit)."""


class AmiAuthError(AmiError):
    """Login was refused: wrong username or secret, or no permission."""


class AmiConnectionError(AmiError):
    """Could not connect, or the connection dropped."""


class AmiNotConnected(AmiConnectionError):
    """No logged-in connection right now (the client is reconnecting, or closed)."""


class AmiConnectionLost(AmiConnectionError):
    """The connection dropped while the action waited for its answer; it was not re-sent."""


class AmiTimeout(AmiError):
    """No complete answer within the action's timeout."""


class AmiOriginateUnknown(AmiError):
    """An Originate was sent but its outcome never arrived; the call may or may not exist.

    It is never re-sent automatically: placing it again could ring the callee twice.
    """


class AmiOriginateFailed(AmiError):
    """Asterisk answered the Originate with an error or a failed OriginateResponse."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason
