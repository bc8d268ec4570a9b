"""Agents' states as the desktop shows them: the AMI bridge's live view (so always what Asterisk
says), plus since when the agent has been in that state and which phone they are logged in with.

`{agent, state, reason, queues, device, since}`: `state` is one of the bridge's agent states
(available, ringing, busy, wrapup, paused, unavailable) or `logged_out` (in no queue); `reason` the
pause reason; `device` `desk`, `browser` or null; `since` epoch seconds of the last change seen (on
first sight after a daemon start, Asterisk's LastPause/LoginTime/LastCall where they tell it, so a
restart of the daemon does not reset the supervisor's "time in state").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ivr.agents.control import AgentControl
from ivr.config.holder import ConfigHolder
from ivr.live.queue_view import QueueView


class AgentStates:
    def __init__(self, view: Callable[[], QueueView], config: ConfigHolder, control: AgentControl,
                 clock: Callable[[], float] = time.time) -> None:
        self._view = view
        self._config = config
        self._control = control
        self._clock = clock
        self._since: dict[str, tuple[str, float]] = {}  # agent -> (state|reason, since)

    def current(self, agent_id: str) -> dict[str, Any]:
        now = self._clock()
        view = self._view()
        state = view.agent_state(agent_id, now) or {"agent": agent_id, "state": "logged_out", "reason": "",
                                                    "queues": []}
        key = f"{state['state']}|{state['reason']}"
        seen = self._since.get(agent_id)
        if seen is None:  # first sight since the daemon started: Asterisk's own time where it has one
            began = view.state_began(agent_id, state["state"])
            seen = self._since[agent_id] = (key, began if began is not None and began <= now else now)
        elif seen[0] != key:
            seen = self._since[agent_id] = (key, now)
        return {**state, "device": self._device(agent_id, view), "since": seen[1]}

    def _device(self, agent_id: str, view: QueueView) -> str | None:
        agent = self._config.current.agents.get(agent_id)
        members = view.members_of(agent_id)
        if agent is None or not members:
            return None
        browser = self._control.interface(agent, "browser")
        return "browser" if any(m.interface == browser for m in members) else "desk"
