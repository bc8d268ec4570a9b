"""DesktopCalls: an EventSink that keeps, per call, what the IVR learned, and pops it on the agent's
page when their phone rings and when they answer (`screenpop` messages through the DesktopHub).

| event | what it adds |
|---|---|
| call_started | the caller's channel (for transfers; never shown) |
| returning_caller | the returning-caller view the disclosure level allows (ivr.desktop.screenpop) |
| menu_finished | language, path, tags, digits, group, repeat-caller flag (see below) |
| queued | queue and when the wait began |
| agent_ringing | pop `ringing` to that agent (a callback's stand-in: the callback, with its call's context) |
| agent_ring_ended | pop `ended` to that agent (the ring stopped unanswered) |
| answered | pop `answered` to the agent who took it; `ended` to the others whose phone rang |
| call_ended | pop `wrapup` to the agent who answered (or `ended` to those rung); unanswered calls forgotten |
| callback_requested | the call's context kept for the callback (by callback id) |
| queue_snapshot | the group's live picture (`group` message) when it changed |

Below: without the returning-caller offer's step and service tag when no returning_caller event came
(disclosure `none`): the agent must not learn even that someone tried to reach the caller.

Bounded: a call is forgotten when it ends unanswered, when its wrap-up code comes, or `keep_s` after
its end (a code that never comes); at most `limit` calls (and callbacks' contexts) are kept, oldest
forgotten first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ivr.config.loader import ConfigSet
from ivr.contacts.returning import STEP as RETURNING_STEP
from ivr.desktop.live import group_live
from ivr.desktop.screenpop import KnownCall, PopState, build, group_of_queue, returning_view
from ivr.events import names
from ivr.live.queue_view import QueueView

if TYPE_CHECKING:
    from ivr.calls import ActiveCall

SCREENPOP = "screenpop"
GROUP = "group"
_SWEEP_EVERY_S = 10.0


class Pages(Protocol):
    """Where pops go (ivr.desktop.hub.DesktopHub)."""

    def to_agent(self, agent_id: str, kind: str, data: dict[str, Any]) -> None: ...

    def to_group(self, group: str, kind: str, data: dict[str, Any]) -> None: ...


class WrapupRefused(Exception):
    """The wrap-up code or transfer is not accepted; `code` is the API's machine code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _no_callbacks(queue: str) -> int:
    return 0


