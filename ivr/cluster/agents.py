"""Agents' queue sessions on every node of a cluster (docs/cluster.md).

Asterisk keeps queue members per process: an agent who logs in (*45, the desktop) through one node
is a member there only, yet the next citizen may reach another node. So each daemon that changes an
agent's session (login with a device, logout, pause with a reason, unpause) publishes the session as
a retained message on `ivr/<site>/cluster/agents/<agent>`, and every daemon applies the sessions it
receives to its own Asterisk with the same AMI actions as the feature codes (`AgentControl`). A node
that comes back (its Asterisk restarted, its daemon restarted) gets every session again: the broker
hands the retained messages to a new subscription, and an AMI reconnect applies all known ones.

Only with a `cluster:` in routing_rules.yaml; a single node keeps its members in its own astdb.
Who may publish there is the broker's business (its ACL); with IVR_CLUSTER_KEY every session carries
that key's HMAC and one without it is ignored. A session carries agent ids and states only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from typing import Literal

import structlog
from structlog.typing import FilteringBoundLogger

from ivr.agents.control import DEVICES, AgentControl, AgentError, Device
from ivr.ami.errors import AmiError
from ivr.config.loader import ConfigSet
from ivr.events.mqtt import MessageBuilder, OutMessage, topic_segment

Action = Literal["login", "logout", "pause", "unpause"]


@dataclass(frozen=True)
class AgentSession:
    agent: str
    logged_in: bool
    device: Device = "desk"
    paused: bool = False
    reason: str = ""
    at: float = 0.0  # when the change was made (epoch s): the latest change wins
    by: str = ""  # the node that made it


def sessions_filter(builder: MessageBuilder) -> str:
    return f"{builder.prefix}/cluster/agents/+"


def session_topic(builder: MessageBuilder, agent: str) -> str:
    return f"{builder.prefix}/cluster/agents/{topic_segment(agent)}"


def _canonical(session: AgentSession) -> bytes:
    return json.dumps(asdict(session), sort_keys=True, separators=(",", ":")).encode()


def session_message(builder: MessageBuilder, session: AgentSession, key: bytes = b"") -> OutMessage:
    body: dict[str, object] = dict(asdict(session))
    if key:
        body["hmac"] = hmac.new(key, _canonical(session), hashlib.sha256).hexdigest()
    return OutMessage(session_topic(builder, session.agent), json.dumps(body).encode(), qos=1, retain=True)


def parse_session(payload: bytes, key: bytes = b"") -> AgentSession | None:
    """The session in a message; None when malformed or (with a key) not signed with it."""
    try:
        body = json.loads(payload)
        device = str(body.get("device", "desk"))
        session = AgentSession(agent=str(body["agent"])[:64], logged_in=bool(body["logged_in"]),
                               device="browser" if device == "browser" else "desk",
                               paused=bool(body.get("paused", False)), reason=str(body.get("reason", ""))[:32],
                               at=float(body["at"]), by=str(body.get("by", ""))[:100])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if device not in DEVICES:
        return None
    if key and not hmac.compare_digest(str(body.get("hmac", "")),
                                       hmac.new(key, _canonical(session), hashlib.sha256).hexdigest()):
        return None
    return session


def after(previous: AgentSession | None, agent: str, action: Action, *, device: Device, reason: str, at: float,
          by: str) -> AgentSession:
    """The session once `action` is done (a pause keeps the device the agent logged in with)."""
    base = previous if previous is not None else AgentSession(agent, logged_in=True, device=device)
    if action == "login":
        return AgentSession(agent, logged_in=True, device=device, at=at, by=by)
    if action == "logout":
        return AgentSession(agent, logged_in=False, device=base.device, at=at, by=by)
    if action == "pause":
        return replace(base, logged_in=True, paused=True, reason=reason, at=at, by=by)
    return replace(base, logged_in=True, paused=False, reason="", at=at, by=by)


async def apply_session(control: AgentControl, config: ConfigSet, session: AgentSession) -> None:
    """Make this node's members say what the session says (each action is idempotent)."""
    if not session.logged_in:
        await control.logout(config, session.agent)
        return
    await control.login(config, session.agent, session.device)
    if session.paused:
        await control.pause(config, session.agent, session.reason or "pause")
    else:
        await control.unpause(config, session.agent)


class AgentSessions:
    """The latest session of each agent, whichever node changed it last.

    `changed()` after this node's own action (publishes it); `received()` for a session from the
    broker (applies a newer one to this node); `reapply()` after an AMI (re)connect. `control()` gives
    this node's AgentControl, or None while its AMI is down (the session is applied at the reconnect).
    """

    def __init__(self, node: str, config: Callable[[], ConfigSet], control: Callable[[], AgentControl | None],
                 publish: Callable[[AgentSession], Awaitable[None]], clock: Callable[[], float],
                 logger: FilteringBoundLogger | None = None, retry_s: float = 1.0, retries: int = 30) -> None:
        self.node = node
        self.config = config
        self.control = control
        self.publish = publish
        self.clock = clock
        self.sessions: dict[str, AgentSession] = {}
        self.applied = 0
        # An Asterisk that has just started accepts AMI logins before app_queue is loaded ("Invalid/
        # unknown command: QueueAdd"): a replay that fails is tried again, this often, this many times.
        self.retry_s = retry_s
        self.retries = retries
        self._lock = asyncio.Lock()  # applications never interleave (login before pause)
        self._log: FilteringBoundLogger = logger or structlog.get_logger("ivr.cluster.agents")

    @property
    def active(self) -> bool:
        return self.config().rules.cluster is not None

    async def changed(self, agent: str, action: Action, *, device: Device = "desk", reason: str = "") -> bool:
        """Record this node's change and publish it; False when there is no cluster or it was not published."""
        if not self.active:
            return False
        session = after(self.sessions.get(agent), agent, action, device=device, reason=reason, at=self.clock(),
                        by=self.node)
        self.sessions[agent] = session
        try:
            await self.publish(session)
        except Exception as exc:  # the broker away: this node has it; the others learn the next change
            self._log.warning("agent session not published", agent=agent, error=str(exc)[:200])
            return False
        return True

    async def received(self, session: AgentSession) -> None:
        known = self.sessions.get(session.agent)
        if not self.active or (known is not None and known.at >= session.at):
            return  # our own change coming back, or an older one
        self.sessions[session.agent] = session
        await self._apply(session)

    async def reapply(self) -> None:
        if not self.active:
            return
        waiting = list(self.sessions.values())
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.retry_s)
            # A session changed meanwhile is applied by whoever changed it; only the same ones again.
            waiting = [s for s in waiting if self.sessions.get(s.agent) == s and not await self._apply(s)]
            if not waiting or self.control() is None:
                return

    async def _apply(self, session: AgentSession) -> bool:
        """True when this node's Asterisk now holds the session (or it concerns no known agent)."""
        config = self.config()
        if session.agent not in config.agents:
            return True
        async with self._lock:
            control = self.control()
            if control is None:
                return False
            try:
                await apply_session(control, config, session)
            except (AgentError, AmiError) as exc:
                self._log.warning("agent session not applied", agent=session.agent, by=session.by,
                                  error=str(exc)[:200])
                return False
            self.applied += 1
            self._log.info("agent session applied", agent=session.agent, by=session.by,
                           logged_in=session.logged_in, paused=session.paused, device=session.device)
            return True
