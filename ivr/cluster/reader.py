"""What `ivr cluster status` and `ivr reload --all` do on the broker, and what the store says about
the nodes (which callbacks and jobs each holds)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiomqtt

from ivr.cluster.health import NodeHealth, health_filter, parse_health
from ivr.events.mqtt import MessageBuilder, MqttConfig, OutMessage
from ivr.store.db import open_database


def _client(config: MqttConfig) -> aiomqtt.Client:
    return aiomqtt.Client(config.host, config.port, username=config.username or None,
                          password=config.password or None, identifier=None, timeout=config.publish_timeout)


async def read_nodes(config: MqttConfig, *, quiet_s: float = 0.7, max_s: float = 5.0) -> dict[str, NodeHealth]:
    """Every node's retained health message: the broker sends them right after the subscription;
    collected until none came for `quiet_s`."""
    builder = MessageBuilder(config.site)
    nodes: dict[str, NodeHealth] = {}
    async with _client(config) as client:
        await client.subscribe(health_filter(builder), qos=1)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max_s):
                while True:
                    try:
                        async with asyncio.timeout(quiet_s):
                            message = await anext(client.messages)
                    except TimeoutError:
                        break
                    payload = message.payload if isinstance(message.payload, bytes) else b""
                    health = parse_health(payload)
                    if health is not None:
                        nodes[health.node] = health
    return nodes


async def publish(config: MqttConfig, message: OutMessage) -> None:
    async with _client(config) as client:
        await client.publish(message.topic, message.payload, qos=message.qos, retain=message.retain)


def store_view(url: str, now: float | None = None) -> dict[str, Any]:
    """Callbacks held per node and the job leases, from the shared store (no row about a citizen)."""
    at = time.time() if now is None else now
    db = open_database(url, migrate=False)
    try:
        held = {str(node): int(count) for node, count in db.fetchall(
            "SELECT owner_node, COUNT(*) FROM callbacks WHERE state IN ('queued', 'connecting')"
            " AND owner_node IS NOT NULL GROUP BY owner_node")}
        jobs = {str(name): {"node": str(node), "lease_left_s": round(float(until) - at, 1)}
                for name, node, until in db.fetchall("SELECT name, owner_node, lease_until FROM job_leases")}
    finally:
        db.close()
    return {"callbacks_held": held, "jobs": jobs}
