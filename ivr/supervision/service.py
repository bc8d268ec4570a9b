"""Spy sessions: decide (with the agent's live call from Asterisk), audit, announce, and end.

One code path decides, whichever way the supervisor asked: the FastAGI route `spy` (entry point
ivr.entrypoints.spy) runs on the supervisor's phone channel when they dial *49/*50/*51<extension>,
and the page's `POST /api/v1/supervisor/agents/{agent}/spy` rings the supervisor's phone into that
same dialplan path. The page asks first (so a refusal is a clear error at once) and hands the call a
one-time ticket naming the supervisor: a phone that is not the supervisor's own desk phone (the
browser, or the sandbox's stand-in) is then known by the ticket, which only the daemon can issue.

Every use is audited with H1's `store.audit(actor, action, target, detail)`: `spy.refused` (with the
machine code), `spy.started` (mode, queue, group, department, how it was asked) and `spy.ended` with
`seconds`, from the hangup handler of the supervisor's channel ([ivr-spy-done]: AMI UserEvent
`IvrSpyDone`). A spy whose start cannot be audited does not start.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from structlog.typing import FilteringBoundLogger

from ivr.ami.errors import AmiError
from ivr.ami.port import AmiPort
from ivr.ami.reply import AmiHeaders
from ivr.config.loader import ConfigSet
from ivr.dialplan_variables import IVR_SPY_TICKET
from ivr.supervision.live import find_call
from ivr.supervision.policy import MODES, Decision, Refusal, SpyMode, check_agent, check_mode, decide

USER_EVENT = "IvrSpyDone"
# The page rings the supervisor's phone this long; the ticket it carries lives a little longer.
RING_S = 30.0
TICKET_TTL_S = RING_S + 30.0
PHONE_CONTEXT = "supervisor-phones"
# Spies whose end never came (Asterisk restarted mid-spy) are forgotten, oldest first, beyond this many.
MAX_SESSIONS = 1000
_SPY_ID = re.compile(r"^[a-f0-9]{16}$")
_TICKET = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")

Via = Literal["phone", "page"]
Audit = Callable[[str, str, str, dict[str, Any]], object]
# (supervisor id, agent id, message): the `spy` message for the supervisor's page.
Notify = Callable[[str, str, dict[str, Any]], object]


@dataclass(frozen=True)
class Ticket:
    supervisor: str
    agent: str
    mode: SpyMode
    expires: float


@dataclass(frozen=True)
class Ended:
    """Who and how, as the spy channel's hangup handler reports it (IVR_SPY_SUPERVISOR, IVR_SPY_AGENT,
    IVR_SPY_MODE): used only when this daemon did not see the start (it restarted in between)."""

    supervisor: str
    agent: str
    mode: str

    def valid(self) -> bool:
        return bool(_ID.match(self.supervisor) and _ID.match(self.agent)) and self.mode in MODES


@dataclass(frozen=True)
class Session:
    spy_id: str
    decision: Decision
    via: Via
    started: float


class SpyService:
    def __init__(self, config: Callable[[], ConfigSet], ami: Callable[[], AmiPort | None],
                 interfaces: Callable[[str], Iterable[str]], audit: Audit, notify: Notify | None = None,
                 clock: Callable[[], float] = time.time, logger: FilteringBoundLogger | None = None) -> None:
        self._config = config
        self._ami = ami
        self._interfaces = interfaces
        self._audit = audit
        self._notify = notify
        self._clock = clock
        self._tickets: dict[str, Ticket] = {}
        self.sessions: dict[str, Session] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._log: FilteringBoundLogger = logger or structlog.get_logger("ivr.supervision")

    # --- deciding --------------------------------------------------------------------------------

    async def decide(self, supervisor: str, agent: str, mode: str, via: Via) -> Decision:
        """Allow (returns the decision) or refuse (raises Refusal); every refusal is audited."""
        config = self._config()
        try:
            check_mode(mode)
            check_agent(config, supervisor, agent)
            ami = self._ami()
            if ami is None:
                raise Refusal("unavailable", "the telephone system cannot be reached right now")
            try:
                call = await find_call(ami, self._interfaces(agent))
            except AmiError as exc:
                raise Refusal("unavailable", "the telephone system cannot be reached right now") from exc
            return decide(config, supervisor, agent, mode, call)
        except Refusal as refusal:
            await self.refused(supervisor, agent, mode, refusal.code, via)
            raise

    async def refused(self, actor: str, target: str, mode: str, code: str, via: Via) -> None:
        self._log.info("spy refused", supervisor=actor, agent=target, mode=mode[:16], code=code, via=via)
        await self._write("spy.refused", actor, target, {"mode": mode[:16], "code": code, "via": via})

    async def start(self, decision: Decision, via: Via) -> Session:
        """Audit the start (or refuse: no spy without its audit row) and announce it."""
        session = Session(secrets.token_hex(8), decision, via, self._clock())
        detail = {"spy_id": session.spy_id, "mode": decision.mode, "via": via, "queue": decision.queue,
                  "group": decision.group, "department": decision.department}
        if not await self._write("spy.started", decision.supervisor, decision.agent, detail):
            raise Refusal("unavailable", "the spy could not be audited, so it does not start")
        self.sessions[session.spy_id] = session
        while len(self.sessions) > MAX_SESSIONS:
            del self.sessions[next(iter(self.sessions))]
        self._log.info("spy started", supervisor=decision.supervisor, agent=decision.agent, mode=decision.mode,
                       via=via, spy_id=session.spy_id)
        self._announce(decision.supervisor, decision.agent, {"state": "active", **self._message(session)})
        return session

    # --- the page's tickets -----------------------------------------------------------------------

    def issue_ticket(self, supervisor: str, agent: str, mode: SpyMode) -> tuple[str, Ticket]:
        now = self._clock()
        self._tickets = {k: t for k, t in self._tickets.items() if t.expires > now}
        ticket = secrets.token_urlsafe(24)
        self._tickets[ticket] = request = Ticket(supervisor, agent, mode, now + TICKET_TTL_S)
        return ticket, request

    def redeem(self, ticket: str) -> Ticket | None:
        """The page's request this call carries, once, while it is fresh."""
        if not _TICKET.match(ticket):
            return None
        found = self._tickets.pop(ticket, None)
        if found is None or found.expires <= self._clock():
            return None
        return found

    def ring(self, phone: str, exten: str, request: Ticket, ticket: str, caller_id: str) -> None:
        """Ring the supervisor's phone into [supervisor-phones] at `exten` (*49<agent's extension>...)
        with the ticket, in the background: the answer (or not) comes as `spy` messages."""
        task = asyncio.get_running_loop().create_task(self._ring(phone, exten, request, ticket, caller_id),
                                                      name=f"spy-ring-{request.supervisor}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._announce(request.supervisor, request.agent, {"state": "ringing", "agent": request.agent,
                                                           "mode": request.mode})

    async def _ring(self, phone: str, exten: str, request: Ticket, ticket: str, caller_id: str) -> None:
        ami = self._ami()
        try:
            if ami is None:
                raise AmiError("AMI is not connected")
            await ami.originate(phone, context=PHONE_CONTEXT, exten=exten, caller_id=caller_id,
                                variables={IVR_SPY_TICKET: ticket}, ring_timeout=RING_S)
        except AmiError as exc:
            self._tickets.pop(ticket, None)
            self._log.warning("supervisor's phone not reached", supervisor=request.supervisor, error=str(exc)[:200])
            self.announce_failed(request, "phone_not_answered")

    def announce_failed(self, request: Ticket, error: str) -> None:
        self._announce(request.supervisor, request.agent, {"state": "failed", "agent": request.agent,
                                                           "mode": request.mode, "error": error})

    # --- the end ----------------------------------------------------------------------------------

    def attach(self, ami: AmiPort) -> None:
        ami.on_event("UserEvent", self.on_user_event)

    def on_user_event(self, message: AmiHeaders) -> None:
        if str(message.get("UserEvent", "")) != USER_EVENT:
            return
        spy_id = str(message.get("SpyId", ""))
        if not _SPY_ID.match(spy_id):
            self._log.warning("spy end without a valid spy id ignored")
            return
        seconds_text = str(message.get("Seconds", ""))
        seconds = int(seconds_text) if seconds_text.isdigit() else None
        who = Ended(str(message.get("Supervisor", "")), str(message.get("Agent", "")), str(message.get("Mode", "")))
        task = asyncio.get_running_loop().create_task(self.ended(spy_id, seconds, who), name=f"spy-end-{spy_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def ended(self, spy_id: str, seconds: int | None, who: Ended | None = None) -> None:
        session = self.sessions.pop(spy_id, None)
        if session is None:  # started before a daemon restart: what the spy channel says is all there is
            self._log.warning("end of a spy session started before this daemon", spy_id=spy_id, seconds=seconds)
            if who is not None and who.valid() and seconds is not None:
                await self._write("spy.ended", who.supervisor, who.agent,
                                  {"spy_id": spy_id, "mode": who.mode, "seconds": seconds, "restarted": True})
            return
        if seconds is None:
            seconds = max(0, round(self._clock() - session.started))
        decision = session.decision
        await self._write("spy.ended", decision.supervisor, decision.agent,
                          {"spy_id": spy_id, "mode": decision.mode, "via": session.via, "seconds": seconds})
        self._log.info("spy ended", supervisor=decision.supervisor, agent=decision.agent, spy_id=spy_id,
                       seconds=seconds)
        self._announce(decision.supervisor, decision.agent,
                       {"state": "ended", "seconds": seconds, **self._message(session)})

    # --- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _message(session: Session) -> dict[str, Any]:
        decision = session.decision
        return {"spy_id": session.spy_id, "agent": decision.agent, "mode": decision.mode, "group": decision.group,
                "started_at": round(session.started, 3)}

    def _announce(self, supervisor: str, agent: str, data: dict[str, Any]) -> None:
        if self._notify is None:
            return
        try:
            self._notify(supervisor, agent, data)
        except Exception:  # a page that cannot be told must not stop the spy
            self._log.exception("spy message not delivered")

    async def _write(self, action: str, actor: str, target: str, detail: dict[str, Any]) -> bool:
        try:
            result = self._audit(actor, action, target, detail)
            if inspect.isawaitable(result):
                await result
        except Exception:
            self._log.exception("audit row not written", action=action, actor=actor, target=target)
            return False
        return True
