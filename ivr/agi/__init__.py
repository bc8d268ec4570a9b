"""FastAGI wire protocol: our own asyncio server, sessions, reply parsing and `AgiChannel`."""

from ivr.agi.channel import AgiChannel
from ivr.agi.errors import AgiCommandError, AgiError, AgiHangup, AgiProtocolError, AgiTimeout
from ivr.agi.protocol import AgiReply, parse_headers, parse_reply, quote_arg
from ivr.agi.server import FastAgiServer, RouteHandler
from ivr.agi.session import AgiSession

__all__ = [
    "AgiChannel",
    "AgiCommandError",
    "AgiError",
    "AgiHangup",
    "AgiProtocolError",
    "AgiReply",
    "AgiSession",
    "AgiTimeout",
    "FastAgiServer",
    "RouteHandler",
    "parse_headers",
    "parse_reply",
    "quote_arg",
]
