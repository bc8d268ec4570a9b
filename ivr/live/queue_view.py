"""An in-memory picture of Asterisk's queues, built from AMI events: who waits where, and in
what state each agent is. It is what `queue_snapshot` and `agent_state` events are made from.

The model is deliberately small, and it knows nothing about AMI or events:

- `QueueView.queues[name]` is a `QueueState` with `callers` (uniqueid → `Caller`: position, when it
  joined) and `members` (interface → `Member`: Asterisk device status, paused, in a call, wrap-up).
- Mutators (`join`, `leave`, `set_member`, `remove_member`, `connect`, `complete`, `replace`) take
  plain values and return what changed, so the caller decides what to announce.
- `snapshot(queue, now)` and `agent_state(name, now)` are the read side.
- `replace(...)` rebuilds everything from a `QueueStatus` answer: after an AMI (re)connect, events
  may have been missed, so the view is never trusted across a reconnect.

An agent is identified by the member name Asterisk reports (`MemberName`), falling back to the
interface. Agent/queue *management* (login, pause, generating queues.conf) lives elsewhere; code
that needs richer agent data should extend `Member` rather than keep a second copy of this state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Asterisk device states (AST_DEVICE_*), as QueueMemberStatus' `Status` reports them.
DEVICE_UNKNOWN, DEVICE_NOT_INUSE, DEVICE_INUSE, DEVICE_BUSY, DEVICE_INVALID = 0, 1, 2, 3, 4
DEVICE_UNAVAILABLE, DEVICE_RINGING, DEVICE_RINGINUSE, DEVICE_ONHOLD = 5, 6, 7, 8

AGENT_STATES = ("available", "ringing", "busy", "wrapup", "paused", "unavailable")
# When an agent is in several queues, the most telling state wins (busy in one queue is busy).
_PRECEDENCE = {"busy": 0, "ringing": 1, "wrapup": 2, "available": 3, "paused": 4, "unavailable": 5}


@dataclass
class Caller:
    uniqueid: str
    queue: str
    position: int
    joined_at: float
    caller_ref: str = ""


@dataclass
class Member:
    queue: str
    interface: str
    name: str
    status: int = DEVICE_UNKNOWN
    paused: bool = False
    paused_reason: str = ""
    in_call: bool = False
    wrapup_s: float = 0.0  # the member's configured wrap-up time, when Asterisk reports one
    wrapup_until: float = 0.0
    penalty: int = 0  # in a skill queue, agents without the skill have a higher penalty
    # Asterisk's own times (epoch seconds, 0 = not reported): they survive a restart of the daemon.
    logged_in_at: float = 0.0
    paused_at: float = 0.0
    last_call_at: float = 0.0

    @property
    def logged_in(self) -> bool:
        """A member whose phone can be rung at all (paused or not)."""
        return self.status not in (DEVICE_UNAVAILABLE, DEVICE_INVALID)

    @property
    def agent(self) -> str:
        return self.name or self.interface

    def state(self, now: float) -> str:
        if self.in_call or self.status in (DEVICE_INUSE, DEVICE_BUSY, DEVICE_ONHOLD, DEVICE_RINGINUSE):
            return "busy"
        if self.status == DEVICE_RINGING:
            return "ringing"
        if self.status in (DEVICE_UNAVAILABLE, DEVICE_INVALID):
            return "unavailable"
        if self.paused:
            return "paused"
        if now < self.wrapup_until:
            return "wrapup"
        return "available"


@dataclass
class QueueState:
    name: str
    callers: dict[str, Caller] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)


class QueueView:
    def __init__(self) -> None:
        self.queues: dict[str, QueueState] = {}

    def queue(self, name: str) -> QueueState:
        state = self.queues.get(name)
        if state is None:
            state = self.queues[name] = QueueState(name)
        return state

    # --- callers -------------------------------------------------------------------------------

    def join(self, queue: str, uniqueid: str, position: int, now: float, caller_ref: str = "") -> Caller:
        caller = Caller(uniqueid, queue, position, now, caller_ref)
        self.queue(queue).callers[uniqueid] = caller
        return caller

    def leave(self, queue: str, uniqueid: str) -> tuple[Caller | None, list[Caller]]:
        """Remove a caller; returns it and the callers behind it, whose position moved up by one."""
        state = self.queue(queue)
        caller = state.callers.pop(uniqueid, None)
        if caller is None:
            return None, []
        moved = [c for c in state.callers.values() if c.position > caller.position]
        for other in moved:
            other.position -= 1
        return caller, sorted(moved, key=lambda c: c.position)

    def find_caller(self, uniqueid: str) -> Caller | None:
        for state in self.queues.values():
            if uniqueid in state.callers:
                return state.callers[uniqueid]
        return None

    # --- members -------------------------------------------------------------------------------

    def set_member(self, queue: str, interface: str, **fields: Any) -> Member:
        state = self.queue(queue)
        member = state.members.get(interface)
        if member is None:
            member = state.members[interface] = Member(queue, interface, str(fields.get("name") or ""))
        for key, value in fields.items():
            if value is not None:
                setattr(member, key, value)
        return member

    def remove_member(self, queue: str, interface: str) -> Member | None:
        return self.queue(queue).members.pop(interface, None)

    def members_of(self, agent: str) -> list[Member]:
        return [m for s in self.queues.values() for m in s.members.values() if m.agent == agent]

    def member_by_interface(self, interface: str) -> list[Member]:
        return [s.members[interface] for s in self.queues.values() if interface in s.members]

    def connect(self, interface: str) -> list[Member]:
        members = self.member_by_interface(interface)
        for member in members:
            member.in_call = True
        return members

    def complete(self, interface: str, now: float) -> list[Member]:
        """The agent's call ended: wrap-up starts (in every queue: Asterisk's wrap-up is per member)."""
        members = self.member_by_interface(interface)
        for member in members:
            member.in_call = False
            member.wrapup_until = now + member.wrapup_s
            if member.status in (DEVICE_RINGING, DEVICE_INUSE, DEVICE_BUSY):  # until QueueMemberStatus says
                member.status = DEVICE_NOT_INUSE
        return members

    def agent_state(self, agent: str, now: float) -> dict[str, Any] | None:
        members = self.members_of(agent)
        if not members:
            return None
        states = [m.state(now) for m in members]
        state = min(states, key=_PRECEDENCE.__getitem__)
        reasons = sorted({m.paused_reason for m in members if m.paused and m.paused_reason})
        return {"agent": agent, "state": state, "reason": ", ".join(reasons),
                "queues": sorted(m.queue for m in members)}

    def state_began(self, agent: str, state: str) -> float | None:
        """When the agent's current `state` began, by Asterisk's clock, where Asterisk's times tell it: a
        pause by its LastPause; being available by login or the last call's end, but only when no pause
        came after those (Asterisk does not report when a pause ended). None: unknown."""
        members = self.members_of(agent)
        if not members:
            return None
        paused_at = max(m.paused_at for m in members)
        if state == "paused":
            return paused_at or None
        if state == "available":
            began = max(max(m.logged_in_at for m in members), max(m.last_call_at for m in members))
            return began if began and began >= paused_at else None
        return None

    def agents(self) -> list[str]:
        return sorted({m.agent for s in self.queues.values() for m in s.members.values()})

    # --- read side and re-synchronisation --------------------------------------------------------

    def snapshot(self, queue: str, now: float) -> dict[str, Any]:
        state = self.queue(queue)
        callers = sorted(state.callers.values(), key=lambda c: c.position)
        counts = dict.fromkeys(AGENT_STATES, 0)
        for member in state.members.values():
            counts[member.state(now)] += 1
        return {
            "queue": queue,
            "waiting": len(callers),
            "longest_wait_s": round(max((now - c.joined_at for c in callers), default=0.0), 1),
            "agents": counts,
            "members": sorted(({"agent": m.agent, "state": m.state(now)} for m in state.members.values()),
                              key=lambda m: m["agent"]),
            "callers": [{"uniqueid": c.uniqueid, "position": c.position,
                         "wait_s": round(now - c.joined_at, 1)} for c in callers],
        }

    def replace(self, queues: list[str], members: list[Member], callers: list[Caller]) -> None:
        """Start again from a full status listing (QueueStatus after a reconnect)."""
        self.queues = {name: QueueState(name) for name in queues}
        for member in members:
            self.queue(member.queue).members[member.interface] = member
        for caller in callers:
            self.queue(caller.queue).callers[caller.uniqueid] = caller

