"""A small test-side AMI client: records every event and originates simulated callers.

Deliberately independent of the production wrapper (`ivr.ami`) and of panoramisk's Manager: a
test harness must not share the code it tests, and panoramisk routes events that carry an ActionID
(e.g. OriginateResponse) away from event callbacks, reconnects after close() and drops the
connection when a callback raises. This client is plain asyncio: one reader task, responses
matched by ActionID, every event (with or without ActionID) appended to an `EventRecorder`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .ports import AMI_PORT

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = AMI_PORT
# The all-privileges test user from asterisk-config/sandbox/manager.d/ivrtest.conf.
TEST_USER = "ivrtest"
TEST_SECRET = "ivrtest-dev-secret"
# The daemon's own user (asterisk-config/manager.conf); its secret is written by the sandbox.
IVR_USER = "ivr"
IVR_DEV_SECRET = "ivr-dev-secret"


class AmiError(Exception):
    """An action answered with Response: Error, or the connection failed."""


class AmiMessage:
    """One AMI message (event or response): headers in order, duplicates kept.

    Attribute access reads a header (`e.Event`, `e.Queue`), case-insensitively; a missing header
    reads as None, so predicates like `lambda e: e.Queue == "kc-general"` never raise.
    """

    __slots__ = ("_lower", "headers", "index", "received_at")

    def __init__(self, headers: list[tuple[str, str]], received_at: float = 0.0) -> None:
        self.headers = headers
        self.received_at = received_at
        # Position in the EventRecorder (set when recorded), to ask for "events after this one".
        self.index = -1
        self._lower: dict[str, str] = {}
        for key, value in headers:
            self._lower.setdefault(key.lower(), value)

    @classmethod
    def parse(cls, text: str, received_at: float = 0.0) -> AmiMessage:
        headers: list[tuple[str, str]] = []
        for line in text.split("\r\n"):
            if not line:
                continue
            key, sep, value = line.partition(":")
            if not sep:
                # Command output of old Asterisk versions; kept under a pseudo-header.
                headers.append(("Output", line))
                continue
            headers.append((key.strip(), value.strip()))
        return cls(headers, received_at)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._lower.get(key.lower(), default)

    def get_all(self, key: str) -> list[str]:
        k = key.lower()
        return [v for h, v in self.headers if h.lower() == k]

    def __getattr__(self, name: str) -> str | None:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._lower.get(name.lower())

    def __getitem__(self, key: str) -> str:
        value = self._lower.get(key.lower())
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._lower

    def as_dict(self) -> dict[str, str]:
        return dict(self.headers)

    def matches(self, expected: Mapping[str, Any]) -> bool:
        """True when every expected header matches: a str exactly, "~regex" as a full match,
        None as "absent", and a list as any of its items."""
        return all(value_matches(self.get(key), want) for key, want in expected.items())

    def __repr__(self) -> str:
        name = self.get("Event") or f"Response {self.get('Response')}"
        keys = (
            "Channel",
            "Uniqueid",
            "Queue",
            "Application",
            "AppData",
            "Variable",
            "Value",
            "UserEvent",
            "CallerIDNum",
        )
        extra = " ".join(f"{k}={self.get(k)!r}" for k in keys if self.get(k) is not None)
        return f"<{name} {extra}>"


def value_matches(actual: str | None, want: Any) -> bool:
    if isinstance(want, list):
        return any(value_matches(actual, w) for w in want)
    if want is None:
        return actual is None
    if actual is None:
        return False
    text = str(want)
    if text.startswith("~"):
        return re.fullmatch(text[1:], actual) is not None
    return actual == text


Predicate = Callable[[AmiMessage], bool]


@dataclass(eq=False)
class _Waiter:
    predicate: Predicate
    future: asyncio.Future[AmiMessage]


class EventRecorder:
    """Keeps every AMI event in arrival order and lets tests wait for one.

    `wait_for` looks at the events already recorded first (from `since`), so a test that starts
    waiting after the event arrived does not miss it.
    """

    def __init__(self) -> None:
        self.events: list[AmiMessage] = []
        self._waiters: list[_Waiter] = []

    def add(self, event: AmiMessage) -> None:
        event.index = len(self.events)
        self.events.append(event)
        for waiter in list(self._waiters):
            if waiter.future.done():
                self._waiters.remove(waiter)
                continue
            try:
                hit = waiter.predicate(event)
            except Exception as exc:  # a broken predicate fails its own wait, not the reader
                self._waiters.remove(waiter)
                waiter.future.set_exception(exc)
                continue
            if hit:
                self._waiters.remove(waiter)
                waiter.future.set_result(event)

    def find(self, predicate: Predicate, since: int = 0) -> list[AmiMessage]:
        return [e for e in self.events[since:] if predicate(e)]

    def first(self, predicate: Predicate, since: int = 0) -> AmiMessage | None:
        for e in self.events[since:]:
            if predicate(e):
                return e
        return None

    def mark(self) -> int:
        """Position to pass as `since` to look only at events from now on."""
        return len(self.events)

    async def wait_for(
        self, predicate: Predicate, timeout: float = 20.0, *, since: int = 0, what: str = ""
    ) -> AmiMessage:
        found = self.first(predicate, since)
        if found is not None:
            return found
        loop = asyncio.get_running_loop()
        waiter = _Waiter(predicate, loop.create_future())
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter.future, timeout)
        except TimeoutError:
            raise AssertionError(
                f"no AMI event {what or 'matching the predicate'} within {timeout} s; "
                f"{len(self.events) - since} events since the start of the wait"
            ) from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)


class AmiClient:
    """One logged-in AMI connection. Use `await AmiClient.connect(...)` and `await close()`."""

    _ids = itertools.count(1)

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._pending: dict[str, _PendingAction] = {}
        self.recorder = EventRecorder()
        self.banner = ""
        self._prefix = f"t{uuid.uuid4().hex[:8]}-"
        self._reader_task: asyncio.Task[None] | None = None
        self._closed = False
        self.connection_error: BaseException | None = None

    @classmethod
    async def connect(
        cls,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        username: str = TEST_USER,
        secret: str = TEST_SECRET,
        *,
        events: str = "on",
        timeout: float = 5.0,
    ) -> AmiClient:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        client = cls(reader, writer)
        try:
            banner = await asyncio.wait_for(reader.readline(), timeout)
            client.banner = banner.decode("utf-8", "replace").strip()
            client._reader_task = asyncio.get_running_loop().create_task(client._read_loop())
            resp = await client.action(
                "Login",
                Username=username,
                Secret=secret,
                Events=events,
                timeout=timeout,
                check=False,
            )
            if resp.Response != "Success":
                raise AmiError(f"AMI login as {username!r} failed: {resp.Message}")
        except BaseException:
            await client.close()
            raise
        return client

    async def _read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    raw = await self._reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    break
                msg = AmiMessage.parse(raw.decode("utf-8", "replace"), loop.time())
                self._dispatch(msg)
        except (ConnectionError, asyncio.LimitOverrunError) as exc:
            self.connection_error = exc
        finally:
            for pending in self._pending.values():
                if not pending.future.done():
                    pending.future.set_exception(AmiError("AMI connection closed"))
            self._pending.clear()

    def _dispatch(self, msg: AmiMessage) -> None:
        if msg.Event is not None:
            # Every event is recorded, also those answering an action (OriginateResponse...).
            self.recorder.add(msg)
        action_id = msg.ActionID
        pending = self._pending.get(action_id) if action_id else None
        if pending is None or action_id is None:
            return
        if msg.Response is not None and not pending.responses:
            pending.responses.append(msg)
            list_follows = msg.EventList == "start" or "will follow" in (msg.Message or "").lower()
            if not (pending.as_list and list_follows and msg.Response == "Success"):
                self._finish(action_id, pending)
            return
        pending.responses.append(msg)
        if msg.EventList == "Complete" or (msg.Event or "").endswith("Complete"):
            self._finish(action_id, pending)

    def _finish(self, action_id: str, pending: _PendingAction) -> None:
        self._pending.pop(action_id, None)
        if not pending.future.done():
            pending.future.set_result(pending.responses)

    def _send(self, name: str, headers: Mapping[str, Any], as_list: bool) -> _PendingAction:
        if self._closed:
            raise AmiError("AMI client is closed")
        action_id = f"{self._prefix}{next(self._ids)}"
        lines = [f"Action: {name}", f"ActionID: {action_id}"]
        for key, value in headers.items():
            values: Iterable[Any] = value if isinstance(value, list | tuple) else [value]
            for v in values:
                if "\r" in str(v) or "\n" in str(v):
                    raise ValueError(f"AMI header {key} may not contain a line break")
                lines.append(f"{key}: {v}")
        pending = _PendingAction(asyncio.get_running_loop().create_future(), as_list)
        self._pending[action_id] = pending
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        return pending

    async def action(self, name: str, *, timeout: float = 10.0, check: bool = True, **headers: Any) -> AmiMessage:
        """Send one action and return its response (raise AmiError on Response: Error)."""
        pending = self._send(name, headers, as_list=False)
        await self._writer.drain()
        responses = await asyncio.wait_for(pending.future, timeout)
        resp = responses[0]
        if check and resp.Response not in ("Success", "Follows", "Goodbye"):
            raise AmiError(f"{name} failed: {resp.Message}")
        return resp

    async def action_list(self, name: str, *, timeout: float = 10.0, **headers: Any) -> list[AmiMessage]:
        """Send an action whose answer is a list of events (QueueStatus, CoreShowChannels...).
        Returns the response followed by the events up to the ...Complete event."""
        pending = self._send(name, headers, as_list=True)
        await self._writer.drain()
        responses = await asyncio.wait_for(pending.future, timeout)
        if responses[0].Response == "Error":
            raise AmiError(f"{name} failed: {responses[0].Message}")
        return responses

    async def command(self, cli: str, timeout: float = 10.0) -> str:
        """Run an Asterisk CLI command (needs the command class) and return its output."""
        resp = await self.action("Command", Command=cli, timeout=timeout)
        return "\n".join(resp.get_all("Output"))

    async def set_global(self, name: str, value: str) -> None:
        await self.action("Setvar", Variable=name, Value=value)

    async def get_var(self, name: str, channel: str | None = None) -> str | None:
        if channel:
            resp = await self.action("Getvar", Variable=name, Channel=channel)
        else:
            resp = await self.action("Getvar", Variable=name)
        return resp.Value

    async def originate_caller(
        self,
        exten: str = "4034100",
        context: str = "main-number",
        caller_id: str = "+46701234567",
        dtmf: str = "ww2",
        first_wait: float = 1,
        hold: float = 20,
        variables: Mapping[str, str] | None = None,
        *,
        caller_name: str = "Test Caller",
        timeout: float = 10.0,
        token: str | None = None,
    ) -> SimCall:
        """Place a simulated call: a Local channel whose far half runs [caller-sim] (answers,
        waits `first_wait` s, presses `dtmf` with "w" = 0.5 s pauses, stays `hold` s), and whose
        near half enters `context`/`exten` with `caller_id` (as an inbound trunk call would).

        `variables` are set on the near half (the channel the IVR sees), e.g. IVR_TEST_NOW, or
        "__AGENT_TALK" to be inherited by the queue member channels it reaches.
        Returns at once (asynchronous Originate); wait for events with the returned handle.
        `token` (default: random) names the call's channels: Uniqueid sim-<token>-1 for the near
        half, sim-<token>-2 for the far half; see `SimCall.uniqueid_for`.
        """
        if dtmf and not re.fullmatch(r"[0-9*#A-Dw]*", dtmf):
            raise ValueError(f"dtmf {dtmf!r}: only 0-9 * # A-D and w pauses")
        token = token or new_token()
        call = SimCall(
            ami=self,
            token=token,
            uniqueid=SimCall.uniqueid_for(token),
            far_uniqueid=f"sim-{token}-2",
            caller_id=caller_id,
            exten=exten,
            context=context,
            since=self.recorder.mark(),
        )
        sim_vars = {
            "SIM_DTMF": dtmf,
            "SIM_FIRST_WAIT": _seconds(first_wait),
            "SIM_HOLD": _seconds(hold),
            "SIM_TOKEN": token,
        }
        sim_vars.update(variables or {})
        await self.action(
            "Originate",
            Channel="Local/s@caller-sim/n",
            Context=context,
            Exten=exten,
            Priority="1",
            CallerID=f'"{caller_name}" <{caller_id}>',
            Async="true",
            Timeout=str(int(timeout * 1000)),
            ChannelId=call.uniqueid,
            OtherChannelId=call.far_uniqueid,
            Variable=[f"{k}={v}" for k, v in sim_vars.items()],
            timeout=timeout,
        )
        return call

    async def hangup_all_sim_calls(self) -> None:
        """Hang up every channel left by simulated calls (end-of-test cleanup)."""
        with contextlib.suppress(AmiError, TimeoutError):
            await self.action("Hangup", Channel="/@(caller-sim|agent-sim|outbound-trunk)-/", check=False)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._reader_task is not None and not self._reader_task.done():
            with contextlib.suppress(Exception):
                pending = self._send("Logoff", {}, as_list=False)
                await self._writer.drain()
                await asyncio.wait_for(pending.future, 2)
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task

    async def __aenter__(self) -> AmiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


@dataclass
class _PendingAction:
    future: asyncio.Future[list[AmiMessage]]
    as_list: bool
    responses: list[AmiMessage] = field(default_factory=list)


def new_token() -> str:
    return uuid.uuid4().hex[:12]


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass
class SimCall:
    """Handle on one simulated call. The near half of the Local channel (the channel the IVR,
    the queues and the trunk see) has Uniqueid `uniqueid`; every channel the call creates
    (agents rung, the trunk leg) shares it as Linkedid. That, not the caller id, tells
    concurrent calls apart."""

    ami: AmiClient
    token: str
    uniqueid: str
    far_uniqueid: str
    caller_id: str
    exten: str
    context: str
    since: int = 0

    @staticmethod
    def uniqueid_for(token: str) -> str:
        """The Uniqueid (and agi_uniqueid) the IVR will see for the call placed with `token`."""
        return f"sim-{token}-1"

    def owns(self, e: AmiMessage) -> bool:
        return (
            e.Linkedid == self.uniqueid
            or e.Uniqueid in (self.uniqueid, self.far_uniqueid)
            or e.DestLinkedid == self.uniqueid
            # The sandbox's stand-in operator ([trunk-sim]) answers the trunk's SIP call as a new
            # channel; its TrunkCall event names the sending call's Linkedid.
            or e.SenderLinkedid == self.uniqueid
        )

    def events(self, predicate: Predicate | None = None) -> list[AmiMessage]:
        return self.ami.recorder.find(lambda e: self.owns(e) and (predicate is None or predicate(e)), self.since)

    def first(self, predicate: Predicate) -> AmiMessage | None:
        return self.ami.recorder.first(lambda e: self.owns(e) and predicate(e), self.since)

    async def wait_for(
        self, predicate: Predicate, timeout: float = 20.0, *, since: int | None = None, what: str = ""
    ) -> AmiMessage:
        """Wait for an event of this call that satisfies `predicate`."""
        return await self.ami.recorder.wait_for(
            lambda e: self.owns(e) and predicate(e),
            timeout,
            since=self.since if since is None else since,
            what=what,
        )

    async def wait_event(self, timeout: float = 20.0, *, since: int | None = None, **expected: Any) -> AmiMessage:
        """Wait for an event of this call whose headers match `expected` (see AmiMessage.matches),
        e.g. `await call.wait_event(Event="QueueCallerJoin", Queue="kc-general")`."""
        return await self.wait_for(lambda e: e.matches(expected), timeout, since=since, what=_describe(expected))

    @property
    def channel(self) -> str | None:
        """Name of the near half (e.g. Local/s@caller-sim-00000003;1) once it exists."""
        e = self.ami.recorder.first(lambda e: e.Event == "Newchannel" and e.Uniqueid == self.uniqueid, self.since)
        return e.Channel if e else None

    async def hangup(self) -> None:
        """Hang the simulated caller up (no-op when the call is already over)."""
        with contextlib.suppress(AmiError, TimeoutError):
            await self.ami.action("Hangup", Channel=self.uniqueid, check=False)
            await self.ami.action("Hangup", Channel=self.far_uniqueid, check=False)

    async def wait_hangup(self, timeout: float = 10.0) -> AmiMessage:
        return await self.wait_event(timeout, Event="Hangup", Uniqueid=self.uniqueid)


def _describe(expected: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v!r}" for k, v in expected.items()) + "}"
