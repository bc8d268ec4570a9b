"""FastAGI entry points, one module per route, registered by name (`agi://host:4573/<name>`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import MappingProxyType
from typing import TYPE_CHECKING

from ivr.entrypoints import agent, callback, inbound, outbound, spy, steer, survey

if TYPE_CHECKING:
    from ivr.agi.session import AgiSession
    from ivr.app import App

EntryPoint = Callable[["App", "AgiSession"], Awaitable[None]]

ENTRYPOINTS: MappingProxyType[str, EntryPoint] = MappingProxyType(
    {
        "inbound": inbound.handle,
        "agent": agent.handle,
        "callback": callback.handle,
        "outbound": outbound.handle,
        "spy": spy.handle,
        "survey": survey.handle,
        "steer": steer.handle,
    }
)
