"""The daemon's one SpyService: the agent's phones (as the queues know them, and as the settings name
them), the audit store and, when the desktop runs, its hub for the supervisors' `spy` messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ivr.agents.control import interface_for
from ivr.app import App
from ivr.events.queue_view import QueueView
from ivr.supervision.service import Audit, Notify, SpyService


def agent_interfaces(app: App, view: Callable[[], QueueView], agent_id: str) -> list[str]:
    """Every queue interface the agent's calls may come in on: the ones they are logged in with now,
    then their desk and browser phones as configured (a call outlives a logout)."""
    found = [member.interface for member in view().members_of(agent_id)]
    agent = app.config.current.agents.get(agent_id)
    if agent is not None:
        found += [interface_for(app.settings.agent_interface, agent),
                  interface_for(app.settings.agent_browser_interface, agent)]
    return found


def spy_service(app: App, ami: Any, view: Callable[[], QueueView], audit: Audit, notify: Notify | None) -> SpyService:
    service = SpyService(lambda: app.config.current, lambda: ami if ami.connected else None,
                         lambda agent_id: agent_interfaces(app, view, agent_id), audit, notify)
    service.attach(ami)
    return service
