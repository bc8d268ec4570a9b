"""Who is asking: a signed-in agent or supervisor, or an API token of another city system.

Roles and their scopes (docs/desktop.md):

| role | scopes | sees |
|---|---|---|
| agent | `agent:self`, `queues:read` | their own state and calls; their own groups' queues |
| supervisor | `supervise`, `agents:read`, `queues:read` | the agents and queues of their groups |
| token | chosen at `ivr api-token create` from `queues:read`, `agents:read`, `calls:read` | every group |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ivr.config.loader import ConfigSet

Role = Literal["agent", "supervisor", "token"]
AGENT_SCOPES = frozenset({"agent:self", "queues:read"})
SUPERVISOR_SCOPES = frozenset({"supervise", "agents:read", "queues:read"})
TOKEN_SCOPES = frozenset({"queues:read", "agents:read", "calls:read"})


@dataclass(frozen=True)
class WebUser:
    id: str
    name: str
    role: Role
    groups: frozenset[str]
    scopes: frozenset[str]

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "role": self.role, "groups": sorted(self.groups),
                "scopes": sorted(self.scopes)}


def user_for(config: ConfigSet, user_id: str) -> WebUser | None:
    """The agent or supervisor of that id in the current config (None: no such person any more)."""
    agent = config.agents.get(user_id)
    if agent is not None:
        return WebUser(user_id, agent.name, "agent", frozenset(agent.groups), AGENT_SCOPES)
    supervisor = config.supervisors.get(user_id)
    if supervisor is not None:
        return WebUser(user_id, supervisor.name, "supervisor", frozenset(supervisor.groups), SUPERVISOR_SCOPES)
    return None


def token_user(config: ConfigSet, name: str, scopes: frozenset[str]) -> WebUser:
    """An API token acts for another city system over every group, within its scopes."""
    return WebUser(f"token:{name}", name, "token", frozenset(config.groups), scopes & TOKEN_SCOPES)


def agent_groups(config: ConfigSet, agent_id: str) -> frozenset[str]:
    agent = config.agents.get(agent_id)
    return frozenset(agent.groups) if agent is not None else frozenset()
