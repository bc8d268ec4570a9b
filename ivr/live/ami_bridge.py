"""AMI queue, agent and hang-up events → product events (`ivr.events.names`) on `app.events`.

| AMI event | product event |
|---|---|
| QueueCallerJoin | queued (+ queue_snapshot) |
| QueueCallerLeave | position_changed for each caller behind (+ queue_snapshot) |
| QueueCallerAbandon | abandoned |
| AgentCalled | agent_ringing (a callback's stand-in: with callback_id) |
| AgentRingNoAnswer | agent_ring_ended (the agent did not answer in time) |
| AgentConnect | answered |
| AgentCalled, AgentComplete, QueueMember{Status,Pause,Added,Removed} | agent_state, when it changes |
| Hangup of a call we know (call_started, or seen in a queue) | call_ended |
| UserEvent IvrTransferred / IvrCallbackRequested / IvrCallbackPlaced | transferred / callback_* |

A queued callback's stand-in (a Local channel in [ivr-callback-hold] that keeps the citizen's place)
is shown in the queue snapshots like any waiting caller, but gets no call events of its own: it is
not a call to the city (the callback service reports it as callback_requested/callback_placed).

State lives in a `QueueView`; after every AMI (re)connect it is rebuilt from a `QueueStatus` action,
and a `queue_snapshot` of every queue is sent every `snapshot_every` seconds. The bridge is also an
EventSink: it watches `call_started` to know which hang-ups end a call of ours. Numbers from AMI
(CallerIDNum) are turned into `caller_ref` at once and never stored or sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from structlog.typing import FilteringBoundLogger

from ivr.ami.errors import AmiError
from ivr.ami.port import AmiPort, EventCallback
from ivr.ami.reply import AmiHeaders, header
from ivr.events import names
from ivr.events.sink import EventSink
from ivr.live.queue_view import Caller, Member, QueueView

if TYPE_CHECKING:
    from ivr.calls import ActiveCall
    from ivr.privacy import NumberHasher

# A call we never see hang up (AMI was down at the time) is forgotten after this long.
_TRACK_LIMIT_S = 12 * 3600.0
# And at most this many at once, oldest forgotten first: without AMI no hang-up ever arrives, and the
# 12 h limit alone would let a busy day's calls pile up (BENCHMARKS.md).
_TRACK_LIMIT_CALLS = 20_000
_USER_EVENTS = {"ivrtransferred": names.TRANSFERRED, "ivrcallbackrequested": names.CALLBACK_REQUESTED,
                "ivrcallbackplaced": names.CALLBACK_PLACED}
_UNKNOWN_NUMBERS = frozenset({"", "unknown", "anonymous", "<unknown>"})
_STANDIN_CONTEXT = "@ivr-callback-hold"
_STANDIN_ID = re.compile(r"^Local/cb(\d+)@ivr-callback-hold")


def number(message: AmiHeaders, key: str, default: float = 0.0) -> float:
    try:
        return float(header(message, key))
    except ValueError:
        return default


@dataclass
class TrackedCall:
    started: float
    # The IVR's reference for the caller (ActiveCall.caller_ref: "" for a withheld number); None for
    # a call the IVR did not take, whose reference comes from AMI's CallerIDNum.
    caller_ref: str | None = None
    talk_s: float | None = None
    wrapup_s: float | None = None
    agent: str = ""


class AmiBridge:
    def __init__(self, events: EventSink, *, hasher: NumberHasher | None = None,
                 clock: Callable[[], float] = time.time, snapshot_every: float = 5.0,
                 logger: FilteringBoundLogger | None = None) -> None:
        self.events = events
        self.view = QueueView()
        self.snapshot_every = snapshot_every
        self._hasher = hasher
        self._clock = clock
        self._log: FilteringBoundLogger = logger or structlog.get_logger("ivr.events.ami")
        self._tracked: dict[str, TrackedCall] = {}
        self._agent_states: dict[str, str] = {}
        self._ami: AmiPort | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.resyncs = 0
        self.synced = asyncio.Event()  # set once the view has been rebuilt from QueueStatus

    # --- wiring --------------------------------------------------------------------------------

    def attach(self, ami: AmiPort) -> None:
        """Subscribe to AMI; call before `ami.connect()` so the first login re-synchronises too."""
        self._ami = ami
        handlers: dict[str, EventCallback] = {
            "QueueCallerJoin": self.on_join, "QueueCallerLeave": self.on_leave,
            "QueueCallerAbandon": self.on_abandon, "AgentCalled": self.on_agent_called,
            "AgentRingNoAnswer": self.on_ring_no_answer,
            "AgentConnect": self.on_agent_connect, "AgentComplete": self.on_agent_complete,
            "QueueMemberStatus": self.on_member, "QueueMemberPause": self.on_member,
            "QueueMemberAdded": self.on_member, "QueueMemberRemoved": self.on_member_removed,
            "Hangup": self.on_hangup, "UserEvent": self.on_user_event,
        }
        for name, handler in handlers.items():
            ami.on_event(name, handler)
        ami.on_reconnect(self.resync)

    async def start(self) -> None:
        if self._ticker is None and self.snapshot_every > 0:
            self._ticker = asyncio.create_task(self._tick(), name="queue-snapshots")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    def emit(self, event: str, call: ActiveCall | None = None, **data: Any) -> None:
        """EventSink side: remember calls the IVR took, to report their hang-up."""
        if event == names.CALL_STARTED and call is not None:
            tracked = self._tracked.setdefault(call.uniqueid, TrackedCall(started=call.started))
            tracked.caller_ref = call.caller_ref
            while len(self._tracked) > _TRACK_LIMIT_CALLS:
                del self._tracked[next(iter(self._tracked))]

    # --- AMI event handlers ---------------------------------------------------------------------

    def on_join(self, msg: AmiHeaders) -> None:
        now = self._clock()
        queue, uniqueid = header(msg, "Queue"), header(msg, "Uniqueid")
        caller = self.view.join(queue, uniqueid, int(number(msg, "Position", 1)), now, self._ref(msg))
        if not _standin(msg):
            self._tracked.setdefault(uniqueid, TrackedCall(started=now))
            self._send(names.QUEUED, uniqueid=uniqueid, queue=queue, position=caller.position,
                       caller_ref=caller.caller_ref)
        self.send_snapshot(queue)

    def on_leave(self, msg: AmiHeaders) -> None:
        queue = header(msg, "Queue")
        _, moved = self.view.leave(queue, header(msg, "Uniqueid"))
        for caller in moved:
            if caller.uniqueid not in self._tracked:  # a callback's stand-in
                continue
            self._send(names.POSITION_CHANGED, uniqueid=caller.uniqueid, queue=queue, position=caller.position)
        self.send_snapshot(queue)

    def on_abandon(self, msg: AmiHeaders) -> None:
        if _standin(msg):
            return
        self._send(names.ABANDONED, uniqueid=header(msg, "Uniqueid"), queue=header(msg, "Queue"),
                   wait_s=number(msg, "HoldTime"), position=int(number(msg, "Position")),
                   original_position=int(number(msg, "OriginalPosition")))

    def on_agent_called(self, msg: AmiHeaders) -> None:
        self._member_update(msg, status=6)
        data: dict[str, Any] = {"uniqueid": header(msg, "Uniqueid"), "queue": header(msg, "Queue"),
                                "agent": header(msg, "MemberName") or _interface(msg)}
        standin = _STANDIN_ID.match(header(msg, "Channel"))
        if standin:  # a queued callback's turn: the agent's page shows the callback, not a citizen's call
            data["callback_id"] = int(standin[1])
        self._send(names.AGENT_RINGING, **data)

    def on_ring_no_answer(self, msg: AmiHeaders) -> None:
        self._send(names.AGENT_RING_ENDED, uniqueid=header(msg, "Uniqueid"), queue=header(msg, "Queue"),
                   agent=header(msg, "MemberName") or _interface(msg),
                   ring_s=number(msg, "RingTime") / 1000)  # milliseconds here (seconds in AgentConnect)

    def on_agent_connect(self, msg: AmiHeaders) -> None:
        uniqueid, interface = header(msg, "Uniqueid"), header(msg, "Interface")
        agent = header(msg, "MemberName") or interface
        members = self.view.connect(interface)
        if _standin(msg):
            self._announce_agents({m.agent for m in members} or {agent})
            return
        tracked = self._tracked.setdefault(uniqueid, TrackedCall(started=self._clock()))
        tracked.agent = agent
        tracked.wrapup_s = max((m.wrapup_s for m in members), default=0.0) or None
        self._send(names.ANSWERED, uniqueid=uniqueid, queue=header(msg, "Queue"), agent=agent,
                   wait_s=number(msg, "HoldTime"), ring_s=number(msg, "RingTime"))
        self._announce_agents({m.agent for m in members} or {agent})

    def on_agent_complete(self, msg: AmiHeaders) -> None:
        tracked = self._tracked.get(header(msg, "Uniqueid"))
        if tracked is not None:
            tracked.talk_s = number(msg, "TalkTime")
        members = self.view.complete(header(msg, "Interface"), self._clock())
        self._announce_agents({m.agent for m in members})
        for queue in {m.queue for m in members}:
            self.send_snapshot(queue)

    def on_member(self, msg: AmiHeaders) -> None:
        self._member_update(msg, status=int(number(msg, "Status")) if header(msg, "Status") else None)

    def on_member_removed(self, msg: AmiHeaders) -> None:
        member = self.view.remove_member(header(msg, "Queue"), _interface(msg))
        if member is not None:
            self._announce_agents({member.agent}, gone_ok=True)
            self.send_snapshot(member.queue)

    def on_hangup(self, msg: AmiHeaders) -> None:
        uniqueid = header(msg, "Uniqueid")
        tracked = self._tracked.pop(uniqueid, None)
        if tracked is None:
            return
        caller = self.view.find_caller(uniqueid)
        if caller is not None:  # normally gone already (QueueCallerLeave comes first)
            self.view.leave(caller.queue, uniqueid)
            self.send_snapshot(caller.queue)
        data: dict[str, Any] = {"duration_s": round(self._clock() - tracked.started, 3),
                                "cause": header(msg, "Cause-txt")}
        if tracked.talk_s is not None:
            data["talk_s"] = tracked.talk_s
        if tracked.wrapup_s is not None:
            data["wrapup_s"] = tracked.wrapup_s
        self._send(names.CALL_ENDED, uniqueid=uniqueid, **data)

    def on_user_event(self, msg: AmiHeaders) -> None:
        event = _USER_EVENTS.get(header(msg, "UserEvent").lower())
        if event is None:
            return
        data = {k.lower(): str(v) for k, v in msg.items()
                if k.lower() in ("target", "queue", "callback_id", "callbackid")}
        if "callbackid" in data:
            data["callback_id"] = data.pop("callbackid")
        self._send(event, uniqueid=header(msg, "Uniqueid"), **data)

    # --- snapshots and re-synchronisation ---------------------------------------------------------

    def send_snapshot(self, queue: str) -> None:
        if queue:
            self._send(names.QUEUE_SNAPSHOT, **self.view.snapshot(queue, self._clock()))

    async def resync(self) -> None:
        """Rebuild the view from QueueStatus (after every AMI login; events may have been missed)."""
        if self._ami is None:
            return
        try:
            answer = await self._ami.action({"Action": "QueueStatus"})
        except AmiError as exc:
            self._log.warning("queue resync failed", error=str(exc))
            return
        self.apply_status(answer.messages)

    def apply_status(self, messages: Iterable[AmiHeaders]) -> None:
        now = self._clock()
        queues: list[str] = []
        members: list[Member] = []
        callers: list[Caller] = []
        for msg in messages:
            kind = header(msg, "Event")
            if kind == "QueueParams":
                queues.append(header(msg, "Queue"))
            elif kind == "QueueMember":
                members.append(Member(
                    queue=header(msg, "Queue"), interface=_interface(msg), name=header(msg, "Name"),
                    status=int(number(msg, "Status")), paused=header(msg, "Paused") == "1",
                    paused_reason=header(msg, "PausedReason"), in_call=header(msg, "InCall") == "1",
                    wrapup_s=number(msg, "Wrapuptime"), penalty=int(number(msg, "Penalty")),
                    logged_in_at=number(msg, "LoginTime"), paused_at=number(msg, "LastPause"),
                    last_call_at=number(msg, "LastCall")))
            elif kind == "QueueEntry":
                uniqueid = header(msg, "Uniqueid")
                callers.append(Caller(uniqueid, header(msg, "Queue"), int(number(msg, "Position", 1)),
                                      now - number(msg, "Wait"), self._ref(msg)))
                if _standin(msg):
                    continue
                self._tracked.setdefault(uniqueid, TrackedCall(started=now - number(msg, "Wait")))
        self.view.replace(queues, members, callers)
        self.resyncs += 1
        self.synced.set()
        self._log.info("queues re-synchronised", queues=len(queues), members=len(members), waiting=len(callers))
        self._agent_states.clear()  # announce every agent again: retained topics may be stale
        self._announce_agents(set(self.view.agents()))
        for queue in sorted(self.view.queues):
            self.send_snapshot(queue)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.snapshot_every)
            try:
                self._announce_agents(set(self.view.agents()))  # wrap-up ends by time, not by an event
                for queue in sorted(self.view.queues):
                    self.send_snapshot(queue)
                self._forget_stale()
            except Exception:
                self._log.exception("queue snapshot failed")

    # --- helpers --------------------------------------------------------------------------------

    def _member_update(self, msg: AmiHeaders, *, status: int | None) -> None:
        queue, interface = header(msg, "Queue"), _interface(msg)
        if not queue or not interface:
            return
        paused = header(msg, "Paused")
        member = self.view.set_member(
            queue, interface, name=header(msg, "MemberName") or None, status=status,
            paused=(paused == "1") if paused else None,
            paused_reason=header(msg, "PausedReason") if paused else None,
            in_call=(header(msg, "InCall") == "1") if header(msg, "InCall") else None,
            wrapup_s=number(msg, "Wrapuptime") if header(msg, "Wrapuptime") else None,
            penalty=int(number(msg, "Penalty")) if header(msg, "Penalty") else None,
            logged_in_at=_time(msg, "LoginTime"), paused_at=_time(msg, "LastPause"),
            last_call_at=_time(msg, "LastCall"))
        self._announce_agents({member.agent})
        self.send_snapshot(queue)

    def _announce_agents(self, agents: set[str], *, gone_ok: bool = False) -> None:
        now = self._clock()
        for agent in sorted(agents):
            state = self.view.agent_state(agent, now)
            if state is None:
                if gone_ok and self._agent_states.pop(agent, None) is not None:
                    self._send(names.AGENT_STATE, agent=agent, state="unavailable", reason="removed", queues=[])
                continue
            key = f"{state['state']}|{state['reason']}|{','.join(state['queues'])}"
            if self._agent_states.get(agent) != key:
                self._agent_states[agent] = key
                self._send(names.AGENT_STATE, **state)

    def _forget_stale(self) -> None:
        limit = self._clock() - _TRACK_LIMIT_S
        for uniqueid in [u for u, t in self._tracked.items() if t.started < limit]:
            del self._tracked[uniqueid]

    def _ref(self, msg: AmiHeaders) -> str:
        tracked = self._tracked.get(header(msg, "Uniqueid"))
        if tracked is not None and tracked.caller_ref is not None:
            return tracked.caller_ref  # the IVR knows whether the caller withheld the number
        caller = header(msg, "CallerIDNum")
        if self._hasher is None or caller.lower() in _UNKNOWN_NUMBERS:
            return ""
        return self._hasher.short(caller)

    def _send(self, event: str, **data: Any) -> None:
        try:
            self.events.emit(event, None, **data)
        except Exception:  # a sink must not break AMI event handling
            self._log.exception("event sink failed", event_name=event)


def _standin(msg: AmiHeaders) -> bool:
    return _STANDIN_CONTEXT in header(msg, "Channel")


def _interface(msg: AmiHeaders) -> str:
    return header(msg, "Interface") or header(msg, "Location") or header(msg, "StateInterface")


def _time(msg: AmiHeaders, name: str) -> float | None:
    """An epoch-seconds header of a member event; None when absent or 0 (Asterisk's "never")."""
    return number(msg, name) or None
