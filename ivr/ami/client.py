"""The daemon's AMI connection: login, actions with timeouts, events, ping watchdog, reconnects.

Built on panoramisk's `Action` and `Message` (see `ivr.ami.protocol`); its `Manager` lifecycle is
not used because the measured faults all live there: a wrong password raises nothing, `close()`
does not stop reconnecting, pings have no timeout, and unanswered actions are re-sent.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Mapping

import structlog
from panoramisk.actions import Action
from structlog.typing import FilteringBoundLogger

from ivr.ami.errors import (
    AmiAuthError,
    AmiConnectionError,
    AmiConnectionLost,
    AmiError,
    AmiNotConnected,
    AmiOriginateFailed,
    AmiOriginateUnknown,
    AmiTimeout,
)
from ivr.ami.events import EventDispatcher
from ivr.ami.port import ActionFields, EventCallback, ReconnectCallback
from ivr.ami.protocol import AmiProtocol, Answer
from ivr.ami.reply import AmiHeaders, AmiReply

_VARIABLE_NAME = re.compile(r"[A-Za-z0-9_()]+")
_CLOSE_WAIT_S = 2.0
_SINGLE_ANSWER = frozenset({"queueadd"})


class AmiClient:
    """One logged-in AMI connection that heals itself.

    `connect()` makes the first login and raises if it fails; after that, a dropped or silent
    connection is replaced with exponential backoff, and every `on_reconnect` callback runs after
    each successful login (the first one included) so trackers can re-synchronise. Actions are
    never re-sent over a new connection: one in flight when the connection drops fails with
    `AmiConnectionLost` (`AmiOriginateUnknown` for Originate).
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        ping_interval: float = 10.0,
        ping_timeout: float = 5.0,
        action_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        reconnect_backoff: tuple[float, float] = (0.5, 30.0),
        events: str = "on",
        logger: FilteringBoundLogger | None = None,
    ) -> None:
        first, maximum = reconnect_backoff
        if not 0 < first <= maximum:
            raise ValueError("reconnect_backoff must be (first, maximum) with 0 < first <= maximum")
        if min(ping_interval, ping_timeout, action_timeout, connect_timeout) <= 0:
            raise ValueError("intervals and timeouts must be positive")
        self._host = host
        self._port = port
        self._username = username
        self._secret = secret
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._action_timeout = action_timeout
        self._connect_timeout = connect_timeout
        self._backoff = (first, maximum)
        self._events_mask = events
        self._log: FilteringBoundLogger = (logger or structlog.get_logger("ivr.ami")).bind(ami=f"{host}:{port}")
        self._events = EventDispatcher(self._log)
        self._reconnect_callbacks: list[ReconnectCallback] = []
        self._protocol: AmiProtocol | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def connected(self) -> bool:
        """Logged in over a live connection right now."""
        return self._protocol is not None and not self._protocol.is_closing and not self._closed

    def on_event(self, pattern: str, callback: EventCallback) -> None:
        """Call `callback(message)` for events whose name matches `pattern` (`QueueMember*`)."""
        self._events.add(pattern, callback)

    @property
    def subscribed(self) -> frozenset[str]:
        """The event name patterns given to on_event()."""
        return frozenset(self._events.patterns)

    def on_reconnect(self, callback: ReconnectCallback) -> None:
        """Call `callback()` after every successful login; exceptions are logged."""
        self._reconnect_callbacks.append(callback)

    async def connect(self) -> None:
        """First connection and login: AmiAuthError, AmiConnectionError or AmiTimeout if it fails."""
        if self._closed:
            raise AmiError("AmiClient is closed")
        if self._supervisor is not None:
            raise RuntimeError("AmiClient.connect() called twice")
        protocol = await self._open()
        self._adopt(protocol)
        self._log.info("ami.connected", version=protocol.banner)
        await self._run_reconnect_callbacks()
        self._supervisor = asyncio.create_task(self._supervise(), name="ami-supervisor")

    async def close(self) -> None:
        """Disconnect for good: no reconnect afterwards; pending actions fail."""
        self._closed = True
        tasks = [task for task in (self._supervisor, self._watchdog) if task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_CLOSE_WAIT_S)
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            protocol.close()
            await asyncio.wait([protocol.lost], timeout=_CLOSE_WAIT_S)
        await self._events.close()
        self._log.info("ami.closed")

    async def action(self, fields: ActionFields, timeout: float | None = None) -> AmiReply:
        """Send one action and return its answer: the response and, for list actions (QueueStatus),
        the rows and the ...Complete event.

        A `Response: Error` is returned (`.ok` is False), not raised. Raises AmiNotConnected (not sent),
        AmiTimeout, or AmiConnectionLost (sent; the connection dropped before the answer).
        """
        protocol = self._require_protocol()
        return AmiReply.of(await self._send(protocol, fields, self._action_timeout if timeout is None else timeout))

    async def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int = 1,
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        ring_timeout: float = 30.0,
        account: str | None = None,
    ) -> AmiHeaders:
        """Place a call (async Originate) and return its successful `OriginateResponse` event.

        Target either `context`/`exten`/`priority` or `application`/`data`. Raises
        AmiOriginateFailed (refused, busy, no answer...), AmiNotConnected (certainly not sent),
        or AmiOriginateUnknown (sent, outcome unknown: it is never re-sent).
        """
        fields = _originate_fields(
            channel, context, exten, priority, application, data, caller_id, variables, ring_timeout, account
        )
        protocol = self._require_protocol()
        try:
            answer = await self._send(protocol, fields, ring_timeout + self._action_timeout)
        except (AmiConnectionLost, AmiTimeout) as exc:
            self._log.error("ami.originate_unknown", error=str(exc))
            raise AmiOriginateUnknown(f"Originate sent but its outcome is unknown: {exc}") from exc
        messages = answer if isinstance(answer, list) else [answer]
        first, final = messages[0], messages[-1]
        if not first.success:
            raise AmiOriginateFailed(f"Originate refused: {first.get('Message', '')}")
        if str(final.get("Response", "")).lower() != "success":
            reason = str(final.get("Reason", ""))
            raise AmiOriginateFailed(f"Originate failed (reason {reason})", reason=reason)
        final_event: AmiHeaders = final
        return final_event

    # --- connection lifecycle ----------------------------------------------------------------

    async def _open(self) -> AmiProtocol:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, protocol = await loop.create_connection(
                    lambda: AmiProtocol(on_event=self._events.dispatch, logger=self._log),
                    self._host,
                    self._port,
                )
        except TimeoutError:
            raise AmiConnectionError(f"no TCP connection within {self._connect_timeout:g} s") from None
        except OSError as exc:
            raise AmiConnectionError(f"cannot connect: {exc}") from exc
        try:
            login = {
                "Action": "Login",
                "Username": self._username,
                "Secret": self._secret,
                "Events": self._events_mask,
            }
            answer = await self._send(protocol, login, self._action_timeout)
            if isinstance(answer, list) or not answer.success:
                message = answer.get("Message", "") if not isinstance(answer, list) else ""
                raise AmiAuthError(f"AMI login refused: {message}")
        except BaseException:
            protocol.close()
            raise
        return protocol

    def _adopt(self, protocol: AmiProtocol) -> None:
        self._protocol = protocol
        self._watchdog = asyncio.create_task(self._watch(protocol), name="ami-watchdog")

    async def _supervise(self) -> None:
        first, maximum = self._backoff
        while not self._closed:
            protocol = self._protocol
            if protocol is not None:
                await asyncio.wait([protocol.lost])
            if self._watchdog is not None:
                self._watchdog.cancel()
            self._protocol = None
            self._log.warning("ami.disconnected")
            delay = first
            while True:
                await asyncio.sleep(delay)
                try:
                    new = await self._open()
                    break
                except AmiAuthError as exc:
                    self._log.error("ami.login_refused", error=str(exc), retry_in=delay)
                except AmiError as exc:
                    self._log.warning("ami.reconnect_failed", error=str(exc), retry_in=delay)
                except Exception:
                    self._log.exception("ami.reconnect_failed", retry_in=delay)
                delay = min(delay * 2, maximum)
            self._adopt(new)
            self._log.info("ami.reconnected", version=new.banner)
            await self._run_reconnect_callbacks()

    async def _watch(self, protocol: AmiProtocol) -> None:
        """Ping on a timer; a ping left unanswered means Asterisk is hung or the path is dead."""
        while True:
            await asyncio.sleep(self._ping_interval)
            try:
                await self._send(protocol, {"Action": "Ping"}, self._ping_timeout)
            except AmiTimeout:
                self._log.warning("ami.ping_timeout", timeout=self._ping_timeout)
                protocol.abort()
                return
            except AmiConnectionError:
                return

    async def _run_reconnect_callbacks(self) -> None:
        for callback in list(self._reconnect_callbacks):
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                self._log.exception("ami.reconnect_callback_failed", callback=getattr(callback, "__qualname__", ""))

    # --- actions -----------------------------------------------------------------------------

    def _require_protocol(self) -> AmiProtocol:
        protocol = self._protocol
        if self._closed or protocol is None or protocol.is_closing:
            raise AmiNotConnected("AMI is not connected")
        return protocol

    async def _send(self, protocol: AmiProtocol, fields: ActionFields, timeout: float) -> Answer:
        # panoramisk takes any "Added ... to queue" answer (QueueAdd's) for the start of a list and
        # would wait for list items that never come; QueueAdd answers with one response.
        single = str(fields.get("Action", "")).lower() in _SINGLE_ANSWER
        action = Action(dict(fields), as_list=False) if single else Action(dict(fields))
        future = protocol.send(action)
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise AmiTimeout(f"no answer to {fields.get('Action')} within {timeout:g} s") from None
        finally:
            if not future.done() or future.cancelled():
                protocol.forget(action.id)


