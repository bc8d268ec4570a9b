"""A node's health message: retained, QoS 1, on `ivr/<site>/nodes/<node>/health` (docs/EVENTS.md).

The node publishes `up` when it connects and again every `every_s` seconds (config version, calls in
progress, whether AMI and the store answer); `stopped` when it stops cleanly; and the broker
publishes its Last Will, `down`, when the node's connection dies without a goodbye (SIGKILL, a lost
host, a network split). Retained, so whoever subscribes later (`ivr cluster status`, the other
nodes' wallboards) sees every node's last word at once.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from ivr.events.mqtt import MessageBuilder, OutMessage, topic_segment

HEALTH_EVENT = "node_health"
# A node whose last `up` is older than this many of its own intervals is shown as `stale` (the broker
# sends the Last Will after 1.5 keepalives; this also covers a broker that restarted meanwhile).
STALE_AFTER_INTERVALS = 3


def health_topic(builder: MessageBuilder, node: str) -> str:
    return f"{builder.prefix}/nodes/{topic_segment(node)}/health"


def health_filter(builder: MessageBuilder) -> str:
    return f"{builder.prefix}/nodes/+/health"


def health_message(builder: MessageBuilder, node: str, state: str, **data: Any) -> OutMessage:
    return OutMessage(health_topic(builder, node), builder.payload(HEALTH_EVENT, {"node": node, "state": state,
                                                                                  **data}), qos=1, retain=True)


@dataclass(frozen=True)
class NodeHealth:
    """One node as its last health message describes it."""

    node: str
    state: str  # up, stopped, down (Last Will); `stale` is only ever computed, see `seen_state`
    ts: float
    healthy: bool
    config_version: str
    started: str
    calls: int
    every_s: float
    details: dict[str, Any]

    def seen_state(self, now: float) -> str:
        """What to show: `up` turns `stale` when its renewals stopped without a Last Will."""
        if self.state == "up" and now - self.ts > STALE_AFTER_INTERVALS * max(self.every_s, 1.0):
            return "stale"
        return self.state

    def as_dict(self, now: float) -> dict[str, Any]:
        return {"node": self.node, "state": self.seen_state(now), "healthy": self.healthy and self.state == "up",
                "config_version": self.config_version, "started": self.started, "calls": self.calls,
                "last_seen_s": round(max(0.0, now - self.ts), 1), **self.details}


def parse_health(payload: bytes) -> NodeHealth | None:
    """A health message's payload; None for anything else (never trusted further than its fields)."""
    try:
        body = json.loads(payload)
        data = body["data"]
        ts = dt.datetime.fromisoformat(str(body["ts"]).replace("Z", "+00:00")).timestamp()
        node = str(data["node"])[:100]
        details = {key: data[key] for key in ("ami", "store", "pid", "reason") if key in data}
        return NodeHealth(node=node, state=str(data.get("state", "")), ts=ts, healthy=bool(data.get("healthy")),
                          config_version=str(data.get("config_version", "")), started=str(data.get("started", "")),
                          calls=int(data.get("calls") or 0), every_s=float(data.get("every_s") or 15.0),
                          details=details)
    except (ValueError, KeyError, TypeError):
        return None
