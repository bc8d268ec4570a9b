"""Everything a desktop route module needs, handed to its `routes(ctx)` (no module-global state)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ivr.agents.control import AgentControl
from ivr.app import App
from ivr.desktop.hub import DesktopHub
from ivr.desktop.ratelimit import LoginLimiter
from ivr.desktop.states import AgentStates
from ivr.desktop.store import WebStore
from ivr.live.queue_view import QueueView


def _no_callbacks(queue: str) -> int:
    return 0


@dataclass
class DesktopContext:
    app: App
    hub: DesktopHub
    store: WebStore
    view: Callable[[], QueueView]  # the AMI bridge's live view of the queues
    control: AgentControl  # the one code path for agents' state (as the *45-*48 feature codes)
    states: AgentStates
    limiter: LoginLimiter
    calls: Any = None  # ivr.desktop's DesktopCalls (screen pops, H2) when the daemon runs one
    callbacks_pending: Callable[[str], int] = _no_callbacks  # queued callbacks waiting, per queue
    # An open event stream gets a comment line this often (proxies close silent ones) and its session is
    # checked again.
    keepalive_s: float = 15.0
