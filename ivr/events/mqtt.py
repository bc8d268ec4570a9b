"""Publishes product events to MQTT (topics, QoS and payloads: docs/EVENTS.md).

`emit` only appends to a bounded in-memory backlog and wakes the sender; it never waits on the
network. The sender task keeps one connection (aiomqtt has no reconnect of its own), publishes the
backlog in order, and on any connection error reconnects with backoff and carries on from the
first message not yet confirmed. QoS 1 messages are therefore delivered at least once: one in
flight when the connection dropped is sent again.

When the backlog is full the oldest QoS 0 message (a queue snapshot, superseded by the next one
anyway) is dropped first, then the oldest of any kind; `dropped` counts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiomqtt
import structlog
from structlog.typing import FilteringBoundLogger

from ivr.events import names
from ivr.tasks import cancel_and_wait

if TYPE_CHECKING:
    from ivr.calls import ActiveCall

SCHEMA_VERSION = 1
STATUS_EVENT = "daemon_status"

# MQTT wildcards and separators, NUL and other control characters may not appear in one segment, nor
# lone surrogates (a topic must be valid UTF-8).
_UNSAFE_SEGMENT = re.compile(r"[/+#\x00-\x1f\x7f\ud800-\udfff]")
_MAX_SEGMENT = 100
# Keys that could carry a caller's number: dropped from every payload whatever the producer sent.
_NUMBER_KEYS = frozenset({"caller", "callerid", "caller_id", "calleridnum", "caller_number", "number",
                          "connectedlinenum", "callerid_num"})


def topic_segment(text: object) -> str:
    """One topic level from untrusted text (a uniqueid, queue or agent name)."""
    segment = _UNSAFE_SEGMENT.sub("_", str(text))[:_MAX_SEGMENT]
    if not segment or segment.startswith("$"):  # `$` topics are the broker's own
        segment = "_" + segment
    return segment


@dataclass(frozen=True)
class OutMessage:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(frozen=True)
class MqttConfig:
    host: str
    port: int = 1883
    site: str = "malmo"
    username: str = ""
    password: str = ""
    backlog: int = 10_000
    client_id: str = ""
    keepalive: int = 15
    publish_timeout: float = 10.0
    reconnect_backoff: tuple[float, float] = (0.5, 15.0)


def iso_utc(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MessageBuilder:
    """Turns one product event into its MQTT message: topic, JSON payload, QoS and retain flag."""

    def __init__(self, site: str, clock: Callable[[], float] = time.time) -> None:
        self.site = topic_segment(site)
        self.prefix = f"ivr/{self.site}"
        self._clock = clock

    @property
    def status_topic(self) -> str:
        return f"{self.prefix}/daemon/status"

    def payload(self, event: str, data: Mapping[str, Any], *, uniqueid: str | None = None,
                at: float | None = None) -> bytes:
        body: dict[str, Any] = {"schema": SCHEMA_VERSION, "event": event,
                                "ts": iso_utc(self._clock() if at is None else at), "site": self.site}
        if uniqueid:
            body["uniqueid"] = uniqueid
        body["data"] = {k: v for k, v in data.items() if k.lower() not in _NUMBER_KEYS and k != "uniqueid"}
        # "replace": a value that is not valid Unicode (lone surrogates) must not cost the whole event.
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode(errors="replace")

    def build(self, event: str, call: ActiveCall | None, data: Mapping[str, Any]) -> OutMessage:
        uniqueid = call.uniqueid if call is not None else str(data.get("uniqueid") or "")
        if event == names.QUEUE_SNAPSHOT:
            topic = f"{self.prefix}/queues/{topic_segment(data.get('queue', ''))}"
            return OutMessage(topic, self.payload(event, data), qos=0, retain=True)
        if event == names.AGENT_STATE:
            topic = f"{self.prefix}/agents/{topic_segment(data.get('agent', ''))}"
            return OutMessage(topic, self.payload(event, data), qos=1, retain=True)
        if uniqueid:
            topic = f"{self.prefix}/calls/{topic_segment(uniqueid)}/{topic_segment(event)}"
            return OutMessage(topic, self.payload(event, data, uniqueid=uniqueid), qos=1, retain=False)
        return OutMessage(f"{self.prefix}/events/{topic_segment(event)}", self.payload(event, data), qos=1,
                          retain=False)

    def status(self, state: str, *, at: float | None = None, **data: Any) -> OutMessage:
        return OutMessage(self.status_topic, self.payload(STATUS_EVENT, {"state": state, **data}, at=at),
                          qos=1, retain=True)


class Backlog:
    """Messages waiting for the broker, oldest first, never more than `limit`."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the MQTT backlog needs room for at least one message")
        self.limit = limit
        self._items: deque[OutMessage] = deque()
        self.dropped = 0
        self.dropped_snapshots = 0

    def __len__(self) -> int:
        return len(self._items)

    def append(self, message: OutMessage) -> None:
        self._items.append(message)
        self._trim()

    def push_front(self, message: OutMessage) -> None:
        """Put back a message that could not be confirmed, so it goes first after reconnecting."""
        self._items.appendleft(message)
        self._trim()

    def pop(self) -> OutMessage:
        return self._items.popleft()

    def _trim(self) -> None:
        while len(self._items) > self.limit:
            victim = next((m for m in self._items if m.qos == 0), None)
            if victim is None:
                self._items.popleft()
            else:
                self._items.remove(victim)  # O(n), but only while the broker is away and the backlog full
                self.dropped_snapshots += 1
            self.dropped += 1


