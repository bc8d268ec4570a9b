"""The desktop's ear on the product events (an EventSink in the daemon's FanoutSink): every
`agent_state` the AMI bridge sends — whether the change came from the page, a *4x feature code on the
phone, `ivr agents`, or Asterisk itself — reaches the agent's page and their supervisors' as `state`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ivr.desktop.hub import DesktopHub
from ivr.desktop.states import AgentStates
from ivr.events import names

if TYPE_CHECKING:
    from ivr.calls import ActiveCall


class StateFeed:
    def __init__(self, hub: DesktopHub, states: AgentStates) -> None:
        self.hub = hub
        self.states = states

    def emit(self, event: str, call: ActiveCall | None = None, **data: Any) -> None:
        if event == names.AGENT_STATE and data.get("agent"):
            agent = str(data["agent"])
            self.hub.to_agent(agent, "state", self.states.current(agent))
