"""AMI wire protocol: a self-healing client over panoramisk's Action/Message (timeouts, ping
watchdog, isolated callbacks, no re-sent Originate), seen by the rest of the daemon as an `AmiPort`
whose actions answer with a typed `AmiReply`."""

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
from ivr.ami.port import ActionFields, AmiPort, EventCallback, ReconnectCallback
from ivr.ami.reply import AmiHeaders, AmiReply, header

__all__ = [
    "ActionFields",
    "AmiAuthError",
    "AmiClient",
    "AmiConnectionError",
    "AmiConnectionLost",
    "AmiError",
    "AmiHeaders",
    "AmiNotConnected",
    "AmiOriginateFailed",
    "AmiOriginateUnknown",
    "AmiPort",
    "AmiProtocolError",
    "AmiReply",
    "AmiTimeout",
    "EventCallback",
    "ReconnectCallback",
    "header",
]