class DesktopCalls:
    def __init__(self, config: Callable[[], ConfigSet], pages: Pages, *, view: Callable[[], QueueView] | None = None,
                 callbacks_pending: Callable[[str], int] = _no_callbacks, clock: Callable[[], float] = time.time,
                 keep_s: float = 1800.0, max_age_s: float = 12 * 3600.0, limit: int = 5000) -> None:
        self.config = config
        self.pages = pages
        self.view = view
        self.callbacks_pending = callbacks_pending
        self._clock = clock
        self.keep_s = keep_s
        self.max_age_s = max_age_s
        self.limit = limit
        self.calls: OrderedDict[str, KnownCall] = OrderedDict()
        self._by_agent: dict[str, str] = {}  # agent → the uniqueid of their current pop
        self._callbacks: OrderedDict[int, KnownCall] = OrderedDict()  # callback id → its call's context
        self._live: dict[str, dict[str, Any]] = {}  # group → the picture last sent
        self._last_sweep = 0.0

    # --- EventSink ------------------------------------------------------------------------------

    def emit(self, event: str, call: ActiveCall | None = None, **data: Any) -> None:
        uniqueid = call.uniqueid if call is not None else str(data.get("uniqueid") or "")
        now = self._clock()
        if event == names.QUEUE_SNAPSHOT:
            self._group_changed(str(data.get("queue") or ""), now)
        elif event == names.AGENT_RINGING and uniqueid and data.get("agent"):
            self._ringing(uniqueid, str(data["agent"]), str(data.get("queue") or ""), data.get("callback_id"), now)
        elif event == names.AGENT_RING_ENDED and uniqueid and data.get("agent"):
            self._ring_ended(uniqueid, str(data["agent"]))
        elif event == names.CALLBACK_PLACED and data.get("callback_id"):
            self._callback_placed(_int(data["callback_id"]), now)
        elif uniqueid and event == names.CALL_ENDED:
            self._ended(uniqueid, now)
        elif uniqueid and event in _CONTEXT_EVENTS:
            self._learn(event, self._known(uniqueid, now), call, data, now)
        else:
            return
        self._sweep(now)

    # --- what pages and routes ask ----------------------------------------------------------------

    def current(self, agent: str) -> dict[str, Any] | None:
        """The agent's current screen pop, or None."""
        known = self.calls.get(self._by_agent.get(agent, ""))
        if known is None or not _concerns(known, agent):
            return None
        return build(self.config(), known, self._clock(), agent=agent)

    def answered_by(self, agent: str, uniqueid: str, *, or_passed_on: bool = False) -> KnownCall:
        """The call if this agent answered it (or passed it on, with `or_passed_on`); else WrapupRefused
        404 (another agent's call looks unknown)."""
        known = self.calls.get(uniqueid)
        if known is None or not (known.agent == agent or (or_passed_on and agent in known.transferred_by)):
            raise WrapupRefused(404, "unknown_call", "no call of yours with this id")
        return known

    def group_of(self, known: KnownCall) -> str:
        return group_of_queue(self.config(), known.queue) or known.menu_group

    def wrapup(self, agent: str, uniqueid: str, code: str) -> tuple[KnownCall, str]:
        """Check and keep the agent's wrap-up code; returns the call and its group (the group of the queue
        the agent answered from: its codes apply). The agent's pop goes to `ended`; the call is forgotten
        unless someone else still has it."""
        known = self.answered_by(agent, uniqueid, or_passed_on=True)
        config = self.config()
        passed_on = agent in known.transferred_by
        group = known.transferred_by_group.get(agent, "") if passed_on else self.group_of(known)
        codes = config.groups[group].wrapup_codes if group in config.groups else {}
        if code not in codes:
            raise WrapupRefused(422, "unknown_code", f"'{code[:40]}' is not a wrap-up code of this call's group")
        known.wrapup_code = code
        self.pages.to_agent(agent, SCREENPOP, build(config, known, self._clock(), state="ended", agent=agent))
        if passed_on:
            known.transferred_by.discard(agent)
            if self._by_agent.get(agent) == uniqueid:
                del self._by_agent[agent]
        else:
            known.state = "ended"
            self._forget(uniqueid)
        return known, group

    def passing_on(self, agent: str, uniqueid: str) -> KnownCall:
        """Before the agent's transfer goes to Asterisk: the group they answered from is kept now. Asterisk's
        events may overtake the transfer's answer (the caller already in the next queue, even answered
        there), and the call's queue is the next group's by then."""
        known = self.answered_by(agent, uniqueid)
        known.transferred_by.add(agent)
        known.transferred_by_group[agent] = self.group_of(known)
        known.ringing.discard(agent)  # the next agent's answer must not end this agent's pop as "not taken"
        return known

    def not_passed_on(self, agent: str, uniqueid: str) -> None:
        """The transfer was refused (or failed): the agent still has the call."""
        known = self.calls.get(uniqueid)
        if known is not None:
            known.transferred_by.discard(agent)
            known.transferred_by_group.pop(agent, None)

    def transferred(self, agent: str, uniqueid: str) -> None:
        """The agent passed the call on (ivr.desktop.asterisk, after `passing_on`): their pop goes to
        `wrapup`, and the call waits for the next agent, unless that one's answer came first."""
        known = self.calls.get(uniqueid)
        if known is None or agent not in known.transferred_by:
            return
        if known.agent == agent:
            known.agent, known.state, known.answered_at, known.wait_s = "", None, None, None
        self._push(agent, known)

    # --- the events ---------------------------------------------------------------------------------

    def _learn(self, event: str, known: KnownCall, call: ActiveCall | None, data: dict[str, Any],
               now: float) -> None:
        if event == names.CALL_STARTED and call is not None:
            known.channel = call.channel
        elif event == names.RETURNING_CALLER:
            known.returning = returning_view(data)
        elif event == names.MENU_FINISHED:
            known.language = str(data.get("language") or "")
            known.path = [str(node) for node in data.get("nodes") or []]
            known.tags = {str(k): str(v) for k, v in (data.get("tags") or {}).items()}
            known.digits = {str(k): str(v) for k, v in (data.get("digits") or {}).items()}
            if known.returning is None:  # disclosure `none`: not even that someone tried to reach them
                known.path = [node for node in known.path if node != RETURNING_STEP]
                if known.tags.get("service") == RETURNING_STEP:
                    del known.tags["service"]
            known.menu_group = str(data.get("group") or "")
            known.repeat_caller = bool(data.get("repeat_caller"))
            if not known.queue:
                known.queue = str(data.get("queue") or "")
        elif event == names.QUEUED:
            known.queue = str(data.get("queue") or known.queue)
            if known.queued_at is None:  # an overflow to another queue keeps the first join time
                known.queued_at = now
        elif event == names.ANSWERED:
            self._answered(known, str(data.get("agent") or ""), data, now)
        elif event == names.CALLBACK_REQUESTED and data.get("callback_id"):
            self._callbacks[_int(data["callback_id"])] = known
            while len(self._callbacks) > self.limit:
                self._callbacks.popitem(last=False)

    def _ringing(self, uniqueid: str, agent: str, queue: str, callback_id: Any, now: float) -> None:
        known = self._known(uniqueid, now)
        if callback_id is not None and known.callback_id is None:
            origin = self._callbacks.get(_int(callback_id))
            if origin is not None:  # the context of the call that asked for the callback
                for name in ("language", "path", "tags", "digits", "menu_group", "repeat_caller", "returning",
                             "queued_at"):
                    setattr(known, name, getattr(origin, name))
            known.callback_id = _int(callback_id)
        known.queue = queue or known.queue
        known.ringing.add(agent)
        if known.state is None:
            known.state = "ringing"
        self._by_agent[agent] = uniqueid
        self._push(agent, known)

    def _ring_ended(self, uniqueid: str, agent: str) -> None:
        """The agent's phone stopped ringing unanswered: their pop ends (the call may ring them again)."""
        known = self.calls.get(uniqueid)
        if known is None or known.agent == agent or agent not in known.ringing:
            return
        known.ringing.discard(agent)
        if self._by_agent.get(agent) == uniqueid:
            del self._by_agent[agent]
            self._push(agent, known, state="ended")

    def _answered(self, known: KnownCall, agent: str, data: dict[str, Any], now: float) -> None:
        known.agent = agent or known.agent
        known.answered_at = known.answered_at or now
        if data.get("wait_s") is not None:
            known.wait_s = float(data["wait_s"])
        known.queue = str(data.get("queue") or known.queue)
        known.state = "answered"
        if known.agent:
            self._by_agent[known.agent] = known.uniqueid
            self._push(known.agent, known)
        self._release_others(known)

    def _callback_placed(self, callback_id: int, now: float) -> None:
        """An agent answered a callback's stand-in: the city now calls the citizen for them. Only when
        one agent was rung is it known who (the stand-in gets no `answered` event)."""
        for known in self.calls.values():
            if known.callback_id == callback_id and known.state == "ringing":
                agents = [a for a in known.ringing if self._by_agent.get(a) == known.uniqueid]
                if len(agents) == 1:
                    self._answered(known, agents[0], {}, now)
                return

    def _ended(self, uniqueid: str, now: float) -> None:
        known = self.calls.get(uniqueid)
        if known is None:
            return
        known.ended_at = now
        if known.agent and known.state == "answered":
            known.state = "wrapup"
            self._push(known.agent, known)
        self._release_others(known)
        if not known.agent and not known.transferred_by:
            self._forget(uniqueid)

    def _release_others(self, known: KnownCall) -> None:
        """Agents whose phone rang for the call but who did not take it: their pop ends."""
        for agent in sorted(known.ringing - {known.agent}):
            if self._by_agent.get(agent) == known.uniqueid:
                del self._by_agent[agent]
                state, known.state = known.state, "ended"
                self._push(agent, known)
                known.state = state

    def _group_changed(self, queue: str, now: float) -> None:
        config = self.config()
        group = group_of_queue(config, queue)
        if not group or self.view is None:
            return
        live = group_live(config, self.view(), group, self.callbacks_pending, now)
        if self._live.get(group) != live:
            self._live[group] = live
            self.pages.to_group(group, GROUP, live)

    # --- memory -----------------------------------------------------------------------------------

    def _known(self, uniqueid: str, now: float) -> KnownCall:
        known = self.calls.get(uniqueid)
        if known is None:
            known = self.calls[uniqueid] = KnownCall(uniqueid, seen_at=now)
            while len(self.calls) > self.limit:
                self._forget(next(iter(self.calls)))
        return known

    def _push(self, agent: str, known: KnownCall, *, state: PopState | None = None) -> None:
        self.pages.to_agent(agent, SCREENPOP, build(self.config(), known, self._clock(), state=state, agent=agent))

    def _forget(self, uniqueid: str) -> None:
        known = self.calls.pop(uniqueid, None)
        if known is None:
            return
        for agent in known.ringing | known.transferred_by | {known.agent}:
            if self._by_agent.get(agent) == uniqueid:
                del self._by_agent[agent]

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < _SWEEP_EVERY_S:
            return
        self._last_sweep = now
        stale = [u for u, k in self.calls.items() if now - k.seen_at > self.max_age_s
                 or now - (k.ended_at or _callback_end(k) or now) > self.keep_s]
        for uniqueid in stale:
            self._forget(uniqueid)


_CONTEXT_EVENTS = frozenset({names.CALL_STARTED, names.RETURNING_CALLER, names.MENU_FINISHED, names.QUEUED,
                             names.ANSWERED, names.CALLBACK_REQUESTED})


def _callback_end(known: KnownCall) -> float | None:
    """A callback's stand-in never reports its hang-up: its pop counts as ended when answered."""
    return known.answered_at if known.callback_id is not None else None


def _concerns(known: KnownCall, agent: str) -> bool:
    return known.agent == agent or agent in known.transferred_by or (not known.agent and agent in known.ringing)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
