"""The daemon's own MQTT connection for the cluster: its health (ivr.cluster.health), the other nodes'
health (for the wallboard), the reload command (ivr.cluster.command) and the agents' queue sessions
(ivr.cluster.agents).

A connection of its own, apart from the event publisher's: its Last Will must speak for this node
only (`down`), and a backlog of events must never delay a health message or a command.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiomqtt
import structlog
from structlog.typing import FilteringBoundLogger

from ivr.cluster.agents import AgentSession, parse_session, session_message, sessions_filter
from ivr.cluster.command import ReloadGate, reload_topic
from ivr.cluster.health import NodeHealth, health_filter, health_message, parse_health
from ivr.events.mqtt import MessageBuilder, MqttConfig, OutMessage, iso_utc
from ivr.tasks import cancel_and_wait

# What the daemon reports about itself at each publication: config_version, calls, healthy, ami, store.
HealthProbe = Callable[[], Mapping[str, Any]]


class ClusterLink:
    def __init__(self, config: MqttConfig, node: str, probe: HealthProbe, *, every_s: float = 15.0,
                 on_reload: Callable[[str], None] | None = None,
                 on_nodes: Callable[[dict[str, NodeHealth]], None] | None = None,
                 on_agent: Callable[[AgentSession], None] | None = None, key: bytes = b"",
                 clock: Callable[[], float] = time.time, logger: FilteringBoundLogger | None = None) -> None:
        self.config = config
        self.node = node
        self.probe = probe
        self.every_s = every_s
        self.on_reload = on_reload
        self.on_nodes = on_nodes
        self.on_agent = on_agent
        self.gate = ReloadGate(key=key)
        self.clock = clock
        self.builder = MessageBuilder(config.site, clock)
        self.started = iso_utc(clock())
        self.nodes: dict[str, NodeHealth] = {}
        self.published = 0
        self.connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._log: FilteringBoundLogger = logger or structlog.get_logger("ivr.cluster")

    def health(self, state: str = "up") -> OutMessage:
        data = dict(self.probe())
        if state != "up":  # its config version stays useful; it serves nothing any more
            data.update(healthy=False, calls=0, reason=state)
        return health_message(self.builder, self.node, state, started=self.started, every_s=self.every_s,
                              **data)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="cluster-link")

    async def stop(self) -> None:
        """Say `stopped` (retained: the node is not down, it was stopped) and leave."""
        self._stopping = True
        client = self._client
        if client is not None and self.connected.is_set():
            with contextlib.suppress(Exception):
                goodbye = self.health("stopped")
                await client.publish(goodbye.topic, goodbye.payload, qos=1, retain=True, timeout=2.0)
        await cancel_and_wait(self._task)
        self._task = None

    async def publish_now(self) -> None:
        """Publish the health at once (e.g. after a reload changed the config version)."""
        client = self._client
        if client is not None and self.connected.is_set():
            message = self.health()
            await client.publish(message.topic, message.payload, qos=1, retain=True)
            self.published += 1

    async def publish_agent(self, session: AgentSession) -> None:
        """An agent's session as this node changed it (retained: a node that connects later gets it)."""
        client = self._client
        if client is None or not self.connected.is_set():
            raise aiomqtt.MqttError("the cluster link is not connected")
        message = session_message(self.builder, session, self.gate.key)
        await client.publish(message.topic, message.payload, qos=message.qos, retain=message.retain)

    async def _run(self) -> None:
        delay = 0.5
        while not self._stopping:
            try:
                await self._connection()
            except aiomqtt.MqttError as exc:
                self._log.warning("cluster link disconnected", error=str(exc)[:200], retry_in_s=delay)
            except Exception:
                self._log.exception("cluster link failed", retry_in_s=delay)
            finally:
                self.connected.clear()
                self._client = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 15.0)

    def _client_for(self) -> aiomqtt.Client:
        will = health_message(self.builder, self.node, "down", healthy=False, reason="connection lost",
                              started=self.started, every_s=self.every_s)
        return aiomqtt.Client(self.config.host, self.config.port, username=self.config.username or None,
                              password=self.config.password or None, identifier=f"ivr-node-{self.node}"[:64],
                              keepalive=self.config.keepalive, timeout=self.config.publish_timeout,
                              will=aiomqtt.Will(will.topic, will.payload, qos=1, retain=True))

    async def _connection(self) -> None:
        async with self._client_for() as client:
            self._client = client
            await client.subscribe(health_filter(self.builder), qos=1)
            await client.subscribe(reload_topic(self.builder), qos=1)
            if self.on_agent is not None:
                await client.subscribe(sessions_filter(self.builder), qos=1)
            self.connected.set()
            await self.publish_now()
            self._log.info("cluster link up", node=self.node, broker=f"{self.config.host}:{self.config.port}")
            beat = asyncio.create_task(self._beat(), name="cluster-health")
            try:
                async for message in client.messages:
                    self._receive(message)
            finally:
                await cancel_and_wait(beat)
        raise aiomqtt.MqttError("message stream ended")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            await self.publish_now()
            self._nodes_changed()  # a node that fell silent turns `stale`

    def _receive(self, message: aiomqtt.Message) -> None:
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
        if message.topic.matches(reload_topic(self.builder)):
            accepted, why = self.gate.accept(payload, retained=bool(message.retain), now=self.clock())
            self._log.info("cluster reload command", accepted=accepted, detail=why[:100])
            if accepted and self.on_reload is not None:
                self.on_reload(why)
            return
        if message.topic.matches(sessions_filter(self.builder)):
            session = parse_session(payload, self.gate.key)
            if session is None:
                self._log.warning("agent session ignored: malformed or not signed", topic=str(message.topic)[:200])
            elif self.on_agent is not None:
                self.on_agent(session)
            return
        health = parse_health(payload)
        if health is not None:
            self.nodes[health.node] = health
            self._nodes_changed()

    def _nodes_changed(self) -> None:
        if self.on_nodes is not None:
            try:
                self.on_nodes(dict(self.nodes))
            except Exception:
                self._log.exception("cluster view consumer failed")