class MqttPublisher:
    """EventSink that publishes to an MQTT broker; `start()` the sender, `stop()` to flush and leave."""

    def __init__(self, config: MqttConfig, *, clock: Callable[[], float] = time.time,
                 logger: FilteringBoundLogger | None = None) -> None:
        self.config = config
        self.builder = MessageBuilder(config.site, clock)
        self.backlog = Backlog(config.backlog)
        self.published = 0
        self.connections = 0
        self.connected = asyncio.Event()
        self._clock = clock
        self._log: FilteringBoundLogger = logger or structlog.get_logger("ivr.mqtt")
        self._wake = asyncio.Event()
        self.idle = asyncio.Event()  # set whenever the backlog is empty
        self.disconnected = asyncio.Event()  # set while there is no broker connection
        self.disconnected.set()
        self.idle.set()
        self._task: asyncio.Task[None] | None = None
        self._client: aiomqtt.Client | None = None
        self._stopping = False

    @property
    def dropped(self) -> int:
        return self.backlog.dropped

    def emit(self, event: str, call: ActiveCall | None = None, **data: Any) -> None:
        try:
            self.backlog.append(self.builder.build(event, call, data))
        except Exception:  # a payload that cannot be encoded must not reach the caller's call
            self._log.exception("mqtt.event_not_encodable", event_name=event)
            return
        self.idle.clear()
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="mqtt-publisher")

    async def stop(self, timeout: float = 3.0) -> None:
        """Publish what is left (for up to `timeout` s), mark the daemon offline, disconnect."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.idle.wait()
        self._stopping = True
        client = self._client
        if client is not None and self.connected.is_set():
            with contextlib.suppress(Exception):
                offline = self.builder.status("offline", reason="stopped")
                await client.publish(offline.topic, offline.payload, qos=offline.qos, retain=offline.retain,
                                     timeout=1.0)
        await cancel_and_wait(self._task)
        self._task = None
        if self.backlog:
            self._log.warning("mqtt.unpublished_at_stop", messages=len(self.backlog))

    async def _run(self) -> None:
        first, maximum = self.config.reconnect_backoff
        delay = first
        while not self._stopping:
            try:
                await self._connection()
            except aiomqtt.MqttError as exc:
                self._log.warning("mqtt.disconnected", error=str(exc), retry_in_s=delay,
                                  backlog=len(self.backlog), dropped=self.dropped)
            except Exception:
                self._log.exception("mqtt.sender_failed", retry_in_s=delay)
            finally:
                if self.connected.is_set():
                    delay = first  # the link was up: start the backoff again
                self.connected.clear()
                self.disconnected.set()
                self._client = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, maximum)

    def _new_client(self) -> aiomqtt.Client:
        connected_at = self._clock()
        will = self.builder.status("offline", at=connected_at, reason="connection lost")
        return aiomqtt.Client(
            self.config.host, self.config.port,
            username=self.config.username or None, password=self.config.password or None,
            identifier=self.config.client_id or None, keepalive=self.config.keepalive,
            timeout=self.config.publish_timeout,
            will=aiomqtt.Will(will.topic, will.payload, qos=will.qos, retain=will.retain),
        )

    async def _connection(self) -> None:
        async with self._new_client() as client:
            self._client = client
            self.connections += 1
            online = self.builder.status("online")
            await client.publish(online.topic, online.payload, qos=online.qos, retain=online.retain)
            self.connected.set()
            self.disconnected.clear()
            self._log.info("mqtt.connected", broker=f"{self.config.host}:{self.config.port}",
                           backlog=len(self.backlog))
            watch = asyncio.create_task(self._watch(client), name="mqtt-watch")
            send = asyncio.create_task(self._send(client), name="mqtt-send")
            try:
                done, _ = await asyncio.wait({watch, send}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (watch, send):
                    task.cancel()
                await asyncio.gather(watch, send, return_exceptions=True)
            for task in done:
                task.result()  # the MqttError that ended this connection

    async def _watch(self, client: aiomqtt.Client) -> None:
        """Without subscriptions, the message iterator ends only by raising when the link drops:
        that wakes an idle sender at once instead of on its next publish."""
        async for _ in client.messages:
            pass
        raise aiomqtt.MqttError("message stream ended")

    async def _send(self, client: aiomqtt.Client) -> None:
        while True:
            if not self.backlog:
                self.idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            message = self.backlog.pop()
            try:
                await client.publish(message.topic, message.payload, qos=message.qos, retain=message.retain)
            except (ValueError, TypeError) as exc:
                # Refused by the client library itself: it would be refused again after every reconnect
                # and block everything behind it, so it is dropped (and counted) instead.
                self.backlog.dropped += 1
                self._log.error("mqtt.message_refused", topic=message.topic, error=str(exc)[:200])
                continue
            except BaseException:
                self.backlog.push_front(message)
                raise
            self.published += 1