def _originate_fields(
    channel: str,
    context: str | None,
    exten: str | None,
    priority: int,
    application: str | None,
    data: str | None,
    caller_id: str | None,
    variables: Mapping[str, str] | None,
    ring_timeout: float,
    account: str | None,
) -> dict[str, str | list[str]]:
    fields: dict[str, str | list[str]] = {
        "Action": "Originate",
        "Channel": channel,
        # Async: the answer is an OriginateResponse event, and the AMI session is not blocked.
        "Async": "true",
        "Timeout": str(round(ring_timeout * 1000)),
    }
    if application is not None:
        if context is not None or exten is not None:
            raise ValueError("originate: give application/data or context/exten, not both")
        fields["Application"] = application
        if data is not None:
            fields["Data"] = data
    elif context is not None and exten is not None:
        fields.update(Context=context, Exten=exten, Priority=str(priority))
    else:
        raise ValueError("originate needs context and exten, or application")
    if caller_id is not None:
        fields["CallerID"] = caller_id
    if account is not None:
        fields["Account"] = account
    if variables:
        for name in variables:
            if not _VARIABLE_NAME.fullmatch(name):
                raise ValueError(f"bad channel variable name {name!r}")
        fields["Variable"] = [f"{name}={value}" for name, value in variables.items()]
    return fields
