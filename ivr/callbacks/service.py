"""The daemon's callback service: takes requests, keeps each callback's place in its queue with a
stand-in channel, hands the number over when an agent answers the stand-in, retries, expires.

The stand-in: `Local/cb<id>@ivr-callback-hold/n`, originated over AMI. Its ;2 half waits in the
queue (extensions.conf [ivr-callback-hold]) at the citizen's position and priority, so app_queue
itself decides when it is their turn, exactly as if they had stayed on the line. When an agent
answers it, ;1 runs [ivr-callback-connect]: the `callback` route gives the number (`connect`); how
the call to the citizen ended comes from the hangup handler [ivr-callback-done] as the AMI
UserEvent IvrCallbackDone, and stays in astdb (ivr-callback/<id>) for a daemon that was down then
(read with DBGet, class `reporting`; the dialplan deletes it when the next attempt connects).
Everything lives in the store, so a daemon restart loses nothing: after every AMI login the service
checks which stand-ins still wait (QueueStatus) and places the missing ones by the citizen's
original join time.

Several daemons may share one store (docs/cluster-operations.md): each callback's stand-in is held by
one node under a lease in the store (ivr/callbacks/leases.py), renewed every scan; a node that dies
leaves its leases to lapse and another node takes its callbacks over; so does a node that has lost
its Asterisk (no renewal without AMI). Each placement of a stand-in
gets the next `placement` number, carried by the stand-in (IVR_CB_PLACEMENT), and only the latest may
connect: a citizen is never called from two stand-ins.

Callback requests left outside opening hours (kind `request`, ivr/entrypoints/callback_request.py)
are the same rows with their first attempt due at the group's next opening: the scan places them
then, in the order they were left, each at the end of the queue; from there on they are callbacks
like the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import structlog
from structlog.typing import FilteringBoundLogger

from ivr.ami.errors import AmiError, AmiNotConnected, AmiOriginateFailed, AmiOriginateUnknown
from ivr.ami.port import AmiPort
from ivr.ami.reply import AmiHeaders, header
from ivr.callbacks import leases, store
from ivr.callbacks.sealing import NumberSeal, SealError
from ivr.callbacks.store import Callback, NewCallback
from ivr.config.holder import ConfigHolder
from ivr.dialplan_variables import (
    IVR_CB_MAX_PENALTY,
    IVR_CB_PLACEMENT,
    IVR_CB_POSITION,
    IVR_CB_PRIO,
    IVR_CB_QUEUE,
    IVR_CB_WAIT,
)
from ivr.events import names
from ivr.events.sink import EventSink
from ivr.live.queue_view import QueueView
from ivr.queues.membership import SKILLED_ONLY_MAX
from ivr.store import leases as job_leases
from ivr.store.db import AsyncDatabase, Database, open_database

T = TypeVar("T")

_STANDIN = re.compile(r"^Local/cb(\d+)@ivr-callback-(hold|connect)-")
# Extra seconds the stand-in may outlive the callback's expiry (the Originate's own timeout).
_MARGIN_S = 60
# Placing requests in order: how long to wait for a stand-in to show in the queue before the next.
_JOIN_WAIT_S = 3.0
_JOIN_POLL_S = 0.05
# The purge of finished rows runs on one node at a time, at most this often.
_PURGE_EVERY_S = 300.0


def _connection_lost(exc: BaseException) -> bool:
    """sqlite3's and psycopg's errors of a connection that no longer works (not of a bad statement)."""
    return any(cls.__name__ in ("OperationalError", "InterfaceError") for cls in type(exc).__mro__)


def standin_channel(callback_id: int) -> str:
    return f"Local/cb{callback_id}@ivr-callback-hold/n"


class CallbackService:
    def __init__(self, config: ConfigHolder, db_url: str, seal: NumberSeal, events: EventSink, *,
                 view: Callable[[], QueueView], scan_every: float = 5.0,
                 clock: Callable[[], float] = time.time, logger: FilteringBoundLogger | None = None,
                 node: str = "local", lease_s: float = 30.0, claim_batch: int = 50) -> None:
        if lease_s <= scan_every:
            lease_s = 3 * scan_every  # renewed every scan: a shorter lease would lapse while its node lives
        self.config = config
        self.node = node
        self.lease_s = lease_s
        self.claim_batch = claim_batch  # claimed per scan: the rest is left to the next scan (or node)
        self.db_url = db_url
        self.seal = seal
        self.events = events
        self.view = view
        self.scan_every = scan_every
        self.clock = clock
        self.ami: AmiPort | None = None
        self._db: AsyncDatabase | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._originates: dict[int, asyncio.Task[None]] = {}
        self._adopted: set[int] = set()  # callbacks taken over from a lapsed node, watched here
        self._next_purge = 0.0
        self._synced = asyncio.Event()
        self._pending: dict[str, int] = {}  # callbacks not done yet, per queue, as of the last scan
        # Requests left outside opening hours are placed one at a time per queue, in the order left.
        self._in_order: dict[str, asyncio.Lock] = {}
        self._placing: set[asyncio.Task[None]] = set()
        self._requests_waiting: dict[str, int] = {}  # as last announced (callback_requests_waiting)
        self._log: FilteringBoundLogger = logger or structlog.get_logger("ivr.callbacks")

    # --- lifecycle -------------------------------------------------------------------------------

    def attach(self, ami: AmiPort) -> None:
        self.ami = ami
        ami.on_reconnect(self.resync)
        ami.on_event("UserEvent", self.on_user_event)

    def _port(self) -> AmiPort:
        """The attached AMI connection; before `attach()` it is as if AMI were down."""
        if self.ami is None:
            raise AmiNotConnected("no AMI connection attached")
        return self.ami

    async def on_user_event(self, msg: AmiHeaders) -> None:
        if header(msg, "UserEvent").lower() != "ivrcallbackdone":
            return
        callback_id = header(msg, "CallbackId")
        if not re.fullmatch(r"[0-9]{1,12}", callback_id) or self._db is None:
            return
        await self.result(int(callback_id), header(msg, "DialStatus"))

    async def start(self) -> None:
        """Never fails the daemon's start: the store is opened (and migrated) in the background."""
        self._loop_task = asyncio.create_task(self._run(), name="callbacks")

    async def _open(self) -> None:
        delay = 0.2
        while self._db is None:
            try:
                self._db = AsyncDatabase(await asyncio.to_thread(open_database, self.db_url))
                self._log.info("callback store open")
            except Exception as exc:
                # Another service may be migrating the same database right now (the loser of that
                # race sees a duplicate migration row), or the database is down: try again.
                self._log.warning("callback store not available yet", error=str(exc)[:200], retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self._placing, *self._originates.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def store_open(self) -> bool:
        """For the node's health (ivr.cluster): whether the callbacks' store has been opened."""
        return self._db is not None

    async def _run_db(self, job: Callable[[Database], T]) -> T:
        if self._db is None:
            raise RuntimeError("callback store is not open")
        return await self._db.run(job)

    # --- the three moments of a callback (called by the FastAGI `callback` route) ----------------

    async def request(self, new: NewCallback, number: str) -> Callback | None:
        """Store the request and put the stand-in in the caller's place; None (and nothing kept)
        when the stand-in cannot be placed now: the caller then stays in the queue themselves."""
        now = self.clock()
        callback: Callback = await self._run_db(lambda db: store.create(
            db, new, self.seal, number, now, owner=self.node, lease_until=now + self.lease_s))
        if not await self._place(callback):
            await self._run_db(lambda db: store.move(db, callback.id, "cancelled", now, expect=("pending",),
                                                     placement=0, status="not-placed"))
            self._log.warning("callback not possible now (AMI down?)", callback_id=callback.id)
            return None
        self._emit(names.CALLBACK_REQUESTED, callback, uniqueid=new.origin_uniqueid)
        self._log.info("callback requested", callback_id=callback.id, queue=new.queue, position=new.position,
                       caller_ref=new.caller_ref)
        return callback

    async def book_request(self, new: NewCallback, number: str, *, per_day: int,
                           day: tuple[float, float]) -> Callback | Literal["full"] | None:
        """Book a callback request for the next opening (`new.due_at`); "full" when the group already
        has `per_day` requests for that opening day (`day`: its start and end), None when the store
        cannot take it now. Nothing is placed yet: the scan places it once due_at has come."""
        if self._db is None:
            return None
        now = self.clock()
        booked = await self._run_db(lambda db: store.create_request(db, new, self.seal, number, now, day=day,
                                                                    limit=per_day))
        if booked is None:
            self._log.info("callback request refused: the day's limit is reached", group=new.group, limit=per_day)
            return "full"
        self._emit(names.CALLBACK_BOOKED, booked, uniqueid=new.origin_uniqueid, due_at=new.due_at)
        self._log.info("callback request booked", callback_id=booked.id, queue=new.queue, due_at=new.due_at,
                       caller_ref=new.caller_ref)
        return booked

    async def connect(self, callback_id: int, placement: int | None = None) -> tuple[Callback, str] | None:
        """An agent answered the stand-in: the number to call (None: nothing to call any more). With
        the stand-in's placement, one left behind by an earlier placement gets nothing."""
        now = self.clock()
        def start(db: Database) -> bool:
            return store.move(db, callback_id, "connecting", now, expect=("queued", "pending"), attempts_add=1,
                              placement=placement)

        moved = await self._run_db(start)
        callback = await self._run_db(lambda db: store.get(db, callback_id))
        if not moved or callback is None or not callback.number_sealed:
            self._log.warning("stand-in answered for a callback that is not waiting", callback_id=callback_id,
                              placement=placement)
            return None
        try:
            number = self.seal.open(callback.number_sealed, callback.id)
        except SealError:
            self._log.error("callback number cannot be opened (wrong IVR_CALLBACK_KEY?)", callback_id=callback_id)
            await self._run_db(lambda db: store.move(db, callback_id, "failed", now, status="sealed"))
            return None
        self._emit(names.CALLBACK_PLACED, callback, attempt=callback.attempts)
        self._log.info("callback connecting", callback_id=callback_id, attempt=callback.attempts,
                       caller_ref=callback.caller_ref)
        return callback, number

    async def result(self, callback_id: int, dialstatus: str) -> str:
        """The call to the citizen ended with DIALSTATUS; returns the callback's new state."""
        now = self.clock()
        callback: Callback | None = await self._run_db(lambda db: store.get(db, callback_id))
        if callback is None:
            return "unknown"
        settings = self.config.current.rules.queueing.callback
        status = dialstatus if re.fullmatch(r"[A-Z]{1,20}", dialstatus) else "UNKNOWN"
        if status == "ANSWER":
            state, retry_at = "done", None
        elif callback.attempts >= settings.attempts or now + settings.retry_after > callback.expires_at:
            state, retry_at = "failed", None
        else:
            state, retry_at = "pending", now + settings.retry_after
        moved = await self._run_db(lambda db: store.move(db, callback_id, state, now, expect=("connecting",),
                                                         next_attempt_at=retry_at, status=status, position=1))
        if not moved:  # another node (every node hears the UserEvent) or an earlier resync was first
            return callback.state
        self._log.info("callback attempt ended", callback_id=callback_id, dialstatus=status, state=state,
                       attempt=callback.attempts)
        return state

    # --- stand-ins -------------------------------------------------------------------------------

    async def _place(self, callback: Callback, position: int | None = None) -> bool:
        """Claim the callback for this node and originate its stand-in; `queued` while it waits."""
        if self.ami is None or not self.ami.connected or callback.expires_at <= self.clock():
            return False
        now = self.clock()
        claimed = await self._run_db(lambda db: leases.claim(db, callback.id, self.node, now, self.lease_s))
        if claimed is None:
            return False
        return self._send_standin(claimed, position)

    def _send_standin(self, callback: Callback, position: int | None = None) -> bool:
        """Originate the stand-in of a callback this node has just claimed (in the background)."""
        wait = int(callback.expires_at - self.clock())
        if wait <= 0:
            return False  # expires now: the next scan marks it expired
        where = position if position is not None else callback.position
        variables = {IVR_CB_QUEUE: callback.queue, IVR_CB_PRIO: str(callback.priority),
                     IVR_CB_POSITION: str(where or ""), IVR_CB_WAIT: str(wait),
                     IVR_CB_PLACEMENT: str(callback.placement)}
        group = self.config.current.groups.get(callback.group)
        if group is not None and callback.queue != group.queue:  # a skill queue: their language first
            variables[IVR_CB_MAX_PENALTY] = str(SKILLED_ONLY_MAX)
        task = asyncio.create_task(self._originate(callback, variables, wait + _MARGIN_S),
                                   name=f"callback-{callback.id}")
        self._originates[callback.id] = task
        task.add_done_callback(functools.partial(self._forget_originate, callback.id))
        self._log.info("callback stand-in placed", callback_id=callback.id, queue=callback.queue, position=where,
                       placement=callback.placement, node=self.node)
        return True

    def _forget_originate(self, callback_id: int, _task: asyncio.Task[None]) -> None:
        self._originates.pop(callback_id, None)

    async def _originate(self, callback: Callback, variables: dict[str, str], ring: float) -> None:
        try:
            await self._port().originate(standin_channel(callback.id), context="ivr-callback-connect",
                                         exten=f"cb{callback.id}", caller_id='"Ateruppringning" <0>',
                                         variables=variables, ring_timeout=ring)
        except AmiOriginateUnknown:
            return  # AMI dropped while the stand-in waited: resync() looks at the queue afterwards
        except AmiOriginateFailed as exc:
            # The stand-in left the queue unanswered (expired, hung up by an admin, Asterisk restart).
            now = self.clock()
            state = "expired" if now >= callback.expires_at else "pending"
            await self._run_db(lambda db: store.move(db, callback.id, state, now, expect=("queued",),
                                                     next_attempt_at=now + self.scan_every, status="standin-ended",
                                                     placement=callback.placement))
            self._log.warning("callback stand-in ended without an agent", callback_id=callback.id,
                              reason=exc.reason, state=state)
        except AmiError as exc:
            await self._run_db(lambda db: store.move(db, callback.id, "pending", self.clock(), expect=("queued",),
                                                     placement=callback.placement))
            self._log.warning("callback stand-in not placed", callback_id=callback.id, error=str(exc))

    def _position_by_join_time(self, callback: Callback) -> int:
        """Where the citizen would be now: behind everyone who joined before them."""
        state = self.view().queues.get(callback.queue)
        ahead = 0 if state is None else sum(1 for c in state.callers.values() if c.joined_at < callback.joined_at)
        return ahead + 1

    async def resync(self) -> None:
        """After every AMI login: callbacks whose stand-in is gone (Asterisk restarted, or the daemon
        was down when it ended) go back to `pending`, to be placed again by their join time."""
        if self._db is None:
            return  # _run() resyncs once the store is open
        alive = await self._alive_standins()
        if alive is None:
            return
        # Only this node's callbacks: another node's stand-ins may wait on another Asterisk, and a
        # callback another node has just claimed has no stand-in yet. Theirs are left to their leases.
        for callback in await self._run_db(lambda db: leases.mine_or_unowned(db, self.node)):
            if callback.id not in self._originates:
                await self._check_standin(callback, alive)
        self._synced.set()

    async def _alive_standins(self) -> set[int] | None:
        """Ids of the callbacks whose stand-in (or its call) exists on this node's Asterisk."""
        try:
            ami = self._port()
            answer = await ami.action({"Action": "QueueStatus"})
            channels = await ami.action({"Action": "CoreShowChannels"})
        except AmiError as exc:
            self._log.warning("callback resync failed", error=str(exc))
            return None
        alive = set()
        for msg in [*answer.messages, *channels.messages]:
            match = _STANDIN.match(header(msg, "Channel"))
            if match:
                alive.add(int(match[1]))
        return alive

    async def _check_standin(self, callback: Callback, alive: set[int]) -> bool:
        """A held callback without an Originate of ours: True if its stand-in still lives (watch
        it); otherwise its result from astdb, or pending again to be placed anew."""
        if callback.id in alive:
            return True
        if callback.state == "connecting" and await self._result_while_away(callback.id):
            return False
        now = self.clock()
        await self._run_db(functools.partial(store.move, callback_id=callback.id, state="pending", now=now,
                                             expect=("queued", "connecting"), next_attempt_at=now,
                                             status="standin-lost", placement=callback.placement))
        self._log.warning("callback stand-in lost; placing it again", callback_id=callback.id, state=callback.state)
        return False

    async def _result_while_away(self, callback_id: int) -> bool:
        """The result the hangup handler left in astdb while the daemon was not listening."""
        try:
            answer = await self._port().action({"Action": "DBGet", "Family": "ivr-callback", "Key": str(callback_id)})
        except AmiError:
            return False
        status = next((header(m, "Val") for m in answer.named("DBGetResponse")), "")
        if not status:
            return False
        await self.result(callback_id, status)
        return True

    # --- the periodic scan ---------------------------------------------------------------------------

    async def _run(self) -> None:
        await self._open()
        if self.ami is not None and self.ami.connected and not self._synced.is_set():
            await self.resync()  # AMI logged in before the store was open
        while True:
            try:
                await self.scan()
            except Exception as exc:
                if not _connection_lost(exc):
                    self._log.exception("callback scan failed")
                else:  # e.g. PostgreSQL restarted or failed over: a new connection, once it answers
                    self._log.warning("callback store connection lost; reconnecting", error=type(exc).__name__)
                    await self._reopen()
            await asyncio.sleep(self.scan_every)

    async def _reopen(self) -> None:
        """Replace a dead connection. Meanwhile the leases this node holds are not renewed: past
        `lease_s` another node takes its callbacks over, which is what should happen to a node that
        cannot reach the store."""
        db, self._db = self._db, None
        if db is not None:
            with contextlib.suppress(Exception):
                await db.close()
        await self._open()

    def pending(self, queue: str) -> int:
        """Callbacks of this queue waiting for their turn or their next attempt (as of the last scan,
        every `scan_every` seconds): the agents' desktop shows it in the group's live picture."""
        return self._pending.get(queue, 0)

    async def scan(self) -> None:
        now = self.clock()
        # Only while this node reaches its Asterisk: stand-ins die with a node's Asterisk, and past
        # `lease_s` without it another node (its own Asterisk alive) takes the callbacks over.
        if self.ami is not None and self.ami.connected:
            await self._run_db(lambda db: leases.renew(db, self.node, now, self.lease_s))
        waiting = await self._run_db(lambda db: store.in_states(db, ("pending", "queued")))
        counts: dict[str, int] = {}
        for callback in waiting:
            if now < callback.expires_at:
                counts[callback.queue] = counts.get(callback.queue, 0) + 1
        self._pending = counts
        self._publish_requests_waiting(waiting, now)
        for callback in waiting:
            if now >= callback.expires_at:
                await self._expire(callback, now)
        if self.ami is not None and self.ami.connected and self._synced.is_set():
            await self._watch_taken_over(now)
            batch = self.claim_batch
            claimed = await self._run_db(lambda db: leases.claim_due(db, self.node, now, self.lease_s, batch))
            requests: dict[str, list[Callback]] = {}
            for callback in claimed:
                if callback.kind == "request" and not callback.attempts:
                    requests.setdefault(callback.queue, []).append(callback)  # claimed oldest first
                    continue
                # A retry goes first (their turn had come); otherwise the citizen's place by join time.
                self._send_standin(callback, 1 if callback.attempts else self._position_by_join_time(callback))
            for queue, in_order in requests.items():
                task = asyncio.create_task(self._place_in_order(queue, in_order), name=f"callback-requests-{queue}")
                self._placing.add(task)
                task.add_done_callback(self._placing.discard)
        await self._purge(now)

    async def _place_in_order(self, queue: str, batch: list[Callback]) -> None:
        """Requests left outside opening hours join the queue at its end, one after the other in the
        order they were left: each stand-in is seen in the queue (or has had `_JOIN_WAIT_S`) before the
        next is originated, so Asterisk cannot swap two of them."""
        lock = self._in_order.setdefault(queue, asyncio.Lock())
        async with lock:
            for callback in batch:
                before = self._callers_in(queue)
                if not self._send_standin(callback, None):
                    continue
                task = self._originates.get(callback.id)
                waited = 0.0
                while waited < _JOIN_WAIT_S and self._callers_in(queue) <= before and task is not None \
                        and not task.done():
                    await asyncio.sleep(_JOIN_POLL_S)
                    waited += _JOIN_POLL_S

    def _callers_in(self, queue: str) -> int:
        state = self.view().queues.get(queue)
        return 0 if state is None else len(state.callers)

    async def _watch_taken_over(self, now: float) -> None:
        """Take over the callbacks of nodes whose leases lapsed and check, with the ones adopted
        earlier, that their stand-ins still wait here; the others are placed again."""
        taken = await self._run_db(lambda db: leases.take_over(db, self.node, now, self.lease_s))
        for callback in taken:
            self._log.warning("callback taken over from a node whose lease lapsed", callback_id=callback.id,
                              state=callback.state, placement=callback.placement)
        watched = {c.id: c for c in await self._run_db(lambda db: leases.held(db, self.node, sorted(self._adopted)))}
        watched.update((c.id, c) for c in taken if c.id not in self._originates)
        self._adopted = set(watched)
        if not watched:
            return
        alive = await self._alive_standins()
        if alive is None:
            return  # AMI trouble: held (and renewed) until the next scan looks again
        for callback in watched.values():
            if not await self._check_standin(callback, alive):
                self._adopted.discard(callback.id)

    async def _purge(self, now: float) -> None:
        """Finished rows go after a week; one node at a time does it (a job lease in the store)."""
        if now < self._next_purge:
            return
        self._next_purge = now + _PURGE_EVERY_S
        ttl = 2 * _PURGE_EVERY_S
        if await self._run_db(lambda db: job_leases.hold(db, "callbacks-purge", self.node, now, ttl)):
            await self._run_db(lambda db: store.purge(db, now))

    async def _expire(self, callback: Callback, now: float) -> None:
        if await self._run_db(lambda db: store.move(db, callback.id, "expired", now, expect=("pending", "queued"),
                                                    status="expired")):
            self._log.info("callback expired", callback_id=callback.id)
            if callback.state == "queued" and self.ami is not None and self.ami.connected:
                with contextlib.suppress(AmiError):
                    await self.ami.action({"Action": "Hangup",
                                           "Channel": f"/^Local\\/cb{callback.id}@ivr-callback-hold-/"})

    def _publish_requests_waiting(self, waiting: list[Callback], now: float) -> None:
        """Requests not placed yet (waiting for their opening), per queue, announced when they change:
        the wallboard shows them."""
        counts: dict[str, int] = {}
        for callback in waiting:
            if callback.kind == "request" and callback.state == "pending" and not callback.attempts \
                    and now < callback.expires_at:
                counts[callback.queue] = counts.get(callback.queue, 0) + 1
        for queue in sorted(set(counts) | set(self._requests_waiting)):
            if counts.get(queue, 0) != self._requests_waiting.get(queue, 0):
                try:
                    self.events.emit(names.CALLBACK_REQUESTS_WAITING, None, queue=queue, waiting=counts.get(queue, 0))
                except Exception:
                    self._log.exception("event sink failed", event_name=names.CALLBACK_REQUESTS_WAITING)
        self._requests_waiting = counts

    def _emit(self, event: str, callback: Callback, **data: Any) -> None:
        try:
            self.events.emit(event, None, callback_id=str(callback.id), queue=callback.queue, **data)
        except Exception:
            self._log.exception("event sink failed", event_name=event)
