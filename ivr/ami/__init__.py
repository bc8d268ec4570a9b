"""AMI wire protocol: a self-healing client over panoramisk's Action/Message (timeouts, ping
watchdog, isolated callbacks, no re-sent Originate)."""

from ivr.ami.client import AmiClient
from ivr.ami.errors import (
    AmiAuthError,
    AmiConnectionError,
    AmiConnectionLost,
    AmiError,
    AmiNotConnected,
    AmiOriginateFailed,
    AmiOriginateUnknown,
    AmiProtocolError,
    AmiTimeout,
)

__all__ = [
    "AmiAuthError",
    "AmiClient",
    "AmiConnectionError",
    "AmiConnectionLost",
    "AmiError",
    "AmiNotConnected",
    "AmiOriginateFailed",
    "AmiOriginateUnknown",
    "AmiProtocolError",
    "AmiTimeout",
]
