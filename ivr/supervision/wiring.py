"""The daemon's one SpyService: the agent's phones (as the queues know them, and as the settings name
them), the audit store and, when the desktop runs, its hub for the supervisors' `spy` messages."""

from __future__ import annotations

from collections.abc import Callable

from ivr.agents.control import interface_for
from ivr.ami.port import AmiPort
from ivr.config.holder import ConfigHolder
from ivr.live.queue_view import QueueView
from ivr.settings import Settings
from ivr.supervision.service import Audit, Notify, SpyService


def agent_interfaces(config: ConfigHolder, settings: Settings, view: Callable[[], QueueView],
                     agent_id: str) -> list[str]:
    """Every queue interface the agent's calls may come in on: the ones they are logged in with now,
    then their desk and browser phones as configured (a call outlives a logout)."""
    found = [member.interface for member in view().members_of(agent_id)]
    agent = config.current.agents.get(agent_id)
    if agent is not None:
        found += [interface_for(settings.agent_interface, agent),
                  interface_for(settings.agent_browser_interface, agent)]
    return found


def spy_service(config: ConfigHolder, settings: Settings, ami: AmiPort, view: Callable[[], QueueView], audit: Audit,
                notify: Notify | None) -> SpyService:
    service = SpyService(lambda: config.current, lambda: ami if ami.connected else None,
                         lambda agent_id: agent_interfaces(config, settings, view, agent_id), audit, notify)
    service.attach(ami)
    return service
