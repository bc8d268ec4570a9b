"""Live messages to the open desktop pages (`GET /api/v1/events`, Server-Sent Events).

Each open page is a `Subscriber` with its own bounded queue. Who receives what:

- `to_agent(agent, kind, data)`: the agent themself, and supervisors of any of the agent's groups;
  API tokens with `agents:read` receive `state` messages only.
- `to_group(group, kind, data)`: the group's agents and its supervisors; tokens with `queues:read`
  receive `group` messages only.

A page that does not keep up (its queue full) is sent `reset` and dropped: its stream ends and the
browser's EventSource reconnects and starts from a fresh picture. Sending never blocks or raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ivr.desktop.users import WebUser

Message = tuple[str, dict[str, Any]]
RESET = "reset"
# Token (other city systems) subscribers receive only these kinds, each needing a scope.
_TOKEN_KINDS = {"state": "agents:read", "group": "queues:read"}


@dataclass(eq=False)
class Subscriber:
    user: WebUser
    queue: asyncio.Queue[Message] = field(default_factory=lambda: asyncio.Queue(maxsize=256))

    def offer(self, kind: str, data: dict[str, Any]) -> bool:
        """Queue a message; False when the page is too far behind (it gets `reset`)."""
        try:
            self.queue.put_nowait((kind, data))
            return True
        except asyncio.QueueFull:
            self.end()
            return False

    def end(self) -> None:
        """Whatever is still queued is dropped; the stream ends."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait((RESET, {}))


class DesktopHub:
    def __init__(self, groups_of: Callable[[str], frozenset[str]]) -> None:
        """`groups_of(agent_id)`: the groups an agent serves in the current config."""
        self._groups_of = groups_of
        self._subscribers: set[Subscriber] = set()

    def subscribe(self, user: WebUser) -> Subscriber:
        subscriber = Subscriber(user)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def close_all(self) -> None:
        """The server is stopping: every open stream ends (browsers reconnect to the next daemon)."""
        for subscriber in list(self._subscribers):
            subscriber.end()
        self._subscribers.clear()

    def __len__(self) -> int:
        return len(self._subscribers)

    def may_see_agent(self, user: WebUser, agent_id: str, kind: str = "state") -> bool:
        if user.role == "agent":
            return user.id == agent_id
        if user.role == "supervisor":
            return bool(user.groups & self._groups_of(agent_id))
        return _TOKEN_KINDS.get(kind) in user.scopes and kind == "state"

    def may_see_group(self, user: WebUser, group: str, kind: str = "group") -> bool:
        if user.role == "token":
            return _TOKEN_KINDS.get(kind) in user.scopes and kind == "group"
        return group in user.groups

    def to_agent(self, agent_id: str, kind: str, data: dict[str, Any]) -> None:
        self._send(lambda user: self.may_see_agent(user, agent_id, kind), kind, data)

    def to_supervisors(self, agent_id: str, kind: str, data: dict[str, Any]) -> None:
        """Only the supervisors of any of the agent's groups (`spy`: a silent listen stays silent)."""
        self._send(lambda user: user.role == "supervisor" and self.may_see_agent(user, agent_id, kind), kind, data)

    def to_group(self, group: str, kind: str, data: dict[str, Any]) -> None:
        self._send(lambda user: self.may_see_group(user, group, kind), kind, data)

    def _send(self, wanted: Callable[[WebUser], bool], kind: str, data: dict[str, Any]) -> None:
        for subscriber in list(self._subscribers):
            if wanted(subscriber.user) and not subscriber.offer(kind, data):
                self._subscribers.discard(subscriber)
